"""Remembered facts on the command line (`facts list`, `facts forget`), what `history delete --all` leaves and
`--include-facts`, and `history list` saying "more follow" only when more do. Run for real in subprocesses
against a real SQLite file; forgetting is checked in the bytes of the database file and its journal."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_runner import Run, cli, ok

from desktop_app.core.models import AlarmKind
from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore

SECRET = "my locker code is zebra-4417-quartz"
OTHER = "I like Python"


def open_store(data_dir: Path) -> SqlConversationStore:
    return SqlConversationStore.open(sqlite_url(data_dir / "assistant.db"))


def va(data_dir: Path, *args: str) -> Run:
    return cli("--data-dir", str(data_dir), *args)


def database_bytes(data_dir: Path) -> bytes:
    """The database file and whatever journal lies beside it: everywhere deleted text could linger."""
    parts = [data_dir / name for name in ("assistant.db", "assistant.db-wal", "assistant.db-shm")]
    return b"".join(part.read_bytes() for part in parts if part.exists())


def fill(data_dir: Path, facts: Sequence[str] = (SECRET, OTHER), conversations: int = 2) -> list[int]:
    """Conversations (one message each), facts, and one pending timer and two reminders; the facts' ids."""
    store = open_store(data_dir)
    try:
        for number in range(conversations):
            conversation = store.create_conversation()
            store.add_message(conversation.id, "user", f"question {number}")
        ids = [store.add_fact(text).id for text in facts]
        soon = datetime.now(UTC) + timedelta(hours=1)
        store.alarms.add(AlarmKind.TIMER, "pasta", soon, duration_seconds=3600)
        store.alarms.add(AlarmKind.REMINDER, "call mum", soon)
        store.alarms.add(AlarmKind.REMINDER, "pay rent", soon + timedelta(days=1))
        return ids
    finally:
        store.close()


def test_facts_are_listed_as_text_and_json(data_dir: Path) -> None:
    empty = ok(va(data_dir, "facts", "list"))
    assert empty.out.startswith("Nothing is remembered.")
    assert json.loads(ok(va(data_dir, "facts", "list", "--json")).out) == []
    odd = "line one\nline two \x1b[31m"
    first, second = fill(data_dir, facts=(SECRET, odd))
    text = ok(va(data_dir, "facts", "list")).out.splitlines()
    assert text[0].split() == ["ID", "Remembered", "Fact"]
    assert text[1].split()[0] == str(first) and text[1].endswith(SECRET)
    assert text[2].endswith("line one line two \\x1b[31m")  # one line, the escape made visible
    document = json.loads(ok(va(data_dir, "facts", "list", "--json")).out)
    assert [(fact["id"], fact["text"]) for fact in document] == [
        (first, SECRET),
        (second, "line one\nline two \x1b[31m"),
    ]
    assert all(fact["created_at"].endswith("Z") for fact in document)


def test_forgetting_one_fact_removes_its_text_from_the_file(data_dir: Path) -> None:
    secret_id, other_id = fill(data_dir)
    assert SECRET.encode() in database_bytes(data_dir)  # the check below can see the text when it is there

    forgot = ok(va(data_dir, "facts", "forget", str(secret_id)))
    assert forgot.out == f"Forgot fact {secret_id}.\n"
    assert SECRET.encode() not in database_bytes(data_dir)
    assert OTHER.encode() in database_bytes(data_dir)
    assert [fact["id"] for fact in json.loads(ok(va(data_dir, "facts", "list", "--json")).out)] == [other_id]

    again = va(data_dir, "facts", "forget", str(secret_id))
    assert again.code == 1 and again.out == ""
    assert again.err == (
        f"error: There is no remembered fact {secret_id}. `voice-assistant facts list` shows the ones there are. "
        "[unknown_fact]\n"
    )


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (("forget", "abc"), "invalid_argument", "Invalid fact id 'abc': expected a positive number."),
        (("forget", "0"), "invalid_argument", "Invalid fact id '0': expected a positive number."),
        (("forget", "-3"), "invalid_argument", "Invalid fact id '-3': expected a positive number."),
        (("forget", "--all"), "confirmation_required", "add --yes to confirm. Nothing was forgotten."),
    ],
)
def test_bad_forget_arguments_are_usage_errors_that_change_nothing(
    data_dir: Path, args: tuple[str, ...], code: str, said: str
) -> None:
    fill(data_dir)
    before = database_bytes(data_dir)
    refused = va(data_dir, "facts", *args)
    assert refused.code == 2 and refused.out == ""
    assert refused.err.startswith("error: ") and said in refused.err and refused.err.endswith(f"[{code}]\n")
    assert len(refused.err.splitlines()) == 1
    assert database_bytes(data_dir) == before


def test_usage_mistakes_exit_2(tmp_path: Path) -> None:
    for args in (("facts",), ("facts", "forget"), ("facts", "forget", "1", "--all"), ("facts", "list", "extra")):
        run = va(tmp_path / "data", *args)
        assert run.code == 2 and "usage:" in run.err, args
    assert not (tmp_path / "data" / "assistant.db").exists()


def test_forgetting_every_fact(data_dir: Path) -> None:
    fill(data_dir)
    forgot = ok(va(data_dir, "facts", "forget", "--all", "--yes"))
    assert forgot.out == "Forgot 2 remembered facts.\n"
    assert json.loads(ok(va(data_dir, "facts", "list", "--json")).out) == []
    data = database_bytes(data_dir)
    assert SECRET.encode() not in data and OTHER.encode() not in data
    assert ok(va(data_dir, "facts", "forget", "--all", "--yes")).out == "Forgot 0 remembered facts.\n"
    # The conversations are untouched.
    assert len(json.loads(ok(va(data_dir, "history", "list", "--json")).out)) == 2


def test_deleting_the_history_says_what_it_keeps(data_dir: Path) -> None:
    fill(data_dir)
    refused = va(data_dir, "history", "delete", "--all", "--include-facts")
    assert refused.code == 2 and "every conversation and every remembered fact" in refused.err
    assert refused.err.endswith("Nothing was deleted. [confirmation_required]\n")

    deleted = ok(va(data_dir, "history", "delete", "--all", "--yes"))
    assert deleted.out.splitlines() == [
        "Deleted 2 conversations.",
        "Kept 2 remembered facts (they are not part of a conversation): see them with `voice-assistant facts "
        "list`, forget them with `voice-assistant facts forget --all --yes`.",
        'Kept 1 pending timer: cancel it with `voice-assistant ask "cancel all timers"`.',
        'Kept 2 pending reminders: cancel them with `voice-assistant ask "cancel all reminders"`.',
    ]
    assert len(json.loads(ok(va(data_dir, "facts", "list", "--json")).out)) == 2
    assert SECRET.encode() in database_bytes(data_dir)


def test_deleting_the_history_with_the_facts(data_dir: Path) -> None:
    fill(data_dir)
    one = va(data_dir, "history", "delete", "1", "--include-facts")
    assert one.code == 2 and one.err.endswith("Nothing was deleted. [invalid_argument]\n")
    assert "facts forget ID" in one.err

    deleted = ok(va(data_dir, "history", "delete", "--all", "--yes", "--include-facts"))
    lines = deleted.out.splitlines()
    assert lines[:2] == ["Deleted 2 conversations.", "Forgot 2 remembered facts."]
    assert not any("remembered fact" in line for line in lines[2:])  # none kept, so none mentioned
    assert any("pending timer" in line for line in lines[2:])
    assert json.loads(ok(va(data_dir, "facts", "list", "--json")).out) == []
    assert SECRET.encode() not in database_bytes(data_dir)


def test_nothing_kept_means_nothing_said(data_dir: Path) -> None:
    store = open_store(data_dir)
    try:
        store.create_conversation()
    finally:
        store.close()
    assert ok(va(data_dir, "history", "delete", "--all", "--yes")).out == "Deleted 1 conversation.\n"


@pytest.mark.parametrize(
    ("limit", "offset", "shown", "more"),
    [
        ("1", "0", 1, True),
        ("1", "1", 1, False),  # exactly the last one: nothing follows
        ("2", "0", 2, False),  # the page holds them all
        ("3", "0", 2, False),
        ("1", "2", 0, False),
    ],
)
def test_history_list_says_more_follow_only_when_they_do(
    data_dir: Path, limit: str, offset: str, shown: int, more: bool
) -> None:
    fill(data_dir, facts=(), conversations=2)
    text = ok(va(data_dir, "history", "list", "--limit", limit, "--offset", offset)).out
    rows = [line for line in text.splitlines() if line[:1] == " " or line[:1].isdigit()]
    assert len(rows) == shown
    assert ("More follow" in text) is more
    if more:
        assert text.endswith(f"More follow: add --offset {int(offset) + int(limit)} to see them.\n")
    if shown == 0:
        assert text == "No more conversations.\n"
    listed = json.loads(ok(va(data_dir, "history", "list", "--json", "--limit", limit, "--offset", offset)).out)
    assert len(listed) == shown


def test_a_full_page_of_the_largest_size(data_dir: Path) -> None:
    """--limit 1000 asks the store for 1001, which it answers, so the last page is told apart from a full one."""
    store = open_store(data_dir)
    try:
        for _ in range(1000):
            store.create_conversation()
        assert len(store.list_conversations(limit=1001)) == 1000
        store.create_conversation()
        assert len(store.list_conversations(limit=1001)) == 1001
        assert len(store.list_conversations(limit=5000)) == 1001
    finally:
        store.close()
    assert "More follow: add --offset 1000" in ok(va(data_dir, "history", "list", "--limit", "1000")).out
    assert "More follow" not in ok(va(data_dir, "history", "list", "--limit", "1000", "--offset", "1")).out


def test_forgetting_in_a_running_app_leaves_no_copy_in_the_journal(data_dir: Path) -> None:
    """The window keeps the database open for hours: the text must be gone from the file and the write-ahead
    log as soon as the fact is forgotten, not only when the last connection closes."""
    store = open_store(data_dir)
    try:
        one, every = store.add_fact(SECRET), store.add_fact("my passport number is X1234567")
        store.add_fact(OTHER)
        assert SECRET.encode() in database_bytes(data_dir)
        store.delete_fact(one.id)
        assert SECRET.encode() not in database_bytes(data_dir)
        assert store.delete_all_facts() == 2
        assert b"X1234567" not in database_bytes(data_dir) and OTHER.encode() not in database_bytes(data_dir)
        assert [entry.action for entry in store.list_audit()][:2] == ["all_facts_forgotten", "fact_forgotten"]
        assert all(SECRET not in str(entry) for entry in store.list_audit())
        assert every.id not in {fact.id for fact in store.list_facts()}
    finally:
        store.close()
