"""The main window: hold the button (or Ctrl+Space in the window, or the global key anywhere) and speak, or
type; the words appear as they are recognised, then the answer; recent conversations beside them.

The main thread never waits: the store is read on a worker (ui.background), the voice services start
behind the window (desktop_app.services), and events from the workers arrive through the bridge.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Protocol

from desktop_app import APP_ID, DISPLAY_NAME, __version__
from desktop_app.autostart import autostart_enabled, set_autostart
from desktop_app.core.errors import ErrorCode
from desktop_app.core.events import (
    Announced,
    AudioLevel,
    Event,
    EventHub,
    FinalTranscript,
    HotkeyReady,
    Notice,
    NoticeCode,
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
from desktop_app.core.models import Conversation, ConversationSummary, Message, StoreHealth
from desktop_app.core.ports import AppStore, VoiceInfo
from desktop_app.core.settings import TALK_HOTKEY, Settings
from desktop_app.paths import AppPaths
from desktop_app.remote.protocol import Command, CommandName
from desktop_app.resources import resource_path
from desktop_app.ui.background import Background, run_work
from desktop_app.ui.bridge import EventBridge
from desktop_app.ui.chat_view import ChatView
from desktop_app.ui.first_run import FirstRunGuide
from desktop_app.ui.focused_keys import FocusedKeys
from desktop_app.ui.history_browser import HistoryBrowser
from desktop_app.ui.hotkey_help import HotkeyHelpDialog
from desktop_app.ui.private_switch import PrivateSwitch
from desktop_app.ui.qt import (
    QAccessible,
    QAccessibleEvent,
    QAction,
    QApplication,
    QCloseEvent,
    QEvent,
    QHBoxLayout,
    QHideEvent,
    QIcon,
    QKeyEvent,
    QKeySequence,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QObject,
    QProgressBar,
    QPushButton,
    QSettings,
    QShortcut,
    QShowEvent,
    QSplitter,
    Qt,
    QTimer,
    QVBoxLayout,
    QWidget,
)
from desktop_app.ui.quit_signals import quit_on_signals
from desktop_app.ui.settings.dialog import SettingsDialog
from desktop_app.ui.settings.sections import ALL_SECTIONS
from desktop_app.ui.tray import Tray, TrayActions

WINDOW_TITLE = DISPLAY_NAME
APP_ICON = "icons/voice-assistant.svg"
# The idle line in each talk mode (hold, toggle); `keys` is Ctrl+Space, and the global key once registered.
IDLE_LINE = {
    False: "Ready. Hold the button (or {keys}) and speak, or type below.",
    True: "Ready. Click the button (or press {keys}) and speak; click again to send. Or type below.",
}
WINDOW_KEY = "Ctrl+Space"
STATE_TEXT = {
    TurnState.IDLE: IDLE_LINE[False].format(keys=WINDOW_KEY),
    TurnState.LISTENING: "Listening…",
    TurnState.RECOGNISING: "Recognising…",
    TurnState.THINKING: "Thinking…",
    TurnState.SPEAKING: "Speaking… (press to interrupt)",
}
STARTING_TEXT = "Starting… (you can type already; speaking works once the voice is ready)"
# The talk button's words in each mode: (idle, listening).
BUTTON_TEXT = {False: ("Hold to talk", "Release to send"), True: ("Click to talk", "Click to send")}
# Problems shown until they are over (a device or model that is missing), by the code that reports them,
# with the codes that end them.
LASTING_PROBLEMS = {
    ErrorCode.AUDIO_INPUT_UNAVAILABLE.value: NoticeCode.AUDIO_INPUT_BACK.value,
    ErrorCode.AUDIO_OUTPUT_UNAVAILABLE.value: None,
    ErrorCode.SPEECH_MODEL_UNAVAILABLE.value: NoticeCode.SPEECH_MODEL_READY.value,
    ErrorCode.HOTKEY_UNAVAILABLE.value: NoticeCode.HOTKEY_READY.value,
    ErrorCode.HOTKEY_TAKEN.value: NoticeCode.HOTKEY_READY.value,
    ErrorCode.HOTKEY_REFUSED.value: NoticeCode.HOTKEY_READY.value,
    ErrorCode.HOTKEY_INVALID.value: NoticeCode.HOTKEY_READY.value,
}
# Turn endings the state line and status bar say; they are not errors in the conversation.
HOTKEY_PROBLEMS = frozenset(
    {ErrorCode.HOTKEY_UNAVAILABLE, ErrorCode.HOTKEY_TAKEN, ErrorCode.HOTKEY_REFUSED, ErrorCode.HOTKEY_INVALID}
)
QUIET_ENDINGS = frozenset({ErrorCode.TURN_CANCELLED, ErrorCode.TURN_STOPPED, ErrorCode.NOTHING_HEARD})
METER_FLOOR_DB = -60.0
TALK_KEY_EVENTS = (QEvent.Type.KeyPress, QEvent.Type.KeyRelease)
RECENT_CONVERSATIONS = 100
NOTICE_MS = 8000
DEFAULT_SIZE = (860, 640)


class VoiceControls(Protocol):
    """Push-to-talk and typed questions (core.talk_controls.TalkControls)."""

    @property
    def toggle_mode(self) -> bool: ...

    def press(self) -> None: ...

    def release(self) -> None: ...

    def cancel(self) -> None: ...

    def toggle(self) -> None: ...

    def ask(self, text: str) -> bool: ...

    def new_conversation(self) -> None: ...

    def continue_conversation(self, conversation_id: int) -> bool: ...

    def set_private(self, private: bool) -> bool: ...

    def voices(self) -> list[VoiceInfo]: ...

    def say_sample(self, text: str) -> bool: ...


class RemoteControls(VoiceControls, Protocol):
    """The controls as the remote command drives them (with the sender's clock, to keep presses in order)."""

    def press(self, issued_at: float | None = None) -> None: ...

    def release(self, issued_at: float | None = None) -> None: ...


class Services(Protocol):
    """What starts behind the window (desktop_app.services.AppServices)."""

    @property
    def controls(self) -> RemoteControls: ...

    def start_in_background(self, on_ready: Callable[[], None]) -> None: ...


class Instance(Protocol):
    """The single-instance server (desktop_app.remote.server.RemoteServer)."""

    def start(self, handler: Callable[[Command], None]) -> None: ...


@dataclass(frozen=True)
class WindowStart:
    store: AppStore
    hub: EventHub
    services: Services
    instance: Instance | None = None
    minimized: bool = False
    state_file: Path | None = None  # where the window keeps its size and position between runs
    settings: Settings | None = None
    models_dir: Path | None = None
    paths: AppPaths | None = None  # the settings pane's data folder, models and keys live under it


@dataclass(frozen=True, slots=True)
class _StoreView:
    """What the window shows of the store, read off the main thread."""

    recent: list[ConversationSummary]
    health: StoreHealth


class MainWindow(QMainWindow):
    def __init__(
        self,
        store: AppStore,
        hub: EventHub | None = None,
        voice: VoiceControls | None = None,
        *,
        state_file: Path | None = None,
        voice_ready: bool = True,
        settings: Settings | None = None,
        models_dir: Path | None = None,
        paths: AppPaths | None = None,
    ) -> None:
        super().__init__()
        self._store = store
        self._voice = voice
        self._voice_ready = voice_ready and voice is not None
        self._state_file = state_file
        self._settings = settings
        self._models_dir = models_dir
        self._paths = paths
        self._settings_dialog: SettingsDialog | None = None
        self._first_run_guide: FirstRunGuide | None = None
        self._history: HistoryBrowser | None = None
        self._notices_shown: set[str] = set()  # the store's notices (read-only, repaired): each said once
        self.tray: Tray | None = None
        self._hub = hub
        self._hotkey_status = ""  # what the global key's last report said
        self._global_key: str | None = None  # the registered global push-to-talk key, in words
        self._hotkey_dialog: HotkeyHelpDialog | None = None
        self._quitting = False  # closing for good: not to the tray
        self._drawn_once = False  # see showEvent
        self.setWindowTitle(WINDOW_TITLE)
        self.setWindowIcon(QIcon(str(resource_path(APP_ICON))))
        self.setAccessibleName(WINDOW_TITLE)
        self.resize(*DEFAULT_SIZE)
        self._bridge: EventBridge | None = None
        self._background: Background | None = None
        if hub is not None:
            self._bridge = EventBridge(hub)
            self._background = Background(self._bridge.call_soon)
        self._build(voice)
        self._add_menus()
        self._restore_geometry()

        # Ctrl+Space anywhere in the window, or Space on the focused talk button: one hold is one turn,
        # however the keyboard repeats it. Caught before any widget sees it, so the button does not
        # turn every auto-repeat into a click of its own.
        self._talk_key = HoldKey(self._press, self._release)
        self._release_timer = QTimer(self)
        self._release_timer.setSingleShot(True)
        self._release_timer.setInterval(RELEASE_DEBOUNCE_MS)
        self._release_timer.timeout.connect(self._talk_key.settle)
        self._focused_keys = FocusedKeys(self, self)  # the talk key, on the focused widget only (see there)
        self._focused_keys.start()

        if self._bridge is not None:
            self._bridge.add_handler(self.on_event)
        self._show_state(TurnState.IDLE)
        self.refresh()
        run_work(self._background, "autostart", autostart_enabled, self._show_autostart, self._autostart_failed)

    # -- layout -------------------------------------------------------------------------------------------

    def _build(self, voice: VoiceControls | None) -> None:
        central = QWidget(self)
        layout = QVBoxLayout(central)
        self.problems = _problems_label(central)
        self._problems: dict[str, str] = {}
        self._state = TurnState.IDLE

        self.heading = QLabel("Recent conversations", central)
        self.conversations = QListWidget(central)
        self.conversations.setObjectName("conversations")
        self.conversations.setAccessibleName("Recent conversations")
        self.conversations.setAccessibleDescription("Your latest conversations, newest first: title, when, first words")
        # Two short lines each (title; when and the first words), cut with "…" rather than scrolled sideways.
        self.conversations.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.conversations.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.conversations.setUniformItemSizes(True)
        self.conversations.itemActivated.connect(self._recent_activated)
        self.chat = ChatView(central)
        history = QWidget(central)
        history_layout = QVBoxLayout(history)
        history_layout.setContentsMargins(0, 0, 0, 0)
        history_layout.addWidget(self.heading)
        history_layout.addWidget(self.conversations)
        self.heading.setBuddy(self.conversations)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, central)
        self.splitter.addWidget(history)
        self.splitter.addWidget(self.chat)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 3)
        self._build_controls(central, voice)
        for widget in (self.problems, self.splitter, self.state_label, self.meter):
            layout.addWidget(widget)
        layout.setStretchFactor(self.splitter, 1)
        layout.addLayout(self._talk_row)
        layout.addLayout(self._type_row)
        self.setCentralWidget(central)
        self.store_status = self._store_status_label()
        escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        escape.activated.connect(self.cancel_turn)

    def _build_controls(self, central: QWidget, voice: VoiceControls | None) -> None:
        self.state_label = QLabel("", central)
        self.state_label.setObjectName("state")
        self.state_label.setWordWrap(True)
        self.state_label.setAccessibleDescription("What the assistant is doing: ready, listening, thinking, speaking")
        self.meter = QProgressBar(central)
        self.meter.setRange(0, 100)
        self.meter.setTextVisible(False)
        self.meter.setMaximumHeight(8)
        self.meter.setAccessibleName("Microphone level")
        self.meter.setAccessibleDescription("How loud the microphone hears you while you speak")
        self.talk_button = QPushButton(BUTTON_TEXT[self._toggle_mode()][0], central)
        self.talk_button.setObjectName("talk")
        self.talk_button.setEnabled(voice is not None)
        self.talk_button.setToolTip("Hold to speak (Ctrl+Space in this window, or the push-to-talk key anywhere)")
        self.talk_button.setAccessibleDescription(
            "Hold it (or Space while it has the focus, or Ctrl+Space anywhere in the window) and speak; let go to "
            "send. In click-to-talk mode: press once to start and again to send."
        )
        self.talk_button.pressed.connect(self._press)
        self.talk_button.released.connect(self._release)
        self.stop_button = QPushButton("Stop", central)
        self.stop_button.setObjectName("stop")
        self.stop_button.setToolTip("Stop listening or answering (Esc)")
        self.stop_button.setAccessibleDescription("Stops listening, or stops the answer being read out (Esc)")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.cancel_turn)
        self.question = QLineEdit(central)
        self.question.setObjectName("question")
        self.question.setPlaceholderText("Type a question and press Enter")
        self.question.setAccessibleName("Question")
        self.question.setAccessibleDescription("Type a question instead of speaking; Enter sends it (Ctrl+L)")
        self.question.setToolTip("Type a question; Enter sends it (Ctrl+L comes here)")
        self.question.setEnabled(voice is not None)
        self.question.returnPressed.connect(self._send_typed)
        self.send_button = QPushButton("Send", central)
        self.send_button.setObjectName("send")
        self.send_button.setEnabled(voice is not None)
        self.send_button.setToolTip("Send the typed question (Enter)")
        self.send_button.setAccessibleDescription("Sends the question typed beside it (Enter)")
        self.send_button.clicked.connect(self._send_typed)

        self._talk_row = QHBoxLayout()
        self._talk_row.addWidget(self.talk_button, 2)
        self._talk_row.addWidget(self.stop_button)
        self._type_row = QHBoxLayout()
        self._type_row.addWidget(self.question, 1)
        self._type_row.addWidget(self.send_button)
        self.private_switch = PrivateSwitch(
            voice, self._settings, self._bridge.call_soon if self._bridge is not None else None, self._notify, central
        )
        self._talk_row.addWidget(self.private_switch)

    def _add_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.new_action = _action(self, "&New conversation", QKeySequence.StandardKey.New, self.new_conversation)
        file_menu.addAction(self.new_action)
        self.history_action = _action(self, "&History…", QKeySequence("Ctrl+H"), self.show_history)
        self.history_action.setStatusTip("Browse, search, continue, export or delete your conversations")
        file_menu.addAction(self.history_action)
        self.settings_action = _action(self, "&Settings…", QKeySequence("Ctrl+,"), self._open_settings)
        self.settings_action.setStatusTip("Microphone, speaker, speech models, voice, push to talk, keys, privacy")
        self.settings_action.setEnabled(self._settings is not None)
        file_menu.addAction(self.settings_action)
        self.autostart_action = QAction("Start at &login", self)
        self.autostart_action.setCheckable(True)
        self.autostart_action.setEnabled(False)  # until whether it is on has been read
        self.autostart_action.setStatusTip("Start Voice Assistant in the tray when you log in")
        self.autostart_action.triggered.connect(self._switch_autostart)
        file_menu.addAction(self.autostart_action)
        file_menu.addSeparator()
        self.quit_action = _action(self, "&Quit", QKeySequence("Ctrl+Q"), self.close)  # Quit has no standard key on X11
        file_menu.addAction(self.quit_action)
        talk_menu = bar.addMenu("&Talk")
        self.talk_action = _action(self, "&Push to talk", QKeySequence("Ctrl+Space"), self._toggle_talk)
        # Shown in the menu; the key itself is held and released in the window (eventFilter), not a shortcut.
        self.talk_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.talk_action.setEnabled(self._voice is not None)
        talk_menu.addAction(self.talk_action)
        self.stop_action = _action(self, "&Stop", QKeySequence(Qt.Key.Key_Escape), self.cancel_turn)
        self.stop_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)  # Esc itself is a window shortcut
        talk_menu.addAction(self.stop_action)
        self.type_action = _action(self, "&Type a question", QKeySequence("Ctrl+L"), self.question.setFocus)
        talk_menu.addAction(self.type_action)
        help_menu = bar.addMenu("&Help")
        self.hotkey_help_action = _action(self, "&Push to talk from anywhere…", None, self.show_hotkey_help)
        help_menu.addAction(self.hotkey_help_action)
        self.first_run_action = _action(self, "&First-run guide…", None, self.show_first_run_guide)
        self.first_run_action.setEnabled(self._settings is not None)
        help_menu.addAction(self.first_run_action)
        self.about_action = _action(self, f"&About {WINDOW_TITLE}", None, self.show_about)
        help_menu.addAction(self.about_action)

    # -- push to talk ----------------------------------------------------------------------------------

    def _press(self) -> None:
        if self._voice is not None:
            self._voice.press()

    def _release(self) -> None:
        if self._voice is not None:
            self._voice.release()

    def cancel_turn(self) -> None:
        if self._voice is not None:
            self._voice.cancel()

    def _toggle_talk(self) -> None:
        """Talk > Push to talk: starts listening, or sends what was heard (as a click in click-to-talk mode)."""
        if self._voice is not None:
            self._voice.toggle()

    def _send_typed(self) -> None:
        text = self.question.text().strip()
        if not text or self._voice is None:
            return
        if self._voice.ask(text):
            self.question.clear()

    def _notify(self, text: str) -> None:
        self.statusBar().showMessage(text, NOTICE_MS)

    def new_conversation(self) -> None:
        if self._voice is not None:
            self._voice.new_conversation()
        self.chat.clear()
        self.statusBar().showMessage("New conversation: the next question starts it.", NOTICE_MS)

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

    def changeEvent(self, event: QEvent) -> None:
        # The window lost the keyboard mid-hold (another window came up): the release will never arrive here.
        if event.type() is QEvent.Type.ActivationChange and not self.isActiveWindow() and self._talk_key.held:
            self._talk_key.reset()
            self._release()
        super().changeEvent(event)

    # -- the remote (`voice-assistant ptt ...`, a second start) --------------------------------------------

    def remote_command(self, controls: RemoteControls, command: Command) -> None:
        """Called on a server thread: push-to-talk goes straight to the (thread-safe) controls, so a key
        binding is not held up by the window; the rest is done on the main thread."""
        name = command.name
        if name is CommandName.PTT_PRESS:
            controls.press(command.issued_at)
        elif name is CommandName.PTT_RELEASE:
            controls.release(command.issued_at)
        elif name is CommandName.PTT_TOGGLE:
            controls.toggle()
        elif name is CommandName.PTT_CANCEL:
            controls.cancel()
        elif self._bridge is not None:
            if name is CommandName.SHOW:
                self._bridge.call_soon(self.bring_to_front)
            elif name is CommandName.PTT_TEST and self._hub is not None:
                self._hub.publish(Notice(NoticeCode.SHORTCUT_TEST, "The shortcut works: the app received it."))

    def attach_tray(self, tray: Tray) -> None:
        """With a tray, closing the window hides it there (said once); the tray's Quit ends the app."""
        self.tray = tray
        tray.set_state(self._state)
        self._show_problems_in_tray()

    def toggle_visible(self) -> None:
        if self.isVisible() and not self.isMinimized():
            self.hide()
        else:
            self.bring_to_front()

    def quit_for_good(self) -> None:
        """The app is ending: the next close really closes (the window is not hidden to the tray)."""
        self._quitting = True

    def showEvent(self, event: QShowEvent) -> None:
        if self.tray is not None:
            self.tray.set_window_visible(True)
        super().showEvent(event)
        if not self._drawn_once:
            # The first frame is drawn once off-screen now, before the services start on their thread: its
            # one-time work (style polish, fonts, layouts, and PySide looking up every widget's Python
            # overrides, each taking the interpreter lock) then no longer waits on their imports, which
            # stalled the window's event loop for 40 to 70 ms right as it appeared. 5 to 10 ms, once.
            self._drawn_once = True
            self.grab()

    def hideEvent(self, event: QHideEvent) -> None:
        if self.tray is not None:
            self.tray.set_window_visible(False)
        super().hideEvent(event)

    def _show_problems_in_tray(self) -> None:
        if self.tray is not None:
            self.tray.set_problem("; ".join(self._problems.values()) or None)

    def bring_to_front(self) -> None:
        self.show()
        if self.isMinimized():
            self.showNormal()
        self.raise_()
        self.activateWindow()

    def show_history(self) -> None:
        """File > History… (Ctrl+H): the history browser, one window, raised when it is already open."""
        if self._history is None:
            self._history = HistoryBrowser(
                self._store, self._background, self.continue_conversation, self, on_changed=self.refresh
            )
            self._history.finished.connect(self._history_closed)
        self._history.show()
        self._history.raise_()
        self._history.activateWindow()

    def show_settings(self, section: str | None = None) -> None:
        """File > Settings… (Ctrl+,): one dialog, raised when it is already open; `section` shows that one."""
        if self._settings is None:
            return
        if self._settings_dialog is None:
            paths = self._paths or AppPaths.resolve()
            dialog = SettingsDialog(self._settings, self._store, paths, ALL_SECTIONS, self, speech=self._voice)
            dialog.finished.connect(self._settings_closed)
            self._settings_dialog = dialog
        if section is not None:
            self._settings_dialog.show_section(section)
        self._settings_dialog.show()
        self._settings_dialog.raise_()
        self._settings_dialog.activateWindow()

    def _open_settings(self) -> None:
        self.show_settings()  # the menu's `checked` is not a section's name

    def _settings_closed(self) -> None:
        dialog, self._settings_dialog = self._settings_dialog, None
        if dialog is not None:
            dialog.deleteLater()

    def _history_closed(self) -> None:
        history, self._history = self._history, None
        if history is not None:
            history.deleteLater()

    def _recent_activated(self, item: QListWidgetItem) -> None:
        conversation_id = item.data(Qt.ItemDataRole.UserRole)
        if isinstance(conversation_id, int):
            self.continue_conversation(conversation_id)

    def continue_conversation(self, conversation_id: int) -> None:
        """An earlier conversation, shown here; the next question, spoken or typed, goes into it."""
        if self._voice is None or not self._voice.continue_conversation(conversation_id):
            return
        run_work(
            self._background,
            "open-conversation",
            lambda: (self._store.get_conversation(conversation_id), self._store.get_history(conversation_id)),
            self._show_continued,
            lambda error: self.statusBar().showMessage(f"That conversation could not be opened: {error}", NOTICE_MS),
        )

    def _show_continued(self, opened: tuple[Conversation, list[Message]]) -> None:
        conversation, messages = opened
        self.chat.show_history(messages)
        self.statusBar().showMessage(
            f"Continuing “{conversation.title or 'Untitled'}”: your next question goes into it.", NOTICE_MS
        )
        self.bring_to_front()

    def show_hotkey_help(self) -> None:
        """Whether the global key works here, and how to bind one in the desktop's own settings."""
        hotkey = self._settings.get(TALK_HOTKEY) if self._settings is not None else TALK_HOTKEY.default
        dialog = HotkeyHelpDialog(hotkey, self._hotkey_status, self)
        self._hotkey_dialog = dialog
        dialog.finished.connect(self._hotkey_help_closed)
        dialog.open()

    def _hotkey_help_closed(self) -> None:
        self._hotkey_dialog = None

    def show_first_run_guide(self) -> None:
        """Help > First-run guide…, and the first start: the microphone, the recogniser, a first question."""
        if self._settings is None:
            return
        if self._first_run_guide is not None:
            self._first_run_guide.raise_()
            self._first_run_guide.activateWindow()
            return
        guide = FirstRunGuide(self._settings, self._voice, self, models_dir=self._models_dir)
        self._first_run_guide = guide
        guide.finished.connect(self._first_run_guide_closed)
        guide.open()

    def _first_run_guide_closed(self) -> None:
        guide, self._first_run_guide = self._first_run_guide, None
        if guide is not None:
            guide.deleteLater()

    # -- events (main thread) --------------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        if self._hotkey_dialog is not None:
            self._hotkey_dialog.on_event(event)
        if self._first_run_guide is not None:
            self._first_run_guide.on_event(event)
        if isinstance(event, Notice) and (event.code is NoticeCode.HOTKEY_READY or event.code in HOTKEY_PROBLEMS):
            self._hotkey_status = event.message
            self._global_key = event.trigger if isinstance(event, HotkeyReady) else None
        if isinstance(event, StateChanged):
            self._show_state(event.state)
            if event.state is not TurnState.LISTENING:
                self.meter.setValue(0)
            if event.state is TurnState.IDLE:
                self.chat.end_turn()  # words still provisional, an answer cut short: settled
            if self.tray is not None:
                self.tray.set_state(event.state)
        elif isinstance(event, AudioLevel):
            span = -METER_FLOOR_DB
            self.meter.setValue(int(max(0.0, min(span, event.rms_dbfs - METER_FLOOR_DB)) / span * 100))
        elif isinstance(event, TurnStarted):
            self.chat.end_turn()
        elif isinstance(event, PartialTranscript):
            self.chat.update_user_partial(event.text)
        elif isinstance(event, FinalTranscript):
            self.chat.finish_user(event.text)
        elif isinstance(event, ReplyChunk):
            self.chat.append_answer(event.text, event.source)
        elif isinstance(event, Announced):
            self.chat.add_announcement(event.text, event.source)
            self.refresh()
        elif isinstance(event, TurnFinished):
            self.chat.finish_answer(event.timings)
            self.refresh()
        elif isinstance(event, TalkModeChanged):
            self._show_state(self._state)  # the button's and the status line's words for the new mode
        elif isinstance(event, HotkeyReady):
            self._note_problem(event.code, event.message)
            if self.tray is not None:
                self.tray.set_hotkey(event.trigger)
        elif isinstance(event, Notice) and event.code is NoticeCode.VOICE_READY:
            self._voice_ready = True
            self._note_problem(event.code, event.message)
        elif isinstance(event, TurnFailed | Notice):
            if isinstance(event, TurnFailed) and event.turn_id is not None and event.code not in QUIET_ENDINGS:
                self.chat.add_error(event.message)  # where the user is looking: in the conversation
            self._note_problem(event.code, event.message)
            self.statusBar().showMessage(event.message, NOTICE_MS)

    def _toggle_mode(self) -> bool:
        return self._voice is not None and self._voice.toggle_mode

    def _show_state(self, state: TurnState) -> None:
        self._state = state
        toggle = self._toggle_mode()
        if self._voice is None:
            idle_text = "Voice is off."
        elif not self._voice_ready:
            idle_text = STARTING_TEXT
        elif ErrorCode.AUDIO_INPUT_UNAVAILABLE.value in self._problems:
            idle_text = "Not listening: the microphone is not available (see above). You can type."
        else:
            keys = f"{WINDOW_KEY} here, {self._global_key} anywhere" if self._global_key else WINDOW_KEY
            idle_text = IDLE_LINE[toggle].format(keys=keys)
        text = idle_text if state is TurnState.IDLE else STATE_TEXT[state]
        self.state_label.setText(text)
        self.state_label.setAccessibleName(f"State: {text}")
        self.talk_button.setText(BUTTON_TEXT[toggle][state is TurnState.LISTENING])
        self.stop_button.setEnabled(state is not TurnState.IDLE)
        # Screen readers hear the state as it changes, not only when they look at the label.
        QAccessible.updateAccessibility(QAccessibleEvent(self.state_label, QAccessible.Event.NameChanged))

    def _note_problem(self, code: str, message: str) -> None:
        """A missing device or model stays on screen until it is back, not only for a few seconds."""
        if code in LASTING_PROBLEMS:
            self._problems[code] = message
        for problem, ended_by in LASTING_PROBLEMS.items():
            if ended_by == code:
                self._problems.pop(problem, None)
        self.problems.setText("\n".join(self._problems.values()))
        self.problems.setVisible(bool(self._problems))
        self._show_problems_in_tray()
        self._show_state(self._state)

    def _store_status_label(self) -> QLabel:
        """The store's state, kept in view at the status bar's end; notices ("Listening with …") come and go
        beside it, so a read-only store is never hidden by the speech model finishing loading."""
        label = QLabel("", self)
        label.setObjectName("store_status")
        self.statusBar().addPermanentWidget(label)
        return label

    # -- history (read off the main thread) ----------------------------------------------------------------

    def refresh(self) -> None:
        """Reads the recent conversations and the store's health, on a worker when the window has one."""
        if self._background is None:
            self._show_store(self._read_store())
        else:
            self._background.run("history", self._read_store, self._show_store, self._store_failed)

    def _read_store(self) -> _StoreView:
        return _StoreView(self._store.list_conversations(limit=RECENT_CONVERSATIONS), self._store.health())

    def _show_store(self, view: _StoreView) -> None:
        self.conversations.clear()
        for summary in view.recent:
            conversation = summary.conversation
            when = conversation.updated_at.astimezone().strftime("%Y-%m-%d %H:%M")
            item = QListWidgetItem(f"{conversation.title or 'Untitled'}\n{when}  ·  {summary.preview}")
            item.setToolTip(f"{conversation.title or 'Untitled'}\n{summary.preview}")
            item.setData(Qt.ItemDataRole.UserRole, conversation.id)
            self.conversations.addItem(item)
        if self.conversations.count() == 0:
            self.conversations.addItem("No conversations yet.")
        health = view.health
        self.store_status.setText((health.message or "") if not health.writable else f"Ready · version {__version__}")
        for notice in health.notices:
            if notice not in self._notices_shown:
                self._notices_shown.add(notice)
                QTimer.singleShot(0, lambda notice=notice: QMessageBox.warning(self, WINDOW_TITLE, notice))

    def _store_failed(self, error: Exception) -> None:
        self.store_status.setText(f"The history could not be read: {error}")

    def show_about(self) -> None:
        QMessageBox.about(
            self,
            f"About {WINDOW_TITLE}",
            f"{WINDOW_TITLE} {__version__}\n\nAn offline voice assistant: speech recognition, answers and "
            "your conversations stay on this computer unless you set up a cloud language model.",
        )

    # -- start at login (desktop_app.autostart) -------------------------------------------------------------

    def _switch_autostart(self, on: bool) -> None:
        self.autostart_action.setEnabled(False)
        run_work(
            self._background, "autostart", partial(set_autostart, on), self._autostart_switched, self._autostart_failed
        )

    def _autostart_switched(self, on: bool) -> None:
        self._show_autostart(on)
        self.statusBar().showMessage(
            f"{WINDOW_TITLE} will start in the tray when you log in."
            if on
            else f"{WINDOW_TITLE} will no longer start when you log in.",
            NOTICE_MS,
        )

    def _show_autostart(self, on: bool) -> None:
        self.autostart_action.setChecked(on)
        self.autostart_action.setEnabled(True)

    def _autostart_failed(self, error: Exception) -> None:
        """Said where the user is looking; the entry is read again, so the check shows what is true."""
        self.autostart_action.setEnabled(True)
        self.autostart_action.setChecked(False)
        QMessageBox.warning(self, WINDOW_TITLE, str(error))
        run_work(self._background, "autostart", autostart_enabled, self._show_autostart, lambda _error: None)

    # -- size and position between runs ---------------------------------------------------------------------

    def _restore_geometry(self) -> None:
        if self._state_file is None:
            return
        stored = _window_settings(self._state_file).value("geometry")
        if stored is not None:
            self.restoreGeometry(stored)  # Qt keeps it on a screen that is there
        splitter = _window_settings(self._state_file).value("splitter")
        if splitter is not None:
            self.splitter.restoreState(splitter)

    def _save_geometry(self) -> None:
        if self._state_file is None:
            return
        settings = _window_settings(self._state_file)
        settings.setValue("geometry", self.saveGeometry())
        settings.setValue("splitter", self.splitter.saveState())
        settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._save_geometry()
        if self.tray is not None and not self._quitting:
            event.ignore()  # still running in the tray: push to talk keeps working
            self.hide()
            self.tray.hidden_to_tray()
            return
        if self._voice is not None:
            self._voice.cancel()
        self.private_switch.close_switch()
        if self._bridge is not None:
            self._bridge.detach()
        if self._background is not None:
            self._background.close()
        super().closeEvent(event)


def _window_settings(path: Path) -> QSettings:
    return QSettings(str(path), QSettings.Format.IniFormat)


def _action(
    parent: QWidget, text: str, shortcut: QKeySequence | QKeySequence.StandardKey | None, slot: Callable[[], object]
) -> QAction:
    action = QAction(text, parent)
    if shortcut is not None:
        action.setShortcut(shortcut)
    action.triggered.connect(slot)
    parent.addAction(action)
    return action


def _problems_label(parent: QWidget) -> QLabel:
    """Above everything, in a warning colour; hidden while there is nothing wrong."""
    label = QLabel("", parent)
    label.setObjectName("problems")
    label.setWordWrap(True)
    label.setAccessibleName("Problems")
    label.setStyleSheet("QLabel#problems { color: #b00020; font-weight: bold; }")
    label.hide()
    return label


def run_main_window(start: WindowStart) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName(WINDOW_TITLE)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_ID)  # the menu entry's name: desktops match the window to its entry and icon
    controls = start.services.controls
    window = MainWindow(
        start.store,
        start.hub,
        controls,
        state_file=start.state_file,
        voice_ready=False,
        settings=start.settings,
        models_dir=start.models_dir,
        paths=start.paths,
    )
    if start.instance is not None:
        start.instance.start(partial(window.remote_command, controls))
    tray = Tray.create(
        TrayActions(controls.toggle, window.toggle_visible, window.new_conversation, app.quit),
        hotkey=None,
        window_visible=not start.minimized,
        parent=window,
    )
    if tray is not None:
        window.attach_tray(tray)
        tray.show()
    # With a tray, closing the window hides it and Quit ends the app; without one, closing it quits.
    app.setQuitOnLastWindowClosed(tray is None)
    if not start.minimized or tray is None:  # minimised needs a tray to be found again
        window.show()
    if start.settings is not None and window.isVisible() and FirstRunGuide.should_open(start.settings):
        QTimer.singleShot(0, window.show_first_run_guide)  # once the loop runs, over the shown window
    # Once the main loop runs, behind the shown window.
    QTimer.singleShot(0, lambda: start.services.start_in_background(lambda: None))
    with quit_on_signals(app.quit):
        code = app.exec()
    # Tear the widgets down now, in order (the window's close cancels a running turn), rather than leaving
    # them to the interpreter's final garbage collection. Closing the last window here must not ask the
    # application to quit again: that request would end the next event loop at once.
    app.setQuitOnLastWindowClosed(False)
    window.quit_for_good()
    window.close()
    if tray is not None:
        tray.dispose()
    window.deleteLater()
    app.processEvents()
    app.setQuitOnLastWindowClosed(True)
    del window
    return code
