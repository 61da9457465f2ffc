"""Which desktop the session is, and the text the user pastes there to bind the key to `voice-assistant ptt`.

The GNOME commands are run for real with `gsettings` (its keyfile backend in a temporary folder, so no
dconf daemon or desktop is needed): the custom shortcut they make must read back exactly, and the user's
own custom shortcuts must survive.
"""

from __future__ import annotations

import ast
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from desktop_app.hotkey import Desktop, HotkeySpec, binding_instructions, detect_desktop, ptt_command
from desktop_app.hotkey.desktop import GNOME_SLOT, SHORTCUT_NAME

SPEC = HotkeySpec.parse("ctrl+alt+space")
MEDIA_KEYS = "org.gnome.settings-daemon.plugins.media-keys"


@pytest.mark.parametrize(
    ("environment", "desktop"),
    [
        (
            {"XDG_CURRENT_DESKTOP": "GNOME", "XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0"},
            Desktop.GNOME,
        ),
        ({"XDG_CURRENT_DESKTOP": "ubuntu:GNOME", "XDG_SESSION_TYPE": "x11", "DISPLAY": ":0"}, Desktop.GNOME),
        ({"XDG_SESSION_DESKTOP": "gnome-xorg", "DISPLAY": ":0"}, Desktop.GNOME),
        ({"XDG_CURRENT_DESKTOP": "KDE", "XDG_SESSION_TYPE": "wayland"}, Desktop.KDE),
        ({"DESKTOP_SESSION": "/usr/share/xsessions/plasma", "DISPLAY": ":0"}, Desktop.KDE),
        ({"KDE_FULL_SESSION": "true", "DISPLAY": ":0"}, Desktop.KDE),
        ({"SWAYSOCK": "/run/user/1000/sway-ipc.1000.123.sock", "WAYLAND_DISPLAY": "wayland-1"}, Desktop.SWAY),
        ({"XDG_CURRENT_DESKTOP": "sway", "WAYLAND_DISPLAY": "wayland-1"}, Desktop.SWAY),
        ({"HYPRLAND_INSTANCE_SIGNATURE": "abc_123", "XDG_CURRENT_DESKTOP": "Hyprland"}, Desktop.HYPRLAND),
        # The compositor's own socket wins over an inherited desktop name.
        ({"HYPRLAND_INSTANCE_SIGNATURE": "abc_123", "XDG_CURRENT_DESKTOP": "GNOME"}, Desktop.HYPRLAND),
        ({"XDG_CURRENT_DESKTOP": "XFCE", "XDG_SESSION_TYPE": "x11", "DISPLAY": ":0"}, Desktop.OTHER_X11),
        ({"DISPLAY": ":0"}, Desktop.OTHER_X11),
        ({"XDG_CURRENT_DESKTOP": "niri", "WAYLAND_DISPLAY": "wayland-1"}, Desktop.OTHER_WAYLAND),
        ({"XDG_SESSION_TYPE": "wayland", "DISPLAY": ":0"}, Desktop.OTHER_WAYLAND),  # XWayland is still Wayland
        ({}, Desktop.NONE),
        ({"XDG_SESSION_TYPE": "tty"}, Desktop.NONE),
    ],
)
def test_detect_desktop(environment: dict[str, str], desktop: Desktop) -> None:
    assert detect_desktop(environment) is desktop


def test_sway_holds_with_a_press_binding_that_does_not_repeat_and_a_release_binding() -> None:
    instructions = binding_instructions(Desktop.SWAY, SPEC)
    assert instructions.mode == "hold"
    assert instructions.snippet == (
        "bindsym --no-repeat Ctrl+Mod1+space exec voice-assistant ptt press\n"
        "bindsym --release Ctrl+Mod1+space exec voice-assistant ptt release"
    )
    assert "~/.config/sway/config" in instructions.summary and "swaymsg reload" in instructions.summary


def test_hyprland_holds_with_bind_and_bindr() -> None:
    instructions = binding_instructions(Desktop.HYPRLAND, HotkeySpec.parse("super+F9"))
    assert instructions.mode == "hold"
    assert instructions.snippet == (
        "bind = SUPER, F9, exec, voice-assistant ptt press\nbindr = SUPER, F9, exec, voice-assistant ptt release"
    )
    assert "hyprland.conf" in instructions.summary


def test_kde_toggles_with_a_custom_shortcut() -> None:
    instructions = binding_instructions(Desktop.KDE, SPEC)
    assert instructions.mode == "toggle"
    assert instructions.snippet == "voice-assistant ptt toggle"
    assert "Ctrl+Alt+Space" in instructions.summary and "Command or Script" in instructions.summary


def test_other_desktops() -> None:
    x11 = binding_instructions(Desktop.OTHER_X11, SPEC)
    assert x11.snippet.splitlines() == [
        "voice-assistant ptt press",
        "voice-assistant ptt release",
        "voice-assistant ptt toggle",
    ]
    assert "watches Ctrl+Alt+Space itself" in x11.summary
    wayland = binding_instructions(Desktop.OTHER_WAYLAND, SPEC)
    assert (wayland.mode, wayland.snippet) == ("toggle", "voice-assistant ptt toggle")
    none = binding_instructions(Desktop.NONE, SPEC)
    assert "No desktop session" in none.summary
    assert none.text().endswith("\nvoice-assistant ptt toggle\n")


def test_the_command_is_quoted_for_the_shell() -> None:
    assert ptt_command(["/opt/My Apps/python", "-m", "desktop_app"], "press") == (
        "'/opt/My Apps/python' -m desktop_app ptt press"
    )
    snippet = binding_instructions(Desktop.SWAY, SPEC, "/opt/va/bin/voice-assistant").snippet
    assert "exec /opt/va/bin/voice-assistant ptt press" in snippet


def _gsettings(home: Path, *args: str) -> str:
    gsettings = shutil.which("gsettings")
    assert gsettings, "gsettings is missing: run ./test.sh, which installs libglib2.0-bin"
    result = subprocess.run(
        [gsettings, *args], env=_gsettings_env(home), capture_output=True, text=True, timeout=30, check=True
    )
    return result.stdout.strip()


def _gsettings_env(home: Path) -> dict[str, str]:
    # The keyfile backend keeps the settings in one file under XDG_CONFIG_HOME: no dconf daemon, no D-Bus.
    return {
        **os.environ,
        "GSETTINGS_BACKEND": "keyfile",
        "XDG_CONFIG_HOME": str(home),
        "DBUS_SESSION_BUS_ADDRESS": "disabled:",
    }


@pytest.fixture
def gnome_settings(tmp_path: Path) -> Path:
    schemas = subprocess.run(
        ["gsettings", "list-schemas"], env=_gsettings_env(tmp_path), capture_output=True, text=True, timeout=30
    ).stdout.split()
    assert MEDIA_KEYS in schemas, (
        "GNOME's media-keys settings schema is missing: run ./test.sh, which installs gnome-settings-daemon-common"
    )
    return tmp_path


def _run_snippet(shell: str, snippet: str, home: Path) -> None:
    subprocess.run([shell, "-c", snippet], env=_gsettings_env(home), check=True, timeout=60, capture_output=True)


@pytest.mark.parametrize("shell", ["sh", "bash"])
def test_the_gnome_commands_make_the_custom_shortcut(gnome_settings: Path, shell: str) -> None:
    instructions = binding_instructions(Desktop.GNOME, SPEC)
    assert instructions.mode == "toggle"
    _run_snippet(shell, instructions.snippet, gnome_settings)
    slot = f"{MEDIA_KEYS}.custom-keybinding:{GNOME_SLOT}"
    assert _gsettings(gnome_settings, "get", MEDIA_KEYS, "custom-keybindings") == f"['{GNOME_SLOT}']"
    assert _gsettings(gnome_settings, "get", slot, "binding") == "'<Control><Alt>space'"
    assert _gsettings(gnome_settings, "get", slot, "command") == "'voice-assistant ptt toggle'"
    assert _gsettings(gnome_settings, "get", slot, "name") == f"'{SHORTCUT_NAME}'"


def test_the_gnome_commands_keep_other_shortcuts_and_can_run_twice(gnome_settings: Path) -> None:
    theirs = "/org/gnome/settings-daemon/plugins/media-keys/custom-keybindings/custom0/"
    _gsettings(gnome_settings, "set", MEDIA_KEYS, "custom-keybindings", f"['{theirs}']")
    # A path with a space and a quote: the command must still arrive as one shell-quoted line.
    command = ["/home/o'neil/My Apps/voice-assistant"]
    instructions = binding_instructions(Desktop.GNOME, HotkeySpec.parse("super+F9"), command)
    for _ in range(2):
        _run_snippet("sh", instructions.snippet, gnome_settings)
    assert _gsettings(gnome_settings, "get", MEDIA_KEYS, "custom-keybindings") == f"['{theirs}', '{GNOME_SLOT}']"
    slot = f"{MEDIA_KEYS}.custom-keybinding:{GNOME_SLOT}"
    assert _gsettings(gnome_settings, "get", slot, "binding") == "'<Super>F9'"
    # gsettings prints GVariant text, whose string escapes are Python's; GNOME splits the command line the way
    # a shell does.
    stored = ast.literal_eval(_gsettings(gnome_settings, "get", slot, "command"))
    assert stored == ptt_command(command, "toggle")
    assert shlex.split(stored) == [*command, "ptt", "toggle"]
