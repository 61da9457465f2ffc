"""Token counts estimated from text, for when no server has counted them (a stopped request, a server that
reports no usage). A key's daily token limit is enforced with these, so every rounding goes up."""

from __future__ import annotations

import math
from collections.abc import Sequence

from desktop_app.core.chat import ChatMessage

CHARS_PER_TOKEN = 4
# What the chat format adds to every message (its role and separators), as OpenAI counts it.
TOKENS_PER_MESSAGE = 4


def estimate_tokens(text: str) -> int:
    """About four characters a token, rounded up: any text is at least one token, empty text none. Sum it
    over the pieces of an answer as they stream, not over the whole answer: a server streams about a token
    a piece, so the sum is at least the number of pieces, whatever the language."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def estimate_prompt_tokens(messages: Sequence[ChatMessage]) -> int:
    """A request's tokens: each message's text and what the format adds to it."""
    return sum(estimate_tokens(message.content) + TOKENS_PER_MESSAGE for message in messages)
