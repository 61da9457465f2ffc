"""The system libraries the voice features load (PortAudio, eSpeak NG) missing on Linux: the window says so
in a dialog at the start (Quit, and "Continue without it" where the app runs without the library), the
commands that need them print one `error: ... [system_library_missing]` line, and the self-test names the
library on its failing line, never a traceback.

A missing library is made without touching the machine: the app runs in a private mount namespace where an
overlay over the library folder deletes the library's files and the loader's cache is rebuilt without them,
as on a machine without the package. `import sounddevice` fails there as it does on such a machine, which
proves the simulation is faithful.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
from cli_runner import REPO_ROOT, Run, ok, refused
from gui_app import first_run_done, log_text, stored_messages, wait_for_log, wait_for_messages, xdotool

from desktop_app.core.errors import ErrorCode
from desktop_app.system_libraries import (
    ESPEAK_NG,
    EXIT_SYSTEM_LIBRARY_MISSING,
    LIBRARIES,
    PORTAUDIO,
    MissingLibrary,
    SystemLibrary,
    distribution_family,
    how_to_install,
    install_command,
    missing_libraries,
    start_warning,
)

CODE = str(ErrorCode.SYSTEM_LIBRARY_MISSING)
PACKAGES_SH = REPO_ROOT / "scripts" / "packages.sh"
# os-release files as distributions ship them (the fields that matter), and the command each should get.
OS_RELEASES = {
    "debian": ('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n', "sudo apt install"),
    "ubuntu": ('NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\n', "sudo apt install"),
    "mint": ('NAME="Linux Mint"\nID=linuxmint\nID_LIKE="ubuntu debian"\n', "sudo apt install"),
    "fedora": ('NAME="Fedora Linux"\nID=fedora\nVERSION_ID=40\n', "sudo dnf install"),
    "rocky": ('NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\n', "sudo dnf install"),
    "arch": ('NAME="Arch Linux"\nID=arch\n', "sudo pacman -S"),
    "manjaro": ("NAME='Manjaro Linux'\nID=manjaro\nID_LIKE=arch\n", "sudo pacman -S"),
    "opensuse": ('NAME="openSUSE Tumbleweed"\nID="opensuse-tumbleweed"\nID_LIKE="opensuse suse"\n', None),
    "unreadable": ('ID="debian\n# an unclosed quote\n', None),
    "empty": ("", None),
}


# -- which command, and what is said -----------------------------------------------------------------------


@pytest.mark.parametrize("distribution", OS_RELEASES)
def test_the_install_command_follows_os_release(distribution: str, tmp_path: Path) -> None:
    text, expected = OS_RELEASES[distribution]
    os_release = tmp_path / "os-release"
    os_release.write_text(text)
    command = install_command(LIBRARIES, os_release)
    if expected is None:
        assert command is None and distribution_family(os_release) is None
        sentence = how_to_install(LIBRARIES, os_release)
        assert "libportaudio.so.2 and libespeak-ng.so.1 with your system's package manager" in sentence
        assert "Debian/Ubuntu: libportaudio2, libespeak-ng1; Fedora: portaudio, espeak-ng" in sentence
        assert "Arch: portaudio, espeak-ng" in sentence
        return
    family = distribution_family(os_release)
    assert family is not None
    assert command == f"{expected} {PORTAUDIO.packages[family]} {ESPEAK_NG.packages[family]}"
    assert install_command([ESPEAK_NG], os_release) == f"{expected} {ESPEAK_NG.packages[family]}"
    assert how_to_install([ESPEAK_NG], os_release) == f"Install it with: {expected} {ESPEAK_NG.packages[family]}"


def test_the_package_names_by_distribution(tmp_path: Path) -> None:
    commands = {
        "debian": "sudo apt install libportaudio2 libespeak-ng1",
        "fedora": "sudo dnf install portaudio espeak-ng",
        "arch": "sudo pacman -S portaudio espeak-ng",
    }
    for distribution, command in commands.items():
        assert install_command(LIBRARIES, _os_release_file(tmp_path, f"ID={distribution}")) == command


def test_without_an_os_release_file_the_packages_are_named_generically(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-file"
    assert install_command([PORTAUDIO], missing) is None
    sentence = how_to_install([PORTAUDIO], missing)
    assert sentence.startswith("Install the package that provides libportaudio.so.2 with your system's package")


def test_the_start_warning_says_what_is_lost_and_whether_the_app_can_go_on(tmp_path: Path) -> None:
    debian = _os_release_file(tmp_path, "ID=debian")
    portaudio, espeak = MissingLibrary(PORTAUDIO, "gone"), MissingLibrary(ESPEAK_NG, "gone")

    without_speech = start_warning([espeak], debian)
    assert without_speech.can_continue
    assert without_speech.headline == "eSpeak NG is not installed."
    assert "spoken answers): without it, answers are shown as text but not spoken." in without_speech.details
    assert "\nsudo apt install libespeak-ng1\n" in without_speech.details  # on a line of its own, to copy

    without_sound = start_warning([portaudio], debian)
    assert without_sound.can_continue
    assert without_sound.headline == "PortAudio is not installed."
    assert "speaker): without it, nothing is heard or spoken: questions can only be typed." in without_sound.details

    without_both = start_warning([portaudio, espeak], debian)
    assert without_both.can_continue
    assert without_both.headline == "PortAudio and eSpeak NG are not installed."
    assert "Install them with:\nsudo apt install libportaudio2 libespeak-ng1\n" in without_both.details


def _os_release_file(folder: Path, text: str) -> Path:
    path = Path(tempfile.mkdtemp(dir=folder)) / "os-release"
    path.write_text(text + "\n")
    return path


# -- this machine --------------------------------------------------------------------------------------------


def test_on_this_machine_every_library_loads_and_comes_from_its_debian_package() -> None:
    """./test.sh installs APP_PACKAGES; each library's Debian package is the one that ships its file."""
    assert missing_libraries() == []
    app_packages = subprocess.run(
        ["bash", "-c", f'. "{PACKAGES_SH}"; printf "%s\\n" "${{APP_PACKAGES[@]}}"'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for library in LIBRARIES:
        package = library.packages["debian"]
        assert package in app_packages, f"{package} is not in APP_PACKAGES of scripts/packages.sh"
        owner = subprocess.run(["dpkg", "-S", str(_library_file(library))], capture_output=True, text=True)
        assert owner.stdout.split(":")[0] == package, owner.stdout + owner.stderr


# -- a machine without them ----------------------------------------------------------------------------------


def _library_file(library: SystemLibrary) -> Path:
    """The file the loader opens for the library (ldconfig's cache), links resolved."""
    listing = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=True).stdout
    match = re.search(rf"^\s*{re.escape(library.soname)} \(.*\) => (\S+)$", listing, re.MULTILINE)
    assert match, f"{library.soname} is not installed: run ./test.sh, which installs {library.packages['debian']}"
    return Path(match.group(1)).resolve()


def without(libraries: Sequence[SystemLibrary], scratch: Path, command: Sequence[str]) -> list[str]:
    """`command` run as on a machine without `libraries`: in a private mount namespace, an overlay over their
    folder deletes their files (a whiteout in `scratch`; the real files stay) and the loader's cache is
    rebuilt without them."""
    unshare = shutil.which("unshare")
    assert unshare, "unshare is missing: run ./test.sh, which installs util-linux"
    folders = {_library_file(library).parent for library in libraries}
    assert len(folders) == 1, folders
    folder = folders.pop()
    upper, work = Path(tempfile.mkdtemp(dir=scratch)), Path(tempfile.mkdtemp(dir=scratch))
    cache = scratch / f"ld.so.cache-{upper.name}"
    names = " ".join(f"{folder}/{library.soname.rsplit('.', 1)[0]}*" for library in libraries)  # libx.so*
    script = (
        "set -e; "
        f"mount -t overlay overlay -o lowerdir={folder},upperdir={upper},workdir={work} {folder}; "
        f"rm -f {names}; "
        f"ldconfig -X -C {cache} 2>/dev/null; mount --bind {cache} /etc/ld.so.cache; "
        'exec "$@"'
    )
    as_root = [] if os.geteuid() == 0 else ["--map-root-user"]
    return [unshare, *as_root, "--mount", "--propagation", "private", "sh", "-c", script, "sh", *command]


def run_without(libraries: Sequence[SystemLibrary], scratch: Path, *args: str) -> Run:
    """`python -m desktop_app ARGS` without `libraries`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("VOICE_ASSISTANT_")}
    command = without(libraries, scratch, [sys.executable, "-m", "desktop_app", *args])
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=180, check=False)
    assert "mount:" not in done.stderr, f"could not hide the library here: {done.stderr}"
    return Run(tuple(args), done.returncode, done.stdout, done.stderr)


def test_the_simulation_is_faithful_sounddevice_cannot_load_portaudio(tmp_path: Path) -> None:
    command = without([PORTAUDIO], tmp_path, [sys.executable, "-c", "import sounddevice"])
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1 and "OSError: PortAudio library not found" in done.stderr, done.stderr
    assert _library_file(PORTAUDIO).exists()  # the real machine still has it


def test_commands_that_need_portaudio_say_so_in_one_line(data_dir: Path, tmp_path: Path) -> None:
    install = how_to_install([PORTAUDIO])  # this machine's os-release: the unit tests above check which
    devices = run_without([PORTAUDIO], tmp_path, "--data-dir", str(data_dir), "devices")
    line = refused(devices, 1, CODE, mentions="Cannot list the sound devices: PortAudio (libportaudio.so.2")
    assert line.endswith(f"{install} [{CODE}]"), line
    recording = REPO_ROOT / "resources" / "sounds" / "self-test.wav"
    transcribe = run_without([PORTAUDIO], tmp_path, "--data-dir", str(data_dir), "transcribe", str(recording))
    refused(transcribe, 1, CODE, mentions="PortAudio (libportaudio.so.2, for the microphone and speaker) is missing")
    speak = run_without([PORTAUDIO], tmp_path, "--data-dir", str(data_dir), "ask", "--speak", "what is 2 plus 2")
    refused(speak, 1, CODE, mentions="Cannot say the answer out loud (ask without --speak for text only)")
    assert stored_messages(data_dir) == []  # refused before the question was asked
    typed = ok(run_without([PORTAUDIO], tmp_path, "--data-dir", str(data_dir), "ask", "what is 2 plus 2"))
    assert typed.out.strip() == "2 plus 2 is 4."  # a question without --speak needs neither library


def test_ask_speak_without_espeak_ng_says_so_before_asking(data_dir: Path, tmp_path: Path) -> None:
    speak = run_without([ESPEAK_NG], tmp_path, "--data-dir", str(data_dir), "ask", "--speak", "what is 2 plus 2")
    line = refused(speak, 1, CODE, mentions="eSpeak NG (libespeak-ng.so.1, for spoken answers) is missing")
    assert line.endswith(f"{how_to_install([ESPEAK_NG])} [{CODE}]"), line
    assert stored_messages(data_dir) == []


@pytest.mark.parametrize(
    ("library", "failing"), [(PORTAUDIO, {"recogniser", "turn"}), (ESPEAK_NG, {"speech"})], ids=["portaudio", "espeak"]
)
def test_the_self_test_names_the_missing_library(library: SystemLibrary, failing: set[str], tmp_path: Path) -> None:
    done = run_without([library], tmp_path, "--self-test")
    assert done.code == 1 and "Traceback" not in done.err, done.out + done.err
    checks = {line.split()[1]: line.split()[0] for line in done.out.splitlines()[1:-1]}  # name: ok, FAIL or warn
    assert {name for name, mark in checks.items() if mark == "FAIL"} == failing, done.out
    said = f"{library.label} is missing. {how_to_install([library])}"
    for line in done.out.splitlines():
        if line.startswith("FAIL"):
            assert line.endswith(said), line
    assert done.out.rstrip().endswith(f"failed: {', '.join(name for name in checks if name in failing)}")


# -- the window ----------------------------------------------------------------------------------------------


@contextmanager
def app_without(
    libraries: Sequence[SystemLibrary], display: str, data_dir: Path, scratch: Path, *, first_run: bool = False
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """The app started on the X screen without `libraries`, with the start-up dialog's window id; the
    first-run guide is marked done unless `first_run`."""
    if not first_run:
        first_run_done(data_dir)
    env = {key: value for key, value in os.environ.items() if not key.startswith("VOICE_ASSISTANT_")}
    env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb")
    command = without(libraries, scratch, [sys.executable, "-m", "desktop_app", "--data-dir", str(data_dir)])
    app = subprocess.Popen(command, env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        found = xdotool("search", "--sync", "--onlyvisible", "--name", "^Voice Assistant$", display=display, timeout=60)
        assert found.returncode == 0, found.stderr
        dialog = found.stdout.split()[0]
        window_type = subprocess.run(
            ["xprop", "-id", dialog, "_NET_WM_WINDOW_TYPE"],
            env={**os.environ, "DISPLAY": display},
            capture_output=True,
            text=True,
            timeout=10,
        )
        assert "_NET_WM_WINDOW_TYPE_DIALOG" in window_type.stdout, window_type.stdout + window_type.stderr
        xdotool("windowfocus", "--sync", dialog, display=display)  # no window manager gives it the focus
        yield app, dialog
    finally:
        if app.poll() is None:
            app.kill()
            app.communicate()


def _ended(app: subprocess.Popen[str]) -> str:
    _, err = app.communicate(timeout=30)
    assert "Traceback" not in err, err
    return err


@pytest.mark.gui
def test_without_portaudio_the_window_says_so_and_quit_ends_it(
    xvfb_display: str, data_dir: Path, tmp_path: Path
) -> None:
    with app_without([PORTAUDIO], xvfb_display, data_dir, tmp_path) as (app, _dialog):
        wait_for_log(data_dir, "start-up dialog (Quit or Continue without it): PortAudio is not installed.")
        log = log_text(data_dir)
        assert "(libportaudio.so.2, for the microphone and speaker): without it, nothing is heard or spoken" in log
        assert f"Install it with: {install_command([PORTAUDIO])}" in log
        assert "libportaudio.so.2 cannot be loaded: " in log  # the loader's own words, for whoever reads the log
        xdotool("key", "Escape", display=xvfb_display)
        _ended(app)
    assert app.returncode == EXIT_SYSTEM_LIBRARY_MISSING
    assert "the user chose to quit" in log_text(data_dir)
    assert not (data_dir / "assistant.db").exists()  # nothing started behind the dialog


@pytest.mark.gui
def test_without_espeak_ng_quit_ends_the_app(xvfb_display: str, data_dir: Path, tmp_path: Path) -> None:
    with app_without([ESPEAK_NG], xvfb_display, data_dir, tmp_path) as (app, _dialog):
        wait_for_log(data_dir, "start-up dialog (Quit or Continue without it): eSpeak NG is not installed.")
        assert f"Install it with: {install_command([ESPEAK_NG])}" in log_text(data_dir)
        xdotool("key", "Escape", display=xvfb_display)
        _ended(app)
    assert app.returncode == EXIT_SYSTEM_LIBRARY_MISSING
    assert "the user chose to quit" in log_text(data_dir)


@pytest.mark.gui
@pytest.mark.parametrize("library", [ESPEAK_NG, PORTAUDIO], ids=lambda library: library.name)
def test_without_a_library_the_app_continues_and_answers_typed_questions(
    library: SystemLibrary, xvfb_display: str, data_dir: Path, tmp_path: Path
) -> None:
    with app_without([library], xvfb_display, data_dir, tmp_path) as (app, dialog):
        xdotool("key", "Return", display=xvfb_display)  # the default button: Continue without it
        wait_for_log(data_dir, "the user chose to continue without it")
        wait_for_log(data_dir, "voice services ready")
        found = xdotool("search", "--sync", "--onlyvisible", "--name", "^Voice Assistant$", display=xvfb_display)
        windows = [window for window in found.stdout.split() if window != dialog]
        assert windows, found.stdout + found.stderr
        xdotool("windowfocus", "--sync", windows[0], display=xvfb_display)
        xdotool("key", "ctrl+l", display=xvfb_display)
        xdotool("type", "--delay", "20", "what is 2 plus 2", display=xvfb_display)
        xdotool("key", "Return", display=xvfb_display)
        assert wait_for_messages(data_dir, 2) == [("user", "what is 2 plus 2"), ("assistant", "2 plus 2 is 4.")]
        xdotool("key", "ctrl+q", display=xvfb_display)
        _ended(app)
    assert app.returncode == 0


@pytest.mark.gui
def test_without_portaudio_the_first_run_guide_says_why_no_microphone_can_be_used(
    xvfb_display: str, data_dir: Path, tmp_path: Path
) -> None:
    with app_without([PORTAUDIO], xvfb_display, data_dir, tmp_path, first_run=True) as (app, _dialog):
        xdotool("key", "Return", display=xvfb_display)  # Continue without it
        wait_for_log(data_dir, "voice services could not start")
        found = xdotool("search", "--sync", "--onlyvisible", "--name", "^Welcome", display=xvfb_display, timeout=60)
        guide = found.stdout.split()[0]
        xdotool("windowfocus", "--sync", guide, display=xvfb_display)
        xdotool("key", "Return", display=xvfb_display)  # Next: the microphone page
        wait_for_log(data_dir, "first-run guide: no microphone can be used: The microphone and speaker cannot be used")
        assert f"Install it with: {install_command([PORTAUDIO])}" in log_text(data_dir)
        app.terminate()
        _ended(app)  # and no traceback on the way
