"""Damage inside the database file: the full-text index is rebuilt from the messages, and a file too damaged
to use is set aside with everything readable in it copied into the new one. The user keeps what can be kept,
is told how much, and the damaged file is never changed or deleted."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_runner import cli, ok

from desktop_app.storage import database
from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore

PAGE = 4096


def _fill(path: Path, conversations: int, per_conversation: int) -> None:
    store = SqlConversationStore.open(sqlite_url(path))
    try:
        for c in range(conversations):
            conversation = store.create_conversation(f"talk {c}")
            for m in range(per_conversation):
                role = "user" if m % 2 == 0 else "assistant"
                store.add_message(conversation.id, role, f"entry c{c}m{m} about gardening and bicycles {'x' * 80}")
        store.add_fact("my bike is blue")
        store.add_fact("my sister is called Ada")
    finally:
        store.close()


def _rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def _search_index_problem(path: Path) -> str | None:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')")
        return None
    except sqlite3.DatabaseError as error:
        return str(error)
    finally:
        connection.close()


def _flip_inside_search_index(path: Path) -> None:
    """Eight bytes flipped inside one record of the index, as a bad sector or a stray write would: the page
    stays well formed, so SQLite's own integrity check still passes."""
    # A small segment's leaf: the next merges read it (the fill below is the same every time, and so is
    # the index it builds), so inserts meet the damage within a dozen messages.
    (record,) = _rows(
        path, "SELECT block FROM messages_fts_data WHERE id > 10 AND length(block) < 200 ORDER BY id LIMIT 1"
    )
    block = record[0]
    assert isinstance(block, bytes)
    raw = bytearray(path.read_bytes())
    assert raw.count(block[:24]) == 1
    at = raw.index(block[:24]) + 4
    raw[at : at + 8] = bytes(b ^ 0x5A for b in raw[at : at + 8])
    path.write_bytes(bytes(raw))
    assert _rows(path, "PRAGMA integrity_check") == [("ok",)]
    assert _search_index_problem(path) is not None


def _spoil_page_holding(path: Path, text: str) -> int:
    """Overwrites the page that holds `text` (keeping its first bytes, the page header) with noise."""
    raw = bytearray(path.read_bytes())
    page = raw.index(text.encode()) // PAGE
    start = page * PAGE + 16
    noise = hashlib.sha512(text.encode()).digest() * (PAGE // 64)
    raw[start : (page + 1) * PAGE] = noise[: PAGE - 16]
    path.write_bytes(bytes(raw))
    return page


@pytest.fixture
def filled(tmp_path: Path) -> Iterator[Path]:
    data = tmp_path / "data"
    data.mkdir()
    path = data / "assistant.db"
    _fill(path, conversations=30, per_conversation=40)
    yield path


def test_a_damaged_search_index_is_rebuilt_at_start_and_nothing_is_lost(filled: Path) -> None:
    before = _rows(filled, "SELECT id, content FROM messages ORDER BY id")
    _flip_inside_search_index(filled)

    asked = ok(cli("--data-dir", str(filled.parent), "ask", "what is two plus two"))
    assert "4" in asked.out
    warnings = [line for line in asked.err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "search index" in warnings[0] and "rebuilt" in warnings[0], asked.err
    assert _search_index_problem(filled) is None
    assert _rows(filled, "SELECT id, content FROM messages ORDER BY id")[: len(before)] == before
    assert not list(filled.parent.glob("*.corrupt-*"))
    found = ok(cli("--data-dir", str(filled.parent), "history", "search", "c7m12"))
    assert "c7m12" in found.out


def test_a_search_index_damaged_while_running_is_rebuilt_and_the_write_goes_on(
    filled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A large history is not read whole at every start; the first insert meets the damage instead.
    monkeypatch.setattr(database, "QUICK_CHECK_MAX_BYTES", 0)
    _flip_inside_search_index(filled)
    store = SqlConversationStore.open(sqlite_url(filled))
    try:
        assert store.notices == ()
        conversation = store.create_conversation()
        saved = [store.add_message(conversation.id, "user", f"new thought {n} about tomatoes") for n in range(40)]
        assert store.health().writable
        assert {hit.message_id for hit in store.search("tomatoes", limit=100)} == {m.id for m in saved}
        assert len(store.search("gardening", limit=1000)) == 1000
    finally:
        store.close()
    assert _search_index_problem(filled) is None
    assert _rows(filled, "SELECT count(*) FROM messages") == [(30 * 40 + 40,)]


def test_a_damaged_database_is_set_aside_and_what_is_readable_is_recovered(filled: Path) -> None:
    total = 30 * 40
    _spoil_page_holding(filled, "entry c12m20 ")
    damaged_bytes = filled.read_bytes()

    listing = ok(cli("--data-dir", str(filled.parent), "history", "list", "--limit", "100"))
    warnings = [line for line in listing.err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, listing.err
    (kept,) = filled.parent.glob("assistant.db.corrupt-*[0-9Z]")
    assert kept.read_bytes() == damaged_bytes  # kept exactly as found
    assert str(kept) in warnings[0] and "recovered" in warnings[0]

    recovered = _rows(filled, "SELECT count(*) FROM messages")[0][0]
    assert isinstance(recovered, int)
    assert total - 30 <= recovered < total  # one page of messages lost: some two dozen
    assert f"{recovered:,} messages in 30 conversations" in warnings[0]
    assert f"{total - recovered:,} messages could not be read" in warnings[0]
    assert _rows(filled, "PRAGMA integrity_check") == [("ok",)]
    assert _rows(filled, "PRAGMA foreign_key_check") == []
    assert "talk 29" in listing.out and "talk 0" in listing.out
    # Facts, search and the conversations' counts came back with the messages.
    assert "bike is blue" in ok(cli("--data-dir", str(filled.parent), "facts", "list")).out
    assert "c29m39" in ok(cli("--data-dir", str(filled.parent), "history", "search", "c29m39")).out
    counts = _rows(filled, "SELECT sum(message_count) FROM conversations")[0][0]
    assert counts == recovered
    # New ids are never ones the damaged file had handed out.
    asked = ok(cli("--data-dir", str(filled.parent), "ask", "what is two plus two", "--json"))
    assert asked.code == 0
    assert _rows(filled, "SELECT min(id) FROM messages WHERE content LIKE '%two plus two%'")[0][0] == total + 1


def test_messages_whose_conversation_was_lost_get_a_recovered_conversation(filled: Path) -> None:
    _spoil_page_holding(filled, "talk 17")  # the conversations table: 30 rows on one page
    listing = ok(cli("--data-dir", str(filled.parent), "history", "list", "--limit", "100"))
    assert "recovered" in listing.err
    titles = _rows(filled, "SELECT title, message_count FROM conversations ORDER BY id")
    assert len(titles) == 30
    lost = [t for t in titles if t[0] == "Recovered conversation"]
    assert lost and all(count == 40 for _, count in lost)
    assert _rows(filled, "SELECT count(*) FROM messages") == [(30 * 40,)]
    assert _rows(filled, "PRAGMA foreign_key_check") == []
