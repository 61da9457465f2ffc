"""The interfaces the core depends on; adapters implement them, only app.py picks the concrete class."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from desktop_app.core.models import (
    AuditEntry,
    Conversation,
    ConversationSummary,
    Fact,
    Message,
    Role,
    SearchHit,
    StoreHealth,
    StoreStats,
)


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
    """Streaming speech recognition over 16 kHz mono 16-bit audio. Used from one thread at a time."""

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

    def start_reply(self) -> None:
        """Begins a new reply, silencing any that is still playing."""
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


@dataclass(frozen=True, slots=True)
class ReplyPiece:
    """Part of an answer as it is produced; `source` names the skill or model it came from."""

    text: str
    source: str


class Brain(Protocol):
    """Turns what the user said into an answer, in pieces as they are ready."""

    def reply(self, text: str, conversation_id: int) -> Iterator[ReplyPiece]: ...

    def command_phrases(self) -> list[str]:
        """What people say to the built-in skills, for grammar-based recognition."""
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
        source: str | None = None,
    ) -> Message: ...

    def get_history(self, conversation_id: int, limit: int | None = None) -> list[Message]: ...

    def get_conversation(self, conversation_id: int) -> Conversation: ...

    def list_conversations(self, limit: int = 50, offset: int = 0) -> list[ConversationSummary]: ...

    def messages_between(
        self, start: datetime, end: datetime, role: Role | None = None, limit: int = 200
    ) -> list[Message]: ...

    def search(self, query: str, limit: int = 20, prefix: bool = False) -> list[SearchHit]: ...

    def rename_conversation(self, conversation_id: int, title: str) -> Conversation: ...

    def delete_conversation(self, conversation_id: int) -> None: ...

    def delete_all_conversations(self) -> int: ...

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
