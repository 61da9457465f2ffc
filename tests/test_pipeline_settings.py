"""Settings the running turn follows at once: whether answers are spoken, and the talk mode (which the window's
words follow through an event)."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

import pytest
from turn_harness import ScriptedBrain, ScriptedRecognizer, ScriptedSpeaker, wait_until, word

from desktop_app.core.events import (
    Event,
    SpeakingFinished,
    SpeakingStarted,
    TalkMode,
    TalkModeChanged,
    TurnFinished,
    TurnState,
)
from desktop_app.core.pipeline import VoicePipeline
from desktop_app.core.ports import Speaker
from desktop_app.storage.store import SqlConversationStore

AT_ONCE_S = 0.005


class Made:
    """The speaker factory, counting what it made."""

    def __init__(self, play_s: float) -> None:
        self.play_s = play_s
        self.speakers: list[ScriptedSpeaker] = []

    def __call__(self, report: Callable[[Event], None]) -> Speaker:
        speaker = ScriptedSpeaker(report, play_s=self.play_s)
        self.speakers.append(speaker)
        return speaker


def ask(pipeline: VoicePipeline, events: list[Event], question: str) -> None:
    finished = sum(isinstance(e, TurnFinished) for e in events)
    pipeline.press()
    for spoken in question.split():
        pipeline.on_audio(word(spoken))
    pipeline.release()
    wait_until(lambda: sum(isinstance(e, TurnFinished) for e in events) > finished)


def timed(call: Callable[[], None]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def test_spoken_answers_switch_on_and_off_while_running(store: SqlConversationStore) -> None:
    events: list[Event] = []
    recognizer = ScriptedRecognizer()
    made = Made(play_s=0.002)
    pipeline = VoicePipeline(lambda: recognizer, ScriptedBrain(), made, store, events.append, speak_replies=False)
    try:
        ask(pipeline, events, "what time")
        assert pipeline.speaker is None and made.speakers == []  # off from the start: no engine is started
        assert not any(isinstance(e, SpeakingStarted) for e in events)

        assert timed(lambda: setattr(pipeline, "speak_replies", True)) < AT_ONCE_S  # made on its worker
        wait_until(lambda: pipeline.speaker is not None)
        ask(pipeline, events, "hello there")
        (speaker,) = made.speakers
        assert speaker.said == ["You said ", "hello there."]

        pipeline.speak_replies = False
        ask(pipeline, events, "hello again")
        assert speaker.said == ["You said ", "hello there."]  # shown, not said
        assert made.speakers == [speaker]
    finally:
        pipeline.close()
    assert not speaker.is_speaking()


def test_switching_spoken_answers_off_mid_answer_silences_it(store: SqlConversationStore) -> None:
    events: list[Event] = []
    recognizer = ScriptedRecognizer()
    pipeline = VoicePipeline(
        lambda: recognizer, ScriptedBrain(), partial(ScriptedSpeaker, play_s=1.0), store, events.append
    )
    speaker = pipeline.speaker
    assert isinstance(speaker, ScriptedSpeaker)
    try:
        pipeline.press()
        pipeline.on_audio(word("hello"))
        pipeline.release()
        wait_until(lambda: pipeline.state is TurnState.SPEAKING)
        assert timed(lambda: setattr(pipeline, "speak_replies", False)) < AT_ONCE_S
        wait_until(lambda: any(isinstance(e, SpeakingFinished) and e.interrupted for e in events))
        wait_until(lambda: pipeline.state is TurnState.IDLE)
        assert any(isinstance(e, TurnFinished) for e in events)  # the answer is kept, only its sound stopped
    finally:
        pipeline.close()


def test_a_talk_mode_change_is_announced_once(store: SqlConversationStore) -> None:
    events: list[Event] = []
    pipeline = VoicePipeline(ScriptedRecognizer, ScriptedBrain(), None, store, events.append)
    try:
        pipeline.mode = TalkMode.HOLD  # unchanged: nothing to say
        pipeline.mode = "toggle"
        pipeline.mode = TalkMode.TOGGLE
        with pytest.raises(ValueError):
            pipeline.mode = "sometimes"
        assert [e.mode for e in events if isinstance(e, TalkModeChanged)] == [TalkMode.TOGGLE]
        assert pipeline.mode is TalkMode.TOGGLE
    finally:
        pipeline.close()
