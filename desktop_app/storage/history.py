"""The in-memory cache in front of the conversations and their messages.

Reads come from the cache when it can answer in full, otherwise from the database. Writes that change what
the cache holds update it right after their commit, still holding the writer, so it sees them in commit
order.
"""

from __future__ import annotations

from datetime import datetime

from desktop_app.core.history_cache import CacheLimits, HistoryCache
from desktop_app.core.models import Conversation, Message, NewMessage
from desktop_app.core.validation import parse_id
from desktop_app.storage.conversations import ConversationRepository
from desktop_app.storage.engine import database_errors
from desktop_app.storage.handle import DatabaseHandle
from desktop_app.storage.messages import MessageRepository
from desktop_app.storage.rows import check_limit


class CachedHistory:
    def __init__(
        self,
        db: DatabaseHandle,
        conversations: ConversationRepository,
        messages: MessageRepository,
        limits: CacheLimits | None = None,
    ) -> None:
        self._db = db
        self._conversations = conversations
        self._messages = messages
        self.cache = HistoryCache(limits)

    # -- writes the cache follows ----------------------------------------------------------------------

    def create_conversation(self, title: str | None) -> Conversation:
        return self._conversations.create(title, lambda c: self.cache.start_conversation(c.id))

    def add_message(self, conversation_id: int, message: NewMessage) -> Message:
        return self._messages.add(conversation_id, message, self.cache.append)

    def delete_conversation(self, conversation_id: int) -> None:
        self._conversations.delete(conversation_id, self.cache.invalidate)

    def delete_all_conversations(self) -> int:
        return self._conversations.delete_all(lambda _: self.cache.clear())

    def delete_conversations_older_than(self, cutoff: datetime) -> int:
        return self._conversations.delete_older_than(cutoff, lambda _: self.cache.clear())

    # -- reads -----------------------------------------------------------------------------------------

    def get_history(self, conversation_id: int, limit: int | None = None) -> list[Message]:
        """The conversation's last `limit` messages (all when None), oldest first."""
        cid = parse_id(conversation_id)
        check_limit(limit)
        if limit == 0:
            self._conversations.get(cid)
            return []
        if self._cache_usable():
            cached = self.cache.get(cid, limit)
            if cached is not None and (self._db.is_sqlite or self._cache_matches_database(cid, cached)):
                return cached
        generation = self.cache.generation(cid)
        cap = self.cache.limits.max_messages_per_conversation
        fetch = None if limit is None else max(limit, cap)
        loaded = self._messages.latest(cid, fetch)
        complete = fetch is None or len(loaded) < fetch
        self.cache.fill(cid, loaded[-cap:], complete and len(loaded) <= cap, generation)
        return loaded if limit is None else loaded[-limit:]

    def _cache_usable(self) -> bool:
        """SQLite: clears the cache when another process wrote to the file; False while one of our own
        writes is in progress (reading the database then is correct and does not wait for it)."""
        if not self._db.is_sqlite:
            return True
        try:
            changed = self._db.writer.changed_elsewhere()
        except database_errors() as error:
            raise self._db.failed(error, "read the conversation", writing=False) from error
        if changed:
            self.cache.clear()
        return changed is not None

    def _cache_matches_database(self, cid: int, cached: list[Message]) -> bool:
        """A shared server may be written by other machines: check the newest message id, one index probe."""
        newest = self._messages.newest_id(cid)
        if (cached and newest == cached[-1].id) or (not cached and newest is None):
            return True
        self.cache.invalidate(cid)
        return False
