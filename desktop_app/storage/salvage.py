"""Salvage from a damaged database: every row that can still be read is copied into the new one.

A damaged page loses the rows on it, not the file: the rest of each table is reached by walking it in rowid
order from both ends and, past a damaged stretch, by seeking ever further ahead until the walk can go on.
Rows keep their ids (exports and the history refer to them). A message whose conversation was lost gets a
conversation of its own ("Recovered conversation"); a reference to a lost row that may be empty is emptied;
any other row that no longer fits is left out and counted. The damaged file itself is never written.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from desktop_app.core.brain.spoken import plural
from desktop_app.core.models import DEFAULT_USER

log = logging.getLogger(__name__)

# In the order that keeps references valid: a row's parent is copied before it.
TABLES = ("conversations", "messages", "facts", "api_keys", "llm_usage", "alarms", "audit_log")
RECOVERED_TITLE = "Recovered conversation"
BATCH = 500
MAX_ROWID = 2**63 - 1
# What a seek finds when no row follows: beyond every rowid.
_PAST_THE_END = MAX_ROWID + 1


@dataclass
class SalvageReport:
    recovered: dict[str, int] = field(default_factory=dict)
    unreadable: dict[str, int | None] = field(default_factory=dict)  # None: how many is not known
    damaged_stretches: int = 0
    error: str | None = None

    @property
    def messages(self) -> int:
        return self.recovered.get("messages", 0)

    @property
    def conversations(self) -> int:
        return self.recovered.get("conversations", 0)

    def describe(self) -> str:
        """One sentence for the user."""
        if self.error is not None and not self.recovered:
            return f"Nothing could be recovered from it ({self.error})."
        counts = f"{plural(self.messages, 'message')} in {plural(self.conversations, 'conversation')}"
        if self.recovered.get("facts"):
            counts += f" and {plural(self.recovered['facts'], 'remembered fact')}"
        lost = self.unreadable.get("messages")
        if lost:
            return f"{counts} were recovered into the new one; {plural(lost, 'message')} could not be read."
        if self.damaged_stretches:
            return f"{counts} were recovered into the new one; a few records could not be read."
        return f"{counts} were recovered into the new one; nothing was lost."


def salvage(damaged: Path, target: Path) -> SalvageReport:
    """Copies what can be read from `damaged` into the freshly made database at `target`."""
    report = SalvageReport()
    try:
        source = sqlite3.connect(f"{damaged.as_uri()}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error as error:
        report.error = str(error)
        return report
    destination = sqlite3.connect(target, isolation_level=None)
    try:
        destination.execute("PRAGMA foreign_keys=OFF")  # references are checked and mended below, together
        destination.execute("BEGIN IMMEDIATE")
        for table in TABLES:
            _copy_table(source, destination, table, report)
        _mend_references(destination, report)
        _carry_sequences(source, destination)
        destination.execute("COMMIT")
    except sqlite3.Error as error:
        if destination.in_transaction:
            destination.execute("ROLLBACK")
        report.error = str(error)
        report.recovered.clear()
        log.exception("salvage from %s failed", damaged)
    finally:
        destination.close()
        source.close()
    return report


def _columns(connection: sqlite3.Connection, table: str) -> list[str]:
    try:
        return [row[1] for row in connection.execute(f"PRAGMA table_info({table})")]
    except sqlite3.DatabaseError:
        return []


def _copy_table(source: sqlite3.Connection, destination: sqlite3.Connection, table: str, report: SalvageReport) -> None:
    wanted = _columns(destination, table)
    available = set(_columns(source, table))
    columns = [c for c in wanted if c in available]
    if "id" not in columns:
        return
    listed = ", ".join(columns)
    insert = f"INSERT OR IGNORE INTO {table} ({listed}) VALUES ({', '.join('?' for _ in columns)})"
    copied = 0
    batch: list[tuple[object, ...]] = []
    walk = _RowWalk(source, listed, table, report)
    for row in walk.rows():
        batch.append(row)
        if len(batch) >= BATCH:
            copied += _insert(destination, insert, batch)
            batch = []
    copied += _insert(destination, insert, batch)
    report.recovered[table] = copied
    total = _count(source, table) if walk.damaged else copied
    # The count may come from an index that was damaged too: a count below what was copied says nothing.
    report.unreadable[table] = total - copied if total is not None and total >= copied else None


def _insert(destination: sqlite3.Connection, insert: str, rows: list[tuple[object, ...]]) -> int:
    """Rows added (a cursor's count leaves out what the search index's triggers write)."""
    if not rows:
        return 0
    try:
        return destination.executemany(insert, rows).rowcount
    except sqlite3.IntegrityError:
        added = 0
        for row in rows:  # one row that breaks a rule must not cost the others
            try:
                added += destination.execute(insert, row).rowcount
            except sqlite3.IntegrityError:
                log.warning("a salvaged row was left out: it breaks a rule of the current schema")
        return added


def _count(source: sqlite3.Connection, table: str) -> int | None:
    try:
        return int(source.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    except sqlite3.DatabaseError:
        return None


class _RowWalk:
    """The readable rows of one table, in rowid order, skipping damaged stretches."""

    def __init__(self, source: sqlite3.Connection, columns: str, table: str, report: SalvageReport) -> None:
        self._source = source
        self._select = f"SELECT rowid, {columns} FROM {table}"
        self._report = report
        self.damaged = False

    def rows(self) -> Iterator[tuple[object, ...]]:
        last = 0  # rowids start at 1
        top = self._highest_reachable()
        while True:
            started_after = last
            try:
                for row in self._source.execute(f"{self._select} WHERE rowid > ? ORDER BY rowid", (last,)):
                    last = int(row[0])
                    yield row[1:]
                return
            except sqlite3.DatabaseError:
                self.damaged = True
                self._report.damaged_stretches += 1
            # A walk that failed before its first row must not be started there again.
            resumed = self._seek_past(last if last > started_after else last + 1, top)
            if resumed is None:
                return
            last = resumed

    def _highest_reachable(self) -> int:
        try:
            row = self._source.execute(f"{self._select} ORDER BY rowid DESC LIMIT 1").fetchone()
            return MAX_ROWID if row is None else int(row[0])
        except sqlite3.DatabaseError:
            return MAX_ROWID

    def _seek_past(self, stopped_at: int, top: int) -> int | None:
        """The rowid just before the next readable row after a damaged stretch, or None when none is left.
        Seeks 1, 2, 4, ... rowids ahead until a row can be read, then halves back to the first start that
        works: a damaged page costs a few dozen seeks, and only its own rows are lost."""
        failed, step = 0, 1
        found = self._first_readable_from(stopped_at + step)
        while found is None:
            failed, step = step, step * 2
            if stopped_at + step > top:
                return None
            found = self._first_readable_from(stopped_at + step)
        while step - failed > 1:
            middle = (failed + step) // 2
            earlier = self._first_readable_from(stopped_at + middle)
            if earlier is None:
                failed = middle
            else:
                step, found = middle, earlier
        return None if found == _PAST_THE_END else found - 1

    def _first_readable_from(self, start: int) -> int | None:
        """The rowid of the first row at or after `start` when it can be read, _PAST_THE_END when there is
        none, None when the way there is damaged."""
        try:
            # The whole row, not just its rowid: the text may sit on a damaged page of its own.
            row = self._source.execute(f"{self._select} WHERE rowid >= ? ORDER BY rowid LIMIT 1", (start,)).fetchone()
        except sqlite3.DatabaseError:
            return None
        return _PAST_THE_END if row is None else int(row[0])


def _mend_references(destination: sqlite3.Connection, report: SalvageReport) -> None:
    # Messages whose conversation was lost: a conversation for them, with their ids and times.
    made = destination.execute(
        "INSERT INTO conversations (id, user_id, title, created_at, updated_at, message_count) "
        "SELECT conversation_id, ?, ?, min(created_at), max(created_at), 0 FROM messages "
        "WHERE conversation_id NOT IN (SELECT id FROM conversations) GROUP BY conversation_id",
        (DEFAULT_USER, RECOVERED_TITLE),
    ).rowcount
    if made:
        report.recovered["conversations"] = report.recovered.get("conversations", 0) + made
    destination.execute(
        "UPDATE conversations SET message_count = "
        "(SELECT count(*) FROM messages WHERE messages.conversation_id = conversations.id)"
    )
    destination.execute(
        "UPDATE facts SET source_message_id = NULL WHERE source_message_id NOT IN (SELECT id FROM messages)"
    )
    destination.execute(
        "UPDATE alarms SET conversation_id = NULL WHERE conversation_id NOT IN (SELECT id FROM conversations)"
    )
    lost_usage = destination.execute(
        "DELETE FROM llm_usage WHERE api_key_id IS NOT NULL AND api_key_id NOT IN (SELECT id FROM api_keys)"
    ).rowcount
    if lost_usage:
        report.recovered["llm_usage"] = report.recovered.get("llm_usage", 0) - lost_usage
    problems = destination.execute("PRAGMA foreign_key_check").fetchall()
    if problems:
        raise sqlite3.IntegrityError(f"references left unmended: {problems[:3]}")


def _carry_sequences(source: sqlite3.Connection, destination: sqlite3.Connection) -> None:
    """Ids handed out before are never handed out again, even those of rows that were lost."""
    try:
        sequences = source.execute("SELECT name, seq FROM sqlite_sequence").fetchall()
    except sqlite3.DatabaseError:
        return
    for name, seq in sequences:
        if name in TABLES and isinstance(seq, int):
            destination.execute("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?", (seq, name))
