"""How the store is doing: counts in memory and in the database, and whether it can write."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from desktop_app.core.errors import AppError
from desktop_app.core.history_cache import HistoryCache
from desktop_app.core.models import StoreHealth, StoreStats
from desktop_app.storage.database import SIDE_FILES
from desktop_app.storage.handle import DatabaseHandle
from desktop_app.storage.schema import conversations, facts, messages


class StoreStatus:
    def __init__(self, db: DatabaseHandle, cache: HistoryCache) -> None:
        self._db = db
        self._cache = cache

    @property
    def notices(self) -> tuple[str, ...]:
        return tuple(self._db.opened.notices)

    def _database_bytes(self) -> int | None:
        path = self._db.sqlite_path
        if path is None:
            try:
                size = self._db.read(
                    lambda c: c.exec_driver_sql("SELECT pg_database_size(current_database())").scalar(),
                    "measure the database",
                )
            except AppError:
                return None
            return None if size is None else int(size)
        total = 0
        for part in (path, *(path.with_name(path.name + suffix) for suffix in SIDE_FILES)):
            try:
                total += part.stat().st_size
            except OSError:
                continue
        return total

    def stats(self) -> StoreStats:
        in_memory, messages_in_memory, memory_bytes = self._cache.counts()
        user = self._db.user_id

        def query(connection: Connection) -> tuple[int, int, int]:
            conversation_count = connection.scalar(
                select(func.count()).select_from(conversations).where(conversations.c.user_id == user)
            )
            message_count = connection.scalar(
                select(func.count()).select_from(messages.join(conversations)).where(conversations.c.user_id == user)
            )
            fact_count = connection.scalar(select(func.count()).select_from(facts).where(facts.c.user_id == user))
            return int(conversation_count or 0), int(message_count or 0), int(fact_count or 0)

        db_conversations, db_messages, db_facts = self._db.read(query, "count the conversations")
        return StoreStats(
            database_bytes=self._database_bytes(),
            conversations_in_memory=in_memory,
            messages_in_memory=messages_in_memory,
            bytes_in_memory=memory_bytes,
            conversations_in_db=db_conversations,
            messages_in_db=db_messages,
            facts_in_db=db_facts,
            cache_hits=self._cache.hits,
            cache_misses=self._cache.misses,
        )

    def health(self) -> StoreHealth:
        failure = self._db.failure
        if failure is None:
            return StoreHealth(True, notices=self.notices)
        return StoreHealth(False, failure.code.value, failure.message, self.notices)
