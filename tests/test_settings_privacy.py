"""Settings > Privacy, opened from the window's File menu and driven by clicks: history off is saved and the
window's "Don't save" switch shows it; the keep-for rule, pre-roll and log switches are saved; the data folder
is opened; everything said is deleted only after a confirmation whose default is Cancel."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from settings_dialog import WAIT_MS, child, click
from window_controls import RecordingControls

from desktop_app.core.events import EventHub
from desktop_app.core.models import Role
from desktop_app.core.settings import (
    AUDIO_PREROLL,
    HISTORY_KEEP_DAYS,
    HISTORY_SAVE,
    PRIVACY_LOG_CONTENT,
    Setting,
    Settings,
)
from desktop_app.paths import AppPaths
from desktop_app.storage.store import SqlConversationStore
from desktop_app.ui.main_window import MainWindow
from desktop_app.ui.qt import (
    QApplication,
    QCheckBox,
    QDesktopServices,
    QLabel,
    QMessageBox,
    QObject,
    QPushButton,
    QRadioButton,
    QSpinBox,
    Qt,
    QUrl,
    Slot,
)
from desktop_app.ui.settings.dialog import SettingsDialog
from desktop_app.ui.settings.privacy import PrivacySection

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytestmark = pytest.mark.gui


class Window:
    def __init__(self, qtbot, store: SqlConversationStore, data_dir: Path) -> None:
        self.paths = AppPaths.resolve(data_dir).ensure()
        self.settings = Settings(self.paths.settings_file)
        self.controls = RecordingControls()
        self.window = MainWindow(store, EventHub(), self.controls, settings=self.settings, paths=self.paths)
        qtbot.addWidget(self.window)
        self.window.show()
        qtbot.waitExposed(self.window)
        self.qtbot = qtbot

    def open_settings(self, section: str) -> PrivacySection:
        """File > Settings… by its shortcut, then the section's entry in the list."""
        self.window.activateWindow()
        self.qtbot.keyClick(self.window, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
        self.qtbot.waitUntil(lambda: self.dialog() is not None, timeout=WAIT_MS)
        dialog = self.dialog()
        assert dialog is not None
        titles = [dialog.section_list.item(row).text() for row in range(dialog.section_list.count())]
        row = titles.index(dialog.section(section).title)
        item_rect = dialog.section_list.visualItemRect(dialog.section_list.item(row))
        self.qtbot.mouseClick(dialog.section_list.viewport(), Qt.MouseButton.LeftButton, pos=item_rect.center())
        found = dialog.section(section)
        assert isinstance(found, PrivacySection) and dialog.pages.currentIndex() == row
        return found

    def dialog(self) -> SettingsDialog | None:
        return self.window.findChild(SettingsDialog)

    def saved(self, key: Setting[Any]) -> Any:
        return Settings(self.paths.settings_file).get(key)

    def wait_saved(self, key: Setting[Any], value: object) -> None:
        self.qtbot.waitUntil(lambda: self.saved(key) == value, timeout=WAIT_MS)


@pytest.fixture
def opened(qtbot, store, data_dir: Path) -> Iterator[Window]:
    window = Window(qtbot, store, data_dir)
    yield window
    dialog = window.dialog()
    if dialog is not None:
        dialog.close()
    window.window.quit_for_good()
    window.window.close()


def test_history_off_is_saved_and_the_windows_switch_shows_it(qtbot, opened: Window) -> None:
    switch = child(opened.window, QCheckBox, "private")
    assert not switch.isChecked() and switch.isEnabled()
    section = opened.open_settings("privacy")
    click(qtbot, child(section, QCheckBox, "history_save"))
    opened.wait_saved(HISTORY_SAVE, False)
    qtbot.waitUntil(lambda: switch.isChecked() and not switch.isEnabled(), timeout=WAIT_MS)
    assert "Settings > Privacy" in switch.toolTip()
    click(qtbot, child(section, QCheckBox, "history_save"))
    opened.wait_saved(HISTORY_SAVE, True)
    qtbot.waitUntil(lambda: not switch.isChecked() and switch.isEnabled(), timeout=WAIT_MS)
    # The window's own switch, for this conversation only.
    click(qtbot, switch)
    assert opened.controls.calls[-1] == "private True" and switch.isChecked()
    assert "Not saving" in opened.window.statusBar().currentMessage()


def test_keep_for_preroll_and_log_are_saved(qtbot, opened: Window) -> None:
    section = opened.open_settings("privacy")
    assert child(section, QRadioButton, "keep_forever").isChecked()
    days = child(section, QSpinBox, "keep_days")
    assert not days.isEnabled()
    click(qtbot, child(section, QRadioButton, "keep_for_days"))
    opened.wait_saved(HISTORY_KEEP_DAYS, 90)
    days.setFocus()
    days.selectAll()
    qtbot.keyClicks(days, "30")
    qtbot.keyClick(days, Qt.Key.Key_Tab)
    opened.wait_saved(HISTORY_KEEP_DAYS, 30)
    click(qtbot, child(section, QRadioButton, "keep_forever"))
    opened.wait_saved(HISTORY_KEEP_DAYS, 0)
    click(qtbot, child(section, QCheckBox, "preroll"))
    opened.wait_saved(AUDIO_PREROLL, False)
    click(qtbot, child(section, QCheckBox, "log_content"))
    opened.wait_saved(PRIVACY_LOG_CONTENT, True)


class OpenedUrls(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def handle(self, url: QUrl) -> None:
        self.urls.append(url)


def test_the_data_folder_is_opened(qtbot, opened: Window) -> None:
    section = opened.open_settings("privacy")
    handler = OpenedUrls()
    QDesktopServices.setUrlHandler("file", handler, "handle")  # type: ignore[arg-type]  # the stubs say bytes; the binding takes str only  # the desktop's file manager, for this test
    try:
        click(qtbot, child(section, QPushButton, "open_data_folder"))
        assert [url.toLocalFile() for url in handler.urls] == [str(opened.paths.data_dir)]
    finally:
        QDesktopServices.unsetUrlHandler("file")


def confirmation(qtbot) -> QMessageBox:
    qtbot.waitUntil(lambda: isinstance(QApplication.activeModalWidget(), QMessageBox), timeout=WAIT_MS)
    box = QApplication.activeModalWidget()
    assert isinstance(box, QMessageBox)
    return box


def test_everything_said_is_deleted_only_once_confirmed(qtbot, opened: Window, store: SqlConversationStore) -> None:
    for number in range(3):
        conversation = store.create_conversation(f"talk {number}")
        store.add_message(conversation.id, Role.USER, "what time is it")
    store.add_fact("my sister is called Ana")
    section = opened.open_settings("privacy")
    click(qtbot, child(section, QPushButton, "delete_all_data"))
    box = confirmation(qtbot)
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
    qtbot.keyClick(box, Qt.Key.Key_Return)  # Enter takes the default: Cancel
    qtbot.waitUntil(lambda: QApplication.activeModalWidget() is None, timeout=WAIT_MS)
    assert len(store.list_conversations()) == 3 and store.list_facts()

    click(qtbot, child(section, QPushButton, "delete_all_data"))
    box = confirmation(qtbot)
    (delete,) = [b for b in box.buttons() if box.buttonRole(b) is QMessageBox.ButtonRole.DestructiveRole]
    click(qtbot, delete)
    done = child(section, QLabel, "privacy_done")
    qtbot.waitUntil(lambda: "Deleted 3 conversations and 1 remembered facts" in done.text(), timeout=WAIT_MS)
    assert store.list_conversations() == [] and store.list_facts() == []
