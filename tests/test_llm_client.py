"""The OpenAI-compatible streaming chat client against a real local server speaking the real wire format."""

from __future__ import annotations

import ast
import itertools
import json
import logging
import math
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai_server import Fail, OpenAIServer, Reply, prompt_tokens, split_tokens

from desktop_app.core.chat import ChatEvent, ChatMessage, ChatModel, ChatUsage, TextDelta
from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.llm.client import OpenAICompatibleChat

KEY = "sk-test-Zq8v3LmN0pRt5WxY"
MODEL = "test-model"
MESSAGES = [ChatMessage("system", "You are a helpful assistant."), ChatMessage("user", "Tell me about foxes.")]
ANSWER = "The quick brown fox jumps over the lazy dog."

MakeClient = Callable[..., OpenAICompatibleChat]


def _stream_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "llm-stream" and thread.is_alive()]


def _wait_no_stream_threads(timeout: float = 1.0) -> None:
    deadline = time.monotonic() + timeout
    while _stream_threads():
        assert time.monotonic() < deadline, "a chat worker thread is still running"
        time.sleep(0.01)


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer.start(ANSWER) as server:
        yield server
    assert server.errors == []


@pytest.fixture
def make_client(server: OpenAIServer) -> Iterator[MakeClient]:
    clients: list[OpenAICompatibleChat] = []

    def make(base_url: str | None = None, api_key: str | None = KEY, **options: Any) -> OpenAICompatibleChat:
        settings: dict[str, Any] = {
            "connect_timeout": 1.0,
            "read_timeout": 1.0,
            "total_timeout": 5.0,
            "backoff_base": 0.01,
        }
        settings.update(options)
        client = OpenAICompatibleChat(base_url or server.base_url, MODEL, api_key, **settings)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
    _wait_no_stream_threads()


@pytest.fixture
def client(make_client: MakeClient) -> OpenAICompatibleChat:
    return make_client()


def _collect(events: Iterator[ChatEvent]) -> tuple[list[ChatEvent], AppError | None]:
    """Everything the iterator gave before it ended, and the error it ended with (None when it finished)."""
    seen: list[ChatEvent] = []
    try:
        for event in events:
            seen.append(event)
    except AppError as error:
        return seen, error
    return seen, None


def _failure(events: Iterator[ChatEvent]) -> tuple[list[ChatEvent], AppError]:
    seen, error = _collect(events)
    assert error is not None, f"the stream finished without an error: {seen}"
    return seen, error


def _text(events: list[ChatEvent]) -> str:
    return "".join(event.text for event in events if isinstance(event, TextDelta))


def _expected_server_usage(tokens: int) -> ChatUsage:
    sent = [{"role": message.role, "content": message.content} for message in MESSAGES]
    return ChatUsage(prompt_tokens(sent), tokens)


# -- the answer --


def test_is_a_chat_model(client: OpenAICompatibleChat) -> None:
    model: ChatModel = client
    assert model.model == MODEL


def test_streams_the_tokens_in_order_and_ends_with_the_servers_usage(client: OpenAICompatibleChat) -> None:
    events, error = _collect(client.stream_chat(MESSAGES))

    assert error is None
    deltas = [event for event in events if isinstance(event, TextDelta)]
    assert [delta.text for delta in deltas] == split_tokens(ANSWER)
    assert all(delta.text for delta in deltas)  # the role-only first chunk gives no empty delta
    assert events[-1] == _expected_server_usage(len(split_tokens(ANSWER)))
    assert sum(isinstance(event, ChatUsage) for event in events) == 1


def test_estimates_the_usage_when_the_server_reports_none(server: OpenAIServer, client: OpenAICompatibleChat) -> None:
    server.script(Reply(ANSWER, usage=False))

    events, error = _collect(client.stream_chat(MESSAGES))

    assert error is None
    # Four characters a token, rounded up, for each message (plus four for its role) and each streamed piece,
    # as the brain charges a stopped request; not below the server's own count of the same request.
    prompt = sum(math.ceil(len(message.content) / 4) + 4 for message in MESSAGES)
    answer = sum(math.ceil(len(piece) / 4) for piece in split_tokens(ANSWER))
    assert events[-1] == ChatUsage(prompt, answer, estimated=True)
    counted = _expected_server_usage(len(split_tokens(ANSWER)))
    assert prompt >= counted.prompt_tokens and answer >= counted.completion_tokens
    assert _text(events) == ANSWER
    assert sum(isinstance(event, ChatUsage) for event in events) == 1


def test_the_first_token_arrives_long_before_the_whole_answer(
    server: OpenAIServer, client: OpenAICompatibleChat
) -> None:
    server.script(Reply("one two three four five six seven eight nine ten", token_delay=0.05))
    started = time.monotonic()
    first_at: float | None = None

    for event in client.stream_chat(MESSAGES):
        if isinstance(event, TextDelta) and first_at is None:
            first_at = time.monotonic() - started
    total = time.monotonic() - started

    assert first_at is not None
    assert total >= 0.45  # nine pauses of 50 ms between ten tokens
    assert first_at < 0.15 and first_at < total / 3


def test_the_answer_may_depend_on_the_question(server: OpenAIServer, client: OpenAICompatibleChat) -> None:
    server.default = Reply(lambda messages: f"You asked: {messages[-1]['content']}")

    events, _ = _collect(client.stream_chat([ChatMessage("user", "what time is it")]))

    assert _text(events) == "You asked: what time is it"


def test_a_server_that_leaves_out_done_after_the_last_chunk_is_accepted(
    server: OpenAIServer, client: OpenAICompatibleChat
) -> None:
    server.script(Reply(ANSWER, done=False))

    events, error = _collect(client.stream_chat(MESSAGES))

    assert error is None
    assert _text(events) == ANSWER
    assert events[-1] == _expected_server_usage(len(split_tokens(ANSWER)))


def test_turns_reuse_one_connection(server: OpenAIServer, client: OpenAICompatibleChat) -> None:
    for _ in range(3):
        _, error = _collect(client.stream_chat(MESSAGES))
        assert error is None

    peers = {request.peer for request in server.chat_requests}
    assert len(server.chat_requests) == 3 and len(peers) == 1


# -- the request --


def test_the_request_body_and_headers(server: OpenAIServer, make_client: MakeClient) -> None:
    client = make_client(base_url=server.base_url + "/", extra_headers={"X-Title": "Voice Assistant"})
    _collect(client.stream_chat(MESSAGES))

    [request] = server.requests
    assert request.method == "POST" and request.path == "/v1/chat/completions"
    assert request.body == {
        "model": MODEL,
        "messages": [{"role": message.role, "content": message.content} for message in MESSAGES],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    assert request.authorization == f"Bearer {KEY}"
    assert request.headers["accept"] == "text/event-stream"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-title"] == "Voice Assistant"


def test_no_authorization_header_without_a_key(server: OpenAIServer, make_client: MakeClient) -> None:
    client = make_client(api_key=None)
    _, error = _collect(client.stream_chat(MESSAGES))

    assert error is None
    assert "authorization" not in server.requests[0].headers


def test_nothing_is_sent_until_the_iterator_is_advanced(server: OpenAIServer, client: OpenAICompatibleChat) -> None:
    events = client.stream_chat(MESSAGES)
    time.sleep(0.05)
    assert server.requests == []

    next(events)
    assert len(server.requests) == 1
    events.close()


# -- errors from the server --


def test_a_rejected_key_is_not_retried_and_never_shown(
    server: OpenAIServer, client: OpenAICompatibleChat, caplog: pytest.LogCaptureFixture
) -> None:
    # OpenAI's own answer repeats the key it was given.
    server.default = Fail(401, message=f"Incorrect API key provided: {KEY}. Find your key at the dashboard.")
    caplog.set_level(logging.DEBUG)

    _, error = _failure(client.stream_chat(MESSAGES))

    assert error.code == ErrorCode.LLM_KEY_REJECTED
    assert server.base_url in error.message and "key" in error.message
    assert KEY not in error.message and KEY[:10] not in error.message
    assert KEY not in caplog.text and KEY[:10] not in caplog.text
    assert len(server.chat_requests) == 1


def test_a_server_that_needs_a_key_says_so(make_client: MakeClient) -> None:
    with OpenAIServer.start(api_key=KEY) as locked:
        client = make_client(base_url=locked.base_url, api_key=None)
        _, error = _failure(client.stream_chat(MESSAGES))

    assert error.code == ErrorCode.LLM_KEY_REJECTED
    assert "asks for an API key" in error.message


def test_an_unknown_model(make_client: MakeClient) -> None:
    with OpenAIServer.start(models=["llama3.2"]) as server:
        client = make_client(base_url=server.base_url)
        _, error = _failure(client.stream_chat(MESSAGES))

        assert error.code == ErrorCode.LLM_MODEL_NOT_FOUND
        assert f"no model named '{MODEL}'" in error.message
        assert "ollama pull" in error.message  # a local server
        assert len(server.chat_requests) == 1


def test_a_wrong_address_answers_not_found(server: OpenAIServer, make_client: MakeClient) -> None:
    client = make_client(base_url=f"http://127.0.0.1:{server.port}/api")  # /api instead of /v1

    _, error = _failure(client.stream_chat(MESSAGES))

    assert error.code == ErrorCode.LLM_MODEL_NOT_FOUND
    assert "/v1" in error.message and "404" in error.message


def test_a_bad_request_shows_what_the_server_said(server: OpenAIServer, client: OpenAICompatibleChat) -> None:
    reason = "This model's maximum context length is 8192 tokens. However, your messages resulted in 9001 tokens."
    server.default = Fail(400, message=reason + " " + "Please reduce the length of the messages. " * 20)

    _, error = _failure(client.stream_chat(MESSAGES))

    assert error.code == ErrorCode.LLM_BAD_REQUEST
    assert reason in error.message
    assert len(error.message) < 600  # trimmed
    assert len(server.chat_requests) == 1


def test_a_model_missing_reported_as_a_bad_request(server: OpenAIServer, client: OpenAICompatibleChat) -> None:
    server.default = Fail(400, message=f'model "{MODEL}" not found, try pulling it first')

    _, error = _failure(client.stream_chat(MESSAGES))

    assert error.code == ErrorCode.LLM_MODEL_NOT_FOUND


def test_rate_limits_are_retried_after_the_time_the_server_asks(
    server: OpenAIServer, client: OpenAICompatibleChat
) -> None:
    server.script(Fail(429, retry_after=0.2), Fail(429, retry_after=0.2))

    events, error = _collect(client.stream_chat(MESSAGES))

    assert error is None and _text(events) == ANSWER
    requests = server.chat_requests
    assert len(requests) == 3
    gaps = [later.received_at - earlier.received_at for earlier, later in itertools.pairwise(requests)]
    assert all(gap >= 0.19 for gap in gaps), gaps  # the client's own backoff alone is about 10-40 ms


def test_retry_after_is_capped(server: OpenAIServer, make_client: MakeClient) -> None:
    client = make_client(max_backoff=0.1)
    server.script(Fail(429, retry_after=60))
    started = time.monotonic()

    _, error = _collect(client.stream_chat(MESSAGES))

    assert error is None
    assert time.monotonic() - started < 1.0
    assert len(server.chat_requests) == 2


def test_still_rate_limited_after_the_retries(server: OpenAIServer, client: OpenAICompatibleChat) -> None:
    server.default = Fail(429, retry_after=0.01)

    _, error = _failure(client.stream_chat(MESSAGES))

    assert error.code == ErrorCode.LLM_RATE_LIMITED
    assert "after 3 tries" in error.message
    assert len(server.chat_requests) == 3


def test_an_exhausted_quota_is_not_retried(server: OpenAIServer, client: OpenAICompatibleChat) -> None:
    server.default = Fail(429, message="You exceeded your current quota.", code="insufficient_quota")

    _, error = _failure(client.stream_chat(MESSAGES))

    assert error.code == ErrorCode.LLM_RATE_LIMITED
    assert "quota" in error.message
    assert len(server.chat_requests) == 1


def test_server_errors_are_retried_then_reported(server: OpenAIServer, make_client: MakeClient) -> None:
    client = make_client(max_retries=2)
    server.default = Fail(500)

    _, error = _failure(client.stream_chat(MESSAGES))

    assert error.code == ErrorCode.LLM_SERVER_ERROR
    assert "HTTP 500" in error.message and "after 3 tries" in error.message
    assert "The server had an error while processing your request" in error.message
    assert len(server.chat_requests) == 3


def test_an_overloaded_server_recovers_within_the_retries(server: OpenAIServer, client: OpenAICompatibleChat) -> None:
    server.script(Fail(503), Fail(502))

    events, error = _collect(client.stream_chat(MESSAGES))

    assert error is None and _text(events) == ANSWER
    assert len(server.chat_requests) == 3


def test_no_retry_would_sleep_past_the_time_limit(server: OpenAIServer, make_client: MakeClient) -> None:
    client = make_client(total_timeout=1.0)
    server.default = Fail(503, retry_after=5)
    started = time.monotonic()

    _, error = _failure(client.stream_chat(MESSAGES))

    assert error.code == ErrorCode.LLM_SERVER_ERROR
    assert time.monotonic() - started < 0.5
    assert len(server.chat_requests) == 1


def test_an_html_error_page_is_not_shown(server: OpenAIServer, client: OpenAICompatibleChat) -> None:
    server.default = Fail(502, body="<html><body><h1>502 Bad Gateway</h1></body></html>", content_type="text/html")

    _, error = _failure(client.stream_chat(MESSAGES))

    assert error.code == ErrorCode.LLM_SERVER_ERROR
    assert "<html>" not in error.message and "HTTP 502" in error.message


# -- the connection --


def test_an_unreachable_server(make_client: MakeClient) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}/v1"
    client = make_client(base_url=base_url)
    started = time.monotonic()

    _, error = _failure(client.stream_chat(MESSAGES))

    assert error.code == ErrorCode.LLM_UNREACHABLE
    assert f"at {base_url} cannot be reached" in error.message
    assert "offline mode" in error.message
    assert time.monotonic() - started < 1.0  # three quick attempts


def test_a_slow_first_token_times_out(server: OpenAIServer, make_client: MakeClient) -> None:
    client = make_client(read_timeout=0.3)
    server.script(Reply(ANSWER, first_token_delay=3.0))
    started = time.monotonic()

    _, error = _failure(client.stream_chat(MESSAGES))

    assert error.code == ErrorCode.LLM_TIMEOUT
    assert "sent nothing for 0.3 seconds" in error.message
    assert 0.25 <= time.monotonic() - started < 1.0
    assert len(server.chat_requests) == 1


def test_an_answer_over_the_total_time_limit_is_stopped(server: OpenAIServer, make_client: MakeClient) -> None:
    client = make_client(total_timeout=0.5)
    server.script(Reply("word " * 40, token_delay=0.05))
    started = time.monotonic()

    events, error = _failure(client.stream_chat(MESSAGES))

    assert error.code == ErrorCode.LLM_TIMEOUT
    assert "longer than 0.5 seconds" in error.message
    assert events and all(isinstance(event, TextDelta) for event in events)
    assert 0.45 <= time.monotonic() - started < 1.0
    server.wait_for_disconnect()


def test_a_connection_dropped_mid_answer_is_reported_and_not_retried(
    server: OpenAIServer, client: OpenAICompatibleChat
) -> None:
    server.script(Reply(ANSWER, drop_after=3))

    events, error = _failure(client.stream_chat(MESSAGES))

    assert [event.text for event in events if isinstance(event, TextDelta)] == split_tokens(ANSWER)[:3]
    assert not any(isinstance(event, ChatUsage) for event in events)
    assert error.code == ErrorCode.LLM_MALFORMED_STREAM
    assert "closed the connection before the answer was complete" in error.message
    time.sleep(0.1)
    assert len(server.chat_requests) == 1


def test_a_body_that_ends_before_the_answer_is_complete(server: OpenAIServer, client: OpenAICompatibleChat) -> None:
    server.script(Reply(ANSWER, done=False, finish_reason=None, usage=False))

    events, error = _failure(client.stream_chat(MESSAGES))

    assert _text(events) == ANSWER
    assert error.code == ErrorCode.LLM_MALFORMED_STREAM
    assert "before the answer was complete" in error.message


# -- the stream's content --


def test_invalid_json_in_a_data_line(server: OpenAIServer, client: OpenAICompatibleChat) -> None:
    server.script(Reply(ANSWER, malformed_after=2))

    events, error = _failure(client.stream_chat(MESSAGES))

    assert _text(events) == "".join(split_tokens(ANSWER)[:2])
    assert error.code == ErrorCode.LLM_MALFORMED_STREAM
    assert "not valid JSON" in error.message
    assert len(server.chat_requests) == 1


def test_an_answer_that_is_not_an_event_stream(server: OpenAIServer, client: OpenAICompatibleChat) -> None:
    server.script(Reply(ANSWER, content_type="application/json"))

    events, error = _failure(client.stream_chat(MESSAGES))

    assert events == []
    assert error.code == ErrorCode.LLM_MALFORMED_STREAM
    assert "application/json instead of a stream of events" in error.message


def test_an_error_sent_inside_the_stream(server: OpenAIServer, client: OpenAICompatibleChat) -> None:
    server.script(Reply(ANSWER, error_after=1, error_message="The model is overloaded."))

    events, error = _failure(client.stream_chat(MESSAGES))

    assert _text(events) == split_tokens(ANSWER)[0]
    assert error.code == ErrorCode.LLM_SERVER_ERROR
    assert "reported an error while answering: The model is overloaded." in error.message
    assert len(server.chat_requests) == 1


# -- stopping --


def _cancel_after(seconds: float) -> tuple[threading.Event, list[float]]:
    """An event set by a timer after `seconds`; the list receives the moment it was set."""
    cancel = threading.Event()
    set_at: list[float] = []

    def fire() -> None:
        set_at.append(time.monotonic())
        cancel.set()

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    return cancel, set_at


def test_cancel_while_the_server_is_slow(server: OpenAIServer, client: OpenAICompatibleChat) -> None:
    server.script(Reply(ANSWER, first_token_delay=5.0))
    cancel, set_at = _cancel_after(0.2)

    _, error = _failure(client.stream_chat(MESSAGES, cancel=cancel))
    stopped_at = time.monotonic()

    assert error.code == ErrorCode.LLM_CANCELLED
    assert stopped_at - set_at[0] < 0.3
    request = server.wait_for_disconnect(timeout=1.0)
    assert request.finished_at is not None and request.finished_at - set_at[0] < 0.5
    _wait_no_stream_threads(0.5)


def test_cancel_while_waiting_for_the_headers_on_a_reused_connection(
    server: OpenAIServer, client: OpenAICompatibleChat
) -> None:
    _collect(client.stream_chat(MESSAGES))  # leaves a kept-alive connection in the pool
    server.script(Reply(ANSWER, header_delay=5.0))
    cancel, set_at = _cancel_after(0.2)

    _, error = _failure(client.stream_chat(MESSAGES, cancel=cancel))

    assert error.code == ErrorCode.LLM_CANCELLED
    assert time.monotonic() - set_at[0] < 0.3
    first, second = server.chat_requests
    assert first.peer == second.peer  # the same connection
    server.wait_for_disconnect(timeout=1.0)
    _wait_no_stream_threads(0.5)


def test_cancel_between_tokens(server: OpenAIServer, client: OpenAICompatibleChat) -> None:
    server.script(Reply(ANSWER, token_delay=2.0))
    cancel = threading.Event()
    events = client.stream_chat(MESSAGES, cancel=cancel)

    assert next(events) == TextDelta(split_tokens(ANSWER)[0])
    cancel.set()
    started = time.monotonic()
    _, error = _failure(events)

    assert error.code == ErrorCode.LLM_CANCELLED
    assert time.monotonic() - started < 0.3
    server.wait_for_disconnect(timeout=1.0)


def test_an_event_set_before_the_start_sends_nothing(server: OpenAIServer, client: OpenAICompatibleChat) -> None:
    cancel = threading.Event()
    cancel.set()

    _, error = _failure(client.stream_chat(MESSAGES, cancel=cancel))

    assert error.code == ErrorCode.LLM_CANCELLED
    assert server.requests == []


def test_cancel_interrupts_the_wait_between_retries(server: OpenAIServer, make_client: MakeClient) -> None:
    client = make_client(max_backoff=10.0, total_timeout=10.0)
    server.default = Fail(503, retry_after=5)
    cancel, set_at = _cancel_after(0.2)

    _, error = _failure(client.stream_chat(MESSAGES, cancel=cancel))

    assert error.code == ErrorCode.LLM_CANCELLED
    assert time.monotonic() - set_at[0] < 0.3
    _wait_no_stream_threads(0.5)
    assert len(server.chat_requests) == 1


def test_closing_the_iterator_early_closes_the_connection(server: OpenAIServer, client: OpenAICompatibleChat) -> None:
    server.script(Reply(ANSWER, token_delay=0.3))
    events = client.stream_chat(MESSAGES)

    assert isinstance(next(events), TextDelta)
    started = time.monotonic()
    events.close()

    assert time.monotonic() - started < 0.3
    request = server.wait_for_disconnect(timeout=1.0)
    assert request.tokens_sent < len(split_tokens(ANSWER))
    _wait_no_stream_threads(0.5)


def test_close_stops_a_running_turn(server: OpenAIServer, client: OpenAICompatibleChat) -> None:
    server.script(Reply(ANSWER, first_token_delay=5.0))
    threading.Timer(0.2, client.close).start()
    started = time.monotonic()

    _, error = _failure(client.stream_chat(MESSAGES))

    assert error.code == ErrorCode.LLM_CANCELLED
    assert time.monotonic() - started < 0.6
    server.wait_for_disconnect(timeout=1.0)
    _, again = _failure(client.stream_chat(MESSAGES))
    assert again.code == ErrorCode.LLM_CANCELLED


def test_a_cancelled_turn_leaves_the_client_usable(server: OpenAIServer, client: OpenAICompatibleChat) -> None:
    server.script(Reply(ANSWER, first_token_delay=5.0))
    cancel, _ = _cancel_after(0.1)
    _failure(client.stream_chat(MESSAGES, cancel=cancel))

    events, error = _collect(client.stream_chat(MESSAGES))

    assert error is None and _text(events) == ANSWER


# -- settings --


@pytest.mark.parametrize(
    "base_url",
    [
        "localhost:11434/v1",
        "ftp://example.org/v1",
        "",
        "http://:8080/v1",
        "http://example.org:99999/v1",
        "http://exa mple.org/v1",
        "http://example.org/\x1b[2J",
    ],
)
def test_an_address_that_is_not_a_web_address_is_refused(base_url: str) -> None:
    with pytest.raises(AppError) as caught:
        OpenAICompatibleChat(base_url, MODEL, None)

    assert caught.value.code == ErrorCode.INVALID_ARGUMENT


def test_the_address_never_shows_a_password_or_query(make_client: MakeClient) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = make_client(base_url=f"http://user:hunter2@127.0.0.1:{port}/v1?api-key=secret")

    _, error = _failure(client.stream_chat(MESSAGES))

    assert f"http://127.0.0.1:{port}/v1" in error.message
    assert "hunter2" not in error.message and "secret" not in error.message


# -- the local server itself speaks the wire format --


def test_the_local_server_speaks_openais_stream_format(server: OpenAIServer) -> None:
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "stream": True}
    with_usage = {**body, "stream_options": {"include_usage": True}}

    with httpx.Client() as http:
        plain = http.post(f"{server.base_url}/chat/completions", json=body)
        counted = http.post(f"{server.base_url}/chat/completions", json=with_usage)
        models = http.get(f"{server.base_url}/models").json()
        whole = http.post(f"{server.base_url}/chat/completions", json={**body, "stream": False}).json()

    assert plain.status_code == 200
    assert plain.headers["content-type"].startswith("text/event-stream")
    assert plain.headers["transfer-encoding"] == "chunked"
    data = [line.removeprefix("data: ") for line in plain.text.split("\n\n") if line]
    assert data[-1] == "[DONE]"
    chunks = [json.loads(item) for item in data[:-1]]
    assert all(chunk["object"] == "chat.completion.chunk" and chunk["model"] == MODEL for chunk in chunks)
    assert len({chunk["id"] for chunk in chunks}) == 1 and chunks[0]["id"].startswith("chatcmpl-")
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-1]["choices"][0] == {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}
    assert "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks) == ANSWER
    assert all("usage" not in chunk for chunk in chunks)

    counted_chunks = [json.loads(line[6:]) for line in counted.text.split("\n\n") if line and line != "data: [DONE]"]
    assert counted_chunks[-1]["choices"] == []
    assert counted_chunks[-1]["usage"]["completion_tokens"] == len(split_tokens(ANSWER))
    assert all(chunk["usage"] is None for chunk in counted_chunks[:-1])

    assert models["object"] == "list" and models["data"][0]["id"] == MODEL
    assert whole["object"] == "chat.completion" and whole["choices"][0]["message"]["content"] == ANSWER


def test_the_local_server_answers_errors_in_openais_shape(server: OpenAIServer) -> None:
    server.script(Fail(429, retry_after=1))

    with httpx.Client() as http:
        response = http.post(f"{server.base_url}/chat/completions", json={"model": MODEL, "messages": []})

    assert response.status_code == 429 and response.headers["retry-after"] == "1"
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["code"] == "rate_limit_exceeded"


def test_the_client_package_imports_only_the_core_of_the_app() -> None:
    package = Path(__file__).resolve().parents[1] / "desktop_app" / "llm"
    imported: set[str] = set()
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
    app_modules = {name for name in imported if name.startswith("desktop_app")}
    assert app_modules and all(name.startswith(("desktop_app.core", "desktop_app.llm")) for name in app_modules)
