"""Choosing another microphone or speaker while the app is running: in the middle of capturing, while a turn
listens, while idle and while an answer is being spoken. The switch is no failure, the sound carries on from
the new device, and nothing is lost but the switch itself; the controls return at once even while a device
is slow to open.

A private PulseAudio with two speakers and two microphones, each hearing only its own speaker
(pulse_server.py, second_pair): a tone played into one speaker is heard only by its microphone, so which
device the app really uses is measured, not assumed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from desktop_sound import HIGH, LOW, RATE, as_float, power_at, read_wav, tone_clip, tone_wav
from pulse_server import (
    SECOND_MICROPHONE_DESCRIPTION,
    SECOND_SPEAKER,
    SECOND_SPEAKER_DESCRIPTION,
    SPEAKER,
    PulseAudioServer,
)
from recorder import Recorder
from test_playback import Events, sound_segments, wait_idle
from test_tts import pcm_samples, render
from turn_events import TurnEvents

from desktop_app.audio import capture as capture_module
from desktop_app.audio import playback as playback_module
from desktop_app.audio.capture import MicrophoneCapture
from desktop_app.audio.playback import AudioPlayer, ClipFinished, ClipStarted, PlaybackFailed
from desktop_app.core.errors import AppError
from desktop_app.core.events import Notice, SpeakingFinished, SpeakingStarted, TurnFailed, TurnFinished
from desktop_app.core.ports import ReplyPiece, Transcript
from desktop_app.core.reply_source import ReplySource
from desktop_app.core.settings import AUDIO_OUTPUT_DEVICE, Settings
from desktop_app.speech.tts import SpeechOutput
from desktop_app.speech.tts_cache import TtsCache

WINDOW = RATE // 50  # 20 ms of captured sound
# A control is "at once" when it returns within this (a loaded 2-core machine included).
AT_ONCE_S = 0.05


def _slow(
    function: Callable[..., Any],
    seconds: float,
    when: Callable[[Any], bool],
    entered: threading.Event | None = None,
) -> Callable[..., Any]:
    """`function`, taking `seconds` longer for the names `when` picks (a sound server slow to answer);
    `entered` is set as such a call begins."""

    def slowed(name: Any) -> Any:
        if when(name):
            if entered is not None:
                entered.set()
            time.sleep(seconds)
        return function(name)

    return slowed


def _timed(call: Callable[[], object]) -> float:
    started = time.monotonic()
    call()
    return time.monotonic() - started


class _Tones:
    """LOW plays into the Virtual Speaker (heard by the Virtual Microphone) and HIGH into the USB Headphones
    (heard by the USB Microphone), both at once, for `seconds`."""

    def __init__(self, server: PulseAudioServer, tmp_path: Path, seconds: float) -> None:
        low = tone_wav(tmp_path / "low.wav", LOW, seconds)
        high = tone_wav(tmp_path / "high.wav", HIGH, seconds)
        self._players = [
            threading.Thread(target=server.play, args=(low, SPEAKER)),
            threading.Thread(target=server.play, args=(high, SECOND_SPEAKER)),
        ]
        for player in self._players:
            player.start()
        time.sleep(0.3)  # both are playing

    def join(self) -> None:
        for player in self._players:
            player.join()


def _loudest(samples: np.ndarray) -> list[float]:
    """The loudest sample of each 20 ms."""
    whole = len(samples) // WINDOW * WINDOW
    return [float(v) for v in np.abs(samples[:whole]).reshape(-1, WINDOW).max(axis=1)]


def _tone_of(samples: np.ndarray) -> float:
    return LOW if power_at(samples, RATE, LOW) > power_at(samples, RATE, HIGH) else HIGH


# -- the microphone ------------------------------------------------------------------------------------------


def test_switching_microphones_while_capturing_loses_nothing(
    desktop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The new microphone takes 0.4 s to find (a slow sound server): the old one goes on recording
    meanwhile, so the sound handed on has no hole, only the new microphone's sound after the switch, and no
    failure is reported."""
    monkeypatch.setattr(
        capture_module,
        "find_input_device",
        _slow(capture_module.find_input_device, 0.4, lambda name: name == SECOND_MICROPHONE_DESCRIPTION),
    )
    tones = _Tones(desktop, tmp_path, 3.5)
    frames: list[bytes] = []
    errors: list[AppError | None] = []
    capture = MicrophoneCapture(frames.append, None, errors.append)
    started = time.monotonic()
    capture.start()
    try:
        time.sleep(1.0)
        assert _timed(lambda: capture.set_device(SECOND_MICROPHONE_DESCRIPTION)) < AT_ONCE_S
        switched = time.monotonic() - started
        time.sleep(1.2)
        assert capture.device is not None and capture.device.name == SECOND_MICROPHONE_DESCRIPTION
    finally:
        stopped = time.monotonic() - started
        assert capture.stop()
        tones.join()
    assert errors == []  # a switch is not a failure
    heard = as_float(b"".join(frames))
    # Nothing lost: the sound handed on is as long as the capture ran (less the stream's first moment),
    # and no 20 ms of it is silent.
    print(f"captured {len(heard) / RATE:.3f} s in {stopped:.3f} s, switched at {switched:.3f} s")
    assert stopped - 0.2 < len(heard) / RATE <= stopped + 0.05
    loudest = _loudest(heard)
    assert min(loudest) > 0.3, [i * 0.02 for i, v in enumerate(loudest) if v <= 0.3]
    # The old microphone's tone up to the switch, the new one's after it.
    before = heard[: int((switched - 0.3) * RATE)]
    after = heard[int((switched + 0.5) * RATE) :]
    assert _tone_of(before) == LOW and power_at(before, RATE, LOW) > 1000 * power_at(before, RATE, HIGH)
    assert _tone_of(after) == HIGH and power_at(after, RATE, HIGH) > 1000 * power_at(after, RATE, LOW)
    tones_in_order = [_tone_of(heard[i : i + WINDOW * 5]) for i in range(0, len(heard) - WINDOW * 5, WINDOW * 5)]
    assert tones_in_order == sorted(tones_in_order)  # LOW, then HIGH: never back and forth


class _Hearing:
    """A recogniser that keeps what the turn handed it and hears "what time is it"."""

    name = "hearing"

    def __init__(self) -> None:
        self.heard: list[bytes] = []

    def start_utterance(self) -> None:
        self.heard = []

    def feed(self, pcm16: bytes) -> str | None:
        self.heard.append(pcm16)
        return None

    def finish(self) -> Transcript:
        return Transcript("what time is it", 1.0)

    def cancel(self) -> None:
        pass


class _Brief:
    """Answers in one word."""

    def command_phrases(self) -> list[str]:
        return ["what time is it"]

    def understands(self, text: str) -> bool:
        return True

    def reply(
        self, text: str, conversation_id: int, cancel: threading.Event | None = None
    ) -> Generator[ReplyPiece, None, None]:
        yield ReplyPiece("Noon.", ReplySource.skill("clock"))


def test_switching_microphones_while_a_turn_listens(desktop, tmp_path: Path) -> None:
    """The app's wiring (the capture feeding the pipeline): the turn goes on listening across the switch,
    hears both microphones' sound without a hole, and finishes normally."""
    from desktop_app.core.pipeline import VoicePipeline
    from desktop_app.storage.engine import sqlite_url
    from desktop_app.storage.store import SqlConversationStore

    store = SqlConversationStore.open(sqlite_url(tmp_path / "assistant.db"))
    recorder = TurnEvents()
    recognizer = _Hearing()
    pipeline = VoicePipeline(lambda: recognizer, _Brief(), None, store, recorder, keep_preroll=False)
    capture = MicrophoneCapture(pipeline.on_audio, pipeline.on_level, pipeline.on_device_error)
    tones = _Tones(desktop, tmp_path, 3.0)
    capture.start()
    try:
        time.sleep(0.5)
        pipeline.press()
        pressed = time.monotonic()
        time.sleep(0.8)
        capture.set_device(SECOND_MICROPHONE_DESCRIPTION)
        time.sleep(1.0)
        pipeline.release()
        listened = time.monotonic() - pressed
        assert recorder.done.wait(15)
    finally:
        capture.stop()
        pipeline.close()
        store.close()
        tones.join()
    assert not recorder.of(TurnFailed), recorder.of(TurnFailed)
    assert not [n for n in recorder.of(Notice) if n.code == "audio_input_back"]
    assert len(recorder.of(TurnFinished)) == 1
    heard = as_float(b"".join(recognizer.heard))
    assert listened - 0.1 < len(heard) / RATE < listened + 0.1
    assert min(_loudest(heard)) > 0.3
    assert _tone_of(heard[: int(0.6 * RATE)]) == LOW and _tone_of(heard[-int(0.6 * RATE) :]) == HIGH


def test_controls_return_at_once_while_a_microphone_is_slow_to_open(desktop, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        capture_module, "find_input_device", _slow(capture_module.find_input_device, 1.5, lambda _name: True)
    )
    errors: list[AppError | None] = []
    capture = MicrophoneCapture(lambda _pcm: None, None, errors.append)
    assert _timed(capture.start) < AT_ONCE_S
    time.sleep(0.1)  # its thread is opening the microphone now
    assert _timed(lambda: capture.set_device(SECOND_MICROPHONE_DESCRIPTION)) < AT_ONCE_S
    waited = _timed(capture.stop)
    assert waited < capture_module.STOP_WAIT_S + AT_ONCE_S  # a bounded wait, not the whole opening
    time.sleep(2.0)  # the opening finishes, and the stream it made is closed again at once
    assert errors == []
    capture.start()  # after a stop that did not wait for the end, it starts again all the same
    assert capture.stop(timeout=3.0)
    assert errors == []


# -- the speaker ---------------------------------------------------------------------------------------------


class _Recordings:
    """What each speaker plays, recorded from its monitor."""

    def __init__(self, server: PulseAudioServer, tmp_path: Path) -> None:
        self._paths = {name: tmp_path / f"{name}.wav" for name in (SPEAKER, SECOND_SPEAKER)}
        self._recorders = [server.record(path, speaker=name) for name, path in self._paths.items()]
        time.sleep(0.4)  # recording

    def finish(self) -> dict[str, np.ndarray]:
        time.sleep(0.3)
        for recorder in self._recorders:
            recorder.terminate()
            recorder.wait(10)
        return {name: read_wav(path) for name, path in self._paths.items()}


def _sounding(samples: np.ndarray) -> float:
    """Seconds of sound in a recording."""
    return sum(end - start for start, end in sound_segments(samples, RATE, threshold=0.02, join=0.05))


def test_switching_speakers_while_idle(desktop, tmp_path: Path) -> None:
    events = Events()
    player = AudioPlayer(None, events)
    recordings = _Recordings(desktop, tmp_path)
    try:
        player.play(tone_clip(LOW, 0.5), tag="before")
        assert wait_idle(player)
        assert _timed(lambda: player.set_device(SECOND_SPEAKER_DESCRIPTION)) < AT_ONCE_S
        time.sleep(0.3)  # the player has closed the idle stream
        player.play(tone_clip(HIGH, 0.5), tag="after")
        assert wait_idle(player)
    finally:
        recorded = recordings.finish()
        player.close()
    assert not events.of(PlaybackFailed)
    assert [(e.tag, e.interrupted) for e in events.of(ClipFinished)] == [("before", False), ("after", False)]
    first, second = recorded[SPEAKER], recorded[SECOND_SPEAKER]
    assert _sounding(first) == pytest.approx(0.5, abs=0.05) and _tone_of(first) == LOW
    assert _sounding(second) == pytest.approx(0.5, abs=0.05) and _tone_of(second) == HIGH
    assert power_at(first, RATE, HIGH) < 1e-3 * power_at(first, RATE, LOW)  # each only on its own speaker
    assert power_at(second, RATE, LOW) < 1e-3 * power_at(second, RATE, HIGH)


def test_switching_speakers_while_playing_carries_on_there(
    desktop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The new speaker takes 0.3 s to find; the clip goes on playing on the old one meanwhile, then
    carries on on the new one from where it was: no failure, not cut short, nothing lost but the moment of
    the switch."""
    monkeypatch.setattr(
        playback_module,
        "find_output_device",
        _slow(playback_module.find_output_device, 0.3, lambda name: name == SECOND_SPEAKER_DESCRIPTION),
    )
    events = Events()
    player = AudioPlayer(None, events)
    recordings = _Recordings(desktop, tmp_path)
    try:
        player.play(tone_clip(HIGH, 2.0), tag="long")
        assert events.wait_for(lambda ev: ev.of(ClipStarted))
        time.sleep(0.6)
        assert _timed(lambda: player.set_device(SECOND_SPEAKER_DESCRIPTION)) < AT_ONCE_S
        time.sleep(0.1)  # the player's thread is finding the new speaker now
        assert _timed(player.is_playing) < AT_ONCE_S
        assert wait_idle(player)
    finally:
        recorded = recordings.finish()
        player.close()
    assert not events.of(PlaybackFailed)
    assert [(e.tag, e.interrupted) for e in events.of(ClipFinished)] == [("long", False)]
    on_first, on_second = _sounding(recorded[SPEAKER]), _sounding(recorded[SECOND_SPEAKER])
    print(f"{on_first:.3f} s on the first speaker, {on_second:.3f} s on the second")
    assert on_first == pytest.approx(1.0, abs=0.15)  # until the new speaker was found
    assert on_second > 0.7
    assert on_first + on_second == pytest.approx(2.0, abs=0.03 + 0.05 * player.underflows)


def test_controls_return_at_once_while_a_speaker_is_slow_to_open(desktop, monkeypatch: pytest.MonkeyPatch) -> None:
    opening = threading.Event()
    slowed = _slow(playback_module.find_output_device, 1.0, lambda _name: True, opening)
    monkeypatch.setattr(playback_module, "find_output_device", slowed)
    events = Events()
    player = AudioPlayer(None, events)
    generation = player.generation
    playing = threading.Thread(target=lambda: player.play(tone_clip(HIGH, 0.5), generation=generation))
    try:
        playing.start()
        assert opening.wait(5)  # play() is opening the speaker on its caller's thread
        assert _timed(player.is_playing) < AT_ONCE_S
        assert _timed(player.stop) < AT_ONCE_S
        assert _timed(lambda: player.set_device(SECOND_SPEAKER_DESCRIPTION)) < AT_ONCE_S
        playing.join(5)
        time.sleep(0.3)
    finally:
        player.close()
    assert not events.of(ClipStarted)  # stopped before it was queued: never heard


def test_choosing_another_speaker_while_an_answer_is_spoken(desktop, tmp_path: Path) -> None:
    """The speaker chosen in the settings takes over in the middle of a sentence; the answer finishes
    normally, and the next one is spoken there from the start."""
    settings = Settings(None)
    spoken = Recorder()
    speech = SpeechOutput(settings, spoken, cache=TtsCache(tmp_path / "cache"))
    assert speech.wait_ready(30)
    text = "This sentence is long enough to still be playing when another speaker is chosen for it."
    recordings = _Recordings(desktop, tmp_path)
    try:
        speech.speak(text)
        assert spoken.wait_for(SpeakingStarted)
        time.sleep(0.8)
        assert _timed(lambda: settings.set(AUDIO_OUTPUT_DEVICE, SECOND_SPEAKER_DESCRIPTION)) < AT_ONCE_S
        assert spoken.wait_for(SpeakingFinished)
        timings = speech.last_reply_timings()
        time.sleep(0.5)
        speech.speak("Good morning.")
        assert spoken.wait_for(SpeakingFinished, 2)
        again = speech.last_reply_timings()
        rendered = render(speech, text)  # the sentence as it was played, from the cache
    finally:
        recorded = recordings.finish()
        speech.close()
    assert spoken.kinds() == [SpeakingStarted, SpeakingFinished] * 2
    assert all(not e.interrupted for e in spoken.events if isinstance(e, SpeakingFinished))
    assert timings is not None and again is not None
    first, second = recorded[SPEAKER], recorded[SECOND_SPEAKER]
    ((start, end),) = sound_segments(first, RATE, threshold=0.01, join=0.3)
    assert end - start == pytest.approx(0.8, abs=0.2)  # only until the switch
    later = sound_segments(second, RATE, threshold=0.01, join=0.3)
    assert len(later) == 2  # the rest of the first answer, then the whole second one
    # Both parts together are as long as the sentence's sound (give or take a pause between words that
    # the switch may fall into).
    assert rendered.cached
    ((clip_start, clip_end),) = sound_segments(pcm_samples(rendered), rendered.audio.format.rate, 0.01, join=0.3)
    heard = (end - start) + (later[0][1] - later[0][0])
    print(f"heard {heard:.3f} s of the sentence's {clip_end - clip_start:.3f} s")
    assert heard == pytest.approx(clip_end - clip_start, abs=0.15)
    assert later[0][0] < later[1][0]


def test_stopping_speech_does_not_wait_for_a_speaker_that_is_slow_to_open(
    desktop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """start_reply(), stop() and is_speaking() (what a turn and push-to-talk call) return at once while the
    speaker is still being opened, and the stopped sentence is never heard."""
    opening = threading.Event()
    slowed = _slow(playback_module.find_output_device, 1.0, lambda _name: True, opening)
    monkeypatch.setattr(playback_module, "find_output_device", slowed)
    spoken = Recorder()
    speech = SpeechOutput(Settings(None), spoken)
    try:
        assert speech.wait_ready(30)
        assert _timed(speech.start_reply) < AT_ONCE_S  # the player's thread opens the speaker ahead
        speech.add_text("Good morning. ")
        speech.end_reply()
        assert opening.wait(10)
        assert _timed(speech.is_speaking) < AT_ONCE_S
        assert _timed(speech.stop) < AT_ONCE_S
        assert spoken.wait_for(SpeakingFinished)
        time.sleep(1.5)
    finally:
        speech.close()
    assert spoken.kinds() == [SpeakingFinished]
    assert all(e.interrupted for e in spoken.events if isinstance(e, SpeakingFinished))
