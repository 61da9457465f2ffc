"""The OpenAI chat-completions wire format: the streaming request body, the chunks of the answer, the error
bodies. Pure functions over text and JSON; nothing here does input or output."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

from desktop_app.core.chat import ChatMessage, ChatUsage

# Longest piece of server-provided text that goes into a message for people.
MAX_SERVER_TEXT = 300

_WHITESPACE = re.compile(r"\s+")
_MODEL_MISSING = re.compile(r"model.*(not (be )?found|does not exist|not exist|unknown|no such)|unknown model", re.I)


class ShapeError(ValueError):
    """A data line that is not a chunk of a chat-completions stream; the text says what was wrong."""


class ReportedError(Exception):
    """The server sent an error object inside the stream; the text is its message."""


@dataclass(frozen=True, slots=True)
class Chunk:
    """One `data:` line of the stream, reduced to what the client uses."""

    text: str  # answer text, possibly empty
    usage: ChatUsage | None  # present on the usage chunk only
    finished: bool  # the choice carried a finish_reason


@dataclass(frozen=True, slots=True)
class ErrorDetails:
    """What an error body said, as far as it could be read."""

    message: str | None = None
    code: str | None = None
    type: str | None = None

    def mentions_missing_model(self) -> bool:
        if self.code in {"model_not_found", "model_not_available"}:
            return True
        return self.message is not None and _MODEL_MISSING.search(self.message) is not None


def request_body(model: str, messages: Sequence[ChatMessage]) -> dict[str, Any]:
    return {
        "model": model,
        "messages": [{"role": message.role, "content": message.content} for message in messages],
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def is_done(data: str) -> bool:
    return data.strip() == "[DONE]"


def parse_chunk(data: str) -> Chunk:
    """Reads one data line. Raises ShapeError when it is not a chat-completion chunk and ReportedError when it
    is an error object."""
    try:
        payload = json.loads(data)
    except ValueError:
        raise ShapeError("a part of the answer is not valid JSON") from None
    if not isinstance(payload, dict):
        raise ShapeError("a part of the answer is not a JSON object")
    if payload.get("error") is not None:
        raise ReportedError(_describe(payload["error"]) or "no details given")
    usage = _usage(payload.get("usage"))
    choices = payload.get("choices")
    if choices is None:
        if usage is None:
            raise ShapeError("a part of the answer has no choices")
        return Chunk("", usage, finished=False)
    if not isinstance(choices, list):
        raise ShapeError("a part of the answer has choices that are not a list")
    if not choices:
        return Chunk("", usage, finished=False)
    choice = choices[0]
    if not isinstance(choice, dict):
        raise ShapeError("a part of the answer has a choice that is not an object")
    delta = choice.get("delta")
    if delta is None:
        delta = {}
    if not isinstance(delta, dict):
        raise ShapeError("a part of the answer has a delta that is not an object")
    content = delta.get("content")
    if content is None:
        content = ""
    if not isinstance(content, str):
        raise ShapeError("a part of the answer has content that is not text")
    return Chunk(content, usage, finished=choice.get("finish_reason") is not None)


def error_event_message(data: str) -> str:
    """The message of an `event: error` line, whose data may be JSON or plain text."""
    try:
        payload = json.loads(data)
    except ValueError:
        return trim(data) or "no details given"
    if isinstance(payload, dict) and "error" in payload:
        payload = payload["error"]
    return _describe(payload) or "no details given"


def error_details(body: bytes, content_type: str = "") -> ErrorDetails:
    """Reads an error response: OpenAI's `{"error": {"message", "type", "code"}}`, the `{"error": "..."}` and
    `{"message"|"detail": "..."}` shapes other servers use, or short plain text (never an HTML page)."""
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        return ErrorDetails()
    try:
        payload = json.loads(text)
    except ValueError:
        if "html" in content_type.lower() or text.startswith("<"):
            return ErrorDetails()
        return ErrorDetails(message=trim(text))
    if not isinstance(payload, dict):
        return ErrorDetails()
    error = payload.get("error")
    if isinstance(error, dict):
        return ErrorDetails(
            message=_describe(error), code=_text_or_none(error.get("code")), type=_text_or_none(error.get("type"))
        )
    if isinstance(error, str):
        return ErrorDetails(message=trim(error) or None)
    for key in ("message", "detail"):
        if isinstance(payload.get(key), str):
            return ErrorDetails(message=trim(payload[key]) or None)
    return ErrorDetails()


def trim(text: str, limit: int = MAX_SERVER_TEXT) -> str:
    """One line of at most `limit` characters, whitespace collapsed, cut with an ellipsis."""
    text = _WHITESPACE.sub(" ", text).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def _usage(value: object) -> ChatUsage | None:
    if not isinstance(value, dict):
        return None
    prompt, completion = value.get("prompt_tokens"), value.get("completion_tokens")
    if _count(prompt) and _count(completion):
        return ChatUsage(prompt, completion)
    return None


def _count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _describe(error: object) -> str:
    if isinstance(error, dict):
        message = error.get("message")
        return trim(message) if isinstance(message, str) else ""
    if isinstance(error, str):
        return trim(error)
    return ""


def _text_or_none(value: object) -> str | None:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None
