"""The settings dialog on a real settings file, store and data folder, for the sections' tests: open it at a
section, read back what was saved as the next start of the app would."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from desktop_app.core.keys import KeyStore
from desktop_app.core.ports import AppStore
from desktop_app.core.settings import Setting, Settings
from desktop_app.paths import AppPaths
from desktop_app.ui.qt import QLineEdit, QPoint, Qt, QWidget
from desktop_app.ui.settings.context import SpeechSample
from desktop_app.ui.settings.dialog import SettingsDialog
from desktop_app.ui.settings.section import Section

WAIT_MS = 10_000
W = TypeVar("W", bound=QWidget)


def child(parent: QWidget, kind: type[W], name: str) -> W:
    """The widget of that kind and object name inside `parent` (fails the test when there is none)."""
    found = parent.findChild(kind, name)
    assert found is not None, f"no {kind.__name__} named {name}"
    return found


def type_over(qtbot: Any, field: QLineEdit, text: str) -> None:
    """Selects what the field holds and types over it, as a person does (no Enter)."""
    field.setFocus()
    qtbot.keyClick(field, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(field, Qt.Key.Key_Delete)
    if text:
        qtbot.keyClicks(field, text)
    assert field.text() == text


def click(qtbot: Any, button: QWidget) -> None:
    """A click where a person clicks: on a check box's or radio button's box (the middle of a wide one is
    empty space, which does not toggle it), in the middle of anything else."""
    is_box = button.inherits("QCheckBox") or button.inherits("QRadioButton")
    at = QPoint(8, button.height() // 2) if is_box else button.rect().center()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton, pos=at)


class OpenSettings:
    """A dialog with the given sections over `data_dir`'s settings file; `saved()` reads that file afresh."""

    def __init__(
        self,
        qtbot: Any,
        store: AppStore,
        data_dir: Path,
        sections: Sequence[type[Section]],
        *,
        key_store: Callable[[], KeyStore] | None = None,
        speech: SpeechSample | None = None,
    ) -> None:
        self.paths = AppPaths.resolve(data_dir).ensure()
        self.settings = Settings(self.paths.settings_file)
        if key_store is None:
            self.dialog = SettingsDialog(self.settings, store, self.paths, sections, speech=speech)
        else:
            self.dialog = SettingsDialog(self.settings, store, self.paths, sections, key_store=key_store, speech=speech)
        qtbot.addWidget(self.dialog)
        self.dialog.show()
        qtbot.waitExposed(self.dialog)
        self._qtbot = qtbot

    def section(self, name: str) -> Section:
        """Chooses the section in the list, as a click on its entry would."""
        return self.dialog.show_section(name)

    def saved(self, key: Setting[Any]) -> Any:
        return Settings(self.paths.settings_file).get(key)

    def wait_saved(self, key: Setting[Any], value: object) -> None:
        self._qtbot.waitUntil(lambda: self.saved(key) == value, timeout=WAIT_MS)

    def close(self) -> None:
        self.dialog.close()
        self.settings.close()
