"""A local OpenAI-compatible chat server for tests (127.0.0.1, a free port, one thread per connection).

It speaks the chat-completions wire format as OpenAI's API does: `POST /v1/chat/completions` with
`"stream": true` answers 200 `text/event-stream` with chunked transfer encoding, one
`data: {"object": "chat.completion.chunk", ...}` event per token (the first delta carries the role), a last
chunk with `finish_reason`, a usage chunk (`"choices": []`) when `stream_options.include_usage` is true, then
`data: [DONE]`. Without `stream` it answers one `chat.completion` object. `GET /v1/models` lists the models.
Errors have OpenAI's shape `{"error": {"message", "type", "param", "code"}}`.

Each request takes the next planned answer from the script, or the default one when the script is empty:

    with OpenAIServer.start(reply=lambda messages: "You said: " + messages[-1]["content"]) as server:
        server.script(Fail(429, retry_after=0.1), Reply("Hello there", token_delay=0.05))
        ...  # point the client at server.base_url
        assert server.requests[0].authorization == "Bearer sk-test"

A Reply can be slow (before the headers, before the first token, between tokens), drop the connection after
K tokens, send a broken data line or an error object, or leave out the usage chunk or [DONE]. A Fail answers
an error status. Every request is recorded (headers, JSON body, tokens sent, and whether the client went away
before the answer was complete: the server watches the socket while it waits, so it notices at once).

`python tests/openai_server.py [--port N] [--reply TEXT]` runs one by hand and prints its base URL.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import re
import select
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Messages = list[dict[str, Any]]
TextSource = str | Callable[[Messages], str]

DEFAULT_MODEL = "test-model"
DEFAULT_TEXT = "Hello from the test server."
_TOKEN = re.compile(r"\S+\s*|\s+")
_DISCONNECTS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


def split_tokens(text: str) -> list[str]:
    """The pieces the server streams: each word with the spaces after it (joined, they give the text back)."""
    return _TOKEN.findall(text)


def prompt_tokens(messages: Messages) -> int:
    """The prompt token count the server reports: words plus four per message (deterministic, and unlike the
    client's four-characters-a-token estimate, so tests can tell which one they got)."""
    return sum(len(str(message.get("content", "")).split()) + 4 for message in messages)


@dataclass(frozen=True)
class Reply:
    """A successful answer. `text` may be a function of the received messages; `tokens` overrides the split.
    Delays are seconds. The fault fields count tokens: after `drop_after` tokens the connection is closed
    without [DONE]; after `malformed_after` a data line that is not JSON is sent; after `error_after` an
    error object is sent inside the stream and the body ends."""

    text: TextSource = DEFAULT_TEXT
    tokens: Sequence[str] | None = None
    header_delay: float = 0.0
    first_token_delay: float = 0.0
    token_delay: float = 0.0
    usage: bool = True
    done: bool = True
    finish_reason: str | None = "stop"
    drop_after: int | None = None
    malformed_after: int | None = None
    error_after: int | None = None
    error_message: str = "The server had an error while processing your request. Sorry about that!"
    content_type: str = "text/event-stream; charset=utf-8"


_FAIL_DEFAULTS: dict[int, tuple[str, str, str | None]] = {
    400: ("Invalid request: 'messages' is malformed.", "invalid_request_error", None),
    401: (
        "Incorrect API key provided. You can find your API key in your account settings.",
        "invalid_request_error",
        "invalid_api_key",
    ),
    403: ("You are not allowed to use this model.", "invalid_request_error", "unsupported_country_region_territory"),
    404: (
        "The model `{model}` does not exist or you do not have access to it.",
        "invalid_request_error",
        "model_not_found",
    ),
    422: ("Unprocessable request.", "invalid_request_error", None),
    429: ("Rate limit reached for requests. Please try again later.", "requests", "rate_limit_exceeded"),
    500: ("The server had an error while processing your request. Sorry about that!", "server_error", None),
    502: ("Bad gateway.", "server_error", None),
    503: ("The engine is currently overloaded, please try again later.", "server_error", None),
    504: ("Gateway timeout.", "server_error", None),
}


@dataclass(frozen=True)
class Fail:
    """An error answer in OpenAI's shape. Left out, `message`, `type` and `code` are what OpenAI sends for the
    status (with a `message` of its own, `code` stays null unless given). `message` may contain `{model}`.
    `body` sends raw text instead (an HTML page from a proxy, say); `retry_after` becomes the Retry-After
    header."""

    status: int
    message: str | None = None
    type: str | None = None
    code: str | None = None
    retry_after: float | str | None = None
    body: str | None = None
    content_type: str = "application/json"
    delay: float = 0.0


Plan = Reply | Fail


@dataclass
class RecordedRequest:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    raw_body: bytes
    body: Any  # the parsed JSON, None when it was not JSON
    received_at: float  # time.monotonic()
    peer: tuple[str, int]  # the client's address and port: equal for requests on one kept-alive connection
    plan: Plan | None = None
    status: int | None = None
    tokens_sent: int = 0
    disconnected: bool = False  # the client went away before the answer was complete
    finished_at: float | None = None
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")

    @property
    def messages(self) -> Messages:
        return list(self.body.get("messages", [])) if isinstance(self.body, dict) else []

    def wait_done(self, timeout: float = 5.0) -> RecordedRequest:
        """Waits until the server has finished with this request (answered, or seen the client leave)."""
        assert self.done.wait(timeout), f"the server was still answering {self.path} after {timeout} s"
        return self


class OpenAIServer:
    """See the module docstring. `reply` is the default plan (a Reply, a Fail, or text / a function of the
    messages). `models`, when given, are the only models it knows (others get 404 model_not_found);
    `api_key`, when given, is the only key it accepts (others get 401), for chat and the list of models
    alike; `models_delay` slows the list of models (a slow or distant server)."""

    def __init__(
        self,
        reply: Plan | TextSource = DEFAULT_TEXT,
        *,
        models: Sequence[str] | None = None,
        api_key: str | None = None,
        models_delay: float = 0.0,
        port: int = 0,
    ) -> None:
        self.default: Plan = reply if isinstance(reply, Reply | Fail) else Reply(reply)
        self.models = list(models) if models is not None else None
        self.api_key = api_key
        self.models_delay = models_delay
        self.errors: list[BaseException] = []  # unexpected exceptions in the handlers
        self._port = port
        self._script: deque[Plan] = deque()
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._ids = itertools.count(1)

    @classmethod
    def start(cls, reply: Plan | TextSource = DEFAULT_TEXT, **options: Any) -> OpenAIServer:
        return cls(reply, **options).serve()

    def serve(self) -> OpenAIServer:
        server = _HTTPServer(("127.0.0.1", self._port), _Handler)
        server.owner = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="openai-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> OpenAIServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "the server is not started"
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # -- scripting --

    def script(self, *plans: Plan) -> None:
        """Queues answers for the next requests to /chat/completions, in order; then the default answers."""
        with self._lock:
            self._script.extend(plans)

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self._requests.clear()
            self.errors.clear()

    # -- what happened --

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [request for request in self.requests if request.path.endswith("/chat/completions")]

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count:
            assert time.monotonic() < deadline, f"only {len(self.requests)} of {count} requests arrived"
            time.sleep(0.005)
        return self.requests

    def wait_for_disconnect(self, index: int = -1, timeout: float = 2.0) -> RecordedRequest:
        """Waits until request `index` is over and returns it; fails unless the client left early."""
        request = self.requests[index].wait_done(timeout)
        assert request.disconnected, "the client stayed connected until the answer was complete"
        return request

    # -- used by the handler --

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _next_plan(self) -> Plan:
        with self._lock:
            return self._script.popleft() if self._script else self.default

    def _next_id(self) -> str:
        return f"chatcmpl-test{next(self._ids):06d}"


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    owner: OpenAIServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if error is not None and not isinstance(error, _DISCONNECTS):
            self.owner.errors.append(error)


class _ClientGone(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    @property
    def owner(self) -> OpenAIServer:
        return self.server.owner

    def setup(self) -> None:
        super().setup()
        # Like real servers: each event leaves at once instead of waiting for the previous one's ACK.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # -- routing --

    def do_GET(self) -> None:
        record = self._receive(b"")
        path = self.path.split("?", 1)[0].rstrip("/")
        if path in ("/v1/models", "/models"):
            self._pause(self.owner.models_delay)
            if self.owner.api_key is not None and record.authorization != f"Bearer {self.owner.api_key}":
                self._send_error(record, Fail(401), model="")
                record.done.set()
                return
            created = int(time.time())
            names = self.owner.models if self.owner.models is not None else [DEFAULT_MODEL]
            data = [{"id": name, "object": "model", "created": created, "owned_by": "test"} for name in names]
            self._send_json(record, 200, {"object": "list", "data": data})
        else:
            self._send_error(record, Fail(404, f"Invalid URL (GET {path})", "invalid_request_error"), model="")
        record.done.set()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        record = self._receive(self.rfile.read(length) if length else b"")
        try:
            self._answer_post(record)
        except _ClientGone:
            record.disconnected = True
            self.close_connection = True
        finally:
            record.finished_at = time.monotonic()
            record.done.set()

    def _receive(self, raw: bytes) -> RecordedRequest:
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        record = RecordedRequest(
            method=self.command,
            path=self.path,
            headers={name.lower(): value for name, value in self.headers.items()},
            raw_body=raw,
            body=body,
            received_at=time.monotonic(),
            peer=(str(self.client_address[0]), int(self.client_address[1])),
        )
        self.owner._record(record)
        return record

    def _answer_post(self, record: RecordedRequest) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        if path not in ("/v1/chat/completions", "/chat/completions"):
            self._send_error(record, Fail(404, f"Invalid URL (POST {path})", "invalid_request_error"), model="")
            return
        body = record.body
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            message = "We could not parse the JSON body of your request." if body is None else "'messages' is required"
            self._send_error(record, Fail(400, message, "invalid_request_error"), model="")
            return
        model = str(body.get("model", ""))
        owner = self.owner
        if owner.api_key is not None and record.authorization != f"Bearer {owner.api_key}":
            self._send_error(record, Fail(401), model=model)
            return
        if owner.models is not None and model not in owner.models:
            self._send_error(record, Fail(404), model=model)
            return
        plan = owner._next_plan()
        record.plan = plan
        if isinstance(plan, Fail):
            self._pause(plan.delay)
            self._send_error(record, plan, model=model)
        elif body.get("stream"):
            self._stream(record, plan, model, body)
        else:
            self._complete(record, plan, model, body)

    # -- answers --

    def _tokens(self, plan: Reply, messages: Messages) -> list[str]:
        if plan.tokens is not None:
            return list(plan.tokens)
        text = plan.text(messages) if callable(plan.text) else plan.text
        return split_tokens(text)

    def _complete(self, record: RecordedRequest, plan: Reply, model: str, body: dict[str, Any]) -> None:
        self._pause(plan.header_delay + plan.first_token_delay)
        tokens = self._tokens(plan, body["messages"])
        record.tokens_sent = len(tokens)
        prompt = prompt_tokens(body["messages"])
        self._send_json(
            record,
            200,
            {
                "id": self.owner._next_id(),
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "system_fingerprint": "fp_test",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "".join(tokens), "refusal": None},
                        "logprobs": None,
                        "finish_reason": plan.finish_reason or "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": len(tokens),
                    "total_tokens": prompt + len(tokens),
                },
            },
        )

    def _stream(self, record: RecordedRequest, plan: Reply, model: str, body: dict[str, Any]) -> None:
        if not self._pause(plan.header_delay):
            raise _ClientGone
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        tokens = self._tokens(plan, body["messages"])
        record.status = 200
        try:
            self.send_response(200)
            self.send_header("Content-Type", plan.content_type)
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
        except _DISCONNECTS as error:
            raise _ClientGone from error

        chunk_id, created = self.owner._next_id(), int(time.time())

        def chunk(choices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
            data: dict[str, Any] = {
                "id": chunk_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_test",
                "choices": choices,
            }
            if include_usage:
                data["usage"] = None
            data.update(extra)
            return data

        def delta(content: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
            return chunk([{"index": 0, "delta": content, "logprobs": None, "finish_reason": finish_reason}])

        if not self._pause(plan.first_token_delay):
            raise _ClientGone
        self._event(delta({"role": "assistant", "content": "", "refusal": None}))
        for index, token in enumerate(tokens):
            if index == plan.drop_after:
                self._drop()
                return
            if index == plan.malformed_after:
                self._send_chunk(b'data: {"id": "chatcmpl-broken", "choices": [{"delta": {"content": "\n\n')
                self._end_body()
                return
            if index == plan.error_after:
                self._stream_error(plan)
                return
            if index > 0 and not self._pause(plan.token_delay):
                raise _ClientGone
            self._event(delta({"content": token}))
            record.tokens_sent += 1
        count = len(tokens)
        if plan.drop_after is not None and plan.drop_after >= count:
            self._drop()
            return
        if plan.error_after is not None and plan.error_after >= count:
            self._stream_error(plan)
            return
        if plan.finish_reason is not None:
            self._event(delta({}, plan.finish_reason))
        if include_usage and plan.usage:
            prompt = prompt_tokens(body["messages"])
            usage = {"prompt_tokens": prompt, "completion_tokens": count, "total_tokens": prompt + count}
            self._event(chunk([], usage=usage))
        if plan.done:
            self._send_chunk(b"data: [DONE]\n\n")
        self._end_body()

    def _stream_error(self, plan: Reply) -> None:
        error = {"error": {"message": plan.error_message, "type": "server_error", "param": None, "code": None}}
        self._event(error)
        self._end_body()

    def _send_error(self, record: RecordedRequest, fail: Fail, *, model: str) -> None:
        message, kind, code = _FAIL_DEFAULTS.get(fail.status, ("Error.", "server_error", None))
        if fail.body is not None:
            payload = fail.body.encode()
        else:
            error = {
                "message": (fail.message if fail.message is not None else message).replace("{model}", model),
                "type": fail.type if fail.type is not None else kind,
                "param": None,
                "code": fail.code if fail.code is not None or fail.message is not None else code,
            }
            payload = json.dumps({"error": error}).encode()
        headers = {} if fail.retry_after is None else {"Retry-After": str(fail.retry_after)}
        self._send_bytes(record, fail.status, payload, fail.content_type, headers)

    def _send_json(self, record: RecordedRequest, status: int, payload: Mapping[str, Any]) -> None:
        self._send_bytes(record, status, json.dumps(payload).encode(), "application/json", {})

    def _send_bytes(
        self, record: RecordedRequest, status: int, payload: bytes, content_type: str, headers: Mapping[str, str]
    ) -> None:
        record.status = status
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except _DISCONNECTS as error:
            raise _ClientGone from error

    # -- the stream's pieces --

    def _event(self, payload: Mapping[str, Any]) -> None:
        self._send_chunk(b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n")

    def _send_chunk(self, data: bytes) -> None:
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        except _DISCONNECTS as error:
            raise _ClientGone from error

    def _end_body(self) -> None:
        try:
            self.wfile.write(b"0\r\n\r\n")
        except _DISCONNECTS as error:
            raise _ClientGone from error

    def _drop(self) -> None:
        """Closes the connection in the middle of the body (no [DONE], no end of the chunked body)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _pause(self, seconds: float) -> bool:
        """Waits, watching the socket: False as soon as the client closes the connection (or the server
        stops)."""
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            if self.owner._stopping.is_set():
                return False
            readable, _, _ = select.select([self.connection], [], [], min(remaining, 0.05))
            if readable:
                try:
                    peeked = self.connection.recv(1, socket.MSG_PEEK)
                except OSError:
                    peeked = b""
                if not peeked:
                    return False
                time.sleep(min(remaining, 0.01))  # the client sent more (a next request): keep waiting
        return True

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()


def main() -> None:
    parser = argparse.ArgumentParser(description="Runs a local OpenAI-compatible chat server until Ctrl+C.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--reply", default=None, help="the answer to every question (default: echo the question)")
    parser.add_argument("--token-delay", type=float, default=0.05)
    args = parser.parse_args()

    def echo(messages: Messages) -> str:
        return f"You said: {messages[-1].get('content', '') if messages else ''}"

    text: TextSource = args.reply if args.reply is not None else echo
    with OpenAIServer.start(Reply(text, token_delay=args.token_delay), port=args.port) as server:
        print(server.base_url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
