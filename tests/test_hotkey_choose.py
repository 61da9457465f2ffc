"""Which backend a session gets, and what the user reads when none can work."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_app.core.errors import ErrorCode
from desktop_app.hotkey import (
    BackendKind,
    GlobalHotkey,
    HotkeyStatus,
    Unavailable,
    choose_backend,
    session_bus_address,
)

BUS = "unix:path=/run/user/1000/bus"


@pytest.mark.parametrize(
    ("environment", "platform", "expected"),
    [
        ({"DISPLAY": ":0", "XDG_SESSION_TYPE": "x11"}, "linux", BackendKind.X11),
        ({"DISPLAY": ":1"}, "linux", BackendKind.X11),
        ({"DISPLAY": ":0"}, "freebsd14", BackendKind.X11),
        ({"WAYLAND_DISPLAY": "wayland-0", "DBUS_SESSION_BUS_ADDRESS": BUS}, "linux", BackendKind.PORTAL),
        # XWayland's DISPLAY does not make a Wayland session an X11 one: a grab there sees X11 windows only.
        (
            {
                "XDG_SESSION_TYPE": "wayland",
                "DISPLAY": ":0",
                "WAYLAND_DISPLAY": "wayland-0",
                "DBUS_SESSION_BUS_ADDRESS": BUS,
            },
            "linux",
            BackendKind.PORTAL,
        ),
        # A stray WAYLAND_DISPLAY in an X11 session (a nested compositor, say) leaves it X11.
        ({"XDG_SESSION_TYPE": "x11", "DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, "linux", BackendKind.X11),
        ({}, "win32", BackendKind.PYNPUT),
        ({}, "darwin", BackendKind.PYNPUT),
    ],
)
def test_choose_backend(environment: dict[str, str], platform: str, expected: BackendKind) -> None:
    assert choose_backend(environment, platform) is expected


@pytest.mark.parametrize(
    ("environment", "platform", "says"),
    [
        ({}, "linux", "neither DISPLAY nor WAYLAND_DISPLAY is set"),
        ({"XDG_SESSION_TYPE": "tty"}, "linux", "No desktop session was found"),
        ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", "This Wayland session has no D-Bus session bus"),
        ({"DISPLAY": ":0"}, "emscripten", "no global push-to-talk key on emscripten"),
    ],
)
def test_no_backend_is_a_typed_result_a_user_can_act_on(environment: dict[str, str], platform: str, says: str) -> None:
    chosen = choose_backend(environment, platform)
    assert isinstance(chosen, Unavailable)
    assert chosen.code is ErrorCode.HOTKEY_UNAVAILABLE
    assert says in chosen.reason
    assert any(way in chosen.reason for way in ("Talk button", "voice-assistant ptt toggle"))


def test_the_session_bus_is_found_as_libdbus_finds_it(tmp_path: Path) -> None:
    assert session_bus_address({"DBUS_SESSION_BUS_ADDRESS": BUS}) == BUS
    assert session_bus_address({"XDG_RUNTIME_DIR": str(tmp_path)}) is None  # no socket there
    (tmp_path / "bus").write_text("not a socket")
    assert session_bus_address({"XDG_RUNTIME_DIR": str(tmp_path)}) is None
    runtime = tmp_path / "run"
    runtime.mkdir()
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(runtime / "bus"))
        assert session_bus_address({"XDG_RUNTIME_DIR": str(runtime)}) == f"unix:path={runtime / 'bus'}"
        environment = {"WAYLAND_DISPLAY": "wayland-0", "XDG_RUNTIME_DIR": str(runtime)}
        assert choose_backend(environment, "linux") is BackendKind.PORTAL


def test_the_facade_never_raises_for_what_the_session_cannot_do() -> None:
    statuses: list[HotkeyStatus] = []
    hotkey = GlobalHotkey(lambda: None, lambda: None, statuses.append, environment={}, platform="linux")
    assert isinstance(hotkey.status, Unavailable) and "not started" in hotkey.status.reason
    no_desktop = hotkey.start("ctrl+alt+space")
    assert isinstance(no_desktop, Unavailable) and "No desktop session was found" in no_desktop.reason
    invalid = hotkey.start("ctrl+alt")
    assert isinstance(invalid, Unavailable) and invalid.code is ErrorCode.HOTKEY_INVALID
    assert statuses == [no_desktop, invalid]
    assert hotkey.status == invalid and hotkey.backend is None
    hotkey.stop()
    hotkey.stop()
    assert "not started" in hotkey.status.reason


@pytest.mark.parametrize(
    ("library", "environment"),
    [("Xlib", {"DISPLAY": ":5"}), ("jeepney", {"WAYLAND_DISPLAY": "w-0", "DBUS_SESSION_BUS_ADDRESS": BUS})],
)
def test_an_installation_without_the_backends_library_is_unavailable(library: str, environment: dict[str, str]) -> None:
    """A fresh interpreter in which the library cannot be imported (None in sys.modules makes its import
    fail), as in an installation without it."""
    script = (
        f"import sys; sys.modules[{library!r}] = None\n"
        "from desktop_app.hotkey import GlobalHotkey\n"
        f"status = GlobalHotkey(lambda: None, lambda: None, environment={environment!r}, platform='linux')"
        ".start('ctrl+alt+space')\n"
        "print(status.code, status.reason)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.startswith("hotkey_unavailable The library for the ")
    assert "is not installed" in result.stdout and "Reinstall the app." in result.stdout
