"""The last turns' events are in the log when a turn fails, so "it didn't hear me" can be answered from it."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from turn_harness import ScriptedBrain, ScriptedRecognizer, word

from desktop_app.core.errors import ErrorCode
from desktop_app.core.events import Event, FinalTranscript, TurnFailed, TurnFinished, TurnStarted
from desktop_app.core.pipeline import VoicePipeline
from desktop_app.core.turn_diary import TURNS_KEPT, TurnDiary
from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore


def _turn(pipeline: VoicePipeline, events: list[Event], *words: str) -> None:
    ended = len([e for e in events if isinstance(e, TurnFinished | TurnFailed)])
    pipeline.press()
    for spoken in words:
        pipeline.on_audio(word(spoken))
    pipeline.release()
    deadline = time.monotonic() + 10
    while len([e for e in events if isinstance(e, TurnFinished | TurnFailed)]) == ended:
        assert time.monotonic() < deadline, "the turn did not end"
        time.sleep(0.001)


def test_a_turn_that_hears_nothing_logs_the_turns_before_it_without_their_words(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = SqlConversationStore.open(sqlite_url(tmp_path / "assistant.db"))
    events: list[Event] = []
    recognizer = ScriptedRecognizer()
    pipeline = VoicePipeline(lambda: recognizer, ScriptedBrain(), None, store, events.append)
    try:
        with caplog.at_level(logging.WARNING, logger="desktop_app.core.turn_diary"):
            _turn(pipeline, events, "what", "time")
            assert not caplog.records  # a turn that went well writes nothing
            _turn(pipeline, events)  # the key held in silence
    finally:
        pipeline.close()
        store.close()
    assert [e.code for e in events if isinstance(e, TurnFailed)] == ["nothing_heard"]
    [record] = caplog.records
    text = record.getMessage()
    assert "a turn failed (nothing_heard): the last 2 turns" in text
    assert text.count("TurnStarted") == 2 and "FinalTranscript" in text and "TurnFinished" in text
    assert "release_to_final_ms" in text  # the stages' times are there
    assert "what time" not in text and "You said" not in text  # what was said only as its length
    assert "text=<9 chars>" in text


def test_a_cancelled_turn_is_not_a_fault_and_only_the_last_turns_are_kept(caplog: pytest.LogCaptureFixture) -> None:
    diary = TurnDiary()
    with caplog.at_level(logging.WARNING, logger="desktop_app.core.turn_diary"):
        for turn_id in range(1, TURNS_KEPT + 6):
            diary.record(TurnStarted(turn_id))
            diary.record(FinalTranscript("hello", 1.0))
            diary.record(TurnFailed(ErrorCode.TURN_CANCELLED, "Turn cancelled.", turn_id=turn_id))
    assert not caplog.records
    turns = diary.turns()
    assert len(turns) == TURNS_KEPT
    first = turns[0][0]
    assert isinstance(first, TurnStarted) and first.turn_id == 6
