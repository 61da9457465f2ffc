"""The language-model route of the assistant, against a local OpenAI-compatible server speaking the real
streaming wire format: context (system prompt, facts, recent messages within a budget), streaming pieces,
tokens recorded, failures turned into answers people can act on, offline mode, cancellation."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from assistant_setup import Clock, Conversation
from openai_server import Fail, OpenAIServer, Reply, prompt_tokens, split_tokens

from desktop_app.core.brain.language_model import build_context
from desktop_app.core.chat import ChatMessage
from desktop_app.core.errors import ErrorCode
from desktop_app.core.models import Message, Role
from desktop_app.core.ports import ReplyPiece
from desktop_app.core.reply_source import OFFLINE_ANSWER, ReplySource, SourceKind
from desktop_app.core.settings import Settings
from desktop_app.core.tokens import estimate_prompt_tokens, estimate_tokens


class Setup(Conversation):
    """The assistant with a model on the test's server (no key needed)."""

    def __init__(self, path: Path, server_url: str) -> None:
        self.settings = Settings(None)
        self.settings.set("llm.timeout_seconds", 2.0)
        super().__init__(path, Clock(), self.settings, server_url)


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer.start(lambda messages: f"You asked: {messages[-1]['content']}. That is all.") as running:
        yield running


@pytest.fixture
def setup(tmp_path: Path, server: OpenAIServer) -> Iterator[Setup]:
    made = Setup(tmp_path / "assistant.db", server.base_url)
    yield made
    made.close()


def _text(pieces: list[ReplyPiece]) -> str:
    return "".join(p.text for p in pieces)


def test_a_question_no_skill_answers_goes_to_the_model_with_facts_and_recent_messages(
    setup: Setup, server: OpenAIServer
) -> None:
    setup.ask("Remember this: I like Python")  # a skill: the server is not asked
    assert server.chat_requests == []
    pieces = setup.ask("which language should I learn next")
    assert _text(pieces) == "You asked: which language should I learn next. That is all."
    assert {p.source for p in pieces} == {ReplySource.model("test-model")}
    usage = pieces[-1]
    # The server's own counts (one token a word there), not the client's estimate.
    assert usage.text == "" and usage.tokens_output == len(split_tokens(_text(pieces)))
    sent = server.chat_requests[0].messages
    assert usage.tokens_input == prompt_tokens(sent)
    assert sent[0]["role"] == "system" and "voice assistant" in sent[0]["content"]
    assert "- I like Python" in sent[0]["content"]
    # The earlier turn is there as context; the question is sent once, last.
    assert [m["content"] for m in sent[1:]] == [
        "Remember this: I like Python",
        "Okay, I'll remember that. You like Python.",
        "which language should I learn next",
    ]
    stored = setup.store.get_history(setup.conversation_id)
    assert stored[-1].source == "model:test-model"


def test_skills_still_answer_first_when_a_model_is_configured(setup: Setup, server: OpenAIServer) -> None:
    assert _text(setup.ask("what is twelve times seven")) == "Twelve times seven is 84."
    assert server.chat_requests == []


def test_the_first_words_arrive_before_the_answer_is_complete(setup: Setup, server: OpenAIServer) -> None:
    server.script(Reply("One. Two. Three. Four. Five.", token_delay=0.15))
    setup.store.add_message(setup.conversation_id, Role.USER, "count to five")
    started = time.monotonic()
    arrivals = [(time.monotonic() - started, p.text) for p in setup.assistant.reply("count to five", 1)]
    first_at = next(at for at, text in arrivals if text)
    assert first_at < 0.3 and arrivals[-1][0] > 0.6


def test_the_context_keeps_within_its_token_budget_newest_first() -> None:
    history = [
        Message(i, 1, Role.USER if i % 2 else Role.ASSISTANT, f"message {i} " + "words " * 40, _now())
        for i in range(1, 200)
    ]
    facts = [f"fact number {i} about me" for i in range(100)]
    sent = build_context("Be brief.", facts, history, "and now?", budget=1000)
    total = sum(estimate_tokens(m.content) + 4 for m in sent)
    assert total <= 1000 + 4 * len(sent)
    assert sent[-1].content == "and now?"
    assert sent[-2].content.startswith("message 199 ")  # the newest history is kept
    assert "fact number 99 about me" in sent[0].content  # the newest facts are kept
    assert "fact number 0 about me" not in sent[0].content
    assert len(sent) < 30


def test_an_unreachable_server_gets_the_offline_answer(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    made = Setup(tmp_path / "assistant.db", f"http://127.0.0.1:{port}/v1")
    try:
        pieces = made.ask("tell me a joke")
        assert pieces[-1].source == OFFLINE_ANSWER
        assert "cannot be reached" in _text(pieces) and "I can tell the time" in _text(pieces)
        # Said in one short sentence: not the address, not the list of skills again.
        said = " ".join(piece.to_say for piece in pieces if piece.to_say)
        assert said == "I can't reach the language model, so for now I can only use my built-in skills."
    finally:
        made.close()


@pytest.mark.parametrize(
    ("plan", "code", "words"),
    [
        (Fail(404, code="model_not_found"), "llm_model_not_found", "model"),
        (Fail(401), "llm_key_rejected", "key"),
        (Fail(400, message="context too long"), "llm_bad_request", "context too long"),
    ],
)
def test_model_errors_become_answers_that_say_what_to_do(
    setup: Setup, server: OpenAIServer, plan: Fail, code: str, words: str
) -> None:
    server.script(plan)
    pieces = setup.ask("tell me a joke")
    assert pieces[-1].source == ReplySource.failure(ErrorCode(code))
    assert words in _text(pieces).lower()
    assert setup.store.get_history(setup.conversation_id)[-1].source == f"error:{code}"


def test_a_connection_dropped_mid_answer_keeps_what_was_said_and_says_it_was_cut(
    setup: Setup, server: OpenAIServer
) -> None:
    server.script(Reply("The first part arrives and then the rest never does.", drop_after=4))
    text = _text(setup.ask("tell me a story"))
    assert text.startswith("The first part arrives")
    assert "The answer was cut short" in text
    assert len(server.chat_requests) == 1  # no retry once words were given


def test_offline_mode_makes_no_request(setup: Setup, server: OpenAIServer) -> None:
    setup.settings.set("network.offline", True)
    pieces = setup.ask("tell me a joke")
    assert _text(pieces).startswith("Offline mode is on, so I can only use my built-in skills.")
    assert pieces[-1].source == OFFLINE_ANSWER
    time.sleep(0.2)
    assert server.requests == []


def test_cancelling_mid_stream_stops_at_once_and_closes_the_connection(setup: Setup, server: OpenAIServer) -> None:
    server.script(Reply("word " * 50, token_delay=0.2))
    cancel = threading.Event()
    setup.store.add_message(setup.conversation_id, Role.USER, "talk for a while")
    got: list[ReplyPiece] = []
    started = time.monotonic()
    for piece in setup.assistant.reply("talk for a while", setup.conversation_id, cancel):
        got.append(piece)
        if len(got) == 2:
            cancel.set()
            stopped_at = time.monotonic()
    assert time.monotonic() - stopped_at < 0.3
    assert 2 <= len(got) <= 3 and time.monotonic() - started < 2
    assert server.wait_for_disconnect().disconnected
    # The abandoned request still counts (for the limits), charged an estimate of what was used: the
    # messages sent and each piece received, as the client estimates a request its server did not count.
    now = datetime.now(UTC)
    usage = setup.store.keys.usage(None, now, now - timedelta(hours=1))
    sent = [ChatMessage(m["role"], m["content"]) for m in server.chat_requests[0].messages]
    charged = estimate_prompt_tokens(sent) + sum(estimate_tokens(piece.text) for piece in got)
    assert usage.requests_last_minute == 1 and usage.tokens_today == charged


def _now() -> datetime:
    return datetime.now(UTC)


def test_token_estimates_round_up() -> None:
    """A key's daily token limit is enforced with the estimates, so they never round down."""
    assert [estimate_tokens("x" * n) for n in (0, 1, 3, 4, 5, 8, 9)] == [0, 1, 1, 1, 2, 2, 3]
    # Counted piece by piece, an answer costs at least as much as counted whole, and at least a token a piece.
    pieces = ["The ", "quick ", "brown ", "fox", " 的", "猫", "。"]
    by_piece = sum(estimate_tokens(piece) for piece in pieces)
    assert by_piece >= estimate_tokens("".join(pieces)) and by_piece >= len(pieces)
    # Each message also costs its role and separators.
    messages = [ChatMessage("system", "Be brief."), ChatMessage("user", "hi")]
    assert estimate_prompt_tokens(messages) == 3 + 4 + 1 + 4


def test_a_memory_question_with_nothing_remembered_goes_to_the_model(setup: Setup, server: OpenAIServer) -> None:
    pieces = setup.ask("what do i need to buy")
    assert pieces[-1].source == ReplySource.model("test-model") and len(server.chat_requests) == 1
    setup.ask("remember that I need to buy milk")
    assert _text(setup.ask("what do i need to buy")) == "You need to buy milk."
    assert len(server.chat_requests) == 1  # the remembered fact answers without the model


def test_a_timer_question_with_no_timer_running_goes_to_the_model(setup: Setup, server: OpenAIServer) -> None:
    assert setup.ask("how much time is left in the game")[-1].source == ReplySource.model("test-model")
    setup.ask("set a timer for five minutes")
    assert _text(setup.ask("how much time is left")) == "5 minutes left on the 5 minute timer."
    assert len(server.chat_requests) == 1


@pytest.mark.parametrize(
    "question",
    [
        "how much time is left in the year",
        "how long is left until christmas",
        "what is a timer",
        "how do egg timers work",
        "who invented the reminder app",
        "what can you do about climate change",
        "what do you do when you are bored",
        "what do i need to make pancakes",
        "what do you remember about world war two",
        "what do i call a baby kangaroo",
        "what did i say about the moon landing",
        "what is 5 k in miles",
        "what time does the shop close",
    ],
)
def test_general_questions_reach_the_model_even_with_timers_and_facts_stored(
    setup: Setup, server: OpenAIServer, question: str
) -> None:
    stored = ("set a pasta timer for ten minutes", "remember that i need to buy milk", "remember that i call my mum")
    for said in stored:
        assert setup.ask(said)[-1].source.kind is SourceKind.SKILL
    assert setup.ask(question)[-1].source == ReplySource.model("test-model")
    assert len(server.chat_requests) == 1
