"""Help > Push to talk from anywhere…: whether the app's own global key works here, and, for desktops where it
cannot (Wayland without the shortcuts portal) or for people who prefer their desktop's shortcuts, the
desktop that was detected and the exact binding to paste, with a button that checks a press arrives.

The check listens for what a binding sends: `voice-assistant ptt test` (SHORTCUT_TEST) or a real press
(the turn starts listening). The window forwards its events here while the dialog is open.
"""

from __future__ import annotations

import os
import shutil
import sys

from desktop_app.core.errors import ValidationError
from desktop_app.core.events import Event, Notice, NoticeCode, StateChanged, TurnState
from desktop_app.hotkey import HotkeySpec, binding_instructions, detect_desktop, ptt_command
from desktop_app.hotkey.desktop import DEFAULT_COMMAND, Desktop
from desktop_app.ui.qt import (
    QDialog,
    QDialogButtonBox,
    QGuiApplication,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTimer,
    QVBoxLayout,
    QWidget,
)

TITLE = "Push to talk from anywhere"
DESKTOP_NAMES = {
    Desktop.GNOME: "GNOME",
    Desktop.KDE: "KDE Plasma",
    Desktop.SWAY: "sway",
    Desktop.HYPRLAND: "Hyprland",
    Desktop.OTHER_X11: "an X11 desktop",
    Desktop.OTHER_WAYLAND: "a Wayland desktop",
    Desktop.NONE: "no desktop session",
}
TEST_WAIT_MS = 30_000
WAITING = "Waiting: press your shortcut now (or run `{test}` in a terminal)…"
ARRIVED = "It works: the app received the shortcut."
NOTHING = "Nothing arrived in 30 seconds. Check that the binding is saved and the key is free, then try again."


def program_command() -> str | list[str]:
    """How to start this app from a desktop binding: the installed launcher by its full path (a desktop's
    own PATH may not have the user's folders), else this interpreter and the package."""
    launcher = shutil.which(DEFAULT_COMMAND)
    return launcher if launcher else [sys.executable, "-m", "desktop_app"]


class HotkeyHelpDialog(QDialog):
    def __init__(self, hotkey: str, status: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(TITLE)
        self.setAccessibleName(TITLE)
        self.resize(640, 460)
        desktop = detect_desktop(os.environ)
        layout = QVBoxLayout(self)
        self.status = QLabel(status or "The global push-to-talk key is starting…", self)
        self.status.setObjectName("hotkey_status")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.desktop = QLabel(f"Detected: {DESKTOP_NAMES[desktop]}.", self)
        self.desktop.setObjectName("desktop")
        layout.addWidget(self.desktop)
        self.instructions = QLabel(self)
        self.instructions.setWordWrap(True)
        self.instructions.setObjectName("instructions")
        layout.addWidget(self.instructions)
        self.snippet = QPlainTextEdit(self)
        self.snippet.setObjectName("snippet")
        self.snippet.setReadOnly(True)
        self.snippet.setAccessibleName("The binding to paste")
        layout.addWidget(self.snippet, 1)
        command = program_command()
        try:
            spec = HotkeySpec.parse(hotkey)
        except ValidationError as error:
            self.instructions.setText(f"The push-to-talk key setting is not usable: {error.message}")
            self.snippet.hide()
        else:
            shown = binding_instructions(desktop, spec, command)
            self.instructions.setText(shown.summary)
            self.snippet.setPlainText(shown.snippet)
        self._test_command = ptt_command(command, "test")
        self._add_buttons(layout)
        self._waiting = False
        self._give_up = QTimer(self)
        self._give_up.setSingleShot(True)
        self._give_up.setInterval(TEST_WAIT_MS)
        self._give_up.timeout.connect(self._nothing_arrived)

    def _add_buttons(self, layout: QVBoxLayout) -> None:
        self.copy_button = QPushButton("&Copy the binding", self)
        self.copy_button.clicked.connect(self._copy)
        self.test_button = QPushButton("&Test the shortcut", self)
        self.test_button.setObjectName("test_shortcut")
        self.test_button.clicked.connect(self.start_test)
        self.test_result = QLabel("", self)
        self.test_result.setObjectName("test_result")
        self.test_result.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.test_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(self.test_result)
        layout.addWidget(buttons)

    def start_test(self) -> None:
        self._waiting = True
        self.test_result.setText(WAITING.format(test=self._test_command))
        self._give_up.start()

    def on_event(self, event: Event) -> None:
        """Events from the window while the dialog is open."""
        if not self._waiting:
            return
        arrived = (isinstance(event, Notice) and event.code is NoticeCode.SHORTCUT_TEST) or (
            isinstance(event, StateChanged) and event.state is TurnState.LISTENING
        )
        if arrived:
            self._waiting = False
            self._give_up.stop()
            self.test_result.setText(ARRIVED)

    def _nothing_arrived(self) -> None:
        self._waiting = False
        self.test_result.setText(NOTHING)

    def _copy(self) -> None:
        QGuiApplication.clipboard().setText(self.snippet.toPlainText())
