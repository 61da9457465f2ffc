"""Where an answer came from: typed in the app, text in the store, and back."""

from __future__ import annotations

import pytest

from desktop_app.core.errors import ErrorCode
from desktop_app.core.models import Message, Role
from desktop_app.core.reply_source import OFFLINE_ANSWER, STORED_SOURCE_MAX, ReplySource, SourceKind


@pytest.mark.parametrize(
    ("source", "stored", "described"),
    [
        (ReplySource.skill("timer"), "skill:timer", "timer skill"),
        (ReplySource.skill("small_talk"), "skill:small_talk", "small talk skill"),
        (ReplySource.model("llama3.2:3b"), "model:llama3.2:3b", "llama3.2:3b"),
        (OFFLINE_ANSWER, "offline:help", "offline"),
        (ReplySource.failure(ErrorCode.LLM_TIMEOUT), "error:llm_timeout", "error"),
    ],
)
def test_a_source_is_stored_as_text_and_read_back(source: ReplySource, stored: str, described: str) -> None:
    assert source.stored == str(source) == stored
    assert ReplySource.parse(stored) == source
    assert source.describe() == described


def test_a_failure_source_carries_its_code_and_others_none() -> None:
    assert ReplySource.failure(ErrorCode.LLM_KEY_REJECTED).error is ErrorCode.LLM_KEY_REJECTED
    assert ReplySource.skill("timer").error is None
    assert ReplySource(SourceKind.ERROR, "no_such_code").error is None  # an imported history may say anything


@pytest.mark.parametrize("stored", [None, "", "ollama", "skill:", ":timer", "robot:timer", "SKILL:timer"])
def test_stored_text_of_another_form_is_no_source(stored: str | None) -> None:
    assert ReplySource.parse(stored) is None


def test_a_long_model_name_is_cut_to_the_stored_column() -> None:
    assert len(ReplySource.model("m" * 500).stored) == STORED_SOURCE_MAX


def test_a_stored_message_says_where_it_came_from() -> None:
    from datetime import UTC, datetime

    answer = Message(1, 1, Role.ASSISTANT, "It is noon.", datetime.now(UTC), source="skill:clock")
    question = Message(2, 1, Role.USER, "what time is it", datetime.now(UTC))
    assert answer.origin == ReplySource.skill("clock") and question.origin is None
