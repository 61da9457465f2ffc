"""The main window: hold the button (or Ctrl+Space in the window) and speak; the words appear as they are
recognised, then the answer; recent conversations below."""

from __future__ import annotations

import sys
from typing import Protocol

from desktop_app import __version__
from desktop_app.core.events import (
    Announced,
    AudioLevel,
    Event,
    EventHub,
    FinalTranscript,
    Notice,
    PartialTranscript,
    ReplyChunk,
    StateChanged,
    TurnFailed,
    TurnFinished,
    TurnStarted,
    TurnState,
)
from desktop_app.core.ports import ConversationStore
from desktop_app.resources import resource_path
from desktop_app.ui.bridge import EventBridge
from desktop_app.ui.qt import (
    QAction,
    QApplication,
    QCloseEvent,
    QIcon,
    QKeyEvent,
    QKeySequence,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    Qt,
    QTextCursor,
    QTextEdit,
    QTimer,
    QVBoxLayout,
    QWidget,
)

WINDOW_TITLE = "Voice Assistant"
APP_ICON = "icons/voice-assistant.svg"
STATE_TEXT = {
    TurnState.IDLE: "Ready. Hold the button (or Ctrl+Space) and speak.",
    TurnState.LISTENING: "Listening…",
    TurnState.RECOGNISING: "Recognising…",
    TurnState.THINKING: "Thinking…",
    TurnState.SPEAKING: "Speaking… (press to interrupt)",
}
METER_FLOOR_DB = -60.0
RELEASE_DEBOUNCE_MS = 60


class VoiceControls(Protocol):
    def press(self) -> None: ...

    def release(self) -> None: ...

    def cancel(self) -> None: ...


class MainWindow(QMainWindow):
    def __init__(
        self, store: ConversationStore, hub: EventHub | None = None, voice: VoiceControls | None = None
    ) -> None:
        super().__init__()
        self._store = store
        self._voice = voice
        self.setWindowTitle(WINDOW_TITLE)
        self.setWindowIcon(QIcon(str(resource_path(APP_ICON))))
        self.resize(760, 620)
        central = QWidget(self)
        layout = QVBoxLayout(central)

        self.state_label = QLabel(STATE_TEXT[TurnState.IDLE] if voice else "Voice is off.", central)
        self.meter = QProgressBar(central)
        self.meter.setRange(0, 100)
        self.meter.setTextVisible(False)
        self.meter.setMaximumHeight(8)
        self.talk_button = QPushButton("Hold to talk", central)
        self.talk_button.setObjectName("talk")
        self.talk_button.setEnabled(voice is not None)
        self.talk_button.pressed.connect(self._press)
        self.talk_button.released.connect(self._release)
        self.transcript = QTextEdit(central)
        self.transcript.setObjectName("transcript")
        self.transcript.setReadOnly(True)
        self._partial_anchor: int | None = None
        self._replying = False  # a streamed answer goes on one line, chunk after chunk

        self.heading = QLabel("Recent conversations", central)
        self.conversations = QListWidget(central)
        self.conversations.setObjectName("conversations")
        for widget in (
            self.state_label,
            self.meter,
            self.talk_button,
            self.transcript,
            self.heading,
            self.conversations,
        ):
            layout.addWidget(widget)
        self.setCentralWidget(central)

        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        self.addAction(quit_action)

        self._key_held = False
        self._repeat_seen = False
        self._release_timer = QTimer(self)
        self._release_timer.setSingleShot(True)
        self._release_timer.setInterval(RELEASE_DEBOUNCE_MS)
        self._release_timer.timeout.connect(self._key_released)

        self._bridge: EventBridge | None = None
        if hub is not None:
            self._bridge = EventBridge(hub)
            self._bridge.add_handler(self.on_event)
        self.refresh()

    # -- push to talk ----------------------------------------------------------------------------------

    def _press(self) -> None:
        if self._voice is not None:
            self._voice.press()

    def _release(self) -> None:
        if self._voice is not None:
            self._voice.release()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self._is_talk_key(event):
            if self._key_held:
                # Still held: the release just before (if any) was the keyboard's auto-repeat.
                self._release_timer.stop()
                self._repeat_seen = True
            elif not event.isAutoRepeat():
                self._key_held = True
                self._press()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if self._is_talk_key(event):
            if self._key_held and not event.isAutoRepeat():
                # X11 auto-repeat sends release+press pairs while a key is held, and Qt does not always mark
                # them: a release counts only when no press follows within RELEASE_DEBOUNCE_MS.
                self._release_timer.start()
            return
        super().keyReleaseEvent(event)

    def _key_released(self) -> None:
        # A busy moment can let this timer fire before an auto-repeat press already waiting in the queue:
        # let the queue run first, and keep listening if such a press turns up.
        self._repeat_seen = False
        app = QApplication.instance()
        if app is not None:
            app.processEvents()
        if self._repeat_seen or self._release_timer.isActive():
            return
        self._key_held = False
        self._release()

    @staticmethod
    def _is_talk_key(event: QKeyEvent) -> bool:
        return event.key() == Qt.Key.Key_Space and bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)

    # -- events (main thread) --------------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        if isinstance(event, StateChanged):
            self.state_label.setText(STATE_TEXT[event.state])
            self.talk_button.setText("Release to send" if event.state is TurnState.LISTENING else "Hold to talk")
            if event.state is not TurnState.LISTENING:
                self.meter.setValue(0)
        elif isinstance(event, AudioLevel):
            span = -METER_FLOOR_DB
            self.meter.setValue(int(max(0.0, min(span, event.rms_dbfs - METER_FLOOR_DB)) / span * 100))
        elif isinstance(event, TurnStarted):
            self._partial_anchor = None
            self._replying = False
        elif isinstance(event, PartialTranscript):
            self._show_partial(event.text)
        elif isinstance(event, FinalTranscript):
            self._show_partial(event.text, final=True)
        elif isinstance(event, ReplyChunk):
            self._append(event.text if self._replying else f"Assistant: {event.text}", same_line=self._replying)
            self._replying = True
        elif isinstance(event, Announced):
            self._append(f"Assistant: {event.text}")
            self._replying = False
            self.refresh()
        elif isinstance(event, TurnFinished):
            self._replying = False
            self.refresh()
        elif isinstance(event, TurnFailed | Notice):
            self.statusBar().showMessage(event.message, 8000)

    def _show_partial(self, text: str, final: bool = False) -> None:
        cursor = self.transcript.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        if self._partial_anchor is not None:
            cursor.setPosition(self._partial_anchor, QTextCursor.MoveMode.KeepAnchor)
            cursor.removeSelectedText()
        else:
            if not self.transcript.document().isEmpty():
                cursor.insertBlock()
            self._partial_anchor = cursor.position()
        cursor.insertText(f"You: {text}" + ("" if final else " …"))
        if final:
            self._partial_anchor = None
        self.transcript.setTextCursor(cursor)

    def _append(self, line: str, same_line: bool = False) -> None:
        cursor = self.transcript.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        if not same_line and not self.transcript.document().isEmpty():
            cursor.insertBlock()
        cursor.insertText(line)
        self.transcript.setTextCursor(cursor)

    # -- history ----------------------------------------------------------------------------------------

    def refresh(self) -> None:
        self.conversations.clear()
        for summary in self._store.list_conversations(limit=100):
            conversation = summary.conversation
            when = conversation.updated_at.astimezone().strftime("%Y-%m-%d %H:%M")
            item = QListWidgetItem(f"{conversation.title or 'Untitled'}  ·  {when}  ·  {summary.preview}")
            item.setData(Qt.ItemDataRole.UserRole, conversation.id)
            self.conversations.addItem(item)
        if self.conversations.count() == 0:
            self.conversations.addItem("No conversations yet.")
        health = self._store.health()
        status = health.message if not health.writable else f"Ready · version {__version__}"
        self.statusBar().showMessage(status or "")

    def show_notices(self) -> None:
        for notice in self._store.health().notices:
            QMessageBox.warning(self, WINDOW_TITLE, notice)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._voice is not None:
            self._voice.cancel()
        if self._bridge is not None:
            self._bridge.detach()
        super().closeEvent(event)


def run_main_window(store: ConversationStore, hub: EventHub | None = None, voice: VoiceControls | None = None) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Voice Assistant")
    app.setApplicationVersion(__version__)
    window = MainWindow(store, hub, voice)
    window.show()
    window.show_notices()
    code = app.exec()
    # Tear the widgets down now, in order, rather than leaving them to the interpreter's final garbage
    # collection, where PySide objects have been seen to take the process down.
    window.close()
    window.deleteLater()
    app.processEvents()
    del window
    return code
