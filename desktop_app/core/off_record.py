"""Conversations that are answered but not kept: history switched off in Settings > Privacy, or "Don't save
this conversation" in the window.

`RecordSwitch` stands in front of the app's store. A conversation started while saving is off lives in
memory only (`MemoryConversations`) and has a negative id, which no stored conversation has; everything
about it (its messages, the context the language model is sent, the history skill's "what did I ask") goes
to memory by that id, and nothing of it reaches the database, the search index or the log. What is not a
conversation goes to the store as always: remembered facts ("remember that ..." asks for exactly that),
timers and reminders (they must ring; they are kept without a link to the unsaved conversation), API-key
usage, and the history list and search, which show only what was saved.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from desktop_app.core.errors import ErrorCode, NotFoundError
from desktop_app.core.models import (
    Alarm,
    AlarmKind,
    AlarmStatus,
    AuditEntry,
    Conversation,
    ConversationSummary,
    Fact,
    Message,
    Role,
    SearchFilter,
    SearchHit,
    SearchPage,
    StoreHealth,
    StoreStats,
)
from desktop_app.core.ports import AlarmBook, AppStore, KeyLedger
from desktop_app.core.reply_source import ReplySource
from desktop_app.core.validation import title_from_text


def is_unsaved(conversation_id: int | None) -> bool:
    return conversation_id is not None and conversation_id < 0


@dataclass
class _Unsaved:
    conversation: Conversation
    messages: list[Message] = field(default_factory=list)


class MemoryConversations:
    """Conversations and their messages in this process's memory, with negative ids. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(-1, -1)
        self._message_ids = itertools.count(-1, -1)
        self._conversations: dict[int, _Unsaved] = {}

    def create(self, title: str | None) -> Conversation:
        now = datetime.now(UTC)
        with self._lock:
            conversation = Conversation(next(self._ids), title or "", now, now)
            self._conversations[conversation.id] = _Unsaved(conversation)
        return conversation

    def add(self, conversation_id: int, message: Message) -> Message:
        with self._lock:
            held = self._find(conversation_id)
            kept = replace(message, id=next(self._message_ids))
            held.messages.append(kept)
            title = held.conversation.title or (title_from_text(message.content) if message.role is Role.USER else "")
            held.conversation = replace(
                held.conversation, title=title, updated_at=kept.created_at, message_count=len(held.messages)
            )
        return kept

    def history(self, conversation_id: int, limit: int | None) -> list[Message]:
        with self._lock:
            messages = list(self._find(conversation_id).messages)
        return messages if limit is None else messages[-limit:] if limit > 0 else []

    def get(self, conversation_id: int) -> Conversation:
        with self._lock:
            return self._find(conversation_id).conversation

    def rename(self, conversation_id: int, title: str) -> Conversation:
        with self._lock:
            held = self._find(conversation_id)
            held.conversation = replace(held.conversation, title=title)
            return held.conversation

    def delete(self, conversation_id: int) -> None:
        with self._lock:
            self._find(conversation_id)
            del self._conversations[conversation_id]

    def clear(self) -> None:
        with self._lock:
            self._conversations.clear()

    def _find(self, conversation_id: int) -> _Unsaved:
        held = self._conversations.get(conversation_id)
        if held is None:
            raise NotFoundError(ErrorCode.UNKNOWN_CONVERSATION, f"There is no conversation {conversation_id}.")
        return held


class _Alarms:
    """The store's alarms; one set in an unsaved conversation is kept without the link to it."""

    def __init__(self, book: AlarmBook) -> None:
        self._book = book

    def add(
        self,
        kind: AlarmKind,
        label: str,
        due_at: datetime,
        *,
        duration_seconds: int | None = None,
        conversation_id: int | None = None,
    ) -> Alarm:
        linked = None if is_unsaved(conversation_id) else conversation_id
        return self._book.add(kind, label, due_at, duration_seconds=duration_seconds, conversation_id=linked)

    def pending(self, kind: AlarmKind | None = None) -> list[Alarm]:
        return self._book.pending(kind)

    def due(self, now: datetime) -> list[Alarm]:
        return self._book.due(now)

    def next_due_at(self) -> datetime | None:
        return self._book.next_due_at()

    def claim(self, alarm_id: int, status: AlarmStatus, now: datetime) -> bool:
        return self._book.claim(alarm_id, status, now)

    def cancel(self, alarm_id: int, now: datetime) -> None:
        self._book.cancel(alarm_id, now)


class RecordSwitch:
    """core.ports.AppStore in front of `store`: conversations started while `saving` is False are kept in
    memory only. `history_on` follows the history.save setting; `private` is the window's "Don't save this
    conversation" switch. Either change applies to conversations started afterwards."""

    def __init__(self, store: AppStore, alarms: AlarmBook, *, history_on: bool = True) -> None:
        self._store = store
        self._memory = MemoryConversations()
        self.alarms = _Alarms(alarms)
        self.history_on = history_on
        self.private = False

    @property
    def saving(self) -> bool:
        return self.history_on and not self.private

    @property
    def keys(self) -> KeyLedger:
        return self._store.keys

    # -- conversations: memory or the store, by id -------------------------------------------------------

    def create_conversation(self, title: str | None = None) -> Conversation:
        return self._store.create_conversation(title) if self.saving else self._memory.create(title)

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
        if not is_unsaved(conversation_id):
            return self._store.add_message(
                conversation_id,
                role,
                content,
                tokens_input=tokens_input,
                tokens_output=tokens_output,
                timings=timings,
                source=source,
            )
        message = Message(
            0,
            conversation_id,
            Role(role),
            content,
            datetime.now(UTC),
            tokens_input,
            tokens_output,
            dict(timings) if timings else None,
            None if source is None else source.stored,
        )
        return self._memory.add(conversation_id, message)

    def get_history(self, conversation_id: int, limit: int | None = None) -> list[Message]:
        if is_unsaved(conversation_id):
            return self._memory.history(conversation_id, limit)
        return self._store.get_history(conversation_id, limit)

    def get_conversation(self, conversation_id: int) -> Conversation:
        if is_unsaved(conversation_id):
            return self._memory.get(conversation_id)
        return self._store.get_conversation(conversation_id)

    def rename_conversation(self, conversation_id: int, title: str) -> Conversation:
        if is_unsaved(conversation_id):
            return self._memory.rename(conversation_id, title)
        return self._store.rename_conversation(conversation_id, title)

    def delete_conversation(self, conversation_id: int) -> None:
        if is_unsaved(conversation_id):
            self._memory.delete(conversation_id)
        else:
            self._store.delete_conversation(conversation_id)

    def delete_all_conversations(self) -> int:
        self._memory.clear()
        return self._store.delete_all_conversations()

    # -- everything else: the store ------------------------------------------------------------------------

    def list_conversations(
        self, limit: int = 50, offset: int = 0, after: ConversationSummary | None = None
    ) -> list[ConversationSummary]:
        return self._store.list_conversations(limit, offset, after)

    def messages_between(
        self, start: datetime, end: datetime, role: Role | None = None, limit: int = 200, newest: bool = False
    ) -> list[Message]:
        return self._store.messages_between(start, end, role, limit, newest)

    def search(self, query: str, limit: int = 20, prefix: bool = False) -> list[SearchHit]:
        return self._store.search(query, limit, prefix)

    def search_page(
        self,
        query: str,
        *,
        prefix: bool = False,
        before: int | None = None,
        limit: int = 50,
        filters: SearchFilter | None = None,
    ) -> SearchPage:
        return self._store.search_page(query, prefix=prefix, before=before, limit=limit, filters=filters)

    def delete_conversations_older_than(self, cutoff: datetime) -> int:
        return self._store.delete_conversations_older_than(cutoff)

    def add_fact(self, text: str) -> Fact:
        return self._store.add_fact(text)

    def list_facts(self) -> list[Fact]:
        return self._store.list_facts()

    def delete_fact(self, fact_id: int) -> None:
        self._store.delete_fact(fact_id)

    def delete_all_facts(self) -> int:
        return self._store.delete_all_facts()

    def record_audit(
        self,
        action: str,
        target: str | None = None,
        details: Mapping[str, Any] | None = None,
        actor: str = "user",
    ) -> None:
        self._store.record_audit(action, target, details, actor)

    def list_audit(self, limit: int = 100) -> Sequence[AuditEntry]:
        return self._store.list_audit(limit)

    def stats(self) -> StoreStats:
        return self._store.stats()

    def health(self) -> StoreHealth:
        return self._store.health()

    def close(self) -> None:
        self._memory.clear()
