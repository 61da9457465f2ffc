"""A streaming chat client for any server that speaks OpenAI's chat-completions API (OpenAI itself, Ollama,
llama.cpp, vLLM, LM Studio, ...). It implements `core.chat.ChatModel`.

How a turn runs:
- A worker thread sends `POST {base_url}/chat/completions` with `"stream": true` and reads the server-sent
  events (httpx-sse). It puts TextDelta items, then one final item (the usage) or one error, on a queue.
- The iterator the caller holds waits on that queue in short slices, so it sees `cancel`, and the total time
  limit, within a few tens of milliseconds even while the server sends nothing.
- To stop a turn, the iterator shuts the client's sockets down. Closing a socket from another thread neither
  wakes a read blocked on it nor tells the server (the kernel keeps the connection until the read returns);
  `shutdown()` does both. The sockets are known through httpx's documented `trace` extension, which reports
  each connection the client opens, so even a request still waiting for its response headers on a reused
  connection is stopped at once. The client is meant for one turn at a time: stopping a turn also closes
  any other connection it has open, which costs only a reconnect.

Retries: tenacity runs the attempts (exponential backoff with jitter, `Retry-After` honoured and capped, never
sleeping past the turn's time limit, a sleep that `cancel` interrupts). Only connect failures, a connection
closed before any answer, 429 and 500/502/503/504 are retried, and all of those happen before the first
TextDelta, so text already given is never repeated.

The API key goes only into the Authorization header: never into a message, a log line or an exception.
"""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import socket
import threading
import time
import weakref
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from httpx_sse import EventSource, ServerSentEvent
from tenacity import RetryCallState, Retrying, retry_if_exception_type, wait_exponential, wait_random

from desktop_app.core.chat import ChatEvent, ChatMessage, ChatUsage, TextDelta
from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.core.tokens import estimate_prompt_tokens, estimate_tokens
from desktop_app.core.validation import is_loopback_host, is_web_address
from desktop_app.llm import wire
from desktop_app.llm.failures import Failures, display_url

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
POLL_INTERVAL = 0.02  # how often the caller's side looks at `cancel` while it waits for the server
JOIN_TIMEOUT = 1.0  # how long a stopped turn waits for its worker thread to end
DRAIN_GRACE = 0.25  # after [DONE], how long the rest of the response may take before the connection is dropped
MAX_ERROR_BODY = 64 * 1024


@dataclass(frozen=True, slots=True)
class _Finished:
    usage: ChatUsage


@dataclass(frozen=True, slots=True)
class _Failed:
    error: AppError


_Item = TextDelta | _Finished | _Failed


class _Retryable(Exception):
    """An attempt failed in a way another attempt may fix; `error` is what to report if none does."""

    def __init__(self, error: AppError, retry_after: float | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.retry_after = retry_after


class _Stopped(Exception):
    """The turn was abandoned by its caller (cancel, close, time limit): end quietly."""


class _Sockets:
    """Every socket the HTTP client opened (weakly held), so a turn can be torn down from another thread."""

    _OPENED = frozenset({"connection.connect_tcp.complete", "connection.start_tls.complete"})

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()

    def trace(self, event: str, info: Mapping[str, Any]) -> None:
        """httpx's `trace` request extension: called for each step of a request."""
        if event in self._OPENED:
            self.add(info.get("return_value"))

    def add(self, stream: object) -> None:
        get_extra_info = getattr(stream, "get_extra_info", None)
        if get_extra_info is None:
            return
        try:
            sock = get_extra_info("socket")
        except Exception:  # a transport that does not know the question
            return
        if isinstance(sock, socket.socket):
            with self._lock:
                self._sockets.add(sock)

    def shutdown_all(self) -> None:
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class OpenAICompatibleChat:
    """One model on one OpenAI-compatible server. `base_url` is the API root, e.g. `http://127.0.0.1:11434/v1`
    or `https://api.openai.com/v1`; `api_key` is None for servers that need none.

    Time limits: `connect_timeout` to open the connection, `read_timeout` the longest wait for the next piece
    of the answer (the first one included), `total_timeout` for the whole turn, retries included. A failed
    attempt is retried at most `max_retries` times, waiting about `backoff_base` * 2**n seconds plus jitter
    (or what the server's Retry-After asks), never more than `max_backoff`. `transport` replaces httpx's
    network transport (for tests or proxies); `extra_headers` are sent with every request."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        total_timeout: float = 120.0,
        max_retries: int = 2,
        backoff_base: float = 0.5,
        max_backoff: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        base_url = base_url.strip().rstrip("/")
        if not is_web_address(base_url):
            raise AppError(
                ErrorCode.INVALID_ARGUMENT,
                f"The language model server address {display_url(base_url)!r} is not a web address. Use one "
                "like http://127.0.0.1:11434/v1 or https://api.openai.com/v1.",
            )
        if not model.strip():
            raise AppError(ErrorCode.INVALID_ARGUMENT, "No language model is named. Pick one in Settings.")
        if min(connect_timeout, read_timeout, total_timeout) <= 0 or max_retries < 0 or backoff_base < 0:
            raise AppError(ErrorCode.INVALID_ARGUMENT, "Time limits must be positive and retries not negative.")
        key = (api_key or "").strip() or None
        if key is not None and not (key.isascii() and key.isprintable()):
            raise AppError(
                ErrorCode.INVALID_ARGUMENT,
                "The API key contains characters a key cannot have. Paste it again in Settings.",
            )
        self._base_url = base_url
        self._url = f"{base_url}/chat/completions"
        self._model = model.strip()
        self._read_timeout = read_timeout
        self._total_timeout = total_timeout
        self._max_retries = max_retries
        self._backoff = wait_exponential(multiplier=backoff_base, max=max_backoff) + wait_random(0, backoff_base)
        self._max_backoff = max_backoff
        self._failures = Failures(base_url, self._model, key)
        headers = dict(extra_headers or {})
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        self._client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(connect=connect_timeout, read=read_timeout, write=read_timeout, pool=connect_timeout),
            transport=transport,
            follow_redirects=False,
            # A server on this machine is reached directly, whatever proxy the environment names.
            trust_env=not is_loopback_host(urlsplit(base_url).hostname),
        )
        self._sockets = _Sockets()
        self._lock = threading.Lock()
        self._turns: set[_Turn] = set()
        self._closed = False

    @property
    def model(self) -> str:
        return self._model

    @property
    def server(self) -> str:
        """The server address as shown to people."""
        return self._failures.server

    def __enter__(self) -> OpenAICompatibleChat:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def stream_chat(
        self, messages: Sequence[ChatMessage], *, cancel: threading.Event | None = None
    ) -> Generator[ChatEvent, None, None]:
        """See `core.chat.ChatModel.stream_chat`. Nothing is sent until the iterator is first advanced."""
        return self._stream(list(messages), cancel)

    def close(self) -> None:
        """Stops any turn still running (it raises LLM_CANCELLED) and closes the connections. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            turns = list(self._turns)
        for turn in turns:
            turn.abandon(self._failures.shut_down())
        for turn in turns:
            turn.join(JOIN_TIMEOUT)
        self._client.close()

    # -- the caller's side --

    def _stream(self, messages: list[ChatMessage], cancel: threading.Event | None) -> Generator[ChatEvent, None, None]:
        if cancel is not None and cancel.is_set():
            raise self._failures.cancelled()
        turn = _Turn(self, messages)
        with self._lock:
            if self._closed:
                raise self._failures.shut_down()
            self._turns.add(turn)
        finished = False
        try:
            turn.start()
            while True:
                if cancel is not None and cancel.is_set():
                    log.debug("chat request to %s cancelled", self.server)
                    raise turn.abandon(self._failures.cancelled())
                try:
                    item = turn.items.get(timeout=POLL_INTERVAL)
                except queue.Empty:
                    if time.monotonic() >= turn.deadline:
                        error = self._failures.too_long(self._total_timeout)
                        log.warning("chat request to %s failed: %s (%s)", self.server, error.code, error.message)
                        raise turn.abandon(error) from None
                    continue
                if isinstance(item, _Failed):
                    raise item.error
                if isinstance(item, _Finished):
                    finished = True
                    yield item.usage
                    return
                yield item
        finally:
            turn.end(finished)
            with self._lock:
                self._turns.discard(turn)


class _Turn:
    """One streamed answer: the worker thread's side, and the handles the caller's side stops it with."""

    def __init__(self, chat: OpenAICompatibleChat, messages: list[ChatMessage]) -> None:
        self._chat = chat
        self._messages = messages
        self._failures = chat._failures
        self.items: queue.Queue[_Item] = queue.Queue()
        self.deadline = time.monotonic() + chat._total_timeout
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="llm-stream", daemon=True)
        self._attempts = 0
        self._started = time.monotonic()

    # -- called from the caller's thread --

    def start(self) -> None:
        self._started = time.monotonic()
        self.deadline = self._started + self._chat._total_timeout
        self._thread.start()

    def abandon(self, error: AppError) -> AppError:
        """Stops the worker at once (its sockets are shut down) and hands `error` to whoever waits."""
        self._stop.set()
        self._chat._sockets.shutdown_all()
        self.items.put(_Failed(error))
        return error

    def join(self, timeout: float) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    def end(self, finished: bool) -> None:
        """The caller is done with the turn. After a complete answer the worker may still be reading the end of
        the response (so the connection can be reused): it gets a moment for that, then is stopped."""
        if finished:
            self.join(DRAIN_GRACE)
        if self._thread.is_alive():
            self._stop.set()
            self._chat._sockets.shutdown_all()
            self.join(JOIN_TIMEOUT)
            if self._thread.is_alive():
                log.warning("the chat worker thread did not stop within %.1f s", JOIN_TIMEOUT)
        self._stop.set()

    # -- the worker thread --

    def _run(self) -> None:
        chars = sum(len(message.content) for message in self._messages)
        log.debug(
            "chat request to %s: model %s, %d messages, %d characters",
            self._failures.server,
            self._chat.model,
            len(self._messages),
            chars,
        )
        retrying = Retrying(
            stop=self._give_up,
            wait=self._wait,
            retry=retry_if_exception_type(_Retryable),
            sleep=self._sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            retrying(self._attempt)
        except _Stopped:
            pass
        except _Retryable as failure:
            self._fail(failure.error)
        except AppError as error:
            self._fail(error)
        except Exception as error:
            if not self._stop.is_set():
                log.warning("chat request to %s failed unexpectedly", self._failures.server, exc_info=True)
                self._fail(self._failures.unreadable(type(error).__name__))

    def _fail(self, error: AppError) -> None:
        if self._stop.is_set():
            return
        log.warning(
            "chat request to %s failed after %.0f ms and %d attempt(s): %s (%s)",
            self._failures.server,
            (time.monotonic() - self._started) * 1000,
            self._attempts,
            error.code,
            error.message,
        )
        self.items.put(_Failed(error))

    def _give_up(self, state: RetryCallState) -> bool:
        return state.attempt_number > self._chat._max_retries or (
            time.monotonic() + state.upcoming_sleep >= self.deadline
        )

    def _wait(self, state: RetryCallState) -> float:
        failure = state.outcome.exception() if state.outcome is not None else None
        if isinstance(failure, _Retryable) and failure.retry_after is not None:
            return min(failure.retry_after, self._chat._max_backoff)
        return float(self._chat._backoff(state))

    def _sleep(self, seconds: float) -> None:
        if self._stop.wait(seconds):
            raise _Stopped

    def _log_retry(self, state: RetryCallState) -> None:
        failure = state.outcome.exception() if state.outcome is not None else None
        log.warning(
            "chat request to %s: attempt %d of %d failed (%s), retrying in %.2f s",
            self._failures.server,
            state.attempt_number,
            self._chat._max_retries + 1,
            failure.error.code if isinstance(failure, _Retryable) else failure,
            state.upcoming_sleep,
        )

    def _attempt(self) -> None:
        if self._stop.is_set():
            raise _Stopped
        self._attempts += 1
        client = self._chat._client
        request = client.build_request(
            "POST",
            self._chat._url,
            json=wire.request_body(self._chat.model, self._messages),
            headers={"Accept": "text/event-stream", "Cache-Control": "no-store"},
            extensions={"trace": self._chat._sockets.trace},
        )
        try:
            response = client.send(request, stream=True)
        except httpx.HTTPError as error:
            if self._stop.is_set():
                raise _Stopped from error
            raise self._send_failure(error) from error
        try:
            self._chat._sockets.add(response.extensions.get("network_stream"))
            if not response.is_success:
                raise self._status_failure(response)
            content_type = response.headers.get("content-type", "")
            if content_type.partition(";")[0].strip().lower() != "text/event-stream":
                raise self._failures.not_a_stream(content_type.partition(";")[0].strip())
            self._read(EventSource(response))
        except httpx.HTTPError as error:
            if self._stop.is_set():
                raise _Stopped from error
            raise self._body_failure(error) from error
        finally:
            response.close()

    def _read(self, source: EventSource) -> None:
        events = source.iter_sse()
        answer_chars = answer_tokens = 0
        first_text_at: float | None = None
        usage: ChatUsage | None = None
        finish_seen = False
        for event in events:
            if self._stop.is_set():
                raise _Stopped
            if time.monotonic() >= self.deadline:
                raise self._failures.too_long(self._chat._total_timeout)
            if event.event == "error":
                raise self._failures.reported(wire.error_event_message(event.data))
            if wire.is_done(event.data):
                self._finish(usage, answer_chars, answer_tokens, first_text_at)
                self._drain(events)
                return
            if not event.data.strip():
                continue
            try:
                chunk = wire.parse_chunk(event.data)
            except wire.ShapeError as error:
                raise self._failures.unreadable(str(error)) from None
            except wire.ReportedError as error:
                raise self._failures.reported(str(error)) from None
            usage = chunk.usage or usage
            finish_seen = finish_seen or chunk.finished
            if chunk.text:
                if first_text_at is None:
                    first_text_at = time.monotonic()
                answer_chars += len(chunk.text)
                answer_tokens += estimate_tokens(chunk.text)  # piece by piece, as the brain counts a stopped answer
                self.items.put(TextDelta(chunk.text))
        if finish_seen:
            # The body ended cleanly after the model said it had finished: some servers leave out [DONE].
            self._finish(usage, answer_chars, answer_tokens, first_text_at)
            return
        raise self._failures.cut_off()

    def _finish(
        self, usage: ChatUsage | None, answer_chars: int, answer_tokens: int, first_text_at: float | None
    ) -> None:
        final = usage or ChatUsage(estimate_prompt_tokens(self._messages), answer_tokens, estimated=True)
        now = time.monotonic()
        log.debug(
            "chat answer from %s: first text after %s, complete after %.0f ms, %d characters, %d+%d tokens%s",
            self._failures.server,
            "-" if first_text_at is None else f"{(first_text_at - self._started) * 1000:.0f} ms",
            (now - self._started) * 1000,
            answer_chars,
            final.prompt_tokens,
            final.completion_tokens,
            " (estimated)" if final.estimated else "",
        )
        self.items.put(_Finished(final))

    def _drain(self, events: Iterator[ServerSentEvent]) -> None:
        """Reads what follows [DONE] (normally just the end of the body) so the connection can be reused."""
        with contextlib.suppress(httpx.HTTPError):
            for _ in events:
                if self._stop.is_set():
                    return

    def _status_failure(self, response: httpx.Response) -> Exception:
        body = bytearray()
        with contextlib.suppress(httpx.HTTPError):
            for part in response.iter_bytes():
                body += part
                if len(body) >= MAX_ERROR_BODY:
                    break
        status = response.status_code
        details = wire.error_details(bytes(body[:MAX_ERROR_BODY]), response.headers.get("content-type", ""))
        retry_after = _retry_after(response.headers.get("retry-after"))
        error = self._failures.for_status(status, details, attempts=self._attempts, retry_after=retry_after)
        if status in RETRY_STATUSES and details.code != "insufficient_quota":
            return _Retryable(error, retry_after)
        return error

    def _send_failure(self, error: httpx.HTTPError) -> Exception:
        """A failure before any response arrived."""
        if isinstance(error, httpx.ConnectTimeout):
            return _Retryable(self._failures.unreachable("no answer to the connection", attempts=self._attempts))
        if isinstance(error, httpx.ConnectError):
            return _Retryable(self._failures.unreachable(reason_for_people(error), attempts=self._attempts))
        if isinstance(error, httpx.TimeoutException):
            return self._failures.silent(self._chat._read_timeout)
        if isinstance(error, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
            return _Retryable(self._failures.hung_up(attempts=self._attempts))
        return self._failures.unreachable(reason_for_people(error), attempts=self._attempts)

    def _body_failure(self, error: httpx.HTTPError) -> AppError:
        """A failure while the answer was streaming."""
        if isinstance(error, httpx.TimeoutException):
            return self._failures.silent(self._chat._read_timeout)
        if isinstance(error, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
            return self._failures.cut_off()
        return self._failures.unreadable(reason_for_people(error))


def reason_for_people(error: Exception) -> str:
    """A short reason for people, from a network error (which never contains the request's headers)."""
    text = wire.trim(str(error), 120)
    if "Connection refused" in text:
        return "connection refused"
    if "Name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
        return "the server name is unknown"
    return text or type(error).__name__


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: a number (fractions accepted) or an HTTP date."""
    if value is None or not value.strip():
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, OverflowError):
            return None
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)
