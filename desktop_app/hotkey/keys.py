"""The keys a push-to-talk hotkey can use, with each one's name in every notation the app must write.

One table, so that a key the parser accepts can always be grabbed on X11, offered to the portal, handed to
pynput and spelled in a desktop's configuration. X11, GNOME, sway, Hyprland and the portal all name keys by
their xkb keysym (`space`, `F9`, `Page_Up`); KDE uses Qt's names (`Space`, `PgUp`).
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from enum import StrEnum


class Modifier(StrEnum):
    CTRL = "ctrl"
    ALT = "alt"
    SHIFT = "shift"
    SUPER = "super"


# The order modifiers are written in, everywhere.
MODIFIER_ORDER = (Modifier.CTRL, Modifier.ALT, Modifier.SHIFT, Modifier.SUPER)

MODIFIER_ALIASES: dict[str, Modifier] = {
    "ctrl": Modifier.CTRL,
    "control": Modifier.CTRL,
    "ctl": Modifier.CTRL,
    "alt": Modifier.ALT,
    "option": Modifier.ALT,
    "opt": Modifier.ALT,
    "mod1": Modifier.ALT,
    "shift": Modifier.SHIFT,
    "super": Modifier.SUPER,
    "win": Modifier.SUPER,
    "windows": Modifier.SUPER,
    "meta": Modifier.SUPER,  # KDE and Qt call the Windows-logo key Meta
    "cmd": Modifier.SUPER,
    "command": Modifier.SUPER,
    "logo": Modifier.SUPER,
    "mod4": Modifier.SUPER,
}


@dataclass(frozen=True)
class ModifierNames:
    label: str
    gnome: str
    kde: str
    sway: str
    hyprland: str
    portal: str


MODIFIER_NAMES: dict[Modifier, ModifierNames] = {
    Modifier.CTRL: ModifierNames("Ctrl", "<Control>", "Ctrl", "Ctrl", "CTRL", "CTRL"),
    Modifier.ALT: ModifierNames("Alt", "<Alt>", "Alt", "Mod1", "ALT", "ALT"),
    Modifier.SHIFT: ModifierNames("Shift", "<Shift>", "Shift", "Shift", "SHIFT", "SHIFT"),
    Modifier.SUPER: ModifierNames("Super", "<Super>", "Meta", "Mod4", "SUPER", "LOGO"),
}


@dataclass(frozen=True)
class KeyName:
    """One key. `pynput` is a single character for a key that types it, else the name of a `pynput.keyboard.Key`
    member. `types_text` keys (letters, space, Enter, arrows...) need Ctrl, Alt or Super: grabbed alone they
    would stop working in every other program."""

    name: str
    keysym: str
    label: str
    kde: str
    pynput: str
    types_text: bool = True


def _table() -> dict[str, KeyName]:
    keys = [KeyName(c, c, c.upper(), c.upper(), c) for c in string.ascii_lowercase]
    keys += [KeyName(d, d, d, d, d) for d in string.digits]
    keys += [KeyName(f"f{n}", f"F{n}", f"F{n}", f"F{n}", f"f{n}", types_text=False) for n in range(1, 25)]
    keys += [
        KeyName("space", "space", "Space", "Space", "space"),
        KeyName("enter", "Return", "Enter", "Return", "enter"),
        KeyName("tab", "Tab", "Tab", "Tab", "tab"),
        KeyName("escape", "Escape", "Esc", "Esc", "esc"),
        KeyName("backspace", "BackSpace", "Backspace", "Backspace", "backspace"),
        KeyName("delete", "Delete", "Delete", "Del", "delete"),
        KeyName("insert", "Insert", "Insert", "Ins", "insert"),
        KeyName("home", "Home", "Home", "Home", "home"),
        KeyName("end", "End", "End", "End", "end"),
        KeyName("page_up", "Page_Up", "Page Up", "PgUp", "page_up"),
        KeyName("page_down", "Page_Down", "Page Down", "PgDown", "page_down"),
        KeyName("up", "Up", "Up", "Up", "up"),
        KeyName("down", "Down", "Down", "Down", "down"),
        KeyName("left", "Left", "Left", "Left", "left"),
        KeyName("right", "Right", "Right", "Right", "right"),
        KeyName("pause", "Pause", "Pause", "Pause", "pause", types_text=False),
        KeyName("print", "Print", "Print Screen", "Print", "print_screen", types_text=False),
        KeyName("menu", "Menu", "Menu", "Menu", "menu", types_text=False),
    ]
    punctuation = {
        "minus": "-",
        "equal": "=",
        "comma": ",",
        "period": ".",
        "slash": "/",
        "backslash": "\\",
        "semicolon": ";",
        "apostrophe": "'",
        "grave": "`",
        "bracketleft": "[",
        "bracketright": "]",
    }
    keys += [KeyName(name, name, char, char, char) for name, char in punctuation.items()]
    return {key.name: key for key in keys}


KEYS: dict[str, KeyName] = _table()

KEY_ALIASES: dict[str, str] = {
    **{name: name for name in KEYS},
    **{key.label.lower(): key.name for key in KEYS.values() if len(key.label) == 1},  # "-", ",", "/"...
    "return": "enter",
    "esc": "escape",
    "del": "delete",
    "ins": "insert",
    "pageup": "page_up",
    "pgup": "page_up",
    "prior": "page_up",
    "pagedown": "page_down",
    "pgdn": "page_down",
    "pgdown": "page_down",
    "next": "page_down",
    "printscreen": "print",
    "print_screen": "print",
    "prtsc": "print",
    "dot": "period",
    "backquote": "grave",
    "quote": "apostrophe",
}
