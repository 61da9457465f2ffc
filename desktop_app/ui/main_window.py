"""The main window. For now: the recent conversations and the store's health; the voice controls come with
the voice pipeline."""

from __future__ import annotations

import sys

from desktop_app import __version__
from desktop_app.core.ports import ConversationStore
from desktop_app.resources import resource_path
from desktop_app.ui.qt import (
    QAction,
    QApplication,
    QIcon,
    QKeySequence,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

WINDOW_TITLE = "Voice Assistant"
APP_ICON = "icons/voice-assistant.svg"


class MainWindow(QMainWindow):
    def __init__(self, store: ConversationStore) -> None:
        super().__init__()
        self._store = store
        self.setWindowTitle(WINDOW_TITLE)
        self.setWindowIcon(QIcon(str(resource_path(APP_ICON))))
        self.resize(720, 520)
        central = QWidget(self)
        layout = QVBoxLayout(central)
        self.heading = QLabel("Recent conversations", central)
        self.conversations = QListWidget(central)
        self.conversations.setObjectName("conversations")
        layout.addWidget(self.heading)
        layout.addWidget(self.conversations)
        self.setCentralWidget(central)
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        self.addAction(quit_action)
        self.refresh()

    def refresh(self) -> None:
        self.conversations.clear()
        for summary in self._store.list_conversations(limit=100):
            conversation = summary.conversation
            when = conversation.updated_at.astimezone().strftime("%Y-%m-%d %H:%M")
            item = QListWidgetItem(f"{conversation.title or 'Untitled'}  ·  {when}  ·  {summary.preview}")
            item.setData(256, conversation.id)  # Qt.UserRole
            self.conversations.addItem(item)
        if self.conversations.count() == 0:
            self.conversations.addItem("No conversations yet.")
        health = self._store.health()
        status = health.message if not health.writable else f"Ready · version {__version__}"
        self.statusBar().showMessage(status or "")

    def show_notices(self) -> None:
        for notice in self._store.health().notices:
            QMessageBox.warning(self, WINDOW_TITLE, notice)


def run_main_window(store: ConversationStore) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Voice Assistant")
    app.setApplicationVersion(__version__)
    window = MainWindow(store)
    window.show()
    window.show_notices()
    return app.exec()
