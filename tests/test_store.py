"""The conversation store's behaviour, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text as text_

from desktop_app.core.errors import ErrorCode, NotFoundError, StorageError, ValidationError
from desktop_app.core.history_cache import CacheLimits
from desktop_app.core.models import MAX_CONTENT_CHARS, NewConversation, NewMessage, Role
from desktop_app.core.reply_source import ReplySource
from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "assistant.db")
    return request.getfixturevalue("pg_database_url")


@pytest.fixture
def store(store_url: str) -> Iterator[SqlConversationStore]:
    opened = SqlConversationStore.open(store_url)
    yield opened
    opened.close()


def test_messages_come_back_in_order_with_their_metadata(store: SqlConversationStore) -> None:
    conversation = store.create_conversation()
    asked = store.add_message(conversation.id, "user", "what time is it")
    answered = store.add_message(
        conversation.id,
        Role.ASSISTANT,
        "It is five past three.",
        tokens_input=12,
        tokens_output=7,
        timings={"release_to_final_ms": 81.5, "final_to_first_audio_ms": 120},
        source=ReplySource.skill("clock"),
    )
    history = store.get_history(conversation.id)
    assert [m.id for m in history] == [asked.id, answered.id]
    assert history[1].timings == {"release_to_final_ms": 81.5, "final_to_first_audio_ms": 120.0}
    assert (history[1].tokens_input, history[1].tokens_output, history[1].source) == (12, 7, "skill:clock")
    assert history[0].timings is None and history[0].source is None
    assert history[0].created_at.tzinfo is UTC
    assert store.get_history(conversation.id, limit=1) == [history[1]]
    # The first user message names the conversation.
    assert store.get_conversation(conversation.id).title == "what time is it"
    assert store.get_conversation(conversation.id).message_count == 2


def test_history_from_the_database_equals_history_from_the_cache(store_url: str) -> None:
    first = SqlConversationStore.open(store_url, CacheLimits(max_conversations=2, max_messages_per_conversation=5))
    try:
        conversation = first.create_conversation("cache check")
        for i in range(12):
            first.add_message(conversation.id, "user" if i % 2 == 0 else "assistant", f"line {i}")
        cached = first.get_history(conversation.id, limit=5)
        assert first.stats().cache_hits >= 1
        everything = first.get_history(conversation.id)  # more than the cache holds: read from the database
        assert [m.content for m in everything] == [f"line {i}" for i in range(12)]
        assert everything[-5:] == cached
    finally:
        first.close()


def test_restart_brings_back_history_facts_and_stats(store_url: str) -> None:
    store = SqlConversationStore.open(store_url)
    conversation = store.create_conversation()
    for i in range(30):
        store.add_message(conversation.id, "user" if i % 2 == 0 else "assistant", f"turn {i} ünïcödé 🎙️")
    other = store.create_conversation("second")
    store.add_message(other.id, "user", "remember my sister is called Ana")
    fact = store.add_fact("my sister is called Ana")
    history_before = store.get_history(conversation.id)
    stats_before = store.stats()
    facts_before = store.list_facts()
    listing_before = store.list_conversations()
    store.close()

    reopened = SqlConversationStore.open(store_url)
    try:
        assert reopened.get_history(conversation.id) == history_before
        assert reopened.list_facts() == facts_before == [fact]
        assert reopened.list_conversations() == listing_before
        stats_after = reopened.stats()
        assert stats_after.database_bytes is not None and stats_after.database_bytes > 0  # SQLite and PostgreSQL
        assert (
            (stats_after.conversations_in_db, stats_after.messages_in_db, stats_after.facts_in_db)
            == (
                stats_before.conversations_in_db,
                stats_before.messages_in_db,
                stats_before.facts_in_db,
            )
            == (2, 31, 1)
        )
        assert stats_after.messages_in_memory == 30  # only what was read since the restart
    finally:
        reopened.close()


@pytest.mark.parametrize(
    ("role", "content", "code"),
    [
        ("robot", "hello", ErrorCode.INVALID_ROLE),
        ("user", "", ErrorCode.EMPTY_CONTENT),
        ("user", "  \n\t ", ErrorCode.EMPTY_CONTENT),
        ("user", "x" * (MAX_CONTENT_CHARS + 1), ErrorCode.CONTENT_TOO_LONG),
        ("user", "bad\x00byte", ErrorCode.INVALID_ARGUMENT),
        ("user", 42, ErrorCode.INVALID_ARGUMENT),
    ],
)
def test_bad_messages_are_refused_and_nothing_is_written(store: SqlConversationStore, role, content, code) -> None:
    conversation = store.create_conversation("bad input")
    store.add_message(conversation.id, "user", "the one good message")
    with pytest.raises(ValidationError) as caught:
        store.add_message(conversation.id, role, content)
    assert caught.value.code is code
    assert caught.value.message  # a sentence for people, not only a code
    assert [m.content for m in store.get_history(conversation.id)] == ["the one good message"]
    assert store.stats().messages_in_db == 1
    assert store.get_conversation(conversation.id).message_count == 1


def test_content_at_the_limit_is_accepted(store: SqlConversationStore) -> None:
    conversation = store.create_conversation()
    message = store.add_message(conversation.id, "assistant", "y" * MAX_CONTENT_CHARS)
    assert len(store.get_history(conversation.id)[0].content) == MAX_CONTENT_CHARS == len(message.content)


def test_unknown_conversation_is_refused(store: SqlConversationStore) -> None:
    with pytest.raises(NotFoundError) as caught:
        store.add_message(999_999, "user", "hello")
    assert caught.value.code is ErrorCode.UNKNOWN_CONVERSATION
    with pytest.raises(NotFoundError):
        store.get_history(999_999)
    for bad_id in (0, -3, "abc", True, None):
        with pytest.raises(ValidationError) as invalid:
            store.add_message(bad_id, "user", "hello")  # type: ignore[arg-type]
        assert invalid.value.code is ErrorCode.INVALID_ARGUMENT
    assert store.stats().messages_in_db == 0


def test_bad_counts_and_timings_are_refused(store: SqlConversationStore) -> None:
    conversation = store.create_conversation()
    with pytest.raises(ValidationError):
        store.add_message(conversation.id, "assistant", "ok", tokens_input=-1)
    with pytest.raises(ValidationError):
        store.add_message(conversation.id, "assistant", "ok", timings={"stage": "fast"})  # type: ignore[dict-item]
    assert store.get_history(conversation.id) == []


def test_a_long_source_is_kept_cut_to_the_column_and_an_imported_one_is_refused(store: SqlConversationStore) -> None:
    conversation = store.create_conversation()
    store.add_message(conversation.id, "assistant", "ok", source=ReplySource.model("m" * 200))
    (kept,) = store.get_history(conversation.id)
    assert kept.source == "model:" + "m" * 114
    too_long = NewConversation("imported", (NewMessage("assistant", "ok", source="s" * 121),))
    with pytest.raises(ValidationError):
        store.import_conversations([too_long])
    assert [c.conversation.title for c in store.list_conversations()] == [conversation.title]


def test_search_ranks_matches_and_marks_the_snippet(store: SqlConversationStore) -> None:
    cooking = store.create_conversation("cooking")
    store.add_message(cooking.id, "user", "set a pasta timer for ten minutes")
    store.add_message(cooking.id, "assistant", "Pasta timer set for ten minutes.")
    travel = store.create_conversation("travel")
    store.add_message(travel.id, "user", "how far is the station from the pasta restaurant on the other side of town")
    store.add_message(travel.id, "assistant", "The weather is fine today.")
    hits = store.search("pasta timer")
    assert {h.conversation_id for h in hits} == {cooking.id}
    assert len(hits) == 2 and all("[" in h.snippet and "]" in h.snippet for h in hits)
    assert hits[0].score >= hits[1].score
    broad = store.search("pasta")
    assert len(broad) == 3
    assert broad[-1].conversation_id == travel.id  # the long message mentions it once among many words
    assert store.search("timers")  # stemming: timers finds timer
    assert store.search("weath") == []  # whole words only, unless asked for a prefix
    assert ["[weather]" in h.snippet for h in store.search("weath", prefix=True)] == [True]
    assert store.search("zebra") == []
    assert [h.conversation_title for h in store.search("station")] == ["travel"]
    # Search syntax in what people type is just text.
    assert store.search('pasta" OR "x') == []  # three words, all required; nothing has "x"
    assert len(store.search('"pasta" timer*')) == 2
    with pytest.raises(ValidationError):
        store.search("  ?! ")


def test_deleting_removes_messages_from_history_and_search(store: SqlConversationStore) -> None:
    keep = store.create_conversation("keep")
    store.add_message(keep.id, "user", "keep this elephant")
    drop = store.create_conversation("drop")
    store.add_message(drop.id, "user", "forget this elephant")
    store.delete_conversation(drop.id)
    assert [h.conversation_id for h in store.search("elephant")] == [keep.id]
    with pytest.raises(NotFoundError):
        store.get_history(drop.id)
    with pytest.raises(NotFoundError):
        store.delete_conversation(drop.id)
    assert store.delete_all_conversations() == 1
    assert store.search("elephant") == [] and store.list_conversations() == []
    actions = [entry.action for entry in store.list_audit()]
    assert actions[:2] == ["all_conversations_deleted", "conversation_deleted"]


def test_deleted_text_is_not_left_in_the_sqlite_file(tmp_path) -> None:
    path = tmp_path / "assistant.db"
    store = SqlConversationStore.open(sqlite_url(path))
    conversation = store.create_conversation()
    store.add_message(conversation.id, "user", "my secret passphrase is quokkawaffle")
    store.delete_all_conversations()
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("assistant.db"))
    assert b"quokkawaffle" not in raw


def test_history_list_is_newest_first_with_previews(store: SqlConversationStore) -> None:
    first = store.create_conversation("first")
    second = store.create_conversation("second")
    store.add_message(first.id, "user", "older question")
    store.add_message(second.id, "user", "newer question")
    store.add_message(first.id, "assistant", "latest   answer\nwith a newline")
    listing = store.list_conversations()
    assert [s.conversation.id for s in listing] == [first.id, second.id]
    assert listing[0].preview == "latest answer with a newline"
    assert [s.conversation.id for s in store.list_conversations(limit=1, offset=1)] == [second.id]


def test_facts_are_remembered_and_forgotten(store: SqlConversationStore) -> None:
    liked = store.add_fact("I like Python")
    store.add_fact("my sister is called Ana")
    store.delete_fact(liked.id)
    assert [f.text for f in store.list_facts()] == ["my sister is called Ana"]
    with pytest.raises(NotFoundError) as caught:
        store.delete_fact(liked.id)
    assert caught.value.code is ErrorCode.UNKNOWN_FACT
    with pytest.raises(ValidationError):
        store.add_fact("   ")


def test_messages_between_finds_what_was_said_in_a_time_range(store: SqlConversationStore) -> None:
    start = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    store.import_conversations(
        [
            NewConversation(
                "yesterday",
                (
                    NewMessage("user", "what is the capital of peru", start),
                    NewMessage("assistant", "Lima.", start + timedelta(seconds=2)),
                ),
            ),
            NewConversation("today", (NewMessage("user", "set a timer", start + timedelta(days=1)),)),
        ]
    )
    asked = store.messages_between(start, start + timedelta(hours=12), role=Role.USER)
    assert [m.content for m in asked] == ["what is the capital of peru"]
    assert len(store.messages_between(start, start + timedelta(days=2))) == 3


def test_import_refuses_a_batch_with_a_bad_message(store: SqlConversationStore) -> None:
    good = NewConversation("good", (NewMessage("user", "fine"),))
    bad = NewConversation("bad", (NewMessage("user", "fine"), NewMessage("wizard", "not a role")))
    with pytest.raises(ValidationError):
        store.import_conversations([good, bad])
    assert store.stats().conversations_in_db == 0
    assert store.import_conversations([good, good]) == 2


def test_sqlite_connections_get_the_pragmas(tmp_path) -> None:
    store = SqlConversationStore.open(sqlite_url(tmp_path / "assistant.db"))
    try:
        engine = store._engine
        with engine.connect() as connection:
            values = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
        assert values == {"journal_mode": "wal", "synchronous": 1, "foreign_keys": 1, "busy_timeout": 10_000}
    finally:
        store.close()
    with sqlite3.connect(tmp_path / "assistant.db") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    raw.close()


def test_closed_store_refuses_writes(tmp_path) -> None:
    store = SqlConversationStore.open(sqlite_url(tmp_path / "assistant.db"))
    conversation = store.create_conversation()
    store.close()
    with pytest.raises(Exception) as caught:
        store.add_message(conversation.id, "user", "too late")
    assert getattr(caught.value, "code", None) is ErrorCode.STORE_CLOSED


def test_another_writer_on_the_same_database_is_seen_through_the_cache(store_url: str) -> None:
    """Two machines sharing one PostgreSQL store, or the app and a command on one SQLite file."""
    here, there = SqlConversationStore.open(store_url), SqlConversationStore.open(store_url)
    try:
        conversation = here.create_conversation()
        here.add_message(conversation.id, "user", "said here")
        assert len(here.get_history(conversation.id)) == 1
        there.add_message(conversation.id, "assistant", "said there")
        assert [m.content for m in here.get_history(conversation.id)] == ["said here", "said there"]
    finally:
        here.close()
        there.close()


def _common(k: int) -> str:
    return "common " * (k % 3 + 1) if k % 2 == 0 else ""


def test_search_of_a_common_word_ranks_the_same_as_the_exact_query(tmp_path) -> None:
    """The fast path ranks inside the index before joining; its top results equal the exact query's."""
    from desktop_app.storage import fulltext

    store = SqlConversationStore.open(sqlite_url(tmp_path / "assistant.db"))
    try:
        items = [
            NewConversation(
                f"c{n}",
                tuple(NewMessage("user", f"{_common(k)}word{' filler' * ((k + n) % 11)} {n} {k}") for k in range(20)),
            )
            for n in range(30)
        ]
        store.import_conversations(items)
        fast = store.search("common", limit=20)
        with store._engine.connect() as connection:
            exact = connection.execute(
                text_(fulltext.SQLITE_SEARCH_EXACT), {"q": '"common"', "user": "local", "limit": 20}
            ).all()
        # Same scores in the same order (messages with equal scores may trade places).
        assert [round(h.score, 9) for h in fast] == [round(r.score, 9) for r in exact]
        assert len({round(h.score, 9) for h in fast}) > 1
        # Fewer matches than asked for: every one is returned.
        assert len(store.search("word 25 3", limit=50)) == 1
    finally:
        store.close()


def test_a_deleted_conversations_words_are_gone_from_the_file_and_its_index(tmp_path) -> None:
    path = tmp_path / "assistant.db"
    store = SqlConversationStore.open(sqlite_url(path))
    try:
        keep = store.create_conversation()
        for i in range(200):
            store.add_message(keep.id, "user", f"ordinary words number {i}")
        secret = store.create_conversation()
        store.add_message(secret.id, "user", "my secret is quokkawaffle and zebrabanana")
        store.add_message(keep.id, "user", "more ordinary words after it")

        def on_disk(word: bytes) -> int:
            return sum(p.read_bytes().count(word) for p in tmp_path.iterdir() if p.name.startswith("assistant.db"))

        assert on_disk(b"zebrabanana") > 0
        store.delete_conversation(secret.id)
        assert on_disk(b"quokkawaffle") == 0
        assert on_disk(b"zebrabanana") == 0
        assert len(store.search("ordinary words", limit=500)) == 201
    finally:
        store.close()


def test_a_write_by_another_process_before_the_first_read_is_seen(store_url: str) -> None:
    app = SqlConversationStore.open(store_url)
    other = SqlConversationStore.open(store_url)
    try:
        conversation = app.create_conversation()  # cached as new and empty
        app.add_message(conversation.id, "user", "from the app")
        other.add_message(conversation.id, "assistant", "from elsewhere")
        assert [m.content for m in app.get_history(conversation.id)] == ["from the app", "from elsewhere"]
    finally:
        app.close()
        other.close()


def test_out_of_range_counts_and_naive_times_are_refused_cleanly(store: SqlConversationStore) -> None:
    conversation = store.create_conversation()
    for bad in (2**31, 2**63, -1):
        with pytest.raises(ValidationError):
            store.add_message(conversation.id, "assistant", "ok", tokens_output=bad)
    store.add_message(conversation.id, "assistant", "ok", tokens_output=2**31 - 1)
    with pytest.raises(ValidationError):
        store.messages_between(datetime(2026, 1, 1), datetime(2026, 1, 2))  # no time zone
    assert store.health().writable
    assert store.get_history(conversation.id)[0].tokens_output == 2**31 - 1


def test_a_database_that_reaches_its_size_limit_says_disk_full_then_recovers(tmp_path) -> None:
    """SQLite's own "database or disk is full", raised on the driver path the hot statements use."""
    store = SqlConversationStore.open(sqlite_url(tmp_path / "assistant.db"))
    try:
        conversation = store.create_conversation()
        pages = store._writer.run(lambda c: c.exec_driver_sql("PRAGMA page_count").scalar_one())
        store._writer.run(lambda c: c.exec_driver_sql(f"PRAGMA max_page_count={pages + 3}"))
        saved = []
        with pytest.raises(StorageError) as caught:
            for i in range(1000):
                saved.append(store.add_message(conversation.id, "user", f"filling {i} " + "w" * 2000).id)
        assert caught.value.code is ErrorCode.DISK_FULL
        assert store.health().code == "disk_full" and not store.health().writable
        assert [m.id for m in store.get_history(conversation.id)] == saved
        store._writer.run(lambda c: c.exec_driver_sql("PRAGMA max_page_count=1073741823"))
        store.add_message(conversation.id, "user", "room again")
        assert store.health().writable
    finally:
        store.close()


def test_pages_after_a_row_match_pages_by_offset_even_where_times_tie(store: SqlConversationStore) -> None:
    from datetime import UTC, datetime

    same_time = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # 60 conversations kept at the same instant
    store.import_conversations(
        NewConversation(f"tie {n}", (NewMessage(Role.USER, f"question {n}", created_at=same_time),), same_time)
        for n in range(60)
    )
    for n in range(70):
        store.add_message(store.create_conversation(f"new {n}").id, Role.USER, f"hello {n}")
    by_offset = [s.conversation.id for offset in range(0, 130, 50) for s in store.list_conversations(50, offset)]
    by_row: list[int] = []
    after = None
    while True:
        page = store.list_conversations(50, after=after)
        by_row += [s.conversation.id for s in page]
        if len(page) < 50:
            break
        after = page[-1]
    assert by_row == by_offset and len(by_row) == 130 == len(set(by_row))


def test_conversations_past_the_keep_for_rule_are_deleted_searched_no_more_and_audited(
    store: SqlConversationStore,
) -> None:
    from datetime import UTC, datetime

    old, recent = datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC)
    store.import_conversations(
        [
            NewConversation("old tea", (NewMessage(Role.USER, "old tea talk", created_at=old),), old),
            NewConversation("new tea", (NewMessage(Role.USER, "new tea talk", created_at=recent),), recent),
        ]
    )
    assert store.delete_conversations_older_than(datetime(2026, 1, 1, tzinfo=UTC)) == 1
    assert [s.conversation.title for s in store.list_conversations()] == ["new tea"]
    assert [hit.conversation_title for hit in store.search_page("tea").hits] == ["new tea"]
    (entry,) = [e for e in store.list_audit() if e.action == "old_conversations_deleted"]
    assert entry.details is not None and entry.details["count"] == 1
    assert store.delete_conversations_older_than(datetime(2026, 1, 1, tzinfo=UTC)) == 0  # nothing: no new entry
    assert len([e for e in store.list_audit() if e.action == "old_conversations_deleted"]) == 1
    with pytest.raises(ValidationError):
        store.delete_conversations_older_than(datetime(2026, 1, 1))  # no time zone
