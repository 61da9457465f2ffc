"""Spoken answers with real audio: pyttsx3 renders, the player plays into a private PulseAudio's virtual
speaker, and the tests record its monitor and listen (PocketSphinx with a small grammar) to what was said."""

from __future__ import annotations

import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from pocketsphinx import Decoder
from recorder import Recorder
from test_playback import Recording, sound_segments

from desktop_app.core.audio_format import AudioChunk, AudioFormat
from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.core.events import Notice, SpeakingFinished, SpeakingStarted, TurnFailed
from desktop_app.core.ports import Speaker
from desktop_app.core.settings import Settings
from desktop_app.speech.reply_queue import ReplyTimings
from desktop_app.speech.tts import SpeechOutput
from desktop_app.speech.tts_cache import TtsCache
from desktop_app.speech.tts_engine import RenderedSpeech, wait_for_wav

PHRASES = (
    "it is five past three",
    "it is ten to four",
    "what time is it",
    "set a timer for five minutes",
    "good morning",
)


class Listener(Recorder):
    def wait_finished(self, count: int = 1, timeout: float = 20.0) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.of(SpeakingFinished)) >= count, timeout), self.events

    def wait_started(self, timeout: float = 10.0) -> SpeakingStarted:
        with self.changed:
            assert self.changed.wait_for(lambda: self.of(SpeakingStarted), timeout), self.events
            return self.of(SpeakingStarted)[-1]


def render(output: SpeechOutput, text: str) -> RenderedSpeech:
    """One sentence rendered with the current voice settings (through the cache), on the engine's thread,
    without playing it."""
    return output._engine.call(lambda renderer: output._render(renderer, text))


def pcm_samples(rendered: RenderedSpeech) -> np.ndarray:
    audio_format = rendered.audio.format
    assert (audio_format.width, audio_format.channels) == (2, 1)  # what espeak-ng writes
    return np.frombuffer(rendered.audio.audio, "<i2").astype(np.float32) / 32768


def recognise(samples: np.ndarray, rate: int) -> str:
    assert rate == 16_000
    decoder = Decoder(samprate=rate, loglevel="FATAL")
    grammar = "#JSGF V1.0;\ngrammar phrases;\npublic <phrase> = " + " | ".join(PHRASES) + ";\n"
    decoder.add_jsgf_string("phrases", grammar)
    decoder.activate_search("phrases")
    decoder.start_utt()
    decoder.process_raw((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes(), full_utt=True)
    decoder.end_utt()
    hypothesis = decoder.hyp()
    return hypothesis.hypstr if hypothesis is not None else ""


@pytest.fixture
def settings() -> Settings:
    values = Settings(None)
    values.set("voice.name", "en-us+klatt4")  # the voice PocketSphinx understands best (recipes.md)
    values.set("voice.rate", 150)
    return values


@pytest.fixture
def speech(pulse_audio, settings: Settings, tmp_path: Path):
    listener = Listener()
    output = SpeechOutput(settings, listener, cache=TtsCache(tmp_path / "tts-cache"))
    assert output.wait_ready(10)
    yield output, listener
    output.close()


def test_it_implements_the_speaker_port() -> None:
    ports = {name for name in dir(Speaker) if not name.startswith("_")}
    assert ports <= set(dir(SpeechOutput))


def test_a_spoken_time_is_heard_and_recognised(speech, pulse_audio, tmp_path: Path) -> None:
    output, listener = speech
    recording = Recording(pulse_audio, tmp_path / "heard.wav")
    asked = time.monotonic()
    output.speak("It is five past three.")
    listener.wait_finished()
    finished = listener.of(SpeakingFinished)[0]
    stopped_recording = time.monotonic()
    samples, rate = recording.finish(tail=0.3)
    stopped_recording += 0.3

    assert listener.kinds() == [SpeakingStarted, SpeakingFinished]
    started = listener.of(SpeakingStarted)[0]
    assert started.text == "It is five past three."
    assert finished.interrupted is False
    timings = output.last_reply_timings()
    assert timings is not None
    assert timings.first_audio_latency is not None
    assert asked < started.at < asked + 0.5

    # Speech energy at the right time. The recording's last sample was taken when the recorder stopped:
    # that anchors it to the clock. The sound must be where the events and the rendered audio put it.
    rendered = render(output, "It is five past three.")  # the same audio, from the cache
    assert rendered.cached
    clip = pcm_samples(rendered)
    (clip_start, clip_end), *_ = sound_segments(clip, rendered.audio.format.rate, threshold=0.01, join=10)
    segments = sound_segments(samples, rate, threshold=0.01, join=0.3)
    assert len(segments) == 1, segments
    start, end = segments[0]
    recording_began = stopped_recording - len(samples) / rate
    print(
        f"sound began {(recording_began + start - started.at - clip_start) * 1000:.0f} ms and ended "
        f"{(recording_began + end - started.at - clip_end) * 1000:.0f} ms from where the events put it"
    )
    # (On a busy machine the device buffer can run dry for a moment: a hole that delays the rest.)
    hole = 0.05 * output.player.underflows
    assert recording_began + start == pytest.approx(started.at + clip_start, abs=0.1)
    assert recording_began + end == pytest.approx(started.at + clip_end, abs=0.1 + hole)
    assert end - start == pytest.approx(clip_end - clip_start, abs=0.02 + hole)
    assert finished.at == pytest.approx(started.at + rendered.duration, abs=0.01)
    rms = float(np.sqrt(np.mean(samples[int(start * rate) : int(end * rate)] ** 2)))
    assert rms > 0.02

    # and it says what it should.
    speech_part = samples[max(0, int((start - 0.2) * rate)) : int((end + 0.2) * rate)]
    assert recognise(speech_part, rate) == "it is five past three"
    print(
        f"add_text -> first audio {timings.first_audio_latency * 1000:.0f} ms, "
        f"render {timings.first_render_seconds * 1000:.0f} ms"
    )


def test_a_streamed_reply_plays_in_order_while_later_sentences_render(speech, pulse_audio, tmp_path: Path) -> None:
    output, listener = speech
    sentences = ["Good morning.", "It is ten to four.", "Set a timer for five minutes.", "What time is it?"]
    recording = Recording(pulse_audio, tmp_path / "reply.wav")
    output.start_reply()
    for word in " ".join(sentences).split(" "):  # as a language model streams it, about 40 words a second
        output.add_text(word + " ")
        time.sleep(0.025)
    output.end_reply()
    listener.wait_finished()
    samples, rate = recording.finish()

    timings = output.last_reply_timings()
    assert timings is not None
    assert timings.sentences == sentences
    assert listener.of(SpeakingStarted)[0].text == "Good morning."
    assert listener.of(SpeakingFinished)[0].interrupted is False
    # The first sentence was heard before the last one had even been rendered ...
    assert timings.first_audio_at < timings.rendered_at[-1]
    # ... the sentences followed each other with (almost) no gap ...
    assert len(timings.clip_starts) == len(timings.clip_ends) == 4
    gaps = [b - a for a, b in zip(timings.clip_ends, timings.clip_starts[1:], strict=False)]
    assert all(-0.001 < gap < 0.03 for gap in gaps), gaps
    # ... and the recording holds that much sound (espeak's own pauses between sentences included).
    segments = sound_segments(samples, rate, threshold=0.01, join=0.6)
    assert len(segments) == 1, segments
    assert segments[0][1] - segments[0][0] == pytest.approx(timings.clip_ends[-1] - timings.clip_starts[0], abs=0.6)
    # The parts come in the right order: the first and the last can be recognised where they belong.
    first_part = samples[: int((segments[0][0] + timings.clip_ends[0] - timings.clip_starts[0]) * rate)]
    last_part = samples[int((segments[0][1] - (timings.clip_ends[-1] - timings.clip_starts[-1])) * rate) :]
    assert recognise(first_part, rate) == "good morning"
    assert recognise(last_part, rate) == "what time is it"


def test_stop_mid_sentence_silences_within_50_ms_and_drops_the_rest(speech, pulse_audio, tmp_path: Path) -> None:
    output, listener = speech
    recording = Recording(pulse_audio, tmp_path / "stopped.wav")
    output.speak("This first sentence is rather long so that it can be interrupted. This one is never heard.")
    started = listener.wait_started()
    time.sleep(max(0.0, started.at + 0.8 - time.monotonic()))
    assert output.is_speaking()
    output.stop()
    listener.wait_finished()
    output.add_text("Nor is this. ")  # text after stop() waits for the next start_reply()
    time.sleep(0.6)
    samples, rate = recording.finish(tail=0.1)

    assert listener.kinds() == [SpeakingStarted, SpeakingFinished]
    assert listener.of(SpeakingFinished)[0].interrupted is True
    assert not output.is_speaking()
    report = output.last_stop
    assert report is not None
    assert report.latency is not None
    segments = sound_segments(samples, rate, threshold=0.01, join=0.3)
    assert len(segments) == 1, segments  # nothing after the stop
    heard = segments[0][1] - segments[0][0]
    heard_after_stop = started.at + heard - report.requested_at
    print(f"stop: {report.latency * 1000:.1f} ms by the player, {heard_after_stop * 1000:.1f} ms in the recording")
    assert report.latency < 0.05
    if output.player.underflows == 0:  # a hole in the sound (busy machine) would lengthen what was heard
        assert heard_after_stop < 0.05
    assert heard == pytest.approx(0.8, abs=0.1)


def test_the_cache_makes_a_repeated_phrase_start_sooner(speech) -> None:
    output, listener = speech
    output.speak("It is ten to four.")  # the device is open and warm for both measurements
    listener.wait_finished()
    numbers: list[ReplyTimings] = []
    for _ in range(2):
        output.speak("Good morning.")
        listener.wait_finished(len(numbers) + 2)
        timings = output.last_reply_timings()
        assert timings is not None
        numbers.append(timings)
    uncached, cached = numbers
    assert uncached.first_cached is False
    assert cached.first_cached is True
    slow, fast = uncached.first_render_seconds, cached.first_render_seconds
    slow_start, fast_start = uncached.first_audio_latency, cached.first_audio_latency
    assert slow is not None and fast is not None and slow_start is not None and fast_start is not None
    assert fast < slow
    print(
        f"render {slow * 1000:.1f} ms -> {fast * 1000:.2f} ms; "
        f"add_text -> first audio {slow_start * 1000:.0f} ms -> {fast_start * 1000:.0f} ms"
    )


def test_voices_are_listed(speech) -> None:
    output, _ = speech
    voices = output.voices()
    assert voices
    assert any("en" in voice.languages or voice.id.endswith("/en-us") for voice in voices)
    assert all(voice.id and voice.name for voice in voices)


def test_a_bad_output_device_is_reported_and_the_default_is_used(
    speech, settings: Settings, pulse_audio, tmp_path: Path
) -> None:
    output, listener = speech
    settings.set("audio.output_device", "No Such Speaker")
    recording = Recording(pulse_audio, tmp_path / "fallback.wav")
    output.speak("Good morning.")
    listener.wait_finished()
    samples, rate = recording.finish()

    assert listener.kinds() == [Notice, SpeakingStarted, SpeakingFinished]
    notice = listener.of(Notice)[0]
    assert notice.code == ErrorCode.AUDIO_OUTPUT_UNAVAILABLE.value
    assert "No Such Speaker" in notice.message
    assert "Settings > Audio" in notice.message
    assert listener.of(SpeakingFinished)[0].interrupted is False
    assert sound_segments(samples, rate, threshold=0.01, join=0.3)


def test_rate_and_volume_settings_take_effect(speech, settings: Settings) -> None:
    output, _ = speech
    text = "Set a timer for five minutes."
    settings.set("voice.rate", 120)
    slow = render(output, text)
    settings.set("voice.rate", 300)
    fast = render(output, text)
    assert not slow.cached
    assert not fast.cached
    assert slow.duration > 1.8 * fast.duration

    settings.set("voice.volume", 0.2)
    quiet = render(output, text)
    settings.set("voice.volume", 1.0)
    loud = render(output, text)
    assert not quiet.cached

    def rms(rendered: RenderedSpeech) -> float:
        return float(np.sqrt(np.mean(pcm_samples(rendered).astype(np.float64) ** 2)))

    assert rms(quiet) < 0.4 * rms(loud)
    assert render(output, text).cached  # the same settings again: from the cache


def test_an_unknown_voice_is_reported_and_the_default_speaks(speech, settings: Settings) -> None:
    output, listener = speech
    settings.set("voice.name", "no-such-voice")
    rendered = render(output, "Good morning.")
    assert rendered.duration > 0.3
    (notice,) = listener.of(Notice)
    assert notice.code == ErrorCode.VOICE_UNAVAILABLE.value
    assert "no-such-voice" in notice.message


def test_an_empty_reply_still_finishes(speech) -> None:
    output, listener = speech
    output.start_reply()
    output.add_text("  ... ")
    output.end_reply()
    listener.wait_finished()
    assert listener.kinds() == [SpeakingFinished]
    assert listener.of(SpeakingFinished)[0].interrupted is False
    output.start_reply()
    output.stop()  # nothing was said: no event
    time.sleep(0.1)
    assert listener.kinds() == [SpeakingFinished]


def test_a_render_failure_is_a_turn_failure(pulse_audio, settings: Settings) -> None:
    listener = Listener()
    output = SpeechOutput(settings, listener, render_timeout=0.0)  # no render can finish in no time
    try:
        output.speak("Good morning.")
        listener.wait_finished()
        assert listener.kinds() == [TurnFailed, SpeakingFinished]
        assert listener.of(TurnFailed)[0].code == ErrorCode.TTS_RENDER_FAILED.value
        assert listener.of(SpeakingFinished)[0].interrupted is True
    finally:
        output.close()


def test_waiting_for_a_wav_that_is_still_being_written(tmp_path: Path) -> None:
    path = tmp_path / "slow.wav"
    frames = (np.arange(22_050) % 100).astype("<i2").tobytes()
    finished = threading.Event()

    def write_slowly() -> None:
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(22_050)
            out.setnframes(len(frames) // 2)
            for offset in range(0, len(frames), 4410):  # ten pieces, 20 ms apart
                out.writeframesraw(frames[offset : offset + 4410])
                time.sleep(0.02)
        finished.set()

    writer = threading.Thread(target=write_slowly)
    writer.start()
    audio = wait_for_wav(path, finished, time.monotonic() + 5)
    writer.join()
    assert audio == AudioChunk(frames, AudioFormat(22_050, 2, 1))


def test_a_wav_the_player_cannot_play_is_a_render_failure(tmp_path: Path) -> None:
    path = tmp_path / "eight-bit.wav"
    with wave.open(str(path), "wb") as out:  # 8-bit PCM is unsigned: it would play as noise
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(22_050)
        out.writeframes(bytes(2205))
    finished = threading.Event()
    finished.set()
    with pytest.raises(AppError) as caught:
        wait_for_wav(path, finished, time.monotonic() + 5)
    assert caught.value.code is ErrorCode.TTS_RENDER_FAILED
    assert "unexpected format" in caught.value.message
