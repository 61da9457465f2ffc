"""The settings dialog as the README shows it: File > Settings… over a real data folder, two sections saved as
pictures (Speech recognition with its list of models, the Language model section set up for Ollama), after
checking that what the picture is of is on screen."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from settings_dialog import WAIT_MS
from window_controls import RecordingControls

from desktop_app.core.events import EventHub
from desktop_app.core.settings import LLM_BASE_URL, LLM_MODEL, Settings
from desktop_app.paths import AppPaths
from desktop_app.storage.store import SqlConversationStore
from desktop_app.ui.main_window import MainWindow
from desktop_app.ui.qt import QComboBox, QLineEdit, Qt, QTableView
from desktop_app.ui.settings.dialog import SettingsDialog

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytestmark = pytest.mark.gui
SCREENS = Path(__file__).resolve().parents[1] / "docs" / "screens"


def test_two_sections_are_saved_for_the_readme(qtbot, store: SqlConversationStore, data_dir: Path) -> None:
    paths = AppPaths.resolve(data_dir).ensure()
    settings = Settings(paths.settings_file)
    settings.update({LLM_BASE_URL.key: "http://127.0.0.1:11434/v1", LLM_MODEL.key: "llama3.2"})
    window = MainWindow(store, EventHub(), RecordingControls(), settings=settings, paths=paths)
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)  # File > Settings…
    qtbot.waitUntil(lambda: window.findChild(SettingsDialog) is not None, timeout=WAIT_MS)
    dialog = window.findChild(SettingsDialog)
    assert dialog is not None
    try:
        dialog.resize(900, 640)
        SCREENS.mkdir(parents=True, exist_ok=True)

        speech = dialog.show_section("speech")
        models = speech.findChild(QTableView, "models_table")
        assert models is not None
        qtbot.waitUntil(lambda: models.model().rowCount() > 0, timeout=WAIT_MS)  # the list shipped with the app
        qtbot.wait(200)
        assert dialog.grab().save(str(SCREENS / "settings-speech.png"))

        assistant = dialog.show_section("assistant")
        preset = assistant.findChild(QComboBox, "llm_preset")
        address = assistant.findChild(QLineEdit, "llm_base_url")
        assert preset is not None and address is not None
        qtbot.waitUntil(lambda: "Ollama" in preset.currentText(), timeout=WAIT_MS)
        assert address.text() == "http://127.0.0.1:11434/v1"
        qtbot.wait(200)
        assert dialog.grab().save(str(SCREENS / "settings-language-model.png"))
    finally:
        dialog.close()
        window.quit_for_good()
        window.close()
        settings.close()
