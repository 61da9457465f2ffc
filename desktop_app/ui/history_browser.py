"""History > Browse… (Ctrl+H): every conversation, newest first, or what a search finds as it is typed (its
words marked in the list and in the opened conversation), filtered by when and by who said it; open one and
continue it, rename, delete (one, several, or all, each confirmed) and export.

Nothing here reads or writes the store on the main thread: pages, the opened conversation, deletions and
exports run on a worker (ui.background) and come back through the window's bridge.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from desktop_app.core.export import (
    ExportFormat,
    ExportItem,
    all_conversations,
    exported_sentence,
    format_of_file,
    record_export,
    write_export,
)
from desktop_app.core.models import Message, Role, SearchFilter, StoreStats
from desktop_app.core.ports import ConversationStore
from desktop_app.core.reply_source import SourceKind
from desktop_app.core.search_terms import marking_pattern
from desktop_app.ui.background import Background, run_work
from desktop_app.ui.chat_delegate import MARK_BACKGROUND, MARK_TEXT
from desktop_app.ui.chat_view import ChatView
from desktop_app.ui.history_pages import PAGE, ROW_ROLE, HistoryPages, HistoryRow, PageSource, conversation_pages
from desktop_app.ui.qt import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFileDialog,
    QFont,
    QFontMetrics,
    QHBoxLayout,
    QInputDialog,
    QItemSelectionModel,
    QKeySequence,
    QLabel,
    QLineEdit,
    QListView,
    QMessageBox,
    QModelIndex,
    QPainter,
    QPersistentModelIndex,
    QPushButton,
    QRect,
    QShortcut,
    QSize,
    QSplitter,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    Qt,
    QTimer,
    QVBoxLayout,
    QWidget,
)

TITLE = "History"
TYPING_PAUSE_MS = 40  # a search starts this long after the last keystroke (fast typing is one search)
# "When" and "who said it": the filter menus' entries and what each keeps.
PERIODS: dict[str, timedelta | None] = {
    "Any time": None,
    "Today": timedelta(days=1),
    "Last 7 days": timedelta(days=7),
    "Last 30 days": timedelta(days=30),
    "Last year": timedelta(days=365),
}
ORIGINS: dict[str, frozenset[Role | SourceKind] | None] = {
    "Anyone": None,
    "You": frozenset({Role.USER}),
    "Skills": frozenset({SourceKind.SKILL, SourceKind.OFFLINE}),
    "Language model": frozenset({SourceKind.MODEL}),
}
EXPORT_FILTERS = {
    "JSON (*.json)": ExportFormat.JSON,
    "Markdown (*.md)": ExportFormat.MARKDOWN,
    "CSV (*.csv)": ExportFormat.CSV,
}
_MARKED = re.compile(r"\[([^\]]*)\]")
Index = QModelIndex | QPersistentModelIndex


class HistoryBrowser(QDialog):
    def __init__(
        self,
        store: ConversationStore,
        background: Background | None,
        on_continue: Callable[[int], None],
        parent: QWidget | None = None,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_changed: Callable[[], None] = lambda: None,
    ) -> None:
        """`on_continue(id)`: the user chose to continue that conversation; `on_changed()`: conversations
        were renamed or deleted here (the main window's recent list is read again)."""
        super().__init__(parent)
        self._store = store
        self._background = background
        self._on_continue = on_continue
        self._on_changed = on_changed
        self._now = now
        self._opened: int | None = None
        self._open = True  # False once closed: what the worker hands back afterwards is dropped
        self._stats_text = ""  # the footer without a search: counts, size, cache hits
        self.setWindowTitle(TITLE)
        self.setAccessibleName(TITLE)
        self.resize(980, 640)
        self.pages = HistoryPages(background, self)
        self.pages.loaded.connect(self._page_loaded)
        self.pages.failed.connect(self._show_failure)
        self._build()
        self._typing = QTimer(self)
        self._typing.setSingleShot(True)
        self._typing.setInterval(TYPING_PAUSE_MS)
        self._typing.timeout.connect(self.apply_search)
        self.search.textChanged.connect(lambda _text: self._typing.start())
        self.apply_search()
        self._read_stats()

    # -- layout -------------------------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.search = QLineEdit(self)
        self.search.setObjectName("history_search")
        self.search.setPlaceholderText("Search every conversation")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search")
        self.search.setAccessibleDescription("Finds messages with every word typed, newest first")
        self.period = _choice(self, "history_period", "When", PERIODS)
        self.origin = _choice(self, "history_origin", "Said by", ORIGINS)
        for box in (self.period, self.origin):
            box.currentIndexChanged.connect(lambda _index: self.apply_search())
        for widget in (self.search, self.period, self.origin):
            top.addWidget(widget, 3 if widget is self.search else 1)
        layout.addLayout(top)

        self.list = QListView(self)
        self.list.setObjectName("history_list")
        self.list.setAccessibleName("Conversations")
        self.list.setModel(self.pages)
        self.list.setItemDelegate(HistoryRowDelegate(self.list))
        self.list.setUniformItemSizes(True)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.selectionModel().currentChanged.connect(self._current_changed)
        self.list.activated.connect(lambda _index: self.continue_conversation())
        self.chat = ChatView(self)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.list)
        splitter.addWidget(self.chat)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        layout.addWidget(splitter, 1)

        buttons = QHBoxLayout()
        self.continue_button = _button(self, "&Continue this conversation", self.continue_conversation,
                                       "The next question, spoken or typed, goes into it (Enter)")  # fmt: skip
        self.rename_button = _button(self, "&Rename…", self.rename, "Give the conversation another title (F2)")
        self.delete_button = _button(self, "&Delete…", self.delete_selected, "Delete the selected conversations (Del)")
        self.export_button = _button(
            self, "&Export…", self.export_selected, "Save the selected conversations to a file"
        )
        self.export_all_button = _button(self, "E&xport all…", self.export_all, "Save every conversation to a file")
        self.delete_all_button = _button(self, "Delete &all…", self.delete_all, "Delete every conversation")
        for button in (self.continue_button, self.rename_button, self.delete_button, self.export_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.export_all_button)
        buttons.addWidget(self.delete_all_button)
        layout.addLayout(buttons)
        self.status = QLabel("", self)
        self.status.setObjectName("history_status")
        self.status.setAccessibleName("History status")
        layout.addWidget(self.status)
        QShortcut(QKeySequence(Qt.Key.Key_Delete), self.list, self.delete_selected)
        QShortcut(QKeySequence(Qt.Key.Key_F2), self.list, self.rename)
        QShortcut(QKeySequence("Ctrl+F"), self, self.search.setFocus)
        self._selection_changed()
        self.list.selectionModel().selectionChanged.connect(lambda *_: self._selection_changed())

    # -- what the list shows -----------------------------------------------------------------------------

    @property
    def query(self) -> str:
        return self.search.text().strip()

    def search_filter(self) -> SearchFilter:
        span = PERIODS[self.period.currentText()]
        since = None if span is None else self._now() - span
        return SearchFilter(since=since, origins=ORIGINS[self.origin.currentText()])

    def apply_search(self) -> None:
        """The list shows every conversation, or the messages the words find and the filters keep, newest
        first."""
        self._typing.stop()
        pattern = marking_pattern(self.query)
        self.list.itemDelegate().setProperty("marking", bool(pattern))
        self.chat.mark(pattern)
        # Without words or filters the list is every conversation; otherwise the messages they find or keep.
        chosen = self.search_filter()
        if pattern is None and chosen == SearchFilter():
            source: PageSource = conversation_pages(self._store.list_conversations)
        else:
            source = self._search_source(self.query if pattern is not None else "", chosen)
        self.status.setText("Searching…" if pattern is not None or chosen != SearchFilter() else "Loading…")
        self.pages.show(source)

    def _search_source(self, query: str, chosen: SearchFilter) -> PageSource:
        store = self._store

        def page(before: int | None) -> tuple[list[HistoryRow], int | None]:
            found = store.search_page(query, prefix=True, before=before, limit=PAGE, filters=chosen)
            return [HistoryRow.of_hit(hit) for hit in found.hits], found.next_before

        return page

    def _page_loaded(self) -> None:
        count = self.pages.rowCount()
        more = "" if self.pages.complete else "+"
        if self.query:
            self.status.setText(f"{count}{more} match{'' if count == 1 else 'es'} for “{self.query}”, newest first.")
        elif self.search_filter() != SearchFilter():
            kept = f"{self.period.currentText()} · said by {self.origin.currentText().lower()}"
            self.status.setText(f"{count}{more} message{'' if count == 1 else 's'} ({kept}), newest first.")
        elif count == 0:
            self.status.setText("No conversations yet.")
        else:
            self.status.setText(self._stats_text)
        if self.list.currentIndex().row() < 0 and count:  # the newest is opened; the choice stays the user's
            self.list.selectionModel().setCurrentIndex(
                self.pages.index(0), QItemSelectionModel.SelectionFlag.ClearAndSelect
            )

    def _read_stats(self) -> None:
        self._run("history-stats", self._store.stats, self._show_stats)

    def _show_stats(self, stats: StoreStats) -> None:
        looked_up = stats.cache_hits + stats.cache_misses
        hit_rate = f" · cache hits {stats.cache_hits / looked_up:.0%}" if looked_up else ""
        size = "" if stats.database_bytes is None else f" · {stats.database_bytes / 1e6:,.1f} MB on disk"
        counts = f"{stats.conversations_in_db:,} conversations · {stats.messages_in_db:,} messages"
        self._stats_text = f"{counts}{size}{hit_rate}"
        if not self.query:
            self.status.setText(self._stats_text)

    def _show_failure(self, message: str) -> None:
        self.status.setText(f"The history could not be read: {message}")

    # -- the opened conversation ---------------------------------------------------------------------------

    def selected_rows(self) -> list[HistoryRow]:
        rows = [self.pages.row(index.row()) for index in self.list.selectionModel().selectedRows()]
        return list({row.conversation_id: row for row in rows}.values())  # one per conversation

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            return
        row: HistoryRow = current.data(ROW_ROLE)
        if row.conversation_id == self._opened:
            self.chat.mark(marking_pattern(self.query))
            return
        self._opened = row.conversation_id
        self._run(
            "history-open", partial(self._store.get_history, row.conversation_id), partial(self._show_opened, row)
        )

    def _show_opened(self, row: HistoryRow, messages: list[Message]) -> None:
        if row.conversation_id != self._opened:
            return
        self.chat.show_history(messages)
        self.chat.mark(marking_pattern(self.query))

    def _selection_changed(self) -> None:
        chosen = len(self.selected_rows())
        self.continue_button.setEnabled(chosen == 1)
        self.rename_button.setEnabled(chosen == 1)
        self.delete_button.setEnabled(chosen >= 1)
        self.export_button.setEnabled(chosen >= 1)

    # -- actions ------------------------------------------------------------------------------------------

    def continue_conversation(self) -> None:
        rows = self.selected_rows()
        if len(rows) == 1:
            self._on_continue(rows[0].conversation_id)

    def rename(self) -> None:
        rows = self.selected_rows()
        if len(rows) != 1:
            return
        title, ok = QInputDialog.getText(self, "Rename", "New title:", QLineEdit.EchoMode.Normal, rows[0].title)
        if ok:
            cid = rows[0].conversation_id
            self._run("history-change", partial(self._store.rename_conversation, cid, title), self._changed)

    def delete_selected(self) -> None:
        rows = self.selected_rows()
        if not rows:
            return
        what = f"“{rows[0].title}”" if len(rows) == 1 else f"these {len(rows)} conversations"
        if not _confirmed(self, f"Delete {what}? This cannot be undone.", "Delete"):
            return
        ids = [row.conversation_id for row in rows]
        self._run("history-change", partial(_delete_each, self._store, ids), self._changed)

    def delete_all(self) -> None:
        if not _confirmed(self, "Delete every conversation? This cannot be undone.", "Delete all"):
            return
        self._run("history-change", self._store.delete_all_conversations, self._changed)

    def export_selected(self) -> None:
        rows = self.selected_rows()
        if rows:
            store, ids = self._store, [row.conversation_id for row in rows]
            self._export_to_chosen_file(lambda: ((store.get_conversation(cid), store.get_history(cid)) for cid in ids))

    def export_all(self) -> None:
        """Every conversation, read a page at a time as the file is written (however big the history)."""
        store = self._store
        self._export_to_chosen_file(lambda: all_conversations(store))

    def _export_to_chosen_file(self, items: Callable[[], Iterable[ExportItem]]) -> None:
        name, chosen_filter = QFileDialog.getSaveFileName(
            self, "Export conversations", "conversations.json", ";;".join(EXPORT_FILTERS)
        )
        if not name:
            return
        target = Path(name)
        format_ = _export_format(target, EXPORT_FILTERS.get(chosen_filter, ExportFormat.JSON))
        self.status.setText("Exporting…")
        self._run("history-export", partial(_export, self._store, items, format_, target), self._exported)

    def _changed(self, _result: object) -> None:
        self._opened = None
        self.chat.clear()
        self.pages.reload()
        self._read_stats()
        self._on_changed()

    def _exported(self, message: str) -> None:
        self.status.setText(message)

    # -- running store work off the main thread ---------------------------------------------------------------

    def done(self, result: int) -> None:
        """Closed (Esc, the window's close button): pages and results still on their way are dropped."""
        self._open = False
        self.pages.detach()
        super().done(result)

    def _run(self, key: str, work: Callable[[], Any], done: Callable[[Any], None]) -> None:
        run_work(self._background, key, work, self._while_open(done), self._while_open(self._action_failed))

    def _while_open(self, call: Callable[[Any], None]) -> Callable[[Any], None]:
        def guarded(value: Any) -> None:
            if self._open:
                call(value)

        return guarded

    def _action_failed(self, error: Exception) -> None:
        message = getattr(error, "message", None) or str(error)
        self.status.setText(message)
        QMessageBox.warning(self, TITLE, message)


class HistoryRowDelegate(QStyledItemDelegate):
    """Two lines a row: the title and when (bold, the time at the right), then the count and latest words,
    or the passage a search found with its words marked as in the conversation view."""

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        metrics = QFontMetrics(option.font)
        return QSize(200, 2 * metrics.lineSpacing() + 10)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        row: HistoryRow | None = index.data(ROW_ROLE)
        if row is None:
            return
        self.initStyleOption(option, index)
        option.text = ""
        style = option.widget.style() if option.widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, option.widget)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        text_colour = option.palette.highlightedText() if selected else option.palette.text()
        rect: QRect = option.rect.adjusted(6, 4, -6, -4)
        metrics = QFontMetrics(option.font)
        painter.save()
        bold = QFont(option.font)
        bold.setBold(True)
        when = f"{row.when.astimezone():%Y-%m-%d %H:%M}"
        when_width = metrics.horizontalAdvance(when) + 8
        painter.setPen(text_colour.color())
        painter.setFont(bold)
        title = QFontMetrics(bold).elidedText(row.title, Qt.TextElideMode.ElideRight, rect.width() - when_width)
        painter.drawText(rect.left(), rect.top() + metrics.ascent(), title)
        painter.setFont(option.font)
        painter.drawText(rect.right() - when_width + 8, rect.top() + metrics.ascent(), when)
        self._paint_detail(painter, row.detail, rect, metrics, option.font)
        painter.restore()

    @staticmethod
    def _paint_detail(painter: QPainter, detail: str, rect: QRect, metrics: QFontMetrics, font: QFont) -> None:
        """The second line, its [marked] words dark on amber; cut at the row's end."""
        x = rect.left()
        baseline = rect.top() + metrics.lineSpacing() + metrics.ascent()
        bold = QFont(font)
        bold.setBold(True)
        position = 0
        for found in [*_MARKED.finditer(detail), None]:
            plain = detail[position : found.start() if found else len(detail)]
            for piece, marked in ((plain, False), ("" if found is None else found.group(1), True)):
                if not piece or x >= rect.right():
                    continue
                piece_metrics = QFontMetrics(bold if marked else font)
                shown = piece_metrics.elidedText(piece, Qt.TextElideMode.ElideRight, rect.right() - x)
                width = piece_metrics.horizontalAdvance(shown)
                if marked:
                    painter.fillRect(x, baseline - metrics.ascent(), width, metrics.height(), MARK_BACKGROUND)
                    painter.save()
                    painter.setPen(MARK_TEXT)
                    painter.setFont(bold)
                    painter.drawText(x, baseline, shown)
                    painter.restore()
                else:
                    painter.setFont(font)
                    painter.drawText(x, baseline, shown)
                x += width
            if found is not None:
                position = found.end()


def _choice(parent: QWidget, name: str, label: str, choices: dict[str, Any]) -> QComboBox:
    box = QComboBox(parent)
    box.setObjectName(name)
    box.addItems(list(choices))
    box.setAccessibleName(label)
    box.setToolTip(f"{label} (narrows a search)")
    return box


def _button(parent: QWidget, text: str, slot: Callable[[], None], tip: str) -> QPushButton:
    button = QPushButton(text, parent)
    button.setToolTip(tip)
    button.setAccessibleDescription(tip)
    button.clicked.connect(slot)
    return button


def _confirmed(parent: QWidget, question: str, verb: str) -> bool:
    box = QMessageBox(QMessageBox.Icon.Warning, TITLE, question, QMessageBox.StandardButton.Cancel, parent)
    go = box.addButton(verb, QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)  # Enter alone never deletes
    box.exec()
    return box.clickedButton() is go


def _delete_each(store: ConversationStore, ids: list[int]) -> int:
    for cid in ids:
        store.delete_conversation(cid)
    return len(ids)


def _export_format(target: Path, chosen: ExportFormat) -> ExportFormat:
    """The file's own ending wins over the dialog's filter (a name typed with .csv is CSV)."""
    return format_of_file(target) or chosen


def _export(
    store: ConversationStore, items: Callable[[], Iterable[ExportItem]], format_: ExportFormat, target: Path
) -> str:
    """Writes the conversations (whole or not at all: a file that exists is replaced only as the save dialog
    confirmed, and never a link, pipe or folder), records it in the audit log, and says what was done."""
    from desktop_app.cli.files import atomic_text_file

    with atomic_text_file(target, overwrite=True) as handle:
        result = write_export(format_, items(), handle)
    record_export(store, format_, result, str(target.absolute()), None)
    return exported_sentence(result, target)
