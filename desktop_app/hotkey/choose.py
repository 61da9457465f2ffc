"""Which backend can watch a global key in this session, decided from the environment alone.

- Windows, macOS: pynput (the system's keyboard hook).
- Wayland: the desktop's GlobalShortcuts portal over the D-Bus session bus. Not an X11 grab through
  XWayland, even when DISPLAY is set: it would only see keys while an X11 window has the focus.
- X11: a key grab on the X server.
- Anything else: Unavailable, with the reason and what to do in words a user can act on.
"""

from __future__ import annotations

import stat
import sys
from collections.abc import Mapping
from pathlib import Path

from desktop_app.core.errors import ErrorCode
from desktop_app.hotkey.backend import BackendKind, HotkeyBackend, Unavailable
from desktop_app.hotkey.spec import HotkeySpec

_UNIX_PREFIXES = ("linux", "freebsd", "openbsd", "netbsd", "dragonfly", "sunos")


def session_bus_address(environment: Mapping[str, str]) -> str | None:
    """The D-Bus session bus as libdbus finds it: DBUS_SESSION_BUS_ADDRESS, else $XDG_RUNTIME_DIR/bus."""
    address = environment.get("DBUS_SESSION_BUS_ADDRESS", "").strip()
    if address:
        return address
    runtime = environment.get("XDG_RUNTIME_DIR", "").strip()
    if runtime:
        bus = Path(runtime) / "bus"
        try:
            if stat.S_ISSOCK(bus.stat().st_mode):
                return f"unix:path={bus}"
        except OSError:
            return None
    return None


def is_wayland(environment: Mapping[str, str]) -> bool:
    session = environment.get("XDG_SESSION_TYPE", "").strip().lower()
    return session == "wayland" or (session != "x11" and bool(environment.get("WAYLAND_DISPLAY", "").strip()))


def choose_backend(environment: Mapping[str, str], platform: str = sys.platform) -> BackendKind | Unavailable:
    if platform in ("win32", "darwin"):
        return BackendKind.PYNPUT
    if not platform.startswith(_UNIX_PREFIXES):
        return Unavailable(
            ErrorCode.HOTKEY_UNAVAILABLE,
            f"This app has no global push-to-talk key on {platform}. Use the Talk button or the key in the window.",
        )
    if is_wayland(environment):
        if session_bus_address(environment) is None:
            return Unavailable(
                ErrorCode.HOTKEY_UNAVAILABLE,
                "This Wayland session has no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set), so the "
                "desktop cannot be asked for a global push-to-talk key. Start the app from your desktop's menu, "
                "or bind a key to the command `voice-assistant ptt toggle` in your desktop's keyboard settings.",
            )
        return BackendKind.PORTAL
    if environment.get("DISPLAY", "").strip():
        return BackendKind.X11
    return Unavailable(
        ErrorCode.HOTKEY_UNAVAILABLE,
        "No desktop session was found (neither DISPLAY nor WAYLAND_DISPLAY is set), so there is no push-to-talk "
        "key outside the app's window. Start the app from your desktop session, or use the Talk button.",
    )


def create_backend(
    kind: BackendKind,
    spec: HotkeySpec,
    environment: Mapping[str, str],
    *,
    app_id: str | None = None,
    parent_window: str = "",
) -> HotkeyBackend:
    """The backend `choose_backend` picked, set up for `spec` (its library is imported only here)."""
    if kind is BackendKind.X11:
        from desktop_app.hotkey.x11 import X11GrabBackend

        return X11GrabBackend(spec, environment.get("DISPLAY", "").strip())
    if kind is BackendKind.PORTAL:
        from desktop_app.hotkey.portal import PortalBackend

        return PortalBackend(spec, session_bus_address(environment) or "", app_id=app_id, parent_window=parent_window)
    from desktop_app.hotkey.pynput_backend import PynputBackend

    return PynputBackend(spec)
