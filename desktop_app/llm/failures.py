"""What went wrong with a language-model request, told to people: each failure becomes an AppError with an
LLM_* code and a message that says what happened and what to do. Server-provided text is trimmed and the API
key (or anything shaped like one) is taken out of every message."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.core.validation import is_loopback_host
from desktop_app.llm.wire import ErrorDetails, trim

SETTINGS = "Settings > Language model"

# Tokens that look like credentials: provider key prefixes (sk-, rk-, pk-, gsk_, xai-) and bearer values.
_KEY_LIKE = re.compile(r"\b(?:sk|rk|pk|gsk|xai)[-_][A-Za-z0-9*_\-.]{6,}|(?i:bearer)\s+\S+")

_STATUS_NAMES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def display_url(url: str) -> str:
    """The server address as shown to people: without user name, password, query or fragment."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port: int | str | None = parts.port
    except ValueError:  # not a port at all ("http://host:99999"): shown as written, without any user name
        port = parts.netloc.rpartition("@")[2].rpartition(":")[2]
    netloc = host if port is None else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def _clause(text: str) -> str:
    """Server text to quote inside a sentence: trimmed, without its closing full stop."""
    return trim(text).rstrip(" .")


def redact(text: str, api_key: str | None) -> str:
    if api_key:
        text = text.replace(api_key, "[key hidden]")
    return _KEY_LIKE.sub("[key hidden]", text)


class Failures:
    """Builds the errors of one configured server and model."""

    def __init__(self, base_url: str, model: str, api_key: str | None) -> None:
        self.server = display_url(base_url)
        self._local = is_loopback_host(urlsplit(base_url).hostname)
        self.model = model
        self._api_key = api_key

    def _error(self, code: ErrorCode, message: str) -> AppError:
        return AppError(code, redact(message, self._api_key))

    def _said(self, details: ErrorDetails) -> str:
        return f": {_clause(details.message)}" if details.message else ""

    # -- answers with an error status --

    def for_status(self, status: int, details: ErrorDetails, *, attempts: int, retry_after: float | None) -> AppError:
        name = f"HTTP {status}" + (f" {_STATUS_NAMES[status]}" if status in _STATUS_NAMES else "")
        tries = f" after {attempts} tries" if attempts > 1 else ""
        if status in (401, 403):
            if self._api_key is None:
                return self._error(
                    ErrorCode.LLM_KEY_REJECTED,
                    f"The language model server at {self.server} asks for an API key ({name}). "
                    f"Add one in {SETTINGS}, or turn on offline mode.",
                )
            return self._error(
                ErrorCode.LLM_KEY_REJECTED,
                f"The language model server at {self.server} rejected the API key ({name}). "
                f"Check the key in {SETTINGS}, or turn on offline mode.",
            )
        if status == 429:
            if details.code == "insufficient_quota":
                return self._error(
                    ErrorCode.LLM_RATE_LIMITED,
                    f"The account behind the API key has no quota left at {self.server}{self._said(details)}. "
                    "Check your plan and billing with the provider, or turn on offline mode.",
                )
            wait = (
                f"wait {retry_after:.0f} seconds" if retry_after is not None and retry_after >= 1 else "wait a minute"
            )
            return self._error(
                ErrorCode.LLM_RATE_LIMITED,
                f"The language model server at {self.server} is limiting requests ({name}){tries}. "
                f"Please {wait} and ask again.",
            )
        if 400 <= status < 500 and details.mentions_missing_model():
            return self._error(
                ErrorCode.LLM_MODEL_NOT_FOUND,
                f"The language model server at {self.server} has no model named '{self.model}'. "
                f"Pick one it offers in {SETTINGS}"
                + (f" (with Ollama, `ollama pull {self.model}` downloads it)." if self._local else "."),
            )
        if status == 404:
            return self._error(
                ErrorCode.LLM_MODEL_NOT_FOUND,
                f"The language model server at {self.server} answered {name}. Check the server address (it "
                f"usually ends in /v1) and the model name '{self.model}' in {SETTINGS}.",
            )
        if 400 <= status < 500:
            return self._error(
                ErrorCode.LLM_BAD_REQUEST,
                f"The language model server at {self.server} refused the request ({name})"
                f"{self._said(details)}. Check the model settings in {SETTINGS}, or start a new conversation "
                "if this one is very long.",
            )
        return self._error(
            ErrorCode.LLM_SERVER_ERROR,
            f"The language model server at {self.server} failed ({name}){tries}{self._said(details)}. "
            "Try again later, or turn on offline mode.",
        )

    # -- the connection --

    def unreachable(self, reason: str, *, attempts: int) -> AppError:
        tries = f", {attempts} tries" if attempts > 1 else ""
        return self._error(
            ErrorCode.LLM_UNREACHABLE,
            f"The language model server at {self.server} cannot be reached ({reason}{tries}). Check that it is "
            f"running and that the address in {SETTINGS} is right, or turn on offline mode.",
        )

    def hung_up(self, *, attempts: int) -> AppError:
        tries = f" ({attempts} tries)" if attempts > 1 else ""
        return self._error(
            ErrorCode.LLM_SERVER_ERROR,
            f"The language model server at {self.server} closed the connection without answering{tries}. "
            "Try again later, or turn on offline mode.",
        )

    def silent(self, seconds: float) -> AppError:
        return self._error(
            ErrorCode.LLM_TIMEOUT,
            f"The language model server at {self.server} sent nothing for {seconds:g} seconds. It may be busy "
            "or still loading the model: try again in a moment.",
        )

    def too_long(self, seconds: float) -> AppError:
        return self._error(
            ErrorCode.LLM_TIMEOUT,
            f"The language model at {self.server} took longer than {seconds:g} seconds to answer, so the answer "
            "was stopped. Try again, or ask for a shorter answer.",
        )

    # -- the stream --

    def not_a_stream(self, content_type: str) -> AppError:
        shown = content_type or "no content type"
        return self._error(
            ErrorCode.LLM_MALFORMED_STREAM,
            f"The language model server at {self.server} answered with {trim(shown, 60)} instead of a stream of "
            f"events. Check that the address in {SETTINGS} is an OpenAI-compatible server (it usually ends "
            "in /v1).",
        )

    def unreadable(self, what: str) -> AppError:
        return self._error(
            ErrorCode.LLM_MALFORMED_STREAM,
            f"The language model server at {self.server} sent an answer that cannot be read ({what}). Check "
            f"that the address in {SETTINGS} is an OpenAI-compatible server, or try another model.",
        )

    def cut_off(self) -> AppError:
        return self._error(
            ErrorCode.LLM_MALFORMED_STREAM,
            f"The language model server at {self.server} closed the connection before the answer was complete. "
            "Try again.",
        )

    def reported(self, message: str) -> AppError:
        return self._error(
            ErrorCode.LLM_SERVER_ERROR,
            f"The language model server at {self.server} reported an error while answering: {_clause(message)}. "
            "Try again later.",
        )

    def cancelled(self) -> AppError:
        return AppError(ErrorCode.LLM_CANCELLED, "The answer from the language model was cancelled.")

    def shut_down(self) -> AppError:
        return AppError(ErrorCode.LLM_CANCELLED, "The language model connection was shut down.")
