"""The model manager's table in Settings > Speech recognition: the model list merged with what is installed
(rows from speech.models.library, as `voice-assistant models list` shows them), the chosen language's models
first, and a download in progress or left part-way said in its row.

The rows are read on a worker; this model only sorts, filters and shows them, so it never touches the disk.
Rows change by a reset (Qt emits from C++); a download's state, which changes in place, is repainted through
a plain callback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from desktop_app.speech.models.library import Row, installed_cell, row_language, row_size
from desktop_app.speech.models.sizes import format_size
from desktop_app.speech.recognition import same_language
from desktop_app.ui.qt import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

COLUMNS = ("Name", "Language", "Size", "Installed")
NAME_ROLE = Qt.ItemDataRole.UserRole
AnyIndex = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True, slots=True)
class Shelf:
    """What a read of the models folder and the list found."""

    rows: tuple[Row, ...]
    parts: dict[str, int] = field(default_factory=dict)  # bytes of an unfinished download, by model name
    shipped_list: bool = True  # the list is the one that ships with the app (never refreshed)


def shown_rows(rows: tuple[Row, ...], language: str, show_all: bool) -> list[Row]:
    """The rows of `language` first, in the list's order; then, with `show_all`, every other language by name,
    otherwise only the installed models of other languages (so they can still be removed)."""
    own = [row for row in rows if same_language(row["lang"], language)]
    others = [row for row in rows if not same_language(row["lang"], language) and (show_all or row["installed"])]
    others.sort(key=lambda row: (row["lang_text"] or row["lang"] or "~").lower())
    return own + others


class ModelTable(QAbstractTableModel):
    def __init__(self) -> None:
        super().__init__()
        self._rows: list[Row] = []
        self._parts: dict[str, int] = {}
        self._downloading: str | None = None
        self._download_state = ""
        # The view's repaint, for a cell that changes in place: no dataChanged.emit() from Python (ui/bridge.py).
        self.on_changed: Callable[[], None] | None = None

    def show(self, shelf: Shelf, language: str, show_all: bool) -> None:
        self.beginResetModel()
        self._rows = shown_rows(shelf.rows, language, show_all)
        self._parts = dict(shelf.parts)
        self.endResetModel()

    def show_download(self, name: str | None, state: str = "") -> None:
        """Marks the row being downloaded ("downloading 42 %", "unpacking"); None when none is."""
        self._downloading, self._download_state = name, state
        if self.on_changed is not None:
            self.on_changed()

    def row_named(self, name: str) -> int:
        return next((number for number, row in enumerate(self._rows) if row["name"] == name), -1)

    def row_at(self, number: int) -> Row | None:
        return self._rows[number] if 0 <= number < len(self._rows) else None

    def part_of(self, name: str) -> int:
        return self._parts.get(name, 0)

    # -- QAbstractTableModel --------------------------------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's own signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = self.row_at(index.row())
        if row is None or not index.isValid():
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return (row["name"], row_language(row), row_size(row), self._installed(row))[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row)
        if role == NAME_ROLE:
            return row["name"]
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _installed(self, row: Row) -> str:
        if row["name"] == self._downloading:
            return self._download_state
        part = self._parts.get(row["name"], 0)
        if not row["installed"] and part:
            of = f" of {format_size(row['size'])}" if row["size"] else ""
            return f"no, {format_size(part)}{of} fetched"
        return installed_cell(row)

    @staticmethod
    def _tooltip(row: Row) -> str:
        lines = [row["name"]]
        if row.get("why"):
            lines.append(("In use: " if row.get("active") else "Not in use: ") + str(row["why"]))
        if row["url"]:
            lines.append(str(row["url"]))
        return "\n".join(lines)
