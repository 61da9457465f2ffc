"""The history browser's list: conversations, or a search's matches, fetched a page at a time off the main
thread as the list scrolls (Qt's canFetchMore / fetchMore), so it opens at once over any number of them.

A page source is a function from a cursor (None for the first page) to the page's rows and the next cursor
(None at the end). A new source (another search) replaces the rows; pages of an earlier source that arrive
late are dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from desktop_app.core.models import ConversationSummary, Role, SearchHit
from desktop_app.ui.background import Background, run_work
from desktop_app.ui.qt import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, Signal

Index = QModelIndex | QPersistentModelIndex
ROW_ROLE = Qt.ItemDataRole.UserRole + 1  # the HistoryRow itself
PAGE = 100


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One line of the list: a conversation, or one message of it that a search found."""

    conversation_id: int
    title: str
    when: datetime
    detail: str  # the conversation's message count and latest words, or the match's passage, [marked]
    message_id: int | None = None

    @classmethod
    def of_conversation(cls, summary: ConversationSummary) -> HistoryRow:
        conversation = summary.conversation
        count = f"{conversation.message_count} message{'' if conversation.message_count == 1 else 's'}"
        detail = f"{count} · {summary.preview}" if summary.preview else count
        return cls(conversation.id, conversation.title or "Untitled", conversation.updated_at, detail)

    @classmethod
    def of_hit(cls, hit: SearchHit) -> HistoryRow:
        who = "You" if hit.role is Role.USER else "Assistant"
        title = hit.conversation_title or "Untitled"
        return cls(hit.conversation_id, title, hit.created_at, f"{who}: {hit.snippet}", hit.message_id)

    @property
    def plain_detail(self) -> str:
        return self.detail.replace("[", "").replace("]", "")


Cursor = Any
PageSource = Callable[[Cursor | None], tuple[Sequence[HistoryRow], Cursor | None]]


class _End:
    """No more pages."""


END = _End()


class HistoryPages(QAbstractListModel):
    loaded = Signal()  # a page arrived (the first of a source, or one more)
    failed = Signal(str)  # a page could not be read: what went wrong, in words

    def __init__(self, background: Background | None, parent: Any = None) -> None:
        super().__init__(parent)
        self._background = background
        self._rows: list[HistoryRow] = []
        self._source: PageSource | None = None
        self._cursor: Cursor | _End | None = END
        self._loading = False
        self._generation = 0

    # -- the source ------------------------------------------------------------------------------------

    def show(self, source: PageSource) -> None:
        """Rows from `source` instead of the current ones; its first page is fetched now."""
        self._generation += 1
        self.beginResetModel()
        self._rows = []
        self._source = source
        self._cursor = None
        self._loading = False
        self.endResetModel()
        self._fetch()

    def detach(self) -> None:
        """Pages still on their way are dropped (the list's window is closing)."""
        self._generation += 1
        self._source = None

    def reload(self) -> None:
        """The current source again from its start (after rows were deleted or renamed)."""
        if self._source is not None:
            self.show(self._source)

    @property
    def complete(self) -> bool:
        return self._cursor is END and not self._loading

    @property
    def loading(self) -> bool:
        return self._loading

    # -- Qt's model ------------------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role == ROW_ROLE:
            return row
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return f"{row.title}, {row.when.astimezone():%Y-%m-%d %H:%M}: {row.plain_detail}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{row.title}\n{row.plain_detail}"
        return None

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008 - Qt's signature
        return not parent.isValid() and self._cursor is not END and not self._loading

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008 - Qt's signature
        if self.canFetchMore(parent):
            self._fetch()

    def row(self, index: int) -> HistoryRow:
        return self._rows[index]

    # -- fetching ----------------------------------------------------------------------------------------

    def _fetch(self) -> None:
        source, cursor, generation = self._source, self._cursor, self._generation
        if source is None or isinstance(cursor, _End):
            return
        self._loading = True

        def done(page: tuple[Sequence[HistoryRow], Cursor | None]) -> None:
            if generation != self._generation:
                return  # a page of an earlier source
            rows, following = page
            self._loading = False
            self._cursor = END if following is None else following
            if rows:
                self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows) + len(rows) - 1)
                self._rows.extend(rows)
                self.endInsertRows()
            self.loaded.emit()

        def failed(error: Exception) -> None:
            if generation != self._generation:
                return
            self._loading = False
            self._cursor = END
            self.failed.emit(str(error))

        run_work(self._background, "history-page", lambda: source(cursor), done, failed)


def conversation_pages(list_conversations: Callable[..., list[ConversationSummary]]) -> PageSource:
    """Every conversation, newest first, PAGE at a time (each page found through the index after the last)."""

    def page(after: ConversationSummary | None) -> tuple[list[HistoryRow], ConversationSummary | None]:
        found = list_conversations(PAGE + 1, after=after)
        shown = found[:PAGE]
        return [HistoryRow.of_conversation(s) for s in shown], (shown[-1] if len(found) > PAGE else None)

    return page
