"""Which desktop this is, and the exact text to paste there to bind the push-to-talk key to the app's remote
command (`voice-assistant ptt press|release|toggle|cancel`): the way in where the app cannot watch a global
key itself (Wayland without the GlobalShortcuts portal), or where the user prefers the desktop's own
shortcuts.

Desktops that run a command only when a key goes down (GNOME, KDE, most others) get `toggle`: press once
to start talking, once to stop. sway and Hyprland can also run one when it goes up, so they get a real
hold: `press`, then `release`.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from desktop_app.hotkey.choose import is_wayland
from desktop_app.hotkey.spec import HotkeySpec

DEFAULT_COMMAND = "voice-assistant"
GNOME_SLOT = "/org/gnome/settings-daemon/plugins/media-keys/custom-keybindings/voice-assistant-talk/"
SHORTCUT_NAME = "Voice assistant: talk"
_STUCK = "If letting go ever fails to end a turn, `{cancel}` ends it."


class Desktop(StrEnum):
    GNOME = "gnome"
    KDE = "kde"
    SWAY = "sway"
    HYPRLAND = "hyprland"
    OTHER_X11 = "x11"
    OTHER_WAYLAND = "wayland"
    NONE = "none"  # no graphical session


def _names(environment: Mapping[str, str]) -> set[str]:
    names: set[str] = set()
    for variable in ("XDG_CURRENT_DESKTOP", "XDG_SESSION_DESKTOP", "DESKTOP_SESSION"):
        for part in environment.get(variable, "").split(":"):
            name = part.strip().lower().rsplit("/", 1)[-1]  # DESKTOP_SESSION can be a session file's path
            if name:
                names.add(name)
    return names


def detect_desktop(environment: Mapping[str, str]) -> Desktop:
    # A compositor's own socket variable is the surest sign; XDG_CURRENT_DESKTOP can be inherited or faked.
    if environment.get("HYPRLAND_INSTANCE_SIGNATURE"):
        return Desktop.HYPRLAND
    if environment.get("SWAYSOCK"):
        return Desktop.SWAY
    names = _names(environment)
    if "hyprland" in names:
        return Desktop.HYPRLAND
    if "sway" in names:
        return Desktop.SWAY
    if names & {"kde", "plasma", "plasmawayland", "plasmax11"} or environment.get("KDE_FULL_SESSION") == "true":
        return Desktop.KDE
    if any(name == "gnome" or name.startswith("gnome-") for name in names) or environment.get(
        "GNOME_DESKTOP_SESSION_ID"
    ):
        return Desktop.GNOME
    if is_wayland(environment):
        return Desktop.OTHER_WAYLAND
    if environment.get("DISPLAY", "").strip():
        return Desktop.OTHER_X11
    return Desktop.NONE


@dataclass(frozen=True)
class BindingInstructions:
    desktop: Desktop
    mode: Literal["hold", "toggle"]
    summary: str  # where to paste and what the key will do, for people
    snippet: str  # the exact text to paste

    def text(self) -> str:
        return f"{self.summary}\n\n{self.snippet}\n"


def ptt_command(command: str | Sequence[str], action: str) -> str:
    """The shell command line for `<command> ptt <action>` (`command` is the program, or its argv prefix
    such as [python, -m, desktop_app])."""
    argv = [command] if isinstance(command, str) else list(command)
    return shlex.join([*argv, "ptt", action])


def _gvariant_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _double_quoted(text: str) -> str:
    escaped = "".join("\\" + char if char in '\\"$`' else char for char in text)
    return f'"{escaped}"'


def _gnome(spec: HotkeySpec, toggle: str, cancel: str) -> BindingInstructions:
    def set_value(key: str, value: str) -> str:
        # gsettings parses its argument as a GVariant: a quoted string is taken as it is.
        return f"gsettings set $KEYS.custom-keybinding:$SLOT {key} {_double_quoted(_gvariant_string(value))}"

    snippet = "\n".join(
        [
            "KEYS=org.gnome.settings-daemon.plugins.media-keys",
            f"SLOT={GNOME_SLOT}",
            "LIST=$(gsettings get $KEYS custom-keybindings)",
            'case "$LIST" in',
            "  *\"'$SLOT'\"*) ;;",
            '  "@as []") gsettings set $KEYS custom-keybindings "[\'$SLOT\']" ;;',
            "  *) gsettings set $KEYS custom-keybindings \"${LIST%]}, '$SLOT']\" ;;",
            "esac",
            set_value("name", SHORTCUT_NAME),
            set_value("command", toggle),
            set_value("binding", spec.gnome_accelerator()),
        ]
    )
    summary = (
        f"GNOME: paste these lines into a terminal (bash or zsh). They add the custom shortcut “{SHORTCUT_NAME}” "
        f"for {spec.display()}, which then shows in Settings > Keyboard > Keyboard Shortcuts > Custom Shortcuts; "
        "other custom shortcuts are kept. GNOME runs a shortcut's command only when the key goes down, so the key "
        f"toggles: press it once to start talking and once to stop. `{cancel}` drops a turn."
    )
    return BindingInstructions(Desktop.GNOME, "toggle", summary, snippet)


def binding_instructions(
    desktop: Desktop, spec: HotkeySpec, command: str | Sequence[str] = DEFAULT_COMMAND
) -> BindingInstructions:
    press, release = ptt_command(command, "press"), ptt_command(command, "release")
    toggle, cancel = ptt_command(command, "toggle"), ptt_command(command, "cancel")
    key = spec.display()
    if desktop is Desktop.GNOME:
        return _gnome(spec, toggle, cancel)
    if desktop is Desktop.KDE:
        summary = (
            "KDE Plasma: open System Settings > Keyboard > Shortcuts, choose Add New > Command or Script…, paste "
            f"the command below, then give it the shortcut {spec.kde_shortcut()} (Plasma 5: System Settings > "
            "Shortcuts > Custom Shortcuts > Edit > New > Global Shortcut > Command/URL). KDE runs the command when "
            "the key goes down, so the key toggles: press it once to start talking and once to stop."
        )
        return BindingInstructions(desktop, "toggle", summary, toggle)
    if desktop is Desktop.SWAY:
        combo = spec.sway_combo()
        snippet = f"bindsym --no-repeat {combo} exec {press}\nbindsym --release {combo} exec {release}"
        summary = (
            f"sway: add these lines to ~/.config/sway/config, then run `swaymsg reload`. Hold {key} while you "
            f"speak and let go when you are done. " + _STUCK.format(cancel=cancel)
        )
        return BindingInstructions(desktop, "hold", summary, snippet)
    if desktop is Desktop.HYPRLAND:
        combo = spec.hyprland_combo()
        snippet = f"bind = {combo}, exec, {press}\nbindr = {combo}, exec, {release}"
        summary = (
            f"Hyprland: add these lines to ~/.config/hypr/hyprland.conf (Hyprland reloads it when it is saved). "
            f"Hold {key} while you speak and let go when you are done. " + _STUCK.format(cancel=cancel)
        )
        return BindingInstructions(desktop, "hold", summary, snippet)
    if desktop is Desktop.OTHER_X11:
        summary = (
            f"On X11 the app watches {key} itself; nothing needs binding. To use your window manager's shortcuts "
            f"instead, bind {key} to run the first command when the key goes down and the second when it goes up "
            "(or, if it can only run a command on the way down, the third: press once to start, once to stop)."
        )
        return BindingInstructions(desktop, "hold", summary, f"{press}\n{release}\n{toggle}")
    if desktop is Desktop.OTHER_WAYLAND:
        summary = (
            f"In your desktop's keyboard-shortcut settings, add a custom shortcut {key} that runs the command "
            "below. Most desktops run a command only when the key goes down, so the key toggles: press it once to "
            "start talking and once to stop."
        )
        return BindingInstructions(desktop, "toggle", summary, toggle)
    summary = (
        "No desktop session was found, so there is no key to bind. The command below starts and stops talking "
        "from a terminal or a script."
    )
    return BindingInstructions(desktop, "toggle", summary, toggle)
