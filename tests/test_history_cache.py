"""The bounded cache in front of the store: limits, completeness, and no stale fills."""

from __future__ import annotations

from datetime import UTC, datetime

from desktop_app.core.history_cache import CacheLimits, HistoryCache, message_size
from desktop_app.core.models import Message, Role

NOW = datetime(2026, 11, 24, tzinfo=UTC)


def _message(mid: int, cid: int = 1, text: str = "hello") -> Message:
    return Message(mid, cid, Role.USER, text, NOW)


def test_a_new_conversation_is_answered_from_memory() -> None:
    cache = HistoryCache()
    cache.start_conversation(1)
    assert cache.get(1, None) == []
    cache.append(_message(1))
    cache.append(_message(2))
    assert [m.id for m in cache.get(1, None) or []] == [1, 2]
    assert [m.id for m in cache.get(1, 1) or []] == [2]
    assert cache.hits == 3 and cache.misses == 0


def test_messages_per_conversation_are_capped_and_then_only_short_reads_hit() -> None:
    cache = HistoryCache(CacheLimits(max_messages_per_conversation=3))
    cache.start_conversation(1)
    for mid in range(1, 6):
        cache.append(_message(mid))
    assert [m.id for m in cache.get(1, 3) or []] == [3, 4, 5]
    assert cache.get(1, 4) is None  # older messages are only in the database
    assert cache.get(1, None) is None


def test_least_recently_used_conversations_are_dropped_first() -> None:
    cache = HistoryCache(CacheLimits(max_conversations=2))
    for cid in (1, 2):
        cache.start_conversation(cid)
    cache.get(1, None)  # 1 is now more recent than 2
    cache.start_conversation(3)
    assert cache.get(2, None) is None
    assert cache.get(1, None) == [] and cache.get(3, None) == []


def test_memory_cap_is_kept() -> None:
    big = "x" * 10_000
    cap = 5 * message_size(_message(1, text=big))
    cache = HistoryCache(CacheLimits(max_bytes=cap))
    for cid in range(1, 5):
        cache.start_conversation(cid)
        for k in range(3):
            cache.append(_message(cid * 10 + k, cid, big))
    conversations, messages, size = cache.counts()
    assert size <= cap and messages <= 5 and conversations >= 1


def test_a_fill_older_than_a_write_is_ignored() -> None:
    cache = HistoryCache()
    generation = cache.generation(7)
    cache.append(_message(2, 7))  # a write lands while a reader was loading from the database
    cache.fill(7, [_message(1, 7)], complete=True, generation=generation)
    assert cache.get(7, None) is None  # the stale snapshot was not cached
    cache.fill(7, [_message(1, 7), _message(2, 7)], complete=True, generation=cache.generation(7))
    assert [m.id for m in cache.get(7, None) or []] == [1, 2]


def test_invalidate_and_clear() -> None:
    cache = HistoryCache()
    cache.start_conversation(1)
    cache.start_conversation(2)
    cache.invalidate(1)
    assert cache.get(1, None) is None and cache.get(2, None) == []
    cache.clear()
    assert cache.counts() == (0, 0, 0)


def test_a_message_already_in_a_filled_snapshot_is_not_added_twice() -> None:
    """A reader's snapshot can include a message committed a moment before the writer's append runs."""
    cache = HistoryCache()
    token = cache.generation(3)
    cache.fill(3, [_message(1, 3), _message(2, 3)], complete=True, generation=token)
    cache.append(_message(2, 3))
    cache.append(_message(3, 3))
    assert [m.id for m in cache.get(3, None) or []] == [1, 2, 3]


def test_a_reader_that_began_before_a_clear_does_not_fill() -> None:
    cache = HistoryCache()
    token = cache.generation(9)  # a conversation the cache has never seen
    cache.clear()  # e.g. another process wrote, or everything was deleted
    cache.fill(9, [_message(1, 9)], complete=True, generation=token)
    assert cache.get(9, None) is None
