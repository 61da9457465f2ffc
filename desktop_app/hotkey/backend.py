"""What every global-hotkey backend offers, and the states it reports.

Threads: `start` and `stop` are called from the app's thread. `on_press`, `on_release` and `on_status` are
called from the backend's own thread; they must return at once (emit a Qt signal, call the pipeline's
`press`, which never blocks). After `stop()` returns no callback runs. A hold still in progress at `stop()`
ends without a release: the app ends or cancels its turn itself when it changes or drops the hotkey.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from desktop_app.core.errors import AppError, ErrorCode


class BackendKind(StrEnum):
    X11 = "x11"  # a key grab on the X server (python-xlib)
    PORTAL = "portal"  # the desktop's GlobalShortcuts portal over D-Bus (Wayland)
    PYNPUT = "pynput"  # the operating system's keyboard hook (Windows, macOS)


class HotkeyError(AppError):
    """The hotkey cannot be watched; `code` is one of the HOTKEY_* codes and the message says what to do."""


@dataclass(frozen=True)
class Listening:
    """The hotkey works: `trigger` is what the user presses, in words ("Ctrl+Alt+Space"). With the portal
    it is what the user chose in the desktop's dialog, which may differ from the setting."""

    backend: BackendKind
    trigger: str


@dataclass(frozen=True)
class Waiting:
    """The desktop is asking the user to allow the shortcut (the portal's dialog)."""

    backend: BackendKind
    reason: str


@dataclass(frozen=True)
class Unavailable:
    """No global hotkey: `reason` says why and what the user can do instead."""

    code: ErrorCode
    reason: str


HotkeyStatus = Listening | Waiting | Unavailable
KeyCallback = Callable[[], None]
StatusCallback = Callable[[HotkeyStatus], None]


class HotkeyBackend(Protocol):
    kind: BackendKind

    def start(self, on_press: KeyCallback, on_release: KeyCallback, on_status: StatusCallback | None = None) -> None:
        """Starts watching the key. Raises HotkeyError when it cannot (a display that does not answer, a key
        another program holds); a failure found later (the user declines the portal's dialog, the display
        goes away) goes to `on_status` as Unavailable. `on_press` and `on_release` come once per hold."""
        ...

    def stop(self) -> None:
        """Stops watching and releases the key; returns within about a second and leaves no thread behind.
        Safe to call twice, or without start."""
        ...
