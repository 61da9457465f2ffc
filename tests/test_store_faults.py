"""The conversation store under faults met through the real command line: a read-only data folder, and
another program holding the database locked. Reading goes on; writing is refused with one clear line and a
stable code; nothing is changed that should not be."""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_runner import Run, cli, ok, refused


def _ask(data_dir: Path, *words: str) -> Run:
    return cli("--data-dir", str(data_dir), "ask", *words)


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every path under `root` with its mode and size (root included)."""
    found = {".": (root.stat().st_mode, 0)}
    for path in root.rglob("*"):
        info = path.lstat()
        found[str(path.relative_to(root))] = (info.st_mode, info.st_size if path.is_file() else 0)
    return found


@pytest.fixture
def data_with_history(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    ok(_ask(data, "what is two plus two"))
    ok(_ask(data, "remember that my bike is blue"))
    return data


@pytest.fixture
def read_only(data_with_history: Path) -> Iterator[Path]:
    os.chmod(data_with_history, 0o555)
    try:
        yield data_with_history
    finally:
        os.chmod(data_with_history, 0o700)


def test_a_read_only_data_folder_can_be_read_and_is_never_changed(read_only: Path) -> None:
    # The probe that found this ran as root, who may write in a 0555 folder: the mode is what counts.
    before = _snapshot(read_only)
    listing = ok(cli("--data-dir", str(read_only), "history", "list"))
    assert "what is two plus two" in listing.out
    warnings = [line for line in listing.err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "read-only" in warnings[0], listing.err
    assert "bike" in ok(cli("--data-dir", str(read_only), "history", "search", "bike")).out
    assert "Two plus two is 4" in ok(cli("--data-dir", str(read_only), "history", "show", "1")).out
    assert "bike is blue" in ok(cli("--data-dir", str(read_only), "facts", "list")).out

    line = refused(_ask(read_only, "what is three plus three"), 1, "db_read_only")
    assert "read-only" in line
    assert _snapshot(read_only) == before
    assert stat.S_IMODE(read_only.stat().st_mode) == 0o555


def test_a_read_only_database_file_in_a_writable_folder_is_read_and_not_replaced(data_with_history: Path) -> None:
    database = data_with_history / "assistant.db"
    os.chmod(database, 0o400)
    before = _snapshot(data_with_history)
    assert "what is two plus two" in ok(cli("--data-dir", str(data_with_history), "history", "list")).out
    refused(_ask(data_with_history, "what is three plus three"), 1, "db_read_only")
    assert _snapshot(data_with_history) == before
    assert not list(data_with_history.glob("*.corrupt-*"))


def test_reading_does_not_wait_for_another_programs_write_and_writing_says_busy(data_with_history: Path) -> None:
    holder = sqlite3.connect(data_with_history / "assistant.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the write lock, held as another program would while it writes
    holder.execute("INSERT INTO facts (user_id, text, created_at) SELECT user_id, 'held', created_at FROM facts")
    try:
        started = time.monotonic()
        listing = ok(cli("--data-dir", str(data_with_history), "history", "list"))
        read_seconds = time.monotonic() - started
        assert "what is two plus two" in listing.out
        assert read_seconds < 8, read_seconds  # well under the 10 s a writer waits for the lock
        line = refused(_ask(data_with_history, "what is three plus three"), 1, "db_busy")
        assert "busy" in line and "Try again" in line
    finally:
        holder.execute("COMMIT")
        holder.close()
    # The other program's write and everything before it are there; the refused question is not.
    facts = ok(cli("--data-dir", str(data_with_history), "facts", "list")).out
    assert "held" in facts
    assert "three plus three" not in ok(cli("--data-dir", str(data_with_history), "history", "list")).out


def test_a_database_held_exclusively_gives_busy_for_reads_too(data_with_history: Path) -> None:
    holder = sqlite3.connect(data_with_history / "assistant.db", isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("UPDATE facts SET text = text")
    try:
        line = refused(cli("--data-dir", str(data_with_history), "history", "list"), 1, "db_busy")
        assert "another program" in line
    finally:
        holder.execute("COMMIT")
        holder.close()
    assert not list(data_with_history.glob("*.corrupt-*"))
    assert "what is two plus two" in ok(cli("--data-dir", str(data_with_history), "history", "list")).out
