# shellcheck shell=bash disable=SC2034
# The system (Debian/Ubuntu) packages the project needs, in one place. Sourced by scripts/common.sh.
#
# "a|b" means either package will do (Ubuntu 24.04 renamed some libraries with a t64 suffix): it counts as
# present when one of them is installed, and the first one apt knows is installed otherwise.

# To run the interpreter and make the virtual environment (only installed when `python3 -m venv` fails).
PYTHON_PACKAGES=(
    python3
    python3-venv
)

# To run the app (./start.sh).
APP_PACKAGES=(
    # Speech output (pyttsx3 drives espeak-ng) and sound devices (sounddevice needs PortAudio; the ALSA
    # PulseAudio plugin lets PortAudio reach PulseAudio and PipeWire servers).
    espeak-ng
    libespeak-ng1
    libportaudio2
    libasound2-plugins
    libpulse0  # the sound server's devices by name (pulsectl loads libpulse)
    # Qt's xcb platform plugin on a bare machine (PySide6 wheels bring Qt itself).
    libegl1
    libgl1
    libfontconfig1
    libfreetype6
    "libglib2.0-0t64|libglib2.0-0"
    libdbus-1-3
    libx11-xcb1
    libxkbcommon0
    libxkbcommon-x11-0
    libxcb-cursor0
    libxcb-icccm4
    libxcb-image0
    libxcb-keysyms1
    libxcb-randr0
    libxcb-render-util0
    libxcb-shape0
    libxcb-sync1
    libxcb-xfixes0
    libxcb-xkb1
    libxcb-glx0
    libxcb-util1
)

# To build the bundle (./build.sh; the tests build it too), on top of APP_PACKAGES: strip, and the assembler
# and linker that put the trimmed ICU data back into a library, and ICU's own package tool that trims it.
BUNDLE_PACKAGES=(
    binutils
    icu-devtools
)

# To run the test suite (./test.sh), on top of APP_PACKAGES and BUNDLE_PACKAGES.
TEST_PACKAGES=(
    pulseaudio        # a private server with a virtual speaker and microphone (tests/pulse_server.py)
    pulseaudio-utils  # pactl, paplay, parecord
    alsa-utils
    sox               # converts and measures test speech
    flite             # voices made from recordings of people, for bench/recognition.py
    postgresql      # a private, throw-away server per test session (tests/pg_server.py)
    libpq5          # the bundle reaches PostgreSQL through the system's client library
    xvfb            # a virtual screen for real windows (tests/xvfb_server.py)
    xdotool         # synthetic key presses and window queries
    x11-utils       # xdpyinfo, xwininfo
    x11-xserver-utils  # xset (key auto-repeat on the virtual screen)
    util-linux      # runuser (PostgreSQL refuses to run as root), unshare
    sqlite3         # the sqlite3 shell, to look inside assistant.db
    dbus            # a private session bus for the keychain tests (tests/keyring_session.py)
    gnome-keyring   # a real Secret Service on that bus, unlocked with a throw-away password
    libsecret-tools # secret-tool, to look a key up in the keychain from outside the app
    libglib2.0-bin  # gsettings (the GNOME push-to-talk binding the app suggests) and gio (launches entries)
    gnome-settings-daemon-common  # GNOME's media-keys schema, which that binding writes to
    trayer          # an XEmbed system tray on the virtual screen (tests/tray_host.py)
    desktop-file-utils  # desktop-file-validate checks the autostart and menu entries
    appstream           # appstreamcli validates the AppStream metainfo
    hicolor-icon-theme  # the icon theme whose folders the menu icon goes in
    gcc             # pynput's evdev (the Windows/macOS hotkey backend's tests) is built from source
    python3-dev
    linux-libc-dev
)
