"""The voice loop with real audio through a private PulseAudio: speech into the virtual microphone,
recognised, answered."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from speech_audio import say_to_wav

from desktop_app.audio.capture import MicrophoneCapture
from desktop_app.core.brain.clock import ClockBrain
from desktop_app.core.events import Event, FinalTranscript, ReplyChunk, TurnFailed, TurnFinished
from desktop_app.core.pipeline import VoicePipeline
from desktop_app.speech.pocketsphinx_recognizer import PocketSphinxRecognizer
from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.done = threading.Event()

    def __call__(self, event: Event) -> None:
        self.events.append(event)
        if isinstance(event, TurnFinished | TurnFailed):
            self.done.set()

    def of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]


@pytest.fixture(scope="module")
def sphinx() -> PocketSphinxRecognizer:
    return PocketSphinxRecognizer(ClockBrain().command_phrases())


@pytest.fixture
def loop(pulse_audio, sphinx, tmp_path: Path):
    store = SqlConversationStore.open(sqlite_url(tmp_path / "assistant.db"))
    recorder = Recorder()
    pipeline = VoicePipeline(lambda: sphinx, ClockBrain(), None, store, recorder)
    capture = MicrophoneCapture(pipeline.on_audio, pipeline.on_level, pipeline.on_device_error)
    capture.start()
    time.sleep(0.3)  # the stream is open and the preroll is filling
    yield pipeline, recorder, store, pulse_audio
    capture.stop()
    pipeline.close()
    store.close()


def test_a_spoken_question_is_recognised_answered_and_stored(loop, tmp_path: Path) -> None:
    pipeline, recorder, store, pulse = loop
    speech = say_to_wav("what time is it", tmp_path / "ask.wav")
    pipeline.press()
    pulse.play(speech)
    time.sleep(0.15)
    pipeline.release()
    assert recorder.done.wait(10)
    finals = recorder.of(FinalTranscript)
    assert [f.text for f in finals] == ["what time is it"]
    replies = recorder.of(ReplyChunk)
    assert replies and replies[0].text.startswith("It is") and replies[0].source == "skill:time"
    finished = recorder.of(TurnFinished)
    assert finished, recorder.of(TurnFailed)
    history = store.get_history(pipeline.conversation_id)
    assert [m.content for m in history][0] == "what time is it"
    assert history[1].source == "skill:time" and "release_to_final_ms" in (history[1].timings or {})


def test_speech_begun_before_the_press_is_kept(loop, tmp_path: Path) -> None:
    """The preroll: the press comes 300 ms after the first word began."""
    pipeline, recorder, _store, pulse = loop
    speech = say_to_wav("what time is it", tmp_path / "early.wav")
    player = threading.Thread(target=pulse.play, args=(speech,))
    player.start()
    time.sleep(0.3)
    pipeline.press()
    player.join()
    time.sleep(0.15)
    pipeline.release()
    assert recorder.done.wait(10)
    assert [f.text for f in recorder.of(FinalTranscript)] == ["what time is it"]
