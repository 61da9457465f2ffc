"""One definition of "a server on this computer", and the three rules built on it: an API key goes over plain
http only to such a server, the client reaches it without the environment's proxy, and a missing model there
gets the `ollama pull` hint."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from desktop_app.core.brain.language_model import check_key_destination
from desktop_app.core.chat import ChatMessage
from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.core.models import ApiKeyInfo
from desktop_app.core.validation import is_loopback_host
from desktop_app.llm.client import OpenAICompatibleChat
from desktop_app.llm.failures import Failures
from desktop_app.llm.wire import ErrorDetails

# Hosts as `urlsplit(url).hostname` gives them (lower case, IPv6 without brackets), and a few as typed.
LOOPBACK = [
    "localhost",
    "LocalHost",
    "localhost.",
    "127.0.0.1",
    "127.0.0.2",
    "127.255.255.254",
    "::1",
    "0:0:0:0:0:0:0:1",
    "[::1]",
    "::ffff:127.0.0.1",
    "::FFFF:127.1.2.3",
    "[::ffff:127.0.0.1]",
]
ELSEWHERE = [
    None,
    "",
    "localhost.example.com",
    "localhost.localdomain",
    "mylocalhost",
    "127.0.0.1.nip.io",
    "127.example.com",
    "127.1",  # the resolver reads this as 127.0.0.1, but only a name can be spelt like that: not guessed
    "0177.0.0.1",
    "2130706433",
    "0.0.0.0",
    "128.0.0.1",
    "10.0.0.1",
    "192.168.1.10",
    "::",
    "::2",
    "::127.0.0.1",  # IPv4-compatible, not mapped: not routed to 127.0.0.1
    "::ffff:10.0.0.1",
    "fe80::1",
    "api.openai.com",
    " localhost",
]


@pytest.mark.parametrize("host", LOOPBACK)
def test_loopback_hosts(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize("host", ELSEWHERE)
def test_hosts_that_are_not_this_computer(host: str | None) -> None:
    assert not is_loopback_host(host)


def _url(host: str, scheme: str = "http") -> str:
    return f"{scheme}://{f'[{host}]' if ':' in host else host}:8080/v1"


# -- a key goes unencrypted only to this computer --


def _key(base_url: str | None = None) -> ApiKeyInfo:
    return ApiKeyInfo(1, "work", "openai", base_url, "api-key:work", "f", datetime.now(UTC), None, None, None)


@pytest.mark.parametrize("host", ["localhost", "localhost.", "127.0.0.1", "127.0.0.2", "::1", "::ffff:127.0.0.1"])
def test_a_key_may_go_over_plain_http_to_this_computer(host: str) -> None:
    check_key_destination(_key(), _url(host))


@pytest.mark.parametrize(
    "host", ["127.0.0.1.nip.io", "127.example.com", "localhost.example.com", "203.0.113.7", "::ffff:10.0.0.1"]
)
def test_a_key_is_not_sent_over_plain_http_to_another_computer(host: str) -> None:
    with pytest.raises(AppError) as refused:
        check_key_destination(_key(), _url(host))
    assert refused.value.code is ErrorCode.KEY_NEEDS_HTTPS
    check_key_destination(_key(), _url(host, "https"))  # encrypted, it may go


# -- the hint for a missing model names Ollama only for a server on this computer --


@pytest.mark.parametrize(
    ("host", "local"), [*((h, True) for h in LOOPBACK), ("127.0.0.1.nip.io", False), ("10.0.0.1", False)]
)
def test_a_missing_model_on_this_computer_gets_the_ollama_hint(host: str, local: bool) -> None:
    failures = Failures(_url(host.strip("[]")), "llama3.2", None)
    error = failures.for_status(404, ErrorDetails(code="model_not_found"), attempts=1, retry_after=None)
    assert error.code is ErrorCode.LLM_MODEL_NOT_FOUND
    assert ("ollama pull llama3.2" in error.message) is local


# -- the environment's proxy is used for other computers only --


class _ProxyRecorder(socketserver.ThreadingTCPServer):
    """Stands in for the proxy the environment names: notes each request line and answers 502."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.request_lines: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ProxyHandler(socketserver.StreamRequestHandler):
    server: _ProxyRecorder

    def handle(self) -> None:
        self.server.request_lines.append(self.rfile.readline().decode("latin-1").strip())
        self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[_ProxyRecorder]:
    recorder = _ProxyRecorder()
    thread = threading.Thread(target=recorder.serve_forever, daemon=True)
    thread.start()
    for name in ("no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    for name in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(name, recorder.url)
    yield recorder
    recorder.shutdown()
    recorder.server_close()
    thread.join(5)


def _ask(base_url: str) -> AppError:
    client = OpenAICompatibleChat(base_url, "m", connect_timeout=1.0, total_timeout=5.0, max_retries=0)
    with client, pytest.raises(AppError) as failed:
        list(client.stream_chat([ChatMessage("user", "hello")]))
    return failed.value


@pytest.mark.parametrize("host", ["127.0.0.2", "localhost.", "::ffff:127.0.0.1"])
def test_a_server_on_this_computer_is_reached_without_the_proxy(proxy: _ProxyRecorder, host: str) -> None:
    # Nothing listens on port 9: reached directly, the connection is refused; the proxy never hears of it.
    error = _ask(f"http://{f'[{host}]' if ':' in host else host}:9/v1")
    assert error.code is ErrorCode.LLM_UNREACHABLE
    assert proxy.request_lines == []


@pytest.mark.parametrize("host", ["127.0.0.1.nip.io", "model.invalid"])
def test_another_computer_is_reached_through_the_proxy(proxy: _ProxyRecorder, host: str) -> None:
    error = _ask(f"http://{host}/v1")
    assert error.code is ErrorCode.LLM_SERVER_ERROR  # the proxy's 502
    assert proxy.request_lines == [f"POST http://{host}/v1/chat/completions HTTP/1.1"]
