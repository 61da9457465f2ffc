"""The models a server lists (`GET /v1/models`), against the local OpenAI-compatible test server: names
sorted, the key sent and checked, and each failure an LLM_* error in words without the key."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from openai_server import Fail, OpenAIServer

from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.llm.server_models import list_models

KEY = "sk-test-0123456789abcdef"


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    started = OpenAIServer.start(models=["llama3.2", "Gemma3", "qwen2.5"], api_key=KEY)
    yield started
    started.stop()


def test_the_models_come_sorted_and_the_key_is_sent(server: OpenAIServer) -> None:
    assert list_models(server.base_url, KEY) == ["Gemma3", "llama3.2", "qwen2.5"]
    assert server.requests[-1].authorization == f"Bearer {KEY}"


def test_a_wrong_or_missing_key_is_said_without_the_key(server: OpenAIServer) -> None:
    with pytest.raises(AppError) as wrong:
        list_models(server.base_url, "sk-wrong-key-0123456789")
    assert wrong.value.code is ErrorCode.LLM_KEY_REJECTED and "sk-wrong" not in str(wrong.value)
    with pytest.raises(AppError) as missing:
        list_models(server.base_url)
    assert missing.value.code is ErrorCode.LLM_KEY_REJECTED and "asks for an API key" in str(missing.value)


def test_a_server_that_is_not_there_or_too_slow_is_said() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(AppError) as refused:
        list_models(f"http://127.0.0.1:{port}/v1")
    assert refused.value.code is ErrorCode.LLM_UNREACHABLE and "connection refused" in str(refused.value)
    slow = OpenAIServer.start(models_delay=2.0)
    try:
        with pytest.raises(AppError) as silent:
            list_models(slow.base_url, timeout=0.3)
        assert silent.value.code is ErrorCode.LLM_TIMEOUT
    finally:
        slow.stop()


def test_an_address_without_a_list_or_with_a_page_instead_is_said(server: OpenAIServer) -> None:
    with pytest.raises(AppError) as missing:
        list_models(server.base_url.removesuffix("/v1") + "/api")
    assert missing.value.code is ErrorCode.LLM_BAD_REQUEST and "/v1" in str(missing.value)
    server.script(Fail(500))  # chat plans do not touch the list: still a list
    assert list_models(server.base_url, KEY)
    with pytest.raises(AppError) as not_web:
        list_models("ftp://example.org/v1")
    assert not_web.value.code is ErrorCode.INVALID_ARGUMENT
