"""The conversation view's rows: one ChatEntry per bubble, with the roles a screen reader, a tooltip and
the clipboard read.

Rows are added, removed and reset through the base class's begin/end calls (Qt emits from C++). A row
that changes in place (a partial transcript, a streamed answer) is reported to the view by a plain
callback instead of `dataChanged.emit()`: app code emits no signal from Python (see ui/bridge.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from desktop_app.ui.chat_text import (
    ChatEntry,
    accessible_description,
    accessible_name,
    day_label,
    details_text,
    latency_heading,
    latency_lines,
    local_day,
    mark_days,
    meta_text,
)
from desktop_app.ui.qt import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt

Index = QModelIndex | QPersistentModelIndex

ENTRY_ROLE = Qt.ItemDataRole.UserRole + 1  # the ChatEntry itself
META_ROLE = Qt.ItemDataRole.UserRole + 2  # the quiet line: time, source, "stopped"
DETAILS_ROLE = Qt.ItemDataRole.UserRole + 3  # the latency breakdown as shown ("" while folded)
HEADER_ROLE = Qt.ItemDataRole.UserRole + 4  # the date separator above the bubble ("" for none)

_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEditable


class ChatModel(QAbstractListModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._entries: list[ChatEntry] = []
        self.on_changed: Callable[[int], None] | None = None  # the view's repaint of one row

    # -- reading --------------------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt's default argument)
        return 0 if parent.isValid() else len(self._entries)

    def flags(self, index: Index) -> Qt.ItemFlag:
        # Editable only so the view can open a message as selectable text; nothing is ever written back.
        return _FLAGS if index.isValid() else Qt.ItemFlag.NoItemFlags

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._entries):
            return None
        entry = self._entries[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return entry.text
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return accessible_name(entry)
        if role == Qt.ItemDataRole.AccessibleDescriptionRole:
            return accessible_description(entry, date.today())
        if role == Qt.ItemDataRole.ToolTipRole:
            return details_text(entry) or None
        if role == ENTRY_ROLE:
            return entry
        if role == META_ROLE:
            return meta_text(entry)
        if role == DETAILS_ROLE:
            return shown_details(entry)
        if role == HEADER_ROLE:
            return day_label(local_day(entry.at), date.today()) if entry.day_header and entry.at else ""
        return None

    def entry(self, row: int) -> ChatEntry:
        return self._entries[row]

    def entries(self) -> Sequence[ChatEntry]:
        return tuple(self._entries)

    def row_of(self, entry: ChatEntry) -> int:
        """The entry's row, looked for from the end (live bubbles are the last few); -1 when gone."""
        for row in range(len(self._entries) - 1, -1, -1):
            if self._entries[row] is entry:
                return row
        return -1

    # -- changing -------------------------------------------------------------------------------------

    def replace(self, entries: Sequence[ChatEntry]) -> None:
        self.beginResetModel()
        self._entries = list(entries)
        self.endResetModel()

    def insert(self, row: int, entry: ChatEntry) -> None:
        self.beginInsertRows(QModelIndex(), row, row)
        self._entries.insert(row, entry)
        self.endInsertRows()
        self._redate(row)

    def append(self, entry: ChatEntry) -> int:
        row = len(self._entries)
        self.insert(row, entry)
        return row

    def remove(self, entry: ChatEntry) -> None:
        row = self.row_of(entry)
        if row < 0:
            return
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._entries[row]
        self.endRemoveRows()
        self._redate(row)

    def changed(self, entry: ChatEntry, redate: bool = False) -> None:
        """`entry` changed in place (its text, its time): its row is redrawn."""
        row = self.row_of(entry)
        if row < 0:
            return
        entry.touch()
        if redate:
            self._redate(row)
        if self.on_changed is not None:
            self.on_changed(row)

    def _redate(self, row: int) -> None:
        """Date separators from `row` on, after a row came, went or got its time; rows whose separator
        appeared or went are redrawn."""
        before = next((self._entries[n] for n in range(row - 1, -1, -1) if self._entries[n].at is not None), None)
        following = self._entries[row:]
        old = [entry.day_header for entry in following]
        mark_days(following, before)
        for offset, (entry, was) in enumerate(zip(following, old, strict=True)):
            if entry.day_header != was:
                entry.touch()
                if self.on_changed is not None:
                    self.on_changed(row + offset)


def shown_details(entry: ChatEntry) -> str:
    """The latency breakdown as it appears in the unfolded bubble ("" while folded)."""
    rows = latency_lines(entry.timings)
    if not entry.expanded or not rows:
        return ""
    return "\n".join([latency_heading(entry.timings), *(f"{label}  {value}" for label, value in rows)])
