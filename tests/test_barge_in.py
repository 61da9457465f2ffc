"""Barge-in: pressing push-to-talk while the assistant speaks silences it at once and starts listening."""

from __future__ import annotations

import threading
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from desktop_app.audio.capture import MicrophoneCapture
from desktop_app.core.brain.assistant import command_phrases, default_skills
from desktop_app.core.events import Event, SpeakingFinished, SpeakingStarted, StateChanged, TurnState
from desktop_app.core.pipeline import VoicePipeline
from desktop_app.core.ports import ReplyPiece
from desktop_app.core.settings import Settings
from desktop_app.speech.pocketsphinx_recognizer import PocketSphinxRecognizer
from desktop_app.speech.tts import SpeechOutput
from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore


class Talkative:
    """Answers everything at length, so there is something to interrupt."""

    def command_phrases(self) -> list[str]:
        return command_phrases(default_skills())

    def reply(self, text: str, conversation_id: int, cancel: threading.Event | None = None) -> Iterator[ReplyPiece]:
        for n in range(1, 6):
            yield ReplyPiece(f"This is sentence number {n} of a long and winding answer about nothing much. ", "test")


@dataclass
class Heard:
    """The pipeline's events, and whether speech has started."""

    events: list[Event] = field(default_factory=list)
    speaking: threading.Event = field(default_factory=threading.Event)

    def __call__(self, event: Event) -> None:
        self.events.append(event)
        if isinstance(event, SpeakingStarted):
            self.speaking.set()


@dataclass
class Talking:
    """A voice pipeline with real speech output on the virtual speaker, and what it reported."""

    pipeline: VoicePipeline
    speaker: SpeechOutput
    heard: Heard


@pytest.fixture
def talking(pulse_audio, tmp_path: Path) -> Iterator[Talking]:
    store = SqlConversationStore.open(sqlite_url(tmp_path / "assistant.db"))
    pipeline_ref: list[VoicePipeline] = []

    def to_pipeline(event: object) -> None:
        pipeline_ref[0].on_speaker_event(event)

    speaker = SpeechOutput(Settings(None), to_pipeline)
    speaker.wait_ready(30)
    recognizer = PocketSphinxRecognizer(command_phrases(default_skills()))
    heard = Heard()
    pipeline = VoicePipeline(lambda: recognizer, Talkative(), speaker, store, heard)
    pipeline_ref.append(pipeline)
    try:
        yield Talking(pipeline, speaker, heard)
    finally:
        pipeline.cancel()
        pipeline.close()
        speaker.close()
        store.close()


def test_pressing_while_the_assistant_speaks_stops_it_within_50_ms(
    talking: Talking, pulse_audio, tmp_path: Path
) -> None:
    from speech_audio import say_to_wav

    pipeline, speaker, heard = talking.pipeline, talking.speaker, talking.heard
    capture = MicrophoneCapture(pipeline.on_audio)
    capture.start()
    recording = tmp_path / "speaker.wav"
    recorder = pulse_audio.record(recording)
    try:
        time.sleep(0.3)
        pipeline.press()
        pulse_audio.play(say_to_wav("what time is it", tmp_path / "q.wav"))
        time.sleep(0.1)
        pipeline.release()
        assert heard.speaking.wait(10), "the answer should start playing"
        time.sleep(0.6)  # well into the first sentence
        pressed_at = time.monotonic()
        pipeline.press()  # barge in
        assert pipeline.state is TurnState.LISTENING
        time.sleep(1.0)
    finally:
        recorder.terminate()
        recorder.wait()
        capture.stop()
    report = speaker.last_stop
    assert report is not None and report.latency is not None
    assert report.requested_at >= pressed_at - 0.01
    assert report.latency <= 0.05, f"silent {report.latency * 1000:.0f} ms after the press"
    finished = [e for e in heard.events if isinstance(e, SpeakingFinished)]
    assert finished and finished[0].interrupted
    states = [e.state for e in heard.events if isinstance(e, StateChanged)]
    spoke = states.index(TurnState.SPEAKING)
    assert TurnState.LISTENING in states[spoke:]  # listening again right after the interruption
    # The recording of the speaker agrees: loud while speaking, then silent to the end.
    with wave.open(str(recording)) as handle:
        samples = np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2").astype(np.float32)
    window = 1600  # 100 ms at 16 kHz
    loudness = [float(np.sqrt(np.mean(samples[i : i + window] ** 2))) for i in range(0, len(samples) - window, window)]
    loud = [i for i, value in enumerate(loudness) if value > 500]
    assert loud, "the answer should be in the recording"
    assert all(value < 50 for value in loudness[loud[-1] + 2 :]), "sound after the barge-in"
    assert len(loudness) - loud[-1] >= 8  # about a second of silence after the last loud moment


def test_pressing_while_an_announcement_plays_silences_it(talking: Talking) -> None:
    pipeline, speaker = talking.pipeline, talking.speaker
    pipeline.announce("Time's up: the pasta timer is done. " * 4, "skill:timer")
    assert talking.heard.speaking.wait(10)
    time.sleep(0.3)
    assert speaker.is_speaking()
    pressed = time.monotonic()
    pipeline.press()
    while speaker.is_speaking() and time.monotonic() - pressed < 1:
        time.sleep(0.005)
    assert time.monotonic() - pressed < 0.1
    assert pipeline.state is TurnState.LISTENING
    finished = [e for e in talking.heard.events if isinstance(e, SpeakingFinished)]
    assert finished and finished[0].interrupted
