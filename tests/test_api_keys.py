"""API keys end to end: stored with `voice-assistant keys` in the real (private) keychain, sent to the
model server, their tokens counted, and their per-key limits enforced with a clear answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_runner import Run, cli, ok
from keyring_session import KeyringSession
from openai_server import Fail, OpenAIServer, Reply

from desktop_app.core.keys import KEYCHAIN_SERVICE
from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore

SECRET = "sk-live-4b1f0e7c9a2d4e8f"


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer.start(Reply("Here is a short answer."), api_key=SECRET) as running:
        yield running


def va(data_dir: Path, keychain: KeyringSession, *args: str, stdin: str | None = None) -> Run:
    return cli("--data-dir", str(data_dir), *args, env=keychain.env(), stdin=stdin)


def _configure(data_dir: Path, keychain: KeyringSession, server: OpenAIServer, *limits: str) -> None:
    ok(va(data_dir, keychain, "keys", "add", "work", "--base-url", server.base_url, *limits, stdin=SECRET + "\n"))
    for key, value in (("llm.base_url", server.base_url), ("llm.model", "test-model"), ("llm.key_name", "work")):
        ok(va(data_dir, keychain, "settings", "set", key, value))


def test_a_stored_key_lives_only_in_the_keychain_and_is_sent_to_the_server(
    data_dir: Path, system_keychain: KeyringSession, server: OpenAIServer
) -> None:
    _configure(data_dir, system_keychain, server)
    looked_up = system_keychain.secret_tool("lookup", "service", KEYCHAIN_SERVICE, "username", "api-key:work")
    assert looked_up.stdout == SECRET
    for path in data_dir.rglob("*"):  # not in the database, the settings or the logs
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    answer = json.loads(ok(va(data_dir, system_keychain, "ask", "tell me something", "--json")).out)
    assert answer["answer"] == "Here is a short answer." and answer["source"] == "model:test-model"
    assert server.chat_requests[0].authorization == f"Bearer {SECRET}"
    listed = json.loads(ok(va(data_dir, system_keychain, "keys", "list", "--json")).out)
    assert [k["name"] for k in listed] == ["work"]
    assert listed[0]["tokens_input_total"] == answer["tokens_input"]
    assert listed[0]["tokens_output_total"] == answer["tokens_output"] == 5
    assert listed[0]["tokens_today"] == answer["tokens_input"] + answer["tokens_output"]
    assert SECRET not in json.dumps(listed)


def test_requests_per_minute_limit_is_spoken_and_no_request_is_made(
    data_dir: Path, system_keychain: KeyringSession, server: OpenAIServer
) -> None:
    _configure(data_dir, system_keychain, server, "--requests-per-minute", "2")
    for _ in range(2):
        ok(va(data_dir, system_keychain, "ask", "tell me something"))
    refused = va(data_dir, system_keychain, "ask", "tell me something", "--json")
    assert refused.code == 1
    document = json.loads(refused.out)
    assert document["source"] == "error:key_limit_reached"
    assert "limit of 2 requests a minute" in document["answer"]
    assert "[key_limit_reached]" in refused.err
    assert len(server.chat_requests) == 2
    ok(va(data_dir, system_keychain, "keys", "limit", "work", "--requests-per-minute", "none"))
    ok(va(data_dir, system_keychain, "ask", "tell me something"))
    assert len(server.chat_requests) == 3


def test_tokens_per_day_limit(data_dir: Path, system_keychain: KeyringSession, server: OpenAIServer) -> None:
    _configure(data_dir, system_keychain, server, "--tokens-per-day", "20")
    ok(va(data_dir, system_keychain, "ask", "tell me something"))  # uses more than 20 tokens
    refused = json.loads(va(data_dir, system_keychain, "ask", "tell me more", "--json").out)
    assert "used its 20 tokens for today" in refused["answer"]
    assert len(server.chat_requests) == 1


def test_a_rejected_key_says_so(data_dir: Path, system_keychain: KeyringSession, server: OpenAIServer) -> None:
    ok(va(data_dir, system_keychain, "keys", "add", "old", stdin="sk-revoked\n"))
    for key, value in (("llm.base_url", server.base_url), ("llm.model", "test-model"), ("llm.key_name", "old")):
        ok(va(data_dir, system_keychain, "settings", "set", key, value))
    run = va(data_dir, system_keychain, "ask", "tell me something")
    assert run.code == 1 and "[llm_key_rejected]" in run.err
    assert "sk-revoked" not in run.out + run.err
    assert server.chat_requests[0].status == 401


def _usage(data_dir: Path, keychain: KeyringSession) -> tuple[int, int, int]:
    listed = json.loads(ok(va(data_dir, keychain, "keys", "list", "--json")).out)
    return listed[0]["tokens_today"], listed[0]["tokens_input_total"], listed[0]["tokens_output_total"]


def test_a_request_the_server_refuses_costs_no_tokens(
    data_dir: Path, system_keychain: KeyringSession, server: OpenAIServer
) -> None:
    """Rejected with 401 (a key the server does not know) or 403: nothing is charged to the key's daily
    tokens or its totals. An answered request still is."""
    ok(va(data_dir, system_keychain, "keys", "add", "old", "--tokens-per-day", "1000", stdin="sk-revoked\n"))
    for key, value in (("llm.base_url", server.base_url), ("llm.model", "test-model"), ("llm.key_name", "old")):
        ok(va(data_dir, system_keychain, "settings", "set", key, value))
    rejected = va(data_dir, system_keychain, "ask", "tell me something")
    assert rejected.code == 1 and "[llm_key_rejected]" in rejected.err
    assert [request.status for request in server.chat_requests] == [401]
    assert _usage(data_dir, system_keychain) == (0, 0, 0)

    ok(va(data_dir, system_keychain, "keys", "remove", "old"))
    ok(va(data_dir, system_keychain, "keys", "add", "work", "--tokens-per-day", "1000", stdin=SECRET + "\n"))
    ok(va(data_dir, system_keychain, "settings", "set", "llm.key_name", "work"))
    server.script(Fail(403))
    forbidden = va(data_dir, system_keychain, "ask", "tell me something")
    assert forbidden.code == 1 and "[llm_key_rejected]" in forbidden.err
    assert _usage(data_dir, system_keychain) == (0, 0, 0)
    answered = json.loads(ok(va(data_dir, system_keychain, "ask", "tell me something", "--json")).out)
    assert [request.status for request in server.chat_requests] == [401, 403, 200]
    assert _usage(data_dir, system_keychain) == (
        answered["tokens_input"] + answered["tokens_output"],
        answered["tokens_input"],
        answered["tokens_output"],
    )


def test_keys_add_and_remove_refuse_bad_input_and_clean_up(data_dir: Path, system_keychain: KeyringSession) -> None:
    empty = va(data_dir, system_keychain, "keys", "add", "work", stdin="\n")
    assert empty.code == 2 and "[invalid_key]" in empty.err
    two = va(data_dir, system_keychain, "keys", "add", "work", stdin="sk-one\nsk-two\n")
    assert two.code == 2 and two.err.startswith("error: The input has 2 lines") and two.err.endswith("[invalid_key]\n")
    assert system_keychain.count(KEYCHAIN_SERVICE, "api-key:work") == 0
    assert ok(va(data_dir, system_keychain, "keys", "list", "--json")).out == "[]\n"  # nothing stored
    ok(va(data_dir, system_keychain, "keys", "add", "work", stdin="\n  sk-one\r\n\n"))  # one key, blank lines round it
    again = va(data_dir, system_keychain, "keys", "add", "work", stdin="sk-two\n")
    assert again.code == 2 and "[key_exists]" in again.err
    assert system_keychain.secret_tool("lookup", "service", KEYCHAIN_SERVICE, "username", "api-key:work").stdout == (
        "sk-one"
    )
    bad_limit = va(data_dir, system_keychain, "keys", "add", "x", "--requests-per-minute", "0", stdin="sk\n")
    assert bad_limit.code == 2
    ok(va(data_dir, system_keychain, "keys", "remove", "work"))
    assert system_keychain.count(KEYCHAIN_SERVICE, "api-key:work") == 0
    missing = va(data_dir, system_keychain, "keys", "remove", "work")
    assert missing.code == 1 and "[key_not_found]" in missing.err
    store = SqlConversationStore.open(sqlite_url(data_dir / "assistant.db"))
    try:
        assert store.keys.list_keys() == []
        assert [e.action for e in store.list_audit()][:2] == ["api_key_removed", "api_key_added"]
    finally:
        store.close()


def test_without_a_keychain_the_answer_says_what_to_do(data_dir: Path, tmp_path: Path, server: OpenAIServer) -> None:
    nowhere = {"DBUS_SESSION_BUS_ADDRESS": f"unix:path={tmp_path}/no-bus"}
    run = cli("--data-dir", str(data_dir), "keys", "add", "work", env=nowhere, stdin="sk-x\n")
    assert run.code == 1 and "[keychain_unavailable]" in run.err
    store = SqlConversationStore.open(sqlite_url(data_dir / "assistant.db"))
    try:
        assert store.keys.list_keys() == []  # nothing half-stored
    finally:
        store.close()


def test_a_key_is_only_sent_to_its_own_server_and_never_over_plain_http(
    data_dir: Path, system_keychain: KeyringSession, server: OpenAIServer
) -> None:
    ok(va(data_dir, system_keychain, "keys", "add", "work", "--base-url", "https://api.example.com/v1", stdin=SECRET))
    for key, value in (("llm.base_url", server.base_url), ("llm.model", "test-model"), ("llm.key_name", "work")):
        ok(va(data_dir, system_keychain, "settings", "set", key, value))
    elsewhere = va(data_dir, system_keychain, "ask", "tell me something")
    assert elsewhere.code == 1 and "[key_wrong_server]" in elsewhere.err
    ok(va(data_dir, system_keychain, "keys", "add", "any", stdin="sk-any-server\n"))  # no server given
    ok(va(data_dir, system_keychain, "settings", "set", "llm.key_name", "any"))
    ok(va(data_dir, system_keychain, "settings", "set", "llm.base_url", "http://203.0.113.7:8080/v1"))
    unencrypted = va(data_dir, system_keychain, "ask", "tell me something")
    assert unencrypted.code == 1 and "[key_needs_https]" in unencrypted.err
    assert server.requests == []
    listed = json.loads(ok(va(data_dir, system_keychain, "keys", "list", "--json")).out)
    assert all(k["requests_last_minute"] == 0 for k in listed)  # refused before anything was counted
    accented = va(data_dir, system_keychain, "keys", "add", "bad", stdin="sk-clé\n")
    assert accented.code == 2 and "[invalid_key]" in accented.err
