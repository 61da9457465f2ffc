"""Plain data the store hands out: nothing above storage ever holds an ORM row or a session."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from desktop_app.core.reply_source import ReplySource, SourceKind

# Timing keys of an interrupted answer: when it was stopped (ms after the key was released) and how many of
# its characters had been spoken by then.
INTERRUPTED_AT_MS = "interrupted_at_ms"
SPOKEN_CHARS = "spoken_chars"


def spoken_prefix_length(text: str, spoken_sentences: list[str]) -> int:
    """How much of `text` the sentences that started playing cover, in characters (the speaker gets the
    text in sentences, in order, so what was heard is a beginning of it)."""
    end = 0
    for sentence in spoken_sentences:
        words = sentence.strip()
        if not words:
            continue
        found = text.find(words, end)
        end = found + len(words) if found >= 0 else min(len(text), end + len(words) + 1)
    return end


class Role(StrEnum):
    USER = "user"
    ASSISTANT = "assistant"
    SYSTEM = "system"


# Longest message the store accepts, in characters. A spoken turn is a few hundred characters and a
# language-model answer a few thousand; anything near this limit is a runaway paste or a bug.
MAX_CONTENT_CHARS = 100_000
MAX_TITLE_CHARS = 200
MAX_FACT_CHARS = 2_000
DEFAULT_USER = "local"


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    conversation_id: int
    role: Role
    content: str
    created_at: datetime
    tokens_input: int | None = None
    tokens_output: int | None = None
    timings: dict[str, float] | None = None
    source: str | None = None  # as stored; see `origin`

    @property
    def origin(self) -> ReplySource | None:
        """Where an answer came from (None for the user's words, and for a stored source of another form)."""
        return ReplySource.parse(self.source)

    @property
    def interrupted(self) -> bool:
        """An answer the user stopped (or the app was closed on) while it was written or spoken."""
        return self.timings is not None and INTERRUPTED_AT_MS in self.timings

    @property
    def spoken_text(self) -> str | None:
        """What the user heard of an interrupted answer (None for an answer that ran to its end)."""
        if not self.interrupted or self.timings is None:
            return None
        return self.content[: int(self.timings.get(SPOKEN_CHARS, 0))]


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to import, with its original time when it has one."""

    role: Role | str
    content: str
    created_at: datetime | None = None
    tokens_input: int | None = None
    tokens_output: int | None = None
    timings: dict[str, float] | None = None
    source: str | None = None


@dataclass(frozen=True, slots=True)
class NewConversation:
    title: str
    messages: tuple[NewMessage, ...]
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Conversation:
    id: int
    title: str
    created_at: datetime
    updated_at: datetime
    user_id: str = DEFAULT_USER
    message_count: int = 0


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    """One row of the history list."""

    conversation: Conversation
    preview: str


@dataclass(frozen=True, slots=True)
class Fact:
    id: int
    text: str
    created_at: datetime
    user_id: str = DEFAULT_USER


@dataclass(frozen=True, slots=True)
class SearchHit:
    message_id: int
    conversation_id: int
    conversation_title: str
    role: Role
    created_at: datetime
    snippet: str
    score: float
    source: ReplySource | None = None  # where an answer came from; None for the user's words


@dataclass(frozen=True, slots=True)
class SearchFilter:
    """What a history search keeps besides its words: messages written in [since, until), and only those
    whose origin is in `origins` (Role.USER for the user's own words, a SourceKind for answers); None: all."""

    since: datetime | None = None
    until: datetime | None = None
    origins: frozenset[Role | SourceKind] | None = None


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of a history search, newest first. `next_before`: pass it as `before` for the next page;
    None when every match has been seen."""

    hits: tuple[SearchHit, ...]
    next_before: int | None


@dataclass(frozen=True, slots=True)
class StoreStats:
    conversations_in_memory: int
    messages_in_memory: int
    bytes_in_memory: int
    conversations_in_db: int
    messages_in_db: int
    facts_in_db: int
    cache_hits: int = 0
    cache_misses: int = 0
    database_bytes: int | None = None  # on disk (SQLite: the file and its journal); None when unknown


@dataclass(frozen=True, slots=True)
class StoreHealth:
    """Whether writes currently work; the UI shows `message` when they do not."""

    writable: bool
    code: str | None = None
    message: str | None = None
    notices: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    details: dict[str, Any] | None


class AlarmKind(StrEnum):
    TIMER = "timer"
    REMINDER = "reminder"
    ALARM = "alarm"


class AlarmStatus(StrEnum):
    PENDING = "pending"
    FIRED = "fired"  # announced when it was due
    MISSED = "missed"  # ran out while the app was closed; announced at the next start
    CANCELLED = "cancelled"


MAX_ALARM_LABEL_CHARS = 200


@dataclass(frozen=True, slots=True)
class Alarm:
    """A timer ("pasta", ten minutes), a reminder ("call mum", at five pm) or an alarm (seven am tomorrow,
    its label a name or empty). Times are aware UTC."""

    id: int
    kind: AlarmKind
    label: str
    created_at: datetime
    due_at: datetime
    status: AlarmStatus = AlarmStatus.PENDING
    duration_seconds: int | None = None
    finished_at: datetime | None = None
    conversation_id: int | None = None


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """What the app knows about a stored key; the secret itself is only in the OS keychain."""

    id: int
    name: str
    provider: str
    base_url: str | None
    keychain_ref: str
    fingerprint: str
    created_at: datetime
    last_used_at: datetime | None
    requests_per_minute: int | None
    tokens_per_day: int | None
    tokens_input_total: int = 0
    tokens_output_total: int = 0


@dataclass(frozen=True, slots=True)
class KeyUsage:
    """A key's recent use, for its limits: requests begun in the last minute, tokens since local midnight."""

    requests_last_minute: int
    tokens_today: int
