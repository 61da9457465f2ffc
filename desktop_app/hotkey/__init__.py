"""The global push-to-talk hotkey: held anywhere on the desktop while another program has the focus.

`GlobalHotkey` is what the app wires: it parses the `talk.hotkey` setting, picks a backend for the session
(an X11 key grab, the Wayland GlobalShortcuts portal, or pynput on Windows and macOS) and reports one press
and one release per hold. Where no backend can work, `detect_desktop` and `binding_instructions` tell the
user how to bind the key to the app's `voice-assistant ptt` command instead.

Imports only desktop_app.core: no Qt, no other adapter. Each backend's library loads only when it starts.
"""

from desktop_app.hotkey.backend import (
    BackendKind,
    HotkeyBackend,
    HotkeyError,
    HotkeyStatus,
    KeyCallback,
    Listening,
    StatusCallback,
    Unavailable,
    Waiting,
)
from desktop_app.hotkey.choose import choose_backend, create_backend, session_bus_address
from desktop_app.hotkey.desktop import BindingInstructions, Desktop, binding_instructions, detect_desktop, ptt_command
from desktop_app.hotkey.keys import Modifier
from desktop_app.hotkey.service import GlobalHotkey
from desktop_app.hotkey.spec import HotkeySpec

__all__ = [
    "BackendKind",
    "BindingInstructions",
    "Desktop",
    "GlobalHotkey",
    "HotkeyBackend",
    "HotkeyError",
    "HotkeySpec",
    "HotkeyStatus",
    "KeyCallback",
    "Listening",
    "Modifier",
    "StatusCallback",
    "Unavailable",
    "Waiting",
    "binding_instructions",
    "choose_backend",
    "create_backend",
    "detect_desktop",
    "ptt_command",
    "session_bus_address",
]
