"""The conversation store: SQL persistence with one writer and a bounded cache in front.

A thin facade over focused repositories that share one DatabaseHandle (engine, single writer, health):
conversations and messages behind the history cache, facts, audit, search, status, import; and, on the
same database and writer, the alarm book and the key ledger.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from desktop_app.core.history_cache import CacheLimits
from desktop_app.core.models import (
    DEFAULT_USER,
    AuditEntry,
    Conversation,
    ConversationSummary,
    Fact,
    Message,
    NewConversation,
    NewMessage,
    Role,
    SearchFilter,
    SearchHit,
    SearchPage,
    StoreHealth,
    StoreStats,
)
from desktop_app.core.reply_source import ReplySource
from desktop_app.core.validation import parse_id
from desktop_app.storage.alarms import SqlAlarmBook
from desktop_app.storage.audit import AuditLog
from desktop_app.storage.conversations import ConversationRepository
from desktop_app.storage.database import OpenedDatabase, open_database
from desktop_app.storage.facts import FactRepository
from desktop_app.storage.handle import DatabaseHandle
from desktop_app.storage.history import CachedHistory
from desktop_app.storage.importer import ConversationImporter
from desktop_app.storage.keys import SqlKeyLedger
from desktop_app.storage.messages import MessageRepository
from desktop_app.storage.search import MessageSearch
from desktop_app.storage.status import StoreStatus


class SqlConversationStore:
    """Implements core.ports.ConversationStore on SQLite (default) or PostgreSQL."""

    def __init__(
        self, opened: OpenedDatabase, cache_limits: CacheLimits | None = None, user_id: str = DEFAULT_USER
    ) -> None:
        self.database = DatabaseHandle(opened, user_id)
        # Tests reach the engine and the writer directly.
        self._engine = self.database.engine
        self._writer = self.database.writer
        self._conversations = ConversationRepository(self.database)
        self._messages = MessageRepository(self.database)
        self._history = CachedHistory(self.database, self._conversations, self._messages, cache_limits)
        self._facts = FactRepository(self.database)
        self._audit = AuditLog(self.database)
        self._search = MessageSearch(self.database)
        self._status = StoreStatus(self.database, self._history.cache)
        self._importer = ConversationImporter(self.database)
        # Timers and reminders, and API-key metadata and usage: same database, same writer.
        self.alarms = SqlAlarmBook(self.database)
        self.keys = SqlKeyLedger(self.database)
        for moved in opened.moved_aside[:1]:
            self.record_audit("database_moved_aside", str(moved), {"reason": "damaged"}, actor="system")

    @classmethod
    def open(cls, url: str, cache_limits: CacheLimits | None = None) -> SqlConversationStore:
        return cls(open_database(url), cache_limits)

    @property
    def url(self) -> str:
        return self.database.opened.url

    @property
    def notices(self) -> tuple[str, ...]:
        return self._status.notices

    @property
    def user_id(self) -> str:
        return self.database.user_id

    # -- conversations and messages (through the cache) ------------------------------------------------

    def create_conversation(self, title: str | None = None) -> Conversation:
        return self._history.create_conversation(title)

    def add_message(
        self,
        conversation_id: int,
        role: Role | str,
        content: str,
        *,
        tokens_input: int | None = None,
        tokens_output: int | None = None,
        timings: Mapping[str, float] | None = None,
        source: ReplySource | None = None,
    ) -> Message:
        """Saves one message; when this returns, it is committed. Bad input raises and writes nothing."""
        cid = parse_id(conversation_id)  # a bad id is reported before a bad message
        message = NewMessage(
            role,
            content,
            None,
            tokens_input,
            tokens_output,
            dict(timings) if timings else None,
            None if source is None else source.stored,
        )
        return self._history.add_message(cid, message)

    def get_history(self, conversation_id: int, limit: int | None = None) -> list[Message]:
        """The conversation's last `limit` messages (all when None), oldest first."""
        return self._history.get_history(conversation_id, limit)

    def delete_conversation(self, conversation_id: int) -> None:
        self._history.delete_conversation(conversation_id)

    def delete_all_conversations(self) -> int:
        return self._history.delete_all_conversations()

    def delete_conversations_older_than(self, cutoff: datetime) -> int:
        """The keep-for rule: deletes the conversations last added to before `cutoff`; how many."""
        return self._history.delete_conversations_older_than(cutoff)

    def rename_conversation(self, conversation_id: int, title: str) -> Conversation:
        return self._conversations.rename(conversation_id, title)

    def get_conversation(self, conversation_id: int) -> Conversation:
        return self._conversations.get(conversation_id)

    def list_conversations(
        self, limit: int = 50, offset: int = 0, after: ConversationSummary | None = None
    ) -> list[ConversationSummary]:
        """Newest first, each with the start of its latest message; `after`: the page after that row."""
        return self._conversations.summaries(limit, offset, after)

    def messages_between(
        self, start: datetime, end: datetime, role: Role | None = None, limit: int = 200, newest: bool = False
    ) -> list[Message]:
        """Messages in [start, end), oldest first; with `newest`, the latest `limit` of them (still oldest
        first)."""
        return self._messages.between(start, end, role, limit, newest)

    def search(self, query: str, limit: int = 20, prefix: bool = False) -> list[SearchHit]:
        """Ranked full-text matches, best first, each with the matching passage marked [like this]."""
        return self._search.search(query, limit, prefix)

    def search_page(
        self,
        query: str,
        *,
        prefix: bool = False,
        before: int | None = None,
        limit: int = 50,
        filters: SearchFilter | None = None,
    ) -> SearchPage:
        """Matches newest first, a page at a time, with the matching passage marked [like this] (see
        storage.search)."""
        return self._search.search_page(query, prefix=prefix, before=before, limit=limit, filters=filters)

    def import_conversations(self, items: Iterable[NewConversation], batch_size: int = 500) -> int:
        """Adds whole conversations (an import, a restore); the number of messages added."""
        return self._importer.import_conversations(items, batch_size)

    # -- facts -----------------------------------------------------------------------------------------

    def add_fact(self, text_: str, source_message_id: int | None = None) -> Fact:
        return self._facts.add(text_, source_message_id)

    def list_facts(self) -> list[Fact]:
        return self._facts.all()

    def delete_fact(self, fact_id: int) -> None:
        self._facts.delete(fact_id)

    def delete_all_facts(self) -> int:
        """Forgets every remembered fact of this user; how many there were."""
        return self._facts.delete_all()

    # -- audit, status, lifetime -----------------------------------------------------------------------

    def record_audit(
        self,
        action: str,
        target: str | None = None,
        details: Mapping[str, Any] | None = None,
        actor: str = "user",
    ) -> None:
        self._audit.record(action, target, details, actor)

    def list_audit(self, limit: int = 100) -> list[AuditEntry]:
        return self._audit.entries(limit)

    def stats(self) -> StoreStats:
        return self._status.stats()

    def health(self) -> StoreHealth:
        return self._status.health()

    def close(self) -> None:
        self.database.close()
