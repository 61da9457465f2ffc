"""The conversation as bubbles: the user's on the right in the accent colour, the assistant's on the left,
each with its time, where the answer came from and, on request, how long each stage of the turn took.
The user's words appear while they speak and the answer grows as it is written.

Why a QListView over a list model with a painting delegate, not one rich-text document (QTextBrowser):
only the bubbles in view are painted; each message is a row that a screen reader names ("You, 14:05: what
time is it") and the arrow keys move between; a streamed chunk lays out that one message's text (heights
of the others are cached, ui/chat_delegate.py). What a document would have given for free, selecting any
stretch of text, is had here by opening one message in place as selectable text (double-click or F2);
Copy takes whole messages.

Measured with `python bench/chat_view.py --json` (2-core machine, offscreen, other work running, load
about 2.3; five runs, each the median of its rounds): 1,000 stored messages shown, painted and scrolled
to the latest in 105-140 ms, nearly all of it laying out their text once; a streamed chunk in 0.4-0.5 ms;
7-12 ms for the one chunk in about twelve that starts a new line, when the list re-reads the 1,000 cached
heights to move what is below.

The window drives it from the core events on the main thread (see `ChatView`'s methods); nothing here
emits a Python-side signal (see ui/bridge.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime

from desktop_app.core.models import INTERRUPTED_AT_MS, SPOKEN_CHARS, Message
from desktop_app.core.reply_source import ReplySource
from desktop_app.ui.chat_delegate import ChatDelegate
from desktop_app.ui.chat_model import ChatModel
from desktop_app.ui.chat_text import ChatEntry, Speaker, entries_from_messages, transcript
from desktop_app.ui.qt import (
    QAbstractItemView,
    QAction,
    QContextMenuEvent,
    QEvent,
    QFocusEvent,
    QFrame,
    QGuiApplication,
    QItemSelectionModel,
    QKeyEvent,
    QKeySequence,
    QListView,
    QMenu,
    QResizeEvent,
    Qt,
    QTimer,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

VIEW_NAME = "Conversation"
VIEW_DESCRIPTION = (
    "Messages, newest last. Up and Down move between them, Space shows an answer's timings, "
    "F2 opens a message as selectable text."
)
NEW_MESSAGES = "New messages ↓"
BOTTOM_SLACK = 4  # pixels: still "at the bottom" after a rounding of the scroll position
BUTTON_MARGIN = 12
# In the user's bubble colours (the accent, made readable), worked out from the palette when it changes.
BUTTON_STYLE = (
    "QToolButton#new_messages {{ background: {background}; color: {text}; border: none; border-radius: 12px;"
    " padding: 5px 14px; }}"
)
DETAILS_KEYS = (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter)
# While a window is being resized, bubbles are measured again once it pauses this long, not at every step
# (a long history takes a good part of a frame to measure).
RESIZE_SETTLE_MS = 80


def _now() -> datetime:
    return datetime.now().astimezone()


class ChatList(QListView):
    """The list of bubbles: its keys, its context menu, and the width the bubbles are measured for."""

    def __init__(self, model: ChatModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.chat_model = model
        self.chat_delegate = ChatDelegate(model, self)
        self.setModel(model)
        self.setItemDelegate(self.chat_delegate)
        self.chat_delegate.set_font(self.font())
        self.setObjectName("chat")
        self.setAccessibleName(VIEW_NAME)
        self.setAccessibleDescription(VIEW_DESCRIPTION)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setSpacing(0)
        self.setUniformItemSizes(False)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.menu_actions: list[QAction] = []
        self._width_timer = QTimer(self)
        self._width_timer.setSingleShot(True)
        self._width_timer.setInterval(RESIZE_SETTLE_MS)
        self._width_timer.timeout.connect(self.apply_width)

    def measure_width(self) -> int:
        """The width bubbles are measured for: the view less a vertical scroll bar, always, so one
        appearing does not make every bubble be measured again."""
        frame = 2 * self.frameWidth()
        return max(1, self.width() - frame - self.verticalScrollBar().sizeHint().width())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.isVisible() and self.chat_model.rowCount():
            self._width_timer.start()
        else:  # the first size: measured at once, so nothing is drawn at a wrong width first
            self.apply_width()

    def apply_width(self) -> None:
        if self.chat_delegate.set_width(self.measure_width()):
            self.doItemsLayout()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() is QEvent.Type.FontChange:  # the application's font size: measure again
            self.chat_delegate.set_font(self.font())
            self.scheduleDelayedItemsLayout()

    def start_at_latest(self) -> None:
        """With no current message, the keyboard starts at the latest one (Qt's default is the oldest)."""
        rows = self.chat_model.rowCount()
        if not self.currentIndex().isValid() and rows:
            self.selectionModel().setCurrentIndex(
                self.chat_model.index(rows - 1), QItemSelectionModel.SelectionFlag.NoUpdate
            )

    def focusInEvent(self, event: QFocusEvent) -> None:
        self.start_at_latest()
        super().focusInEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        self.start_at_latest()
        index = self.currentIndex()
        if event.key() in DETAILS_KEYS and index.isValid() and self.chat_model.entry(index.row()).has_details:
            if self.chat_delegate.on_toggle is not None:
                self.chat_delegate.on_toggle(index.row())
            return
        super().keyPressEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        index = self.indexAt(event.pos()) if event.reason() is QContextMenuEvent.Reason.Mouse else self.currentIndex()
        if index.isValid():
            if not self.selectionModel().isSelected(index):
                self.setCurrentIndex(index)
            else:
                self.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)
        global_pos = event.globalPos()
        if event.reason() is not QContextMenuEvent.Reason.Mouse and index.isValid():
            global_pos = self.viewport().mapToGlobal(self.visualRect(index).center())
        menu = QMenu(self)
        for action in self.menu_actions:
            if action.isVisible():
                menu.addAction(action)
        menu.exec(global_pos)


class ChatView(QWidget):
    """The conversation view. Everything is called on the main thread; messages read from the store are
    read elsewhere and handed over to `show_history`.

    From the core events: TurnStarted and StateChanged(IDLE) -> `end_turn()`; PartialTranscript ->
    `update_user_partial(text)`; FinalTranscript -> `finish_user(text)`; ReplyChunk ->
    `append_answer(text, source)` (the first one opens the bubble); TurnFinished -> `finish_answer(timings)`;
    TurnFailed of a turn -> `add_error(message)`; Announced -> `add_announcement(text, source)`. A typed
    question -> `finish_user(text)`; another conversation -> `show_history(messages)`.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chat_view")
        self._model = ChatModel(self)
        self.list = ChatList(self._model, self)
        self._delegate = self.list.chat_delegate
        self._model.on_changed = self._row_changed
        self._delegate.on_toggle = self._toggle_details
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list)
        self.setFocusProxy(self.list)
        self.setAccessibleName(VIEW_NAME)

        self._partial: ChatEntry | None = None  # the user's words while they speak
        self._answer: ChatEntry | None = None  # the answer being written
        self._stick = True  # follow new messages: the user was at the bottom
        self._unseen = 0

        self.new_messages_button = QToolButton(self)
        self.new_messages_button.setObjectName("new_messages")
        self.new_messages_button.setText(NEW_MESSAGES)
        self.new_messages_button.setAccessibleName("Show the new messages")
        self.new_messages_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self._style_button()
        self.new_messages_button.clicked.connect(self.scroll_to_bottom)
        self.new_messages_button.hide()

        bar = self.list.verticalScrollBar()
        bar.rangeChanged.connect(self._range_changed)
        bar.valueChanged.connect(self._scrolled)
        self._add_actions()

    # -- what the window calls -----------------------------------------------------------------------

    @property
    def entries(self) -> Sequence[ChatEntry]:
        """What is shown, oldest first (the provisional words of a speaker included)."""
        return self._model.entries()

    def show_history(self, messages: Sequence[Message]) -> None:
        """Shows these messages instead of what is shown, scrolled to the latest."""
        self._partial = self._answer = None
        self._delegate.forget()
        self._model.replace(entries_from_messages(messages))
        self._stick = True
        self._set_unseen(0)
        self.list.doItemsLayout()  # measured now, so the latest message is in view at once
        self.list.scrollToBottom()

    def clear(self) -> None:
        self.show_history(())

    def mark(self, pattern: re.Pattern[str] | None) -> None:
        """Marks a search's words wherever they appear (None: nothing), and shows the first marked message."""
        self._delegate.set_marking(pattern)
        self.list.viewport().update()
        if pattern is None:
            return
        for row, entry in enumerate(self.entries):
            if pattern.search(entry.text):
                self._stick = False
                self.list.scrollTo(self._model.index(row), QAbstractItemView.ScrollHint.PositionAtCenter)
                return

    def begin_user_partial(self, text: str) -> None:
        """The user started speaking: their words so far, in a provisional bubble."""
        self.update_user_partial(text)

    def update_user_partial(self, text: str) -> None:
        if self._partial is None:
            self._partial = ChatEntry(Speaker.USER, text, None, provisional=True)
            self._append(self._partial)
            return
        self._partial.text = text
        self._model.changed(self._partial)

    def finish_user(self, text: str, at: datetime | None = None) -> None:
        """The user's final words (a typed question too); empty when nothing was heard: the provisional
        bubble goes."""
        entry, self._partial = self._partial, None
        if not text.strip():
            if entry is not None:
                self._remove(entry)
            return
        if entry is None:
            self._append(ChatEntry(Speaker.USER, text, at or _now()))
            return
        entry.text, entry.at, entry.provisional = text, at or _now(), False
        self._model.changed(entry, redate=True)

    def begin_answer(self, at: datetime | None = None) -> None:
        """An answer is coming: its bubble shows "…" until the first words arrive."""
        self._stop_answer()
        self._answer = ChatEntry(Speaker.ASSISTANT, "", at or _now(), streaming=True)
        self._append(self._answer)

    def append_answer(self, text: str, source: ReplySource) -> None:
        """The answer's next chunk (core.events.ReplyChunk), added to its bubble."""
        if self._answer is None:
            self.begin_answer()
        assert self._answer is not None
        self._answer.text += text
        self._answer.source = source
        self._model.changed(self._answer)

    def finish_answer(self, timings: dict[str, float] | None = None, interrupted: bool = False) -> None:
        """The answer is complete (core.events.TurnFinished's timings), or was stopped. An answer with no
        words is removed."""
        entry, self._answer = self._answer, None
        if entry is None:
            return
        if not entry.text:
            self._remove(entry)
            return
        entry.streaming = False
        entry.timings = dict(timings) if timings else None
        entry.interrupted = interrupted or (timings is not None and INTERRUPTED_AT_MS in timings)
        spoken = None if timings is None else timings.get(SPOKEN_CHARS)
        entry.spoken_chars = None if spoken is None else int(spoken)
        self._model.changed(entry)

    def end_turn(self) -> None:
        """The turn is over (core.events.StateChanged to IDLE): a provisional bubble still shown is
        dropped (no final words came) and an answer still open was stopped."""
        self.finish_user("")
        self._stop_answer()

    def add_announcement(self, text: str, source: ReplySource, at: datetime | None = None) -> None:
        """Something said unprompted (core.events.Announced). It goes above a bubble still being spoken
        or written, which stays the latest, as the store keeps them."""
        entry = ChatEntry(Speaker.ASSISTANT, text, at or _now(), source=source, announcement=True)
        live = [row for row in (self._row(self._partial), self._row(self._answer)) if row >= 0]
        self._model.insert(min(live, default=self._model.rowCount()), entry)
        self._laid_out(new_message=True)

    def add_error(self, message: str, at: datetime | None = None) -> None:
        """A failed turn (core.events.TurnFailed), in place: after what was shown of it, which is kept."""
        self.finish_user("")
        self._stop_answer()
        self._append(ChatEntry(Speaker.ASSISTANT, message, at or _now(), failed=True))

    def scroll_to_bottom(self) -> None:
        self._stick = True
        self.list.scrollToBottom()
        self._set_unseen(0)

    @property
    def at_bottom(self) -> bool:
        """Whether the latest message is in view and new ones scroll into view; False after the user
        scrolled up to read (their place is kept)."""
        return self._stick

    @property
    def unseen(self) -> int:
        """Messages that arrived below the view since the user scrolled up."""
        return self._unseen

    @property
    def answering(self) -> bool:
        return self._answer is not None

    # -- rows ----------------------------------------------------------------------------------------

    def _row(self, entry: ChatEntry | None) -> int:
        return -1 if entry is None else self._model.row_of(entry)

    def _append(self, entry: ChatEntry) -> None:
        self._model.append(entry)
        self._laid_out(new_message=True)

    def _remove(self, entry: ChatEntry) -> None:
        self._model.remove(entry)
        self._delegate.forget(entry)
        self._laid_out()

    def _stop_answer(self) -> None:
        if self._answer is not None:
            self.finish_answer(None, interrupted=True)

    def _laid_out(self, new_message: bool = False) -> None:
        """Rows came or went: placed now (heights are cached, so this reads them, it measures only the
        new row), and counted as unseen when the user is reading further up."""
        self.list.doItemsLayout()
        if new_message and not self._stick:
            self._set_unseen(self._unseen + 1)

    def _row_changed(self, row: int) -> None:
        """One row changed in place: redrawn, and the rows below moved only when its height changed."""
        entry = self._model.entry(row)
        before = self._delegate.cached_height(entry)
        after = self._delegate.layout_for(entry).height
        index = self._model.index(row)
        if before != after:
            self.list.doItemsLayout()
        self.list.update(index)

    def _toggle_details(self, row: int) -> None:
        entry = self._model.entry(row)
        if not entry.has_details:
            return
        entry.expanded = not entry.expanded
        self._model.changed(entry)
        self.list.scrollTo(self._model.index(row))
        self._update_actions()

    # -- scrolling -----------------------------------------------------------------------------------

    def _range_changed(self, _minimum: int, maximum: int) -> None:
        if self._stick:
            self.list.verticalScrollBar().setValue(maximum)

    def _scrolled(self, value: int) -> None:
        self._stick = value >= self.list.verticalScrollBar().maximum() - BOTTOM_SLACK
        if self._stick:
            self._set_unseen(0)

    def _set_unseen(self, count: int) -> None:
        self._unseen = count
        self.new_messages_button.setVisible(count > 0)
        if count:
            self._place_button()
            self.new_messages_button.raise_()

    def _place_button(self) -> None:
        button = self.new_messages_button
        button.adjustSize()
        area = self.list.geometry()
        button.move(area.center().x() - button.width() // 2, area.bottom() - button.height() - BUTTON_MARGIN)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_button()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() is QEvent.Type.PaletteChange:
            self._style_button()

    def _style_button(self) -> None:
        colours = self._delegate.colours(self.palette()).user
        self.new_messages_button.setStyleSheet(
            BUTTON_STYLE.format(background=colours.background.name(), text=colours.text.name())
        )

    # -- copying and the context menu ----------------------------------------------------------------

    def _add_actions(self) -> None:
        self.copy_action = self._action("&Copy", self._copy_selected, QKeySequence.StandardKey.Copy)
        self.copy_all_action = self._action("Copy &all", self._copy_all)
        self.select_text_action = self._action("&Select text", self._select_text, QKeySequence(Qt.Key.Key_F2))
        self.details_action = self._action("Show timing &details", self._toggle_current)
        self.list.menu_actions = [self.copy_action, self.copy_all_action, self.select_text_action, self.details_action]
        self.list.selectionModel().currentChanged.connect(self._update_actions)
        self._update_actions()

    def _action(
        self, text: str, slot: Callable[[], None], key: QKeySequence | QKeySequence.StandardKey | None = None
    ) -> QAction:
        action = QAction(text, self.list)
        if key is not None:
            action.setShortcut(key)
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(slot)
        self.list.addAction(action)
        return action

    def _update_actions(self) -> None:
        index = self.list.currentIndex()
        entry = self._model.entry(index.row()) if index.isValid() else None
        has_details = entry is not None and entry.has_details
        self.details_action.setVisible(has_details)
        if entry is not None and has_details:
            self.details_action.setText("Hide timing &details" if entry.expanded else "Show timing &details")

    def selected_entries(self) -> list[ChatEntry]:
        rows = sorted(index.row() for index in self.list.selectionModel().selectedIndexes())
        if not rows and self.list.currentIndex().isValid():
            rows = [self.list.currentIndex().row()]
        return [self._model.entry(row) for row in rows]

    def _copy_selected(self) -> None:
        entries = self.selected_entries()
        if len(entries) == 1:
            QGuiApplication.clipboard().setText(entries[0].text)
        elif entries:
            QGuiApplication.clipboard().setText(transcript(entries))

    def _copy_all(self) -> None:
        QGuiApplication.clipboard().setText(transcript(self.entries))

    def _select_text(self) -> None:
        index = self.list.currentIndex()
        if index.isValid():
            self.list.edit(index)

    def _toggle_current(self) -> None:
        index = self.list.currentIndex()
        if index.isValid():
            self._toggle_details(index.row())
