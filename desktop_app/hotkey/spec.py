"""A push-to-talk hotkey as the user writes it in the `talk.hotkey` setting ("ctrl+alt+space"), checked once
and then spelled for each backend and each desktop's configuration."""

from __future__ import annotations

from dataclasses import dataclass

from desktop_app.core.errors import ErrorCode, ValidationError
from desktop_app.hotkey.keys import (
    KEY_ALIASES,
    KEYS,
    MODIFIER_ALIASES,
    MODIFIER_NAMES,
    MODIFIER_ORDER,
    KeyName,
    Modifier,
)

EXAMPLE = "ctrl+alt+space"
MAX_LENGTH = 64
# A letter or the space bar with only Shift still types text, so one of these must be held with it.
_NON_TYPING_MODIFIERS = frozenset({Modifier.CTRL, Modifier.ALT, Modifier.SUPER})


def _invalid(message: str) -> ValidationError:
    return ValidationError(ErrorCode.HOTKEY_INVALID, message)


@dataclass(frozen=True)
class HotkeySpec:
    """Modifiers plus exactly one key. Build it with `parse`; `str()` gives the setting's canonical text."""

    modifiers: frozenset[Modifier]
    key: str  # a name in keys.KEYS

    @classmethod
    def parse(cls, text: str) -> HotkeySpec:
        """Reads "ctrl+alt+space", "Ctrl+Alt+Space", "<ctrl>+<alt>+space", "super+F9"...; raises
        ValidationError (code HOTKEY_INVALID) with a message saying what is wrong and how to write it."""
        cleaned = text.strip()
        if not cleaned:
            raise _invalid(f"The push-to-talk key is empty. Write a key combination such as {EXAMPLE}.")
        if len(cleaned) > MAX_LENGTH:
            raise _invalid(f"The push-to-talk key is longer than {MAX_LENGTH} characters. Write one such as {EXAMPLE}.")
        modifiers: set[Modifier] = set()
        keys: list[str] = []
        for part in cleaned.split("+"):
            token = part.strip().lower()
            if token.startswith("<") and token.endswith(">") and len(token) > 2:
                token = token[1:-1].strip()
            token = "_".join(token.split())  # "Page Up", as display() writes it
            if not token:
                raise _invalid(f"“{cleaned}” has an empty part. Join the keys with one + each, as in {EXAMPLE}.")
            modifier = MODIFIER_ALIASES.get(token)
            if modifier is not None:
                if modifier in modifiers:
                    label = MODIFIER_NAMES[modifier].label
                    raise _invalid(f"“{cleaned}” names {label} twice. Name each key once, as in {EXAMPLE}.")
                modifiers.add(modifier)
                continue
            name = KEY_ALIASES.get(token)
            if name is None:
                raise _invalid(
                    f"“{part.strip()}” in “{cleaned}” is not a key this app knows. Write keys joined by +, "
                    f"such as {EXAMPLE} or super+f9."
                )
            keys.append(name)
        if not keys:
            raise _invalid(f"“{cleaned}” has only modifier keys. Add one more key, as in {EXAMPLE}.")
        if len(keys) > 1:
            names = " and ".join(KEYS[name].label for name in keys)
            raise _invalid(
                f"“{cleaned}” names {len(keys)} keys ({names}); a hotkey is modifiers plus one key, as in {EXAMPLE}."
            )
        spec = cls(frozenset(modifiers), keys[0])
        if spec.key_name.types_text and not modifiers & _NON_TYPING_MODIFIERS:
            raise _invalid(
                f"{spec.display()} would stop that key working in every other program. Hold Ctrl, Alt or Super "
                f"with it, as in {EXAMPLE}."
            )
        return spec

    @property
    def key_name(self) -> KeyName:
        return KEYS[self.key]

    @property
    def ordered_modifiers(self) -> tuple[Modifier, ...]:
        return tuple(m for m in MODIFIER_ORDER if m in self.modifiers)

    def __str__(self) -> str:
        return "+".join([*self.ordered_modifiers, self.key])

    def display(self) -> str:
        """For menus and tooltips: "Ctrl+Alt+Space"."""
        return "+".join([*(MODIFIER_NAMES[m].label for m in self.ordered_modifiers), self.key_name.label])

    @property
    def keysym(self) -> str:
        """The key's xkb/X11 keysym name ("space", "F9")."""
        return self.key_name.keysym

    def gnome_accelerator(self) -> str:
        """GTK accelerator syntax: "<Control><Alt>space"."""
        return "".join(MODIFIER_NAMES[m].gnome for m in self.ordered_modifiers) + self.keysym

    def kde_shortcut(self) -> str:
        """Qt key-sequence syntax, as KDE's settings show it: "Ctrl+Alt+Space", "Meta+F9"."""
        return "+".join([*(MODIFIER_NAMES[m].kde for m in self.ordered_modifiers), self.key_name.kde])

    def sway_combo(self) -> str:
        """sway (and i3) `bindsym` syntax: "Ctrl+Mod1+space"."""
        return "+".join([*(MODIFIER_NAMES[m].sway for m in self.ordered_modifiers), self.keysym])

    def hyprland_combo(self) -> str:
        """Hyprland `bind` syntax, modifiers then key: "CTRL ALT, space"."""
        return " ".join(MODIFIER_NAMES[m].hyprland for m in self.ordered_modifiers) + ", " + self.keysym

    def portal_trigger(self) -> str:
        """The freedesktop shortcuts-spec trigger the GlobalShortcuts portal takes: "CTRL+ALT+space"."""
        return "+".join([*(MODIFIER_NAMES[m].portal for m in self.ordered_modifiers), self.keysym])
