"""The models an OpenAI-compatible server offers (`GET {base_url}/models`): the Assistant settings' "List
models" button, and the cheapest request that tells whether an API key works (Settings > Keys > Test).

Failures are the chat client's (llm.failures): the same codes and words, the key never in them."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import httpx

from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.core.validation import is_loopback_host, is_web_address
from desktop_app.llm import wire
from desktop_app.llm.client import reason_for_people
from desktop_app.llm.failures import Failures, display_url

# Far more than any server's list of models (OpenAI's has about a hundred, a few KB each at most).
MAX_LIST_BYTES = 4 * 1024 * 1024
MAX_MODELS = 2000
DEFAULT_TIMEOUT_S = 10.0


def list_models(base_url: str, api_key: str | None = None, *, timeout: float = DEFAULT_TIMEOUT_S) -> list[str]:
    """The model names the server lists, sorted; AppError (LLM_*) when it cannot be asked or answers badly."""
    base_url = base_url.strip().rstrip("/")
    if not is_web_address(base_url):
        raise AppError(
            ErrorCode.INVALID_ARGUMENT,
            f"{display_url(base_url)!r} is not a web address. Use one like http://127.0.0.1:11434/v1.",
        )
    key = (api_key or "").strip() or None
    failures = Failures(base_url, "", key)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        with (
            httpx.Client(
                headers=headers,
                timeout=timeout,
                follow_redirects=False,
                trust_env=not is_loopback_host(urlsplit(base_url).hostname),
            ) as client,
            client.stream("GET", f"{base_url}/models") as response,
        ):
            body = _read_bounded(response, failures)
            if response.status_code == 404:
                raise AppError(
                    ErrorCode.LLM_BAD_REQUEST,
                    f"The server at {failures.server} has no list of models (HTTP 404 Not Found). Check the "
                    "address (it usually ends in /v1), or type the model's name.",
                )
            if response.status_code != 200:
                details = wire.error_details(body, response.headers.get("content-type", ""))
                raise failures.for_status(response.status_code, details, attempts=1, retry_after=None)
    except httpx.TimeoutException:
        raise failures.silent(timeout) from None
    except httpx.HTTPError as error:
        raise failures.unreachable(reason_for_people(error), attempts=1) from None
    return _names(body, failures)


def _read_bounded(response: httpx.Response, failures: Failures) -> bytes:
    body = bytearray()
    for part in response.iter_bytes():
        body += part
        if len(body) > MAX_LIST_BYTES:
            raise failures.unreadable(f"a list of models larger than {MAX_LIST_BYTES // (1024 * 1024)} MB")
    return bytes(body)


def _names(body: bytes, failures: Failures) -> list[str]:
    """OpenAI's shape, `{"data": [{"id": ...}, ...]}`, which Ollama, LM Studio and llama.cpp's server share."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise failures.unreadable("not JSON") from None
    entries = document.get("data") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise failures.unreadable("no list of models")
    names: set[str] = set()
    for entry in entries[:MAX_MODELS]:
        name = entry.get("id") if isinstance(entry, dict) else None
        if isinstance(name, str) and name.strip() and name.isprintable():
            names.add(wire.trim(name.strip(), 200))
    return sorted(names, key=str.lower)
