"""The language-model port: what the brain asks of a chat model, whichever server answers.

The OpenAI-compatible client in `desktop_app.llm` implements `ChatModel`; the brain only sees these types.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

ChatRole = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: ChatRole
    content: str


@dataclass(frozen=True, slots=True)
class TextDelta:
    """More answer text, as the server streamed it (any length, not sentence-aligned)."""

    text: str


@dataclass(frozen=True, slots=True)
class ChatUsage:
    """Tokens the request used. `estimated` is True when the server did not report them and they were
    counted from the text (about four characters a token)."""

    prompt_tokens: int
    completion_tokens: int
    estimated: bool = False


ChatEvent = TextDelta | ChatUsage


class ChatModel(Protocol):
    """One configured chat model on one server."""

    @property
    def model(self) -> str: ...

    def stream_chat(
        self, messages: Sequence[ChatMessage], *, cancel: threading.Event | None = None
    ) -> Generator[ChatEvent, None, None]:
        """Streams the answer: TextDelta items as they arrive, then exactly one ChatUsage last.

        Raises AppError with an LLM_* code (see core.errors) on failure; retries on 429/5xx/connect errors
        happen inside, before the first TextDelta only (never repeating text already given). When `cancel`
        is set the iterator stops within about 100 ms, even while waiting for a slow token, and the
        connection is closed; it then raises AppError(LLM_CANCELLED). Closing the iterator early also closes
        the connection."""
        ...

    def close(self) -> None: ...
