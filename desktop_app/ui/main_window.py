"""The main window: hold the button (or Ctrl+Space in the window) and speak; the words appear as they are
recognised, then the answer; recent conversations below."""

from __future__ import annotations

import sys
from typing import Protocol

from desktop_app import __version__
from desktop_app.core.errors import ErrorCode
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
    TalkModeChanged,
    TurnFailed,
    TurnFinished,
    TurnStarted,
    TurnState,
)
from desktop_app.core.hold_key import RELEASE_DEBOUNCE_MS, HoldKey
from desktop_app.core.ports import ConversationStore
from desktop_app.resources import resource_path
from desktop_app.ui.bridge import EventBridge
from desktop_app.ui.qt import (
    QAction,
    QApplication,
    QCloseEvent,
    QEvent,
    QIcon,
    QKeyEvent,
    QKeySequence,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QObject,
    QProgressBar,
    QPushButton,
    Qt,
    QTextCursor,
    QTextEdit,
    QTimer,
    QVBoxLayout,
    QWidget,
)
from desktop_app.ui.quit_signals import quit_on_signals

WINDOW_TITLE = "Voice Assistant"
APP_ICON = "icons/voice-assistant.svg"
STATE_TEXT = {
    TurnState.IDLE: "Ready. Hold the button (or Ctrl+Space) and speak.",
    TurnState.LISTENING: "Listening…",
    TurnState.RECOGNISING: "Recognising…",
    TurnState.THINKING: "Thinking…",
    TurnState.SPEAKING: "Speaking… (press to interrupt)",
}
IDLE_TOGGLE_TEXT = "Ready. Click the button (or press Ctrl+Space) and speak; click again to send."
# The talk button's words in each mode: (idle, listening).
BUTTON_TEXT = {False: ("Hold to talk", "Release to send"), True: ("Click to talk", "Click to send")}
# Problems shown until they are over (a device or model that is missing), by the code that reports them,
# with the codes that end them.
LASTING_PROBLEMS = {
    ErrorCode.AUDIO_INPUT_UNAVAILABLE.value: "audio_input_back",
    ErrorCode.AUDIO_OUTPUT_UNAVAILABLE.value: None,
    ErrorCode.SPEECH_MODEL_UNAVAILABLE.value: "speech_model_ready",
}
METER_FLOOR_DB = -60.0
TALK_KEY_EVENTS = (QEvent.Type.KeyPress, QEvent.Type.KeyRelease)


class VoiceControls(Protocol):
    @property
    def toggle_mode(self) -> bool: ...

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

        self.problems = _problems_label(central)
        self._problems: dict[str, str] = {}
        self._state = TurnState.IDLE
        self.state_label = QLabel("Voice is off.", central)
        self.meter = QProgressBar(central)
        self.meter.setRange(0, 100)
        self.meter.setTextVisible(False)
        self.meter.setMaximumHeight(8)
        self.talk_button = QPushButton(BUTTON_TEXT[self._toggle_mode()][0], central)
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
            self.problems,
            self.state_label,
            self.meter,
            self.talk_button,
            self.transcript,
            self.heading,
            self.conversations,
        ):
            layout.addWidget(widget)
        self.setCentralWidget(central)
        self.store_status = self._store_status_label()
        if voice is not None:
            self._show_state(TurnState.IDLE)

        self._add_quit_action()

        # Ctrl+Space anywhere in the window, or Space on the focused talk button: one hold is one turn,
        # however the keyboard repeats it. Caught before any widget sees it, so the button does not
        # turn every auto-repeat into a click of its own.
        self._talk_key = HoldKey(self._press, self._release)
        self._release_timer = QTimer(self)
        self._release_timer.setSingleShot(True)
        self._release_timer.setInterval(RELEASE_DEBOUNCE_MS)
        self._release_timer.timeout.connect(self._talk_key.settle)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

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

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if isinstance(event, QKeyEvent) and event.type() in TALK_KEY_EVENTS and self._is_talk_key(watched, event):
            if event.type() is QEvent.Type.KeyPress:
                self._talk_key.key_down(event.timestamp(), event.isAutoRepeat())
            elif self._talk_key.key_up(event.timestamp(), event.isAutoRepeat()):
                self._release_timer.start()
            return True
        return super().eventFilter(watched, event)

    def _is_talk_key(self, watched: QObject, event: QKeyEvent) -> bool:
        if event.key() != Qt.Key.Key_Space or not self.isActiveWindow():
            return False
        if self._talk_key.held:  # the key that started the hold, whatever modifiers are still down
            return True
        with_ctrl = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        return with_ctrl or watched is self.talk_button

    # -- events (main thread) --------------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        if isinstance(event, StateChanged):
            self._show_state(event.state)
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
        elif isinstance(event, TalkModeChanged):
            self._show_state(self._state)  # the button's and the status line's words for the new mode
        elif isinstance(event, TurnFailed | Notice):
            self._note_problem(event.code, event.message)
            self.statusBar().showMessage(event.message, 8000)

    def _toggle_mode(self) -> bool:
        return self._voice is not None and self._voice.toggle_mode

    def _show_state(self, state: TurnState) -> None:
        self._state = state
        toggle = self._toggle_mode()
        idle_text = IDLE_TOGGLE_TEXT if toggle else STATE_TEXT[TurnState.IDLE]
        if state is TurnState.IDLE and ErrorCode.AUDIO_INPUT_UNAVAILABLE.value in self._problems:
            idle_text = "Not listening: the microphone is not available (see above)."
        self.state_label.setText(idle_text if state is TurnState.IDLE else STATE_TEXT[state])
        self.talk_button.setText(BUTTON_TEXT[toggle][state is TurnState.LISTENING])

    def _note_problem(self, code: str, message: str) -> None:
        """A missing device or model stays on screen until it is back, not only for a few seconds."""
        if code in LASTING_PROBLEMS:
            self._problems[code] = message
        for problem, ended_by in LASTING_PROBLEMS.items():
            if ended_by == code:
                self._problems.pop(problem, None)
        self.problems.setText("\n".join(self._problems.values()))
        self.problems.setVisible(bool(self._problems))
        if self._voice is not None:
            self._show_state(self._state)

    def _show_partial(self, text: str, final: bool = False) -> None:
        cursor = self.transcript.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        if self._partial_anchor is not None:
            cursor.setPosition(self._partial_anchor, QTextCursor.MoveMode.KeepAnchor)
            cursor.removeSelectedText()
            if not text.strip():  # nothing heard: no empty "You:" line (the status bar says so)
                cursor.deletePreviousChar()  # the line break before it
                self._partial_anchor = None
                return
        elif not text.strip():
            return
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

    def _add_quit_action(self) -> None:
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        self.addAction(quit_action)

    def _store_status_label(self) -> QLabel:
        """The store's state, kept in view at the status bar's end; notices ("Listening with …") come and go
        beside it, so a read-only store is never hidden by the speech model finishing loading."""
        label = QLabel("", self)
        label.setObjectName("store_status")
        self.statusBar().addPermanentWidget(label)
        return label

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
        self.store_status.setText((health.message or "") if not health.writable else f"Ready · version {__version__}")

    def show_notices(self) -> None:
        for notice in self._store.health().notices:
            QMessageBox.warning(self, WINDOW_TITLE, notice)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._voice is not None:
            self._voice.cancel()
        if self._bridge is not None:
            self._bridge.detach()
        super().closeEvent(event)


def _problems_label(parent: QWidget) -> QLabel:
    """Above everything, in a warning colour; hidden while there is nothing wrong."""
    label = QLabel("", parent)
    label.setObjectName("problems")
    label.setWordWrap(True)
    label.setStyleSheet("QLabel#problems { color: #b00020; font-weight: bold; }")
    label.hide()
    return label


def run_main_window(store: ConversationStore, hub: EventHub | None = None, voice: VoiceControls | None = None) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Voice Assistant")
    app.setApplicationVersion(__version__)
    window = MainWindow(store, hub, voice)
    window.show()
    # Once the main loop runs: a dialog's own loop started before it would return at once if the
    # application had been asked to quit before (Qt keeps that request until the next exec()).
    QTimer.singleShot(0, window.show_notices)
    with quit_on_signals(app.quit):
        code = app.exec()
    # Tear the widgets down now, in order (the window's close cancels a running turn), rather than leaving
    # them to the interpreter's final garbage collection.
    window.close()
    window.deleteLater()
    app.processEvents()
    del window
    return code
