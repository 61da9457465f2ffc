"""A bounded in-memory cache of recent conversations' latest messages.

Bounded three ways: how many conversations, how many messages per conversation, and an estimate of the
total memory. Thread-safe. A per-conversation generation counter stops a reader that loaded from the
database from filling the cache with a snapshot older than a write that landed meanwhile.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from dataclasses import dataclass

from desktop_app.core.models import Message

# Rough per-message overhead of the dataclass, its datetime and the deque slot, in bytes.
MESSAGE_OVERHEAD_BYTES = 320


def message_size(message: Message) -> int:
    # str in CPython stores 1, 2 or 4 bytes per character; 2 is a fair middle for mixed text.
    return MESSAGE_OVERHEAD_BYTES + 2 * len(message.content)


@dataclass
class _Entry:
    messages: deque[Message]
    # True when `messages` starts at the conversation's first message (nothing older exists).
    complete: bool
    size: int = 0


@dataclass(frozen=True, slots=True)
class CacheLimits:
    max_conversations: int = 64
    max_messages_per_conversation: int = 200
    max_bytes: int = 16 * 1024 * 1024


class HistoryCache:
    def __init__(self, limits: CacheLimits | None = None) -> None:
        self.limits = limits or CacheLimits()
        self._entries: OrderedDict[int, _Entry] = OrderedDict()
        self._generations: dict[int, int] = {}
        # Bumped by clear(): a reader that began before a clear must not fill, whichever conversation it read.
        self._epoch = 0
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def generation(self, conversation_id: int) -> tuple[int, int]:
        """A token to hand back to fill(): it changes with every write to the conversation and every clear."""
        with self._lock:
            return self._epoch, self._generations.get(conversation_id, 0)

    def get(self, conversation_id: int, limit: int | None) -> list[Message] | None:
        """The last `limit` messages (all when None), or None when the cache cannot answer in full."""
        with self._lock:
            entry = self._entries.get(conversation_id)
            if entry is None or (not entry.complete and (limit is None or limit > len(entry.messages))):
                self.misses += 1
                return None
            self._entries.move_to_end(conversation_id)
            self.hits += 1
            items = list(entry.messages)
            return items if limit is None or limit >= len(items) else items[len(items) - limit :]

    def fill(self, conversation_id: int, messages: list[Message], complete: bool, generation: tuple[int, int]) -> None:
        """Caches what a reader loaded, unless a write to this conversation or a clear happened since
        `generation` was taken."""
        with self._lock:
            if (self._epoch, self._generations.get(conversation_id, 0)) != generation:
                return
            self._remove(conversation_id)
            entry = _Entry(deque(), complete)
            self._entries[conversation_id] = entry
            for message in messages:
                self._append(entry, message)
            self._trim()

    def append(self, message: Message) -> None:
        """Called by the writer after the message is committed, in commit order."""
        with self._lock:
            cid = message.conversation_id
            self._generations[cid] = self._generations.get(cid, 0) + 1
            entry = self._entries.get(cid)
            # A reader may have cached a snapshot that already holds this message (it committed a moment
            # before this call): ids only grow within a conversation, so an id not above the last is known.
            if entry is None or (entry.messages and entry.messages[-1].id >= message.id):
                return
            self._append(entry, message)
            self._entries.move_to_end(cid)
            self._trim()

    def start_conversation(self, conversation_id: int) -> None:
        """A new conversation has no history: cache it as complete and empty, so its first reads are hits."""
        with self._lock:
            self._generations[conversation_id] = self._generations.get(conversation_id, 0) + 1
            self._remove(conversation_id)
            self._entries[conversation_id] = _Entry(deque(), complete=True)
            self._trim()

    def invalidate(self, conversation_id: int) -> None:
        with self._lock:
            self._generations[conversation_id] = self._generations.get(conversation_id, 0) + 1
            self._remove(conversation_id)

    def clear(self) -> None:
        with self._lock:
            self._epoch += 1
            self._entries.clear()
            self._bytes = 0

    def counts(self) -> tuple[int, int, int]:
        """(conversations, messages, estimated bytes) held now."""
        with self._lock:
            return len(self._entries), sum(len(e.messages) for e in self._entries.values()), self._bytes

    def _append(self, entry: _Entry, message: Message) -> None:
        size = message_size(message)
        entry.messages.append(message)
        entry.size += size
        self._bytes += size
        while len(entry.messages) > self.limits.max_messages_per_conversation:
            self._drop_oldest(entry)

    def _drop_oldest(self, entry: _Entry) -> None:
        dropped = entry.messages.popleft()
        size = message_size(dropped)
        entry.size -= size
        self._bytes -= size
        entry.complete = False

    def _remove(self, conversation_id: int) -> None:
        entry = self._entries.pop(conversation_id, None)
        if entry is not None:
            self._bytes -= entry.size

    def _trim(self) -> None:
        while len(self._entries) > self.limits.max_conversations:
            oldest = next(iter(self._entries))
            self._remove(oldest)
        while self._bytes > self.limits.max_bytes and self._entries:
            # Shed the least recently used conversation first; a single huge one sheds its oldest messages.
            if len(self._entries) > 1:
                self._remove(next(iter(self._entries)))
            else:
                only = next(iter(self._entries.values()))
                if not only.messages:
                    break
                self._drop_oldest(only)
