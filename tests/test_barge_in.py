"""Barge-in: pressing push-to-talk while the assistant speaks silences it at once and starts listening."""

from __future__ import annotations

import threading
import time
import wave
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from desktop_app.audio.capture import MicrophoneCapture
from desktop_app.core.brain.assistant import command_phrases, default_skills
from desktop_app.core.events import Event, SpeakingFinished, SpeakingStarted, StateChanged, TurnState
from desktop_app.core.pipeline import VoicePipeline
from desktop_app.core.ports import ReplyPiece
from desktop_app.core.reply_source import ReplySource
from desktop_app.core.settings import Settings
from desktop_app.speech.pocketsphinx_recognizer import PocketSphinxRecognizer
from desktop_app.speech.tts import SpeechOutput
from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore


class Talkative:
    """Answers everything at length, so there is something to interrupt."""

    def command_phrases(self) -> list[str]:
        return command_phrases(default_skills())

    def reply(
        self, text: str, conversation_id: int, cancel: threading.Event | None = None
    ) -> Generator[ReplyPiece, None, None]:
        for n in range(1, 6):
            yield ReplyPiece(
                f"This is sentence number {n} of a long and winding answer about nothing much. ",
                ReplySource.model("test"),
            )

    def understands(self, text: str) -> bool:
        return False


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
    recognizer = PocketSphinxRecognizer(command_phrases(default_skills()))
    heard = Heard()
    pipeline = VoicePipeline(lambda: recognizer, Talkative(), partial(SpeechOutput, Settings(None)), store, heard)
    speaker = pipeline.speaker
    assert isinstance(speaker, SpeechOutput)
    speaker.wait_ready(30)
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
    pipeline.announce("Time's up: the pasta timer is done. " * 4, ReplySource.skill("timer"))
    assert talking.heard.speaking.wait(10)
    time.sleep(0.3)
    assert speaker.is_speaking()
    pressed = time.monotonic()
    pipeline.press()
    while speaker.is_speaking() and time.monotonic() - pressed < 1:
        time.sleep(0.005)
    assert time.monotonic() - pressed < 0.1
    assert pipeline.state is TurnState.LISTENING

    def finished() -> list[SpeakingFinished]:
        return [e for e in talking.heard.events if isinstance(e, SpeakingFinished)]

    # The speaker is silent already; its report of it comes from its own event thread, a moment later.
    deadline = time.monotonic() + 5
    while not finished() and time.monotonic() < deadline:
        time.sleep(0.005)
    assert finished() and finished()[0].interrupted


@contextmanager
def _armed_microphone(pipeline: VoicePipeline) -> Iterator[None]:
    """The microphone running, as in the app with the preroll on: it hears the virtual speaker too."""
    capture = MicrophoneCapture(pipeline.on_audio)
    capture.start()
    try:
        time.sleep(0.3)
        yield
    finally:
        capture.stop()


def _ask_and_wait_for_speech(talking: Talking, pulse_audio, tmp_path: Path) -> None:
    from speech_audio import say_to_wav

    pipeline = talking.pipeline
    pipeline.press()
    pulse_audio.play(say_to_wav("what time is it", tmp_path / "q.wav"))
    time.sleep(0.1)
    pipeline.release()
    assert talking.heard.speaking.wait(10), ("the answer should start playing", talking.heard.events)


def _history(talking: Talking, store_path: Path):
    store = SqlConversationStore.open(sqlite_url(store_path))
    try:
        conversation_id = talking.pipeline.conversation_id
        return store.get_history(conversation_id) if conversation_id else []
    finally:
        store.close()


def test_a_tap_while_the_assistant_speaks_means_stop_and_the_answer_is_kept(
    talking: Talking, pulse_audio, tmp_path: Path
) -> None:
    """The microphone is armed and hears the speaker (the virtual microphone records it). A short tap
    stops the answer; it starts no turn of its own, so the assistant's voice never becomes a question; the
    answer is stored as far as it was shown, with what was spoken of it."""
    from desktop_app.core.events import FinalTranscript, TurnFailed, TurnStarted

    pipeline = talking.pipeline
    with _armed_microphone(pipeline):
        _ask_and_wait_for_speech(talking, pulse_audio, tmp_path)
        time.sleep(2.5)  # into the second sentence: the preroll would be full of the assistant's voice
        pipeline.press()
        time.sleep(0.15)
        pipeline.release()
        time.sleep(1.0)
    events = talking.heard.events
    assert pipeline.state is TurnState.IDLE
    assert len([e for e in events if isinstance(e, TurnStarted)]) == 2
    assert [e.text for e in events if isinstance(e, FinalTranscript)] == ["what time is it"]
    # The answer was interrupted (turn 1); the tap (turn 2) ended as "stopped", not as "I did not catch that".
    assert [(e.code, e.turn_id) for e in events if isinstance(e, TurnFailed)] == [
        ("turn_cancelled", 1),
        ("turn_stopped", 2),
    ]
    history = _history(talking, tmp_path / "assistant.db")
    assert [m.role.value for m in history] == ["user", "assistant"]
    answer = history[1]
    assert answer.interrupted and answer.content.startswith("This is sentence number 1")
    assert answer.content.endswith("sentence number 5 of a long and winding answer about nothing much.")
    spoken = answer.spoken_text
    assert spoken is not None and spoken.startswith("This is sentence number 1")
    assert len(spoken) < len(answer.content)


def test_holding_the_key_while_the_assistant_speaks_never_hears_the_assistant(
    talking: Talking, pulse_audio, tmp_path: Path
) -> None:
    """Barge-in and say nothing: the turn must hear nothing, although the microphone heard the assistant
    until the press (preroll) and its last words while it stopped."""
    from desktop_app.core.events import FinalTranscript

    pipeline = talking.pipeline
    with _armed_microphone(pipeline):
        _ask_and_wait_for_speech(talking, pulse_audio, tmp_path)
        time.sleep(2.0)
        pipeline.press()
        time.sleep(1.0)
        pipeline.release()
        deadline = time.monotonic() + 10
        while len([e for e in talking.heard.events if isinstance(e, FinalTranscript)]) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finals = [e.text for e in talking.heard.events if isinstance(e, FinalTranscript)]
    assert finals == ["what time is it", ""], finals
    history = _history(talking, tmp_path / "assistant.db")
    assert [m.role.value for m in history] == ["user", "assistant"]


def test_closing_while_the_answer_is_spoken_keeps_the_answer(talking: Talking, pulse_audio, tmp_path: Path) -> None:
    with _armed_microphone(talking.pipeline):
        _ask_and_wait_for_speech(talking, pulse_audio, tmp_path)
        time.sleep(1.0)
    talking.pipeline.close()  # what quitting the app does
    history = _history(talking, tmp_path / "assistant.db")
    assert [m.role.value for m in history] == ["user", "assistant"]
    assert history[1].interrupted
    assert history[1].content.count("This is sentence number") == 5
    assert (history[1].spoken_text or "").startswith("This is sentence number 1")
