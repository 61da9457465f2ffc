"""History search, newest first and a page at a time (storage/search.py `search_page`), on SQLite and on
PostgreSQL: paging sees every match exactly once, filters by date and by origin (also without words), a filter
that keeps few matches still ends each page within its bound, and bad input is refused with its code."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from desktop_app.core.errors import ErrorCode, ValidationError
from desktop_app.core.models import NewConversation, NewMessage, Role, SearchFilter
from desktop_app.core.reply_source import ReplySource, SourceKind
from desktop_app.storage import search as search_module
from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore

START = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def history(request: pytest.FixtureRequest, tmp_path) -> Iterator[SqlConversationStore]:
    url = (
        sqlite_url(tmp_path / "assistant.db")
        if request.param == "sqlite"
        else request.getfixturevalue("pg_database_url")
    )
    store = SqlConversationStore.open(url)
    fill(store)
    yield store
    store.close()


@pytest.fixture
def sqlite_history(tmp_path) -> Iterator[SqlConversationStore]:
    store = SqlConversationStore.open(sqlite_url(tmp_path / "assistant.db"))
    fill(store)
    yield store
    store.close()


def fill(store: SqlConversationStore) -> None:
    """300 conversations a day apart, each a question about tea or coffee and a skill's or a model's answer,
    imported oldest first (so the newest have the highest ids)."""
    conversations = []
    for day in range(300):
        drink = "tea" if day % 3 else "coffee"
        source = ReplySource.skill("memory") if day % 2 else ReplySource.model("llama3.2")
        when = START + timedelta(days=day)
        conversations.append(
            NewConversation(
                f"day {day}",
                (
                    NewMessage(Role.USER, f"shall I have {drink} on day {day}", created_at=when),
                    NewMessage(Role.ASSISTANT, f"Yes, {drink} suits day {day}.", created_at=when, source=source.stored),
                ),
                created_at=when,
            )
        )
    store.import_conversations(conversations)


def every_page(store: SqlConversationStore, query: str, **options) -> list[list[int]]:
    pages: list[list[int]] = []
    before = None
    while True:
        page = store.search_page(query, before=before, **options)
        pages.append([hit.message_id for hit in page.hits])
        if page.next_before is None:
            return pages
        before = page.next_before
        assert len(pages) < 100, "paging never ends"


def test_pages_run_newest_first_and_see_every_match_once(history: SqlConversationStore) -> None:
    pages = every_page(history, "tea", limit=50)
    found = [message_id for page in pages for message_id in page]
    assert found == sorted(found, reverse=True) and len(set(found)) == len(found)
    assert len(found) == 200 * 2  # both messages of each of the 200 tea days
    assert [len(page) for page in pages[:-1]] == [50] * (len(pages) - 1)
    first = history.search_page("tea", limit=1).hits[0]
    assert first.conversation_title == "day 299" and "[tea]" in first.snippet
    assert first.source == ReplySource.skill("memory") and first.role is Role.ASSISTANT


def test_every_word_must_match_and_the_last_may_be_a_prefix(history: SqlConversationStore) -> None:
    both = [hit.conversation_title for hit in history.search_page("coffee day", limit=500).hits]
    assert len(both) == 200 and set(both) == {f"day {day}" for day in range(0, 300, 3)}
    assert not history.search_page("coff", limit=5).hits
    assert len(history.search_page("coff", prefix=True, limit=500).hits) == 200
    # One or two letters are a whole word even while typed: "co" does not gather every word it starts.
    assert not history.search_page("co", prefix=True, limit=5).hits
    assert len(history.search_page("day 7", prefix=True, limit=500).hits) == 2


def test_dates_and_origins_filter_the_matches(history: SqlConversationStore) -> None:
    week = SearchFilter(since=START + timedelta(days=10), until=START + timedelta(days=17))
    titles = {hit.conversation_title for hit in history.search_page("day", filters=week, limit=100).hits}
    assert titles == {f"day {day}" for day in range(10, 17)}
    yours = history.search_page("tea", filters=SearchFilter(origins=frozenset({Role.USER})), limit=500).hits
    assert len(yours) == 200 and all(hit.role is Role.USER and hit.source is None for hit in yours)
    models = history.search_page("tea", filters=SearchFilter(origins=frozenset({SourceKind.MODEL})), limit=500)
    assert models.hits and all(hit.source is not None and hit.source.kind is SourceKind.MODEL for hit in models.hits)
    assert len(models.hits) == len([day for day in range(300) if day % 3 and not day % 2])
    assert history.search_page("tea", filters=SearchFilter(origins=frozenset())).hits == ()


def test_a_filter_that_keeps_few_matches_ends_each_page_within_its_bound_and_paging_finds_the_rest(
    sqlite_history: SqlConversationStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite looks at the index's matches a window at a time (PostgreSQL pages in one statement)."""
    history = sqlite_history
    monkeypatch.setattr(search_module, "WINDOW", 20)
    monkeypatch.setattr(search_module, "MOST_EXAMINED_PER_PAGE", 60)
    oldest_week = SearchFilter(until=START + timedelta(days=7))  # only the oldest matches pass
    first = history.search_page("day", filters=oldest_week, limit=50)
    assert first.hits == () and first.next_before is not None  # looked at 60 matches, none kept: go on
    pages = every_page(history, "day", filters=oldest_week, limit=50)
    titles = [title for page in pages for title in page]
    assert len(titles) == 14  # 7 days, two messages each, found in the end


def test_without_words_the_filters_list_the_messages_they_keep(history: SqlConversationStore) -> None:
    """The history browser's filters with nothing typed: "last week", "said by the language model"."""
    everything = [message for page in every_page(history, "", limit=100) for message in page]
    assert len(everything) == 600 and everything == sorted(everything, reverse=True)
    week = SearchFilter(since=START + timedelta(days=290))
    recent = history.search_page("  ", filters=week, limit=100).hits
    assert {hit.conversation_title for hit in recent} == {f"day {day}" for day in range(290, 300)}
    assert recent[0].snippet == "Yes, tea suits day 299." and recent[0].role is Role.ASSISTANT
    models = history.search_page("!!!", filters=SearchFilter(origins=frozenset({SourceKind.MODEL})), limit=500)
    assert len(models.hits) == 150 and all(hit.source and hit.source.kind is SourceKind.MODEL for hit in models.hits)


def test_without_words_a_filter_that_keeps_few_messages_ends_each_page_within_its_bound(
    sqlite_history: SqlConversationStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_module, "ID_WINDOW", 20)
    monkeypatch.setattr(search_module, "MOST_IDS_PER_PAGE", 100)
    oldest_week = SearchFilter(until=START + timedelta(days=7))
    first = sqlite_history.search_page("", filters=oldest_week, limit=50)
    assert first.hits == () and first.next_before is not None  # looked at 100 messages, none kept: go on
    found = [message for page in every_page(sqlite_history, "", filters=oldest_week, limit=50) for message in page]
    assert found == list(range(14, 0, -1))


@pytest.mark.parametrize(
    ("query", "options"),
    [
        ("tea", {"before": 0}),
        ("tea", {"before": True}),
        ("tea", {"limit": -1}),
        ("tea", {"filters": SearchFilter(since=START, until=START)}),
        ("tea", {"filters": SearchFilter(origins=frozenset({Role.SYSTEM}))}),
    ],
)
def test_bad_input_is_refused_with_its_code(history: SqlConversationStore, query: str, options: dict) -> None:
    with pytest.raises(ValidationError) as refused:
        history.search_page(query, **options)
    assert refused.value.code is ErrorCode.INVALID_ARGUMENT
