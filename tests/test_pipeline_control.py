"""The turn's controls with real recognition: toggle mode, cancelling at each stage, a lost microphone."""

from __future__ import annotations

import threading
import time
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from assistant_setup import local_model
from openai_server import OpenAIServer, Reply
from speech_audio import pcm_of, say_to_wav
from turn_events import TurnEvents

from desktop_app.core.brain.assistant import Assistant, command_phrases, default_skills
from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.core.events import FinalTranscript, ReplyChunk, TurnFailed, TurnFinished, TurnState
from desktop_app.core.pipeline import VoicePipeline
from desktop_app.core.ports import ReplyPiece
from desktop_app.core.reply_source import ReplySource
from desktop_app.speech.pocketsphinx_recognizer import PocketSphinxRecognizer
from desktop_app.storage.store import SqlConversationStore


class SlowBrain:
    """The assistant, taking a while to think, so the turn can be cancelled while it does."""

    def __init__(self, store: SqlConversationStore) -> None:
        self._assistant = Assistant(store, store.alarms)
        self.thinking = threading.Event()

    def command_phrases(self) -> list[str]:
        return self._assistant.command_phrases()

    def reply(
        self, text: str, conversation_id: int, cancel: threading.Event | None = None
    ) -> Generator[ReplyPiece, None, None]:
        self.thinking.set()
        time.sleep(1.0)
        yield from self._assistant.reply(text, conversation_id, cancel)

    def understands(self, text: str) -> bool:
        return self._assistant.understands(text)


@pytest.fixture(scope="module")
def question(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return pcm_of(say_to_wav("what time is it", tmp_path_factory.mktemp("speech") / "q.wav"))


@pytest.fixture(scope="module")
def recognizer() -> PocketSphinxRecognizer:
    return PocketSphinxRecognizer(command_phrases(default_skills()))


def _speak_into(pipeline: VoicePipeline, pcm: bytes) -> None:
    for start in range(0, len(pcm), 640):  # 20 ms blocks, as the microphone delivers them
        pipeline.on_audio(pcm[start : start + 640])


def test_toggle_mode_press_to_start_press_to_stop(recognizer, store, question) -> None:
    events = TurnEvents()
    pipeline = VoicePipeline(lambda: recognizer, Assistant(store, store.alarms), None, store, events, mode="toggle")
    try:
        pipeline.press()
        _speak_into(pipeline, question)
        pipeline.release()  # a release means nothing in toggle mode
        assert pipeline.state is TurnState.LISTENING
        pipeline.press()
        assert events.done.wait(10)
    finally:
        pipeline.close()
    assert [e.text for e in events.events if isinstance(e, FinalTranscript)] == ["what time is it"]
    assert events.states()[:2] == [TurnState.LISTENING, TurnState.RECOGNISING]
    assert events.states()[-1] is TurnState.IDLE and any(isinstance(e, TurnFinished) for e in events.events)


def test_cancel_while_listening_and_while_thinking_stores_no_answer(recognizer, store, question) -> None:
    events = TurnEvents()
    brain = SlowBrain(store)
    pipeline = VoicePipeline(lambda: recognizer, brain, None, store, events)
    try:
        pipeline.press()
        _speak_into(pipeline, question[: len(question) // 2])
        pipeline.cancel()
        assert pipeline.state is TurnState.IDLE
        failed = [e for e in events.events if isinstance(e, TurnFailed)]
        assert failed and failed[-1].code == ErrorCode.TURN_CANCELLED.value

        pipeline.press()
        _speak_into(pipeline, question)
        pipeline.release()
        assert brain.thinking.wait(10)
        assert pipeline.state is TurnState.THINKING  # type: ignore[comparison-overlap]  # the call above changed it
        pipeline.cancel()
        time.sleep(1.5)  # the brain finishes its slow answer; it must not be spoken or stored
    finally:
        pipeline.close()
    assert not any(isinstance(e, TurnFinished) for e in events.events)
    assert pipeline.state is TurnState.IDLE
    history = store.get_history(pipeline.conversation_id) if pipeline.conversation_id else []
    # What was said is kept; no answer was given.
    assert [m.role.value for m in history] == ["user"], [m.content for m in history]


def test_silence_is_reported_as_nothing_heard(recognizer, store) -> None:
    events = TurnEvents()
    pipeline = VoicePipeline(lambda: recognizer, Assistant(store, store.alarms), None, store, events)
    try:
        pipeline.press()
        _speak_into(pipeline, b"\x00\x00" * 16000)
        pipeline.release()
        assert events.done.wait(10)
    finally:
        pipeline.close()
    failed = [e for e in events.events if isinstance(e, TurnFailed)]
    assert failed and failed[0].code == ErrorCode.NOTHING_HEARD.value
    assert store.stats().messages_in_db == 0


def test_a_microphone_lost_mid_turn_ends_the_turn_with_an_error_event(recognizer, store, question) -> None:
    events = TurnEvents()
    pipeline = VoicePipeline(lambda: recognizer, Assistant(store, store.alarms), None, store, events)
    try:
        pipeline.press()
        _speak_into(pipeline, question[:8000])
        pipeline.on_device_error(AppError(ErrorCode.AUDIO_INPUT_UNAVAILABLE, "The microphone stopped sending sound."))
        assert pipeline.state is TurnState.IDLE
        pipeline.on_device_error(None)  # back again
        pipeline.press()  # and the next turn works
        _speak_into(pipeline, question)
        pipeline.release()
        deadline = time.monotonic() + 10
        while not any(isinstance(e, TurnFinished) for e in events.events) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        pipeline.close()
    codes = [e.code for e in events.events if isinstance(e, TurnFailed)]
    assert codes[0] == ErrorCode.AUDIO_INPUT_UNAVAILABLE.value
    assert any(getattr(e, "code", "") == "audio_input_back" for e in events.events)
    assert any(isinstance(e, TurnFinished) for e in events.events)


def test_pressing_while_the_model_loads_says_so(store) -> None:
    events = TurnEvents()
    pipeline = VoicePipeline(lambda: None, Assistant(store, store.alarms), None, store, events)
    try:
        pipeline.press()
    finally:
        pipeline.close()
    assert pipeline.state is TurnState.IDLE
    assert any(getattr(e, "code", "") == "speech_model_loading" for e in events.events)


def test_a_bound_method_can_be_unsubscribed_from_the_hub() -> None:
    from desktop_app.core.events import EventHub, Notice, NoticeCode

    hub = EventHub()
    heard = TurnEvents()
    hub.subscribe(heard.__call__)
    hub.publish(Notice(NoticeCode.SPEECH_MODEL_LOADING, "first"))
    hub.unsubscribe(heard.__call__)  # a new bound-method object, equal to the subscribed one
    hub.publish(Notice(NoticeCode.SPEECH_MODEL_READY, "second"))
    assert [e.code for e in heard.events if isinstance(e, Notice)] == [NoticeCode.SPEECH_MODEL_LOADING]


def test_the_hub_refuses_anything_but_an_event() -> None:
    from desktop_app.core.events import EventHub

    hub = EventHub()
    heard = TurnEvents()
    hub.subscribe(heard)
    for wrong in ("speech_model_ready", None, {"code": "turn_failed"}):
        with pytest.raises(TypeError, match="takes an Event"):
            hub.publish(wrong)  # type: ignore[arg-type]
    assert heard.events == []


@contextmanager
def _asking_a_model(recognizer, store, reply: Reply) -> Iterator[tuple[VoicePipeline, OpenAIServer, TurnEvents]]:
    """The voice turn with the assistant and a language model on a local server answering `reply`."""
    events = TurnEvents()
    with OpenAIServer.start(reply) as server:
        model = local_model(store, server.base_url)
        pipeline = VoicePipeline(
            lambda: recognizer, Assistant(store, store.alarms, language_model=model), None, store, events
        )
        try:
            yield pipeline, server, events
        finally:
            pipeline.close()
            model.close()


def test_pressing_again_while_a_model_streams_abandons_its_request(recognizer, store, tmp_path: Path) -> None:
    story = pcm_of(say_to_wav("tell me a long story about the sea", tmp_path / "story.wav"))
    long_answer = Reply("and then the waves came back again. " * 20, token_delay=0.1)
    with _asking_a_model(recognizer, store, long_answer) as (pipeline, server, events):
        pipeline.press()
        _speak_into(pipeline, story)
        pipeline.release()
        deadline = time.monotonic() + 15
        while not events.of(ReplyChunk) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert events.of(ReplyChunk), events.events
        assert events.of(ReplyChunk)[0].source == ReplySource.model("test-model")
        pressed = time.monotonic()
        pipeline.press()  # barge-in: the user talks again
        request = server.wait_for_disconnect(timeout=2)
        assert request.finished_at is not None and request.finished_at - pressed < 0.5
        assert request.tokens_sent < 100
        assert pipeline.state is TurnState.LISTENING
        pipeline.cancel()
    history = store.get_history(pipeline.conversation_id) if pipeline.conversation_id else []
    # The question is kept, and the answer as far as the window showed it, marked as interrupted.
    assert [m.role.value for m in history] == ["user", "assistant"]
    shown = "".join(chunk.text for chunk in events.of(ReplyChunk)).strip()
    assert history[1].content == shown and history[1].interrupted
    assert history[1].spoken_text == ""  # no speaker in this test: nothing of it was heard
    assert history[1].source == "model:test-model"


def test_a_spoken_question_answered_by_a_model_is_stored_with_its_tokens(recognizer, store, tmp_path: Path) -> None:
    story = pcm_of(say_to_wav("tell me a long story about the sea", tmp_path / "story.wav"))
    with _asking_a_model(recognizer, store, Reply("Once there was a boat. The end.")) as (pipeline, _server, events):
        pipeline.press()
        _speak_into(pipeline, story)
        pipeline.release()
        assert events.done.wait(15)
    assert events.of(TurnFinished), events.events
    answer = store.get_history(pipeline.conversation_id)[-1]
    assert (answer.content, answer.source) == ("Once there was a boat. The end.", "model:test-model")
    assert answer.tokens_output == 7 and answer.tokens_input is not None and answer.tokens_input > 0
    assert answer.timings is not None and answer.timings["release_to_first_reply_ms"] > 0


def test_saying_start_a_new_conversation_starts_one(recognizer, store, tmp_path: Path) -> None:
    new = pcm_of(say_to_wav("start a new conversation", tmp_path / "new.wav"))
    events = TurnEvents()
    pipeline = VoicePipeline(lambda: recognizer, Assistant(store, store.alarms), None, store, events)
    try:
        pipeline.press()
        _speak_into(pipeline, new)
        pipeline.release()
        assert events.done.wait(15)
        first = store.list_conversations()[0].conversation.id
        heard = [(m.content, m.source) for m in store.get_history(first)]
        assert pipeline.conversation_id is None, heard  # the next turn opens a new conversation
    finally:
        pipeline.close()
    history = store.get_history(first)
    assert [(m.role.value, m.source) for m in history] == [("user", None), ("assistant", "skill:control")]
    assert history[1].content == "Okay, starting a new conversation."
