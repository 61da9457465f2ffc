"""A typed question goes through the same turn as a spoken one: shown, answered, spoken, kept."""

from __future__ import annotations

import time

import pytest
from turn_harness import ScriptedBrain, ScriptedRecognizer, ScriptedSpeaker, wait_until, word

from desktop_app.core.errors import NotFoundError
from desktop_app.core.events import (
    Event,
    FinalTranscript,
    ReplyChunk,
    StateChanged,
    TurnFailed,
    TurnFinished,
    TurnStarted,
    TurnState,
)
from desktop_app.core.models import Role
from desktop_app.core.pipeline import VoicePipeline
from desktop_app.storage.store import SqlConversationStore


def typed(pipeline: VoicePipeline, events: list[Event], text: str) -> None:
    """Asks by typing and waits for the turn to finish."""
    finished = sum(isinstance(e, TurnFinished) for e in events)
    pipeline.ask(text)
    wait_until(lambda: sum(isinstance(e, TurnFinished) for e in events) > finished)


def test_a_typed_question_is_answered_spoken_and_kept(store: SqlConversationStore) -> None:
    events: list[Event] = []
    pipeline = VoicePipeline(ScriptedRecognizer, ScriptedBrain(), ScriptedSpeaker, store, events.append)
    speaker = pipeline.speaker
    assert isinstance(speaker, ScriptedSpeaker)
    try:
        started = time.perf_counter()
        pipeline.ask("  what time  ")
        assert time.perf_counter() - started < 0.005  # returns at once; the answer comes on the turn's worker
        wait_until(lambda: any(isinstance(e, TurnFinished) for e in events))
        wait_until(lambda: pipeline.state is TurnState.IDLE)
    finally:
        pipeline.close()
    kinds = [type(e) for e in events if not isinstance(e, StateChanged)]
    assert kinds[:2] == [TurnStarted, FinalTranscript]
    assert [e.text for e in events if isinstance(e, FinalTranscript)] == ["what time"]
    assert "".join(e.text for e in events if isinstance(e, ReplyChunk)) == "You said what time."
    assert speaker.said == ["You said ", "what time."]
    (finished,) = [e for e in events if isinstance(e, TurnFinished)]
    assert "listening_ms" in finished.timings and finished.timings["listening_ms"] == 0.0
    conversation_id = pipeline.conversation_id
    assert conversation_id is not None
    kept = store.get_history(conversation_id)
    assert [(m.role, m.content) for m in kept] == [(Role.USER, "what time"), (Role.ASSISTANT, "You said what time.")]


def test_typing_while_speaking_to_it_ends_the_spoken_question(store: SqlConversationStore) -> None:
    events: list[Event] = []
    pipeline = VoicePipeline(ScriptedRecognizer, ScriptedBrain(), None, store, events.append)
    try:
        pipeline.press()
        pipeline.on_audio(word("hello"))
        wait_until(lambda: pipeline.state is TurnState.LISTENING)
        pipeline.ask("what time")
        wait_until(lambda: any(isinstance(e, TurnFinished) for e in events))
    finally:
        pipeline.close()
    (failed,) = [e for e in events if isinstance(e, TurnFailed)]
    (finished,) = [e for e in events if isinstance(e, TurnFinished)]
    assert failed.turn_id == 1 and finished.turn_id == 2
    assert [e.text for e in events if isinstance(e, FinalTranscript)] == ["what time"]  # "hello" was never sent


def test_an_empty_typed_question_does_nothing(store: SqlConversationStore) -> None:
    events: list[Event] = []
    pipeline = VoicePipeline(ScriptedRecognizer, ScriptedBrain(), None, store, events.append)
    try:
        pipeline.ask("   \n")
    finally:
        pipeline.close()
    assert events == [] and pipeline.conversation_id is None


def test_an_earlier_conversation_is_continued_by_the_next_question(store: SqlConversationStore) -> None:
    events: list[Event] = []
    pipeline = VoicePipeline(ScriptedRecognizer, ScriptedBrain(), None, store, events.append)

    try:
        typed(pipeline, events, "first question")
        earlier = pipeline.conversation_id
        pipeline.new_conversation()
        typed(pipeline, events, "second question")
        later = pipeline.conversation_id
        assert earlier is not None and later is not None and later != earlier
        pipeline.continue_conversation(earlier)
        typed(pipeline, events, "back to the first")
        with pytest.raises(NotFoundError):
            pipeline.continue_conversation(later + 100)  # no such conversation: the current one stays
        typed(pipeline, events, "still the first")
    finally:
        pipeline.close()
    assert [m.content for m in store.get_history(earlier) if m.role is Role.USER] == [
        "first question",
        "back to the first",
        "still the first",
    ]
    assert [m.content for m in store.get_history(later) if m.role is Role.USER] == ["second question"]


def test_a_question_after_its_conversation_was_deleted_starts_a_new_one(store: SqlConversationStore) -> None:
    events: list[Event] = []
    pipeline = VoicePipeline(ScriptedRecognizer, ScriptedBrain(), None, store, events.append)

    try:
        typed(pipeline, events, "first question")
        deleted = pipeline.conversation_id
        assert deleted is not None
        store.delete_conversation(deleted)  # from the history browser, while it was the current one
        typed(pipeline, events, "are you there")
    finally:
        pipeline.close()
    assert not any(isinstance(e, TurnFailed) for e in events)
    current = pipeline.conversation_id
    assert current is not None and current != deleted
    assert [(m.role, m.content) for m in store.get_history(current)] == [
        (Role.USER, "are you there"),
        (Role.ASSISTANT, "You said are you there."),
    ]
