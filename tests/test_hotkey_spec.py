"""The `talk.hotkey` text: what it accepts, what it refuses (with a stable code and a message that says how
to write it), and how the one key is spelled for menus, backends and each desktop."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from desktop_app.core.errors import ErrorCode, ValidationError
from desktop_app.core.settings import TALK_HOTKEY
from desktop_app.hotkey import HotkeySpec, Modifier
from desktop_app.hotkey.keys import KEYS


@pytest.mark.parametrize(
    "text",
    ["ctrl+alt+space", "Ctrl+Alt+Space", "<ctrl>+<alt>+space", " CONTROL + alt + <space> ", "alt+ctrl+space"],
)
def test_spellings_of_the_default_are_one_hotkey(text: str) -> None:
    spec = HotkeySpec.parse(text)
    assert spec == HotkeySpec(frozenset({Modifier.CTRL, Modifier.ALT}), "space")
    assert str(spec) == "ctrl+alt+space"
    assert spec.display() == "Ctrl+Alt+Space"


def test_the_settings_default_parses() -> None:
    assert HotkeySpec.parse(TALK_HOTKEY.default).display() == "Ctrl+Alt+Space"


@pytest.mark.parametrize(
    ("text", "canonical", "display"),
    [
        ("super+F9", "super+f9", "Super+F9"),
        ("win+f9", "super+f9", "Super+F9"),
        ("F9", "f9", "F9"),  # a function key types nothing, so it may stand alone
        ("pause", "pause", "Pause"),
        ("ctrl+shift+a", "ctrl+shift+a", "Ctrl+Shift+A"),
        ("cmd+option+Return", "alt+super+enter", "Alt+Super+Enter"),
        ("ctrl+alt+pgup", "ctrl+alt+page_up", "Ctrl+Alt+Page Up"),
        ("ctrl+alt+-", "ctrl+alt+minus", "Ctrl+Alt+-"),
        ("<alt>+<f12>", "alt+f12", "Alt+F12"),
        ("meta+1", "super+1", "Super+1"),
    ],
)
def test_other_hotkeys(text: str, canonical: str, display: str) -> None:
    spec = HotkeySpec.parse(text)
    assert (str(spec), spec.display()) == (canonical, display)
    assert HotkeySpec.parse(str(spec)) == spec  # the canonical text reads back the same


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("ctrl+alt+spcae", "“spcae” in “ctrl+alt+spcae” is not a key"),
        ("ctrl-alt-space", "not a key this app knows"),
        ("ctrl+alt", "has only modifier keys"),
        ("ctrl+control+space", "names Ctrl twice"),
        ("ctrl+alt+a+b", "names 2 keys (A and B)"),
        ("ctrl++space", "has an empty part"),
        ("ctrl+alt+", "has an empty part"),
        ("space", "Space would stop that key working in every other program"),
        ("shift+a", "Shift+A would stop that key working"),
        ("ctrl+" * 20 + "space", "longer than 64 characters"),
        ("\u200b", "not a key this app knows"),
    ],
)
def test_bad_hotkeys_are_refused_with_a_stable_code_and_a_way_out(text: str, says: str) -> None:
    with pytest.raises(ValidationError) as raised:
        HotkeySpec.parse(text)
    assert raised.value.code is ErrorCode.HOTKEY_INVALID
    assert says in raised.value.message
    assert "such as" in raised.value.message or "as in" in raised.value.message


@pytest.mark.parametrize(
    ("text", "gnome", "kde", "sway", "hyprland", "portal"),
    [
        (
            "ctrl+alt+space",
            "<Control><Alt>space",
            "Ctrl+Alt+Space",
            "Ctrl+Mod1+space",
            "CTRL ALT, space",
            "CTRL+ALT+space",
        ),
        ("super+F9", "<Super>F9", "Meta+F9", "Mod4+F9", "SUPER, F9", "LOGO+F9"),
        ("F9", "F9", "F9", "F9", ", F9", "F9"),
        (
            "ctrl+shift+page_down",
            "<Control><Shift>Page_Down",
            "Ctrl+Shift+PgDown",
            "Ctrl+Shift+Page_Down",
            "CTRL SHIFT, Page_Down",
            "CTRL+SHIFT+Page_Down",
        ),
        (
            "alt+super+enter",
            "<Alt><Super>Return",
            "Alt+Meta+Return",
            "Mod1+Mod4+Return",
            "ALT SUPER, Return",
            "ALT+LOGO+Return",
        ),
    ],
)
def test_each_desktop_spelling(text: str, gnome: str, kde: str, sway: str, hyprland: str, portal: str) -> None:
    spec = HotkeySpec.parse(text)
    assert spec.gnome_accelerator() == gnome
    assert spec.kde_shortcut() == kde
    assert spec.sway_combo() == sway
    assert spec.hyprland_combo() == hyprland
    assert spec.portal_trigger() == portal


def test_every_key_of_the_table_parses_by_its_name_and_by_its_label() -> None:
    for key in KEYS.values():
        assert HotkeySpec.parse(f"ctrl+alt+{key.name}").key == key.name
        assert HotkeySpec.parse(f"ctrl+alt+{key.label}").key == key.name, key.label


def test_the_package_imports_no_qt_and_no_other_adapter() -> None:
    """The hotkey adapter may use desktop_app.core and its own libraries, nothing of the UI or the other
    adapters (the import-linter contracts in pyproject.toml say the same)."""
    package = Path(__file__).resolve().parents[1] / "desktop_app" / "hotkey"
    forbidden = (
        "PySide6",
        "desktop_app.ui",
        "desktop_app.app",
        "desktop_app.voice",
        "desktop_app.cli",
        "desktop_app.storage",
        "desktop_app.audio",
        "desktop_app.speech",
        "desktop_app.secrets",
        "desktop_app.llm",
    )
    imported: set[str] = set()
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
    assert imported, "the scan found no imports at all"
    assert {name for name in imported if name.startswith(forbidden)} == set()
    assert {name for name in imported if name.startswith("desktop_app.")} <= {
        "desktop_app.core.errors",
        "desktop_app.core.hold_key",
        *(f"desktop_app.hotkey.{path.stem}" for path in package.glob("*.py")),
    }
