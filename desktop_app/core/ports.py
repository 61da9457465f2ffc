"""The interfaces the core depends on; adapters implement them, only app.py picks the concrete class."""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from desktop_app.core.errors import ErrorCode
from desktop_app.core.models import (
    Alarm,
    AlarmKind,
    AlarmStatus,
    ApiKeyInfo,
    AuditEntry,
    Conversation,
    ConversationSummary,
    Fact,
    KeyUsage,
    Message,
    Role,
    SearchFilter,
    SearchHit,
    SearchPage,
    StoreHealth,
    StoreStats,
)
from desktop_app.core.reply_source import ReplySource


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    confidence: float | None = None


@dataclass(frozen=True, slots=True)
class VoiceInfo:
    id: str
    name: str
    languages: tuple[str, ...] = ()


class Recognizer(Protocol):
    """Streaming speech recognition over audio in SPEECH_FORMAT (core.audio_format). Used from one thread at a
    time."""

    name: str

    def start_utterance(self) -> None: ...

    def feed(self, pcm16: bytes) -> str | None:
        """Adds audio; returns the partial text when it changed, else None."""
        ...

    def finish(self) -> Transcript: ...

    def cancel(self) -> None: ...


class Speaker(Protocol):
    """Speaks replies sentence by sentence on the chosen output device; reports through an event listener
    given when it is made (SpeakingStarted, SpeakingFinished, TurnFailed)."""

    def start_reply(self, keep: bool = True) -> None:
        """Begins a new reply, silencing any that is still playing. `keep` False: nothing of it is written
        to disk (an answer in a conversation that is not saved: its rendered speech is not cached)."""
        ...

    def add_text(self, text: str) -> None:
        """More reply text; complete sentences are rendered and played in order, the first while the next
        renders."""
        ...

    def end_reply(self) -> None:
        """No more text for this reply: what is left is spoken, then SpeakingFinished."""
        ...

    def stop(self) -> None:
        """Silence within 50 ms and drop everything queued (barge-in)."""
        ...

    def is_speaking(self) -> bool: ...

    def voices(self) -> list[VoiceInfo]: ...

    def close(self) -> None: ...


class ReplyAction(StrEnum):
    """Something the voice loop itself must do after a reply, beyond speaking it."""

    NEW_CONVERSATION = "new_conversation"  # the next turn starts a fresh conversation
    STOP = "stop"  # "stop", "never mind": silence; the short reply is kept in the history but not spoken


@dataclass(frozen=True, slots=True)
class ReplyPiece:
    """Part of an answer as it is produced; `source` names the skill or model it came from. A language
    model's last piece carries the tokens the request used (empty text); a control skill's carries an
    action. `spoken` is what the speaker says instead of `text` when the two differ (a long paragraph is
    shown in full and said in one sentence). A piece that says why no answer could be given has an error
    source (see `failure`)."""

    text: str
    source: ReplySource
    tokens_input: int | None = None
    tokens_output: int | None = None
    action: ReplyAction | None = None
    spoken: str | None = None

    @classmethod
    def failure(cls, code: ErrorCode, message: str) -> ReplyPiece:
        """The answer is the failure's message; it is kept with the source "error:<code>"."""
        return cls(message, ReplySource.failure(code))

    @property
    def to_say(self) -> str:
        return self.text if self.spoken is None else self.spoken


@dataclass(slots=True)
class CollectedReply:
    """A whole answer put together from its pieces: the text, where it came from, the tokens it used and
    what the voice loop must do after it. core.turn_runner keeps one for every turn."""

    parts: list[str] = field(default_factory=list)
    source: ReplySource | None = None  # the last piece's
    tokens_input: int | None = None
    tokens_output: int | None = None
    action: ReplyAction | None = None

    def add(self, piece: ReplyPiece) -> None:
        self.source = piece.source
        if piece.text:
            self.parts.append(piece.text)
        if piece.tokens_input is not None:
            self.tokens_input = (self.tokens_input or 0) + piece.tokens_input
        if piece.tokens_output is not None:
            self.tokens_output = (self.tokens_output or 0) + piece.tokens_output
        self.action = piece.action or self.action

    @property
    def error(self) -> ErrorCode | None:
        """Why the answer is a failure's message, when it is."""
        return None if self.source is None else self.source.error

    @property
    def text(self) -> str:
        """The answer as stored: trimmed, never empty."""
        return "".join(self.parts).strip() or "…"


class Brain(Protocol):
    """Turns what the user said into an answer, in pieces as they are ready."""

    def reply(
        self, text: str, conversation_id: int, cancel: threading.Event | None = None
    ) -> Generator[ReplyPiece, None, None]:
        """`cancel` set (push-to-talk pressed again) ends the answer early; a language model's request is
        abandoned within about 100 ms."""
        ...

    def command_phrases(self) -> list[str]:
        """Sentences people say to the built-in skills, for the recogniser's domain language model."""
        ...

    def understands(self, text: str) -> bool:
        """Whether a built-in skill takes `text` as a command it can answer."""
        ...


EventListener = Callable[[object], None]


class ConversationStore(Protocol):
    """Every conversation, fact and audit entry. Writes are committed when the call returns."""

    def create_conversation(self, title: str | None = None) -> Conversation: ...

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
    ) -> Message: ...

    def get_history(self, conversation_id: int, limit: int | None = None) -> list[Message]: ...

    def get_conversation(self, conversation_id: int) -> Conversation: ...

    def list_conversations(
        self, limit: int = 50, offset: int = 0, after: ConversationSummary | None = None
    ) -> list[ConversationSummary]: ...

    def messages_between(
        self, start: datetime, end: datetime, role: Role | None = None, limit: int = 200, newest: bool = False
    ) -> list[Message]: ...

    def search(self, query: str, limit: int = 20, prefix: bool = False) -> list[SearchHit]: ...

    def search_page(
        self,
        query: str,
        *,
        prefix: bool = False,
        before: int | None = None,
        limit: int = 50,
        filters: SearchFilter | None = None,
    ) -> SearchPage: ...

    def rename_conversation(self, conversation_id: int, title: str) -> Conversation: ...

    def delete_conversation(self, conversation_id: int) -> None: ...

    def delete_all_conversations(self) -> int: ...

    def delete_conversations_older_than(self, cutoff: datetime) -> int: ...

    def add_fact(self, text: str) -> Fact: ...

    def list_facts(self) -> list[Fact]: ...

    def delete_fact(self, fact_id: int) -> None: ...

    def record_audit(
        self,
        action: str,
        target: str | None = None,
        details: Mapping[str, Any] | None = None,
        actor: str = "user",
    ) -> None: ...

    def list_audit(self, limit: int = 100) -> Sequence[AuditEntry]: ...

    def stats(self) -> StoreStats: ...

    def health(self) -> StoreHealth: ...

    def close(self) -> None: ...


class AlarmBook(Protocol):
    """Timers and reminders that outlive the process. Times are aware datetimes."""

    def add(
        self,
        kind: AlarmKind,
        label: str,
        due_at: datetime,
        *,
        duration_seconds: int | None = None,
        conversation_id: int | None = None,
    ) -> Alarm: ...

    def pending(self, kind: AlarmKind | None = None) -> list[Alarm]: ...

    def due(self, now: datetime) -> list[Alarm]: ...

    def next_due_at(self) -> datetime | None: ...

    def claim(self, alarm_id: int, status: AlarmStatus, now: datetime) -> bool:
        """Pending -> fired/missed/cancelled; False when another process claimed it first."""
        ...

    def cancel(self, alarm_id: int, now: datetime) -> None: ...


class KeyLedger(Protocol):
    """API-key metadata (never the secret) and per-key usage for the limits."""

    def add_key(
        self,
        name: str,
        provider: str,
        base_url: str | None,
        keychain_ref: str,
        fingerprint: str,
        *,
        requests_per_minute: int | None = None,
        tokens_per_day: int | None = None,
    ) -> ApiKeyInfo: ...

    def get_key(self, name: str) -> ApiKeyInfo: ...

    def list_keys(self) -> list[ApiKeyInfo]: ...

    def delete_key(self, name: str) -> None: ...

    def set_limits(self, name: str, requests_per_minute: int | None, tokens_per_day: int | None) -> ApiKeyInfo: ...

    def set_fingerprint(self, name: str, fingerprint: str) -> ApiKeyInfo: ...

    def usage(self, key_id: int | None, now: datetime, day_start: datetime) -> KeyUsage: ...

    def begin_request(
        self,
        key_id: int | None,
        model: str,
        now: datetime,
        day_start: datetime,
        allow: Callable[[KeyUsage], None],
    ) -> int:
        """Counts a request unless `allow` raises, in one transaction; returns the usage record's id."""
        ...

    def finish_request(self, usage_id: int, tokens_input: int, tokens_output: int, outcome: str) -> None: ...


class AppStore(ConversationStore, Protocol):
    """The store the desktop app opens: conversations, and the API keys' records beside them."""

    @property
    def keys(self) -> KeyLedger: ...

    @property
    def alarms(self) -> AlarmBook: ...

    def delete_all_facts(self) -> int: ...
