"""Spoken answers: pyttsx3 (espeak-ng) renders each sentence to a WAV file, the audio player plays it.

Rendering and playing are separate so that speech is interruptible and goes to the chosen output device:
pyttsx3's own `say()` shells out to `aplay` on Linux and cannot be stopped or routed.

Threads:
  * the engine thread owns the pyttsx3 engine for its whole life (created, driven and destroyed there).
    It renders one sentence per `runAndWait()`: `save_to_file(text, wav)`, `runAndWait()`, then it waits
    until the WAV is complete, because with espeak-ng `runAndWait()` returns as soon as synthesis has
    *started* (espeak renders on its own thread and the driver writes the file when it finishes). It
    also waits until espeak-ng is idle before each utterance: voice, rate and volume are commands in
    espeak-ng's queue, and pyttsx3 2.99's `runAndWait()` cancels that queue when espeak-ng still looks
    busy from the last utterance, silently dropping a change made just before (measured: every rate
    change after the first was lost when sentences were rendered back to back);
  * the player's threads (desktop_app.audio.playback) play the clips back to back and report when each
    starts and ends; a speaker chosen in the settings while a sentence plays takes over where it is;
  * one event thread hands SpeakingStarted, SpeakingFinished, TurnFailed and Notice to the listener, in
    the order they happened.

A reply streams in through `add_text`; the sentence splitter (core.sentences) passes on each complete
sentence at once, so the first sentence plays while the next ones are still arriving and rendering.
Rendered audio is cached on disk (speech.tts_cache), keyed by engine, voice, rate, volume and text.

Every reply that received text or `end_reply()` ends with exactly one SpeakingFinished: interrupted=False
when everything was played, True when stop() or start_reply() cut it short or it failed (after a
TurnFailed). SpeakingStarted comes at most once per reply, timed when its first sound reaches the device.

espeak-ng is one engine per process, so only one SpeechOutput can be open at a time in a process.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import queue
import struct
import threading
import time
import wave
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from desktop_app.audio.playback import (
    AudioPlayer,
    ClipFinished,
    ClipStarted,
    PlaybackFailed,
    PlayerEvent,
    StopReport,
)
from desktop_app.core.audio_format import SPEECH_FORMAT, AudioChunk, AudioFormat
from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.core.events import Notice, SpeakingFinished, SpeakingStarted, TurnFailed
from desktop_app.core.ports import EventListener, VoiceInfo
from desktop_app.core.privacy import for_log
from desktop_app.core.sentences import DEFAULT_MAX_CHARS, SentenceSplitter
from desktop_app.core.settings import AUDIO_OUTPUT_DEVICE, Settings
from desktop_app.paths import RunFolder
from desktop_app.speech.tts_cache import TtsCache, cache_key

log = logging.getLogger(__name__)

DRIVER = "espeak"
RATE_RANGE = (80, 450)  # words per minute espeak-ng accepts
RENDER_TIMEOUT_SECONDS = 10.0
FINISH_GRACE_SECONDS = 1.0
POLL_SECONDS = 0.002
WORK_FOLDER_PREFIX = "va-tts-"  # in the temporary directory: va-tts-<pid>-<random>
_T = TypeVar("_T")

# espeak-ng keeps one synthesiser per process: one SpeechOutput at a time may drive it.
_ESPEAK_OWNER = threading.Lock()


@dataclass(frozen=True, slots=True)
class RenderedSpeech:
    text: str
    audio: AudioChunk
    cached: bool
    render_seconds: float  # from the request on the engine thread to PCM in hand (cache lookups included)

    @property
    def duration(self) -> float:
        return self.audio.duration


@dataclass
class ReplyTimings:
    """Monotonic times for one reply; the benchmark reads these."""

    first_text_at: float | None = None  # the add_text()/end_reply() call that completed the first sentence
    first_audio_at: float | None = None  # when the first sound reached the device (SpeakingStarted.at)
    first_render_seconds: float | None = None
    first_cached: bool | None = None
    sentences: list[str] = field(default_factory=list)
    rendered_at: list[float] = field(default_factory=list)  # when each sentence was ready to play
    clip_starts: list[float] = field(default_factory=list)  # when each sentence's sound began at the device
    clip_ends: list[float] = field(default_factory=list)  # ... and ended
    finished_at: float | None = None
    interrupted: bool | None = None

    @property
    def first_audio_latency(self) -> float | None:
        """Seconds from the first complete sentence of text to its first sound."""
        if self.first_text_at is None or self.first_audio_at is None:
            return None
        return self.first_audio_at - self.first_text_at


@dataclass
class _Reply:
    id: int
    splitter: SentenceSplitter
    timings: ReplyTimings = field(default_factory=ReplyTimings)
    used: bool = False  # received text or end_reply(): it will report SpeakingFinished
    ended: bool = False
    queued: int = 0  # sentences sent to be rendered
    done: int = 0  # sentences played to the end
    started: bool = False
    concluded: bool = False
    interrupted: bool = False


@dataclass(frozen=True, slots=True)
class _Sentence:
    reply_id: int
    index: int
    text: str


@dataclass(frozen=True, slots=True)
class _Call:
    function: Callable[[Any], Any]
    future: Future[Any]


class SpeechOutput:
    """core.ports.Speaker with pyttsx3 and the audio player. Methods may be called from any thread."""

    def __init__(
        self,
        settings: Settings,
        listener: EventListener,
        *,
        cache: TtsCache | None = None,
        max_sentence_chars: int = DEFAULT_MAX_CHARS,
        render_timeout: float = RENDER_TIMEOUT_SECONDS,
    ) -> None:
        self._settings = settings
        self._listener = listener
        self._cache = cache
        self._max_sentence_chars = max_sentence_chars
        self._render_timeout = render_timeout
        self._lock = threading.Lock()  # reply state; never held while calling the player or the listener
        self._reply_ids = itertools.count(1)
        self._reply: _Reply | None = None
        self._last_timings: ReplyTimings | None = None
        self.last_stop: StopReport | None = None
        self._wanted_device: str | None = settings.get(AUDIO_OUTPUT_DEVICE)
        self._device_fallback = False
        self._device_lock = threading.Lock()
        self._events: queue.SimpleQueue[object | None] = queue.SimpleQueue()
        self._jobs: queue.SimpleQueue[_Sentence | _Call | None] = queue.SimpleQueue()
        self._voices: list[VoiceInfo] | None = None
        self._engine_error: AppError | None = None
        self._engine_ready = threading.Event()
        self._finished = threading.Event()
        self._engine_errors: list[BaseException] = []
        self._requested: tuple[str | None, int, float] | None = None
        self._voice: str | None = None
        self._default_voice: str | None = None
        self._espeak_busy: Callable[[], int] | None = None
        # Rendered WAVs pass through a scratch folder of this run; a later run removes it if this one is killed.
        self._work_folder = RunFolder.create(WORK_FOLDER_PREFIX)
        self._work_dir = self._work_folder.path
        self._utterances = itertools.count(1)
        self._closed = False
        self.player = AudioPlayer(self._wanted_device, self._on_player_event)
        self._device_subscription = settings.subscribe(AUDIO_OUTPUT_DEVICE, self._on_output_device)
        self._event_thread = threading.Thread(target=self._dispatch_events, name="tts-events", daemon=True)
        self._event_thread.start()
        self._engine_thread = threading.Thread(target=self._engine_main, name="tts-engine", daemon=True)
        self._engine_thread.start()

    # -- core.ports.Speaker ----------------------------------------------------------------------------

    def start_reply(self) -> None:
        with self._lock:
            old = self._reply
            self._reply = _Reply(next(self._reply_ids), SentenceSplitter(self._max_sentence_chars))
        self._interrupt(old)
        self._sync_device(retry_fallback=True)
        self.player.prepare()  # a missing speaker is reported when the first sentence is played

    def add_text(self, text: str) -> None:
        now = time.monotonic()
        with self._lock:
            reply = self._open_reply()
            if reply is None:
                return
            reply.used = True
            self._queue_sentences(reply, reply.splitter.feed(text), now)

    def end_reply(self) -> None:
        now = time.monotonic()
        with self._lock:
            reply = self._open_reply()
            if reply is None:
                return
            reply.used = True
            reply.ended = True
            self._queue_sentences(reply, reply.splitter.flush(), now)
            self._conclude_if_done(reply, now)

    def stop(self) -> None:
        with self._lock:
            reply = self._reply
        self._interrupt(reply)

    def is_speaking(self) -> bool:
        """Sound is playing or a sentence is on its way to the speaker."""
        with self._lock:
            reply = self._reply
            pending = reply is not None and not reply.concluded and reply.queued > reply.done
        return pending or self.player.is_playing()

    def voices(self) -> list[VoiceInfo]:
        if self._voices is None:
            self._voices = self._call(self._list_voices)
        return list(self._voices)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._device_subscription.unsubscribe()
        self.stop()
        self._jobs.put(None)
        self._engine_thread.join(timeout=15)
        self.player.close()
        self._events.put(None)
        self._event_thread.join(timeout=5)
        self._work_folder.close()

    # -- more for the app, the benchmark and the tests -------------------------------------------------

    def speak(self, text: str) -> None:
        """A whole reply at once."""
        self.start_reply()
        self.add_text(text)
        self.end_reply()

    def last_reply_timings(self) -> ReplyTimings | None:
        with self._lock:
            reply = self._reply
            return reply.timings if reply is not None and reply.used else self._last_timings

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Waits until the engine is loaded and warmed up; False on timeout."""
        return self._engine_ready.wait(timeout)

    # -- replies (callers' threads, under self._lock) --------------------------------------------------

    def _open_reply(self) -> _Reply | None:
        """The reply text goes to: the current one, or a new one when the last one finished normally.
        None after stop() until the next start_reply(): text of an interrupted reply is not spoken."""
        if self._closed:
            return None
        reply = self._reply
        if reply is not None and reply.concluded and reply.interrupted:
            return None
        if reply is None or reply.concluded:
            reply = self._reply = _Reply(next(self._reply_ids), SentenceSplitter(self._max_sentence_chars))
        return reply

    def _queue_sentences(self, reply: _Reply, sentences: list[str], now: float) -> None:
        for sentence in sentences:
            if not any(char.isalnum() for char in sentence):
                continue  # nothing to say ("...", "-")
            if reply.timings.first_text_at is None:
                reply.timings.first_text_at = now
            reply.timings.sentences.append(sentence)
            self._jobs.put(_Sentence(reply.id, reply.queued, sentence))
            reply.queued += 1

    def _conclude_if_done(self, reply: _Reply, at: float) -> None:
        if reply.ended and not reply.concluded and reply.done >= reply.queued:
            reply.concluded = True
            self._report_finished(reply, interrupted=False, at=at)

    def _report_finished(self, reply: _Reply, interrupted: bool, at: float) -> None:
        reply.interrupted = interrupted
        reply.timings.finished_at = at
        reply.timings.interrupted = interrupted
        if reply.used:
            self._last_timings = reply.timings
            self._events.put(SpeakingFinished(interrupted, at=at))

    def _interrupt(self, reply: _Reply | None) -> None:
        """Ends `reply` as interrupted and silences the player. No clip of it is queued after this: its
        sentences are dropped from now on, and one already on its way to the player carries the player's
        generation from before the stop (see _speak_sentence)."""
        with self._lock:
            live = reply is not None and not reply.concluded
            if reply is not None and live:
                reply.concluded = True  # its sentences and player reports are ignored from now on
                reply.interrupted = True
        report = self.player.stop()
        if report.silent_at is not None:
            self.last_stop = report
        if reply is not None and live:
            with self._lock:
                self._report_finished(reply, interrupted=True, at=report.silent_at or report.requested_at)

    def _fail(self, reply_id: int, error: AppError) -> None:
        with self._lock:
            reply = self._reply
            if reply is None or reply.id != reply_id or reply.concluded:
                return
            self._events.put(TurnFailed(error.code.value, error.message))
        self._interrupt(reply)

    def _current(self, reply_id: int) -> _Reply | None:
        reply = self._reply
        if reply is None or reply.id != reply_id or reply.concluded:
            return None
        return reply

    # -- the player's thread ---------------------------------------------------------------------------

    def _on_player_event(self, event: PlayerEvent) -> None:
        if isinstance(event, PlaybackFailed):
            with self._lock:
                reply = self._reply
            if reply is not None:
                self._fail(reply.id, event.error)
            return
        tag = event.tag
        if not isinstance(tag, _Sentence):
            return
        with self._lock:
            reply = self._current(tag.reply_id)
            if reply is None:
                return
            if isinstance(event, ClipStarted):
                reply.timings.clip_starts.append(event.at)
                if not reply.started:
                    reply.started = True
                    reply.timings.first_audio_at = event.at
                    self._events.put(SpeakingStarted(tag.text, at=event.at))
            elif isinstance(event, ClipFinished):  # played, or cut short: over either way
                reply.timings.clip_ends.append(event.at)
                reply.done += 1
                self._conclude_if_done(reply, event.at)

    # -- the engine thread -----------------------------------------------------------------------------

    def _engine_main(self) -> None:
        if not _ESPEAK_OWNER.acquire(timeout=10):
            self._engine_error = AppError(
                ErrorCode.TTS_UNAVAILABLE, "Speech output is already in use in this process; close it first."
            )
            self._engine_ready.set()
            self._serve(None)
            return
        engine: Any = None
        try:
            try:
                engine = self._create_engine()
            except Exception as error:
                log.exception("the speech engine could not start")
                self._engine_error = AppError(
                    ErrorCode.TTS_UNAVAILABLE,
                    f"Speech output is not available ({error}). Install espeak-ng (Linux: the espeak-ng "
                    "package), then restart the app. Answers are still shown as text.",
                )
            self._engine_ready.set()
            self._serve(engine)
        finally:
            if engine is not None:
                with contextlib.suppress(Exception):
                    engine.stop()
                del engine  # its driver unhooks from espeak-ng
            _ESPEAK_OWNER.release()

    def _create_engine(self) -> Any:
        import pyttsx3
        import pyttsx3.drivers._espeak as espeak_library
        import pyttsx3.drivers.espeak as espeak_driver

        # The driver prints "Audio saved to ..." for every file; route that to the log instead of stdout.
        vars(espeak_driver)["print"] = _log_driver_output
        engine = pyttsx3.Engine(DRIVER)
        # espeak_IsPlaying(): 1 while espeak-ng's own thread runs a command (see _synthesise).
        self._espeak_busy = espeak_library.IsPlaying
        engine.connect("finished-utterance", self._on_engine_finished)
        engine.connect("error", self._on_engine_error)
        self._default_voice = engine.getProperty("voice")
        # The first utterance loads espeak-ng's data and leaves the driver idle, so that properties set
        # later take effect at once (a fresh driver queues them until its first run).
        started = time.monotonic()
        self._synthesise(engine, "ready", RENDER_TIMEOUT_SECONDS)
        log.info("speech engine ready in %.0f ms", (time.monotonic() - started) * 1000)
        return engine

    def _serve(self, engine: Any) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            if isinstance(job, _Call):
                if not job.future.set_running_or_notify_cancel():
                    continue
                try:
                    if engine is None:
                        raise self._engine_error or AppError(ErrorCode.TTS_UNAVAILABLE, "No speech engine.")
                    job.future.set_result(job.function(engine))
                except BaseException as error:
                    job.future.set_exception(error)
                continue
            self._speak_sentence(engine, job)

    def _call(self, function: Callable[[Any], _T]) -> _T:
        future: Future[_T] = Future()
        self._jobs.put(_Call(function, future))
        return future.result(timeout=max(30.0, self._render_timeout * 3))

    def _speak_sentence(self, engine: Any, sentence: _Sentence) -> None:
        with self._lock:
            if self._current(sentence.reply_id) is None:
                return  # stopped meanwhile
        try:
            if engine is None:
                raise self._engine_error or AppError(ErrorCode.TTS_UNAVAILABLE, "No speech engine.")
            rendered = self._render(engine, sentence.text)
        except AppError as error:
            self._fail(sentence.reply_id, error)
            return
        except Exception as error:
            log.exception("rendering %s failed", for_log(sentence.text))
            self._fail(
                sentence.reply_id,
                AppError(ErrorCode.TTS_RENDER_FAILED, f"This answer could not be spoken ({error}); it is shown."),
            )
            return
        if sentence.index == 0:
            self._sync_device(retry_fallback=False)
        with self._lock:
            reply = self._current(sentence.reply_id)
            if reply is None:
                return
            # Read while the reply is known to be live: a stop() after this changes it, and the player
            # then drops the clip (it is played outside the lock, so stop() never waits for a device).
            generation = self.player.generation
            now = time.monotonic()
            reply.timings.rendered_at.append(now)
            if sentence.index == 0:
                reply.timings.first_render_seconds = rendered.render_seconds
                reply.timings.first_cached = rendered.cached
        failure = self._play(rendered, sentence, generation)
        if failure is not None:
            self._fail(sentence.reply_id, failure)

    def _play(self, rendered: RenderedSpeech, sentence: _Sentence, generation: int) -> AppError | None:
        try:
            self.player.play(rendered.audio, sentence, generation=generation)
            return None
        except AppError as error:
            if error.code is not ErrorCode.AUDIO_OUTPUT_UNAVAILABLE or self.player.device is None:
                return error
            # The chosen speaker is missing: say so, and carry on with the system default.
            self._events.put(Notice(error.code.value, f"{error.message} Playing on the default speaker meanwhile."))
            with self._device_lock:
                self._device_fallback = True
                self.player.set_device(None)
        try:
            self.player.play(rendered.audio, sentence, generation=generation)
            return None
        except AppError as error:
            return error

    def _on_output_device(self, name: str | None) -> None:
        """The audio.output_device setting changed (on the changing thread): the player moves there at
        once, also in the middle of a sentence."""
        with self._device_lock:
            self._wanted_device = name
            self._device_fallback = False
            self.player.set_device(name)

    def _sync_device(self, retry_fallback: bool) -> None:
        """Follows the audio.output_device setting; after falling back to the default, the chosen device
        is tried again at the next reply."""
        with self._device_lock:
            wanted = self._settings.get(AUDIO_OUTPUT_DEVICE)
            if wanted != self._wanted_device or (retry_fallback and self._device_fallback):
                self._wanted_device = wanted
                self._device_fallback = False
                self.player.set_device(wanted)

    def _render(self, engine: Any, text: str) -> RenderedSpeech:
        started = time.monotonic()
        if not any(char.isalnum() for char in text):
            return RenderedSpeech(text, AudioChunk(b"", SPEECH_FORMAT), False, 0.0)  # nothing to say
        voice, rate, volume = self._apply_voice(engine)
        key = cache_key(f"pyttsx3-{DRIVER}", voice, rate, volume, text)
        if self._cache is not None:
            hit = self._cache.get(key)
            if hit is not None:
                return RenderedSpeech(text, hit, True, time.monotonic() - started)
        self._engine_errors.clear()
        audio = self._synthesise(engine, text, self._render_timeout)
        if self._cache is not None and not self._engine_errors:
            self._cache.put(key, audio)
        return RenderedSpeech(text, audio, False, time.monotonic() - started)

    def _apply_voice(self, engine: Any) -> tuple[str | None, int, float]:
        """Sets voice, rate and volume from the settings when they changed (on the engine thread, before
        rendering); returns the voice in effect (None: the default), rate and volume."""
        voice: str | None = self._settings.get("voice.name") or None
        rate = min(max(int(self._settings.get("voice.rate")), RATE_RANGE[0]), RATE_RANGE[1])
        volume = min(max(float(self._settings.get("voice.volume")), 0.0), 1.0)
        requested = (voice, rate, volume)
        if requested != self._requested:
            if self._requested is None or voice != self._requested[0]:
                self._voice = self._set_voice(engine, voice)
            engine.setProperty("rate", rate)
            engine.setProperty("volume", volume)
            self._requested = requested
        return self._voice, rate, volume

    def _set_voice(self, engine: Any, voice: str | None) -> str | None:
        self._engine_errors.clear()
        engine.setProperty("voice", voice or self._default_voice)
        if voice is None or not self._engine_errors:
            return voice
        self._events.put(
            Notice(
                ErrorCode.VOICE_UNAVAILABLE.value,
                f"The voice {voice!r} is not installed; using the default voice. Pick another in Settings > Voice.",
            )
        )
        engine.setProperty("voice", self._default_voice)
        self._engine_errors.clear()
        return None

    def _synthesise(self, engine: Any, text: str, timeout: float) -> AudioChunk:
        """One utterance per runAndWait(), then the finished WAV's audio."""
        path = self._work_dir / f"utterance-{next(self._utterances)}.wav"
        self._finished.clear()
        # Voice, rate and volume just set are commands in espeak-ng's queue. runAndWait() cancels that
        # queue when espeak-ng still looks busy, and would drop them: wait until it has applied them.
        self._wait_until_espeak_idle()
        engine.save_to_file(text, str(path))
        engine.runAndWait()
        try:
            audio = _wait_for_wav(path, self._finished, time.monotonic() + timeout)
            self._wait_until_espeak_idle()  # the driver has returned from its last callback
            return audio
        finally:
            with contextlib.suppress(OSError):
                path.unlink()

    def _wait_until_espeak_idle(self, timeout: float = 1.0) -> None:
        if self._espeak_busy is None:
            return
        deadline = time.monotonic() + timeout
        while self._espeak_busy() and time.monotonic() < deadline:
            time.sleep(0.0005)

    def _on_engine_finished(self, name: object = None, completed: bool = True, **_: object) -> None:
        self._finished.set()  # espeak-ng's thread, after the driver wrote the file

    def _on_engine_error(self, name: object = None, exception: BaseException | None = None, **_: object) -> None:
        log.warning("speech engine error: %s", exception)
        self._engine_errors.append(exception or RuntimeError("speech engine error"))

    def _list_voices(self, engine: Any) -> list[VoiceInfo]:
        return [
            VoiceInfo(str(v.id), str(v.name or v.id), tuple(str(lang) for lang in (v.languages or ())))
            for v in engine.getProperty("voices")
        ]

    # -- the event thread ------------------------------------------------------------------------------

    def _dispatch_events(self) -> None:
        while True:
            event = self._events.get()
            if event is None:
                return
            try:
                self._listener(event)
            except Exception:
                log.exception("speech event listener failed")


def _log_driver_output(*args: object, **_: object) -> None:
    log.debug(" ".join(str(arg) for arg in args))


def _wait_for_wav(path: Path, finished: threading.Event, deadline: float) -> AudioChunk:
    """Waits until the WAV at `path` is complete (a valid RIFF header whose sizes match the file, and a
    size that has stopped changing), then returns its audio."""
    last_size = -1
    while True:
        try:
            size = os.stat(path).st_size
        except FileNotFoundError:
            size = -1
        if size >= 44 and size == last_size and _wav_complete(path, size):
            break
        if time.monotonic() > deadline:
            raise AppError(
                ErrorCode.TTS_RENDER_FAILED,
                "The speech engine did not finish rendering in time; the answer is shown as text.",
            )
        last_size = size
        time.sleep(POLL_SECONDS)
    # espeak-ng's thread sends "finished" just after writing; wait for it so that the next utterance
    # cannot start while the driver still counts this one as running.
    finished.wait(FINISH_GRACE_SECONDS)
    with wave.open(str(path), "rb") as handle:
        try:
            audio_format = AudioFormat(handle.getframerate(), handle.getsampwidth(), handle.getnchannels())
            return AudioChunk(handle.readframes(handle.getnframes()), audio_format)
        except ValueError as error:
            raise AppError(
                ErrorCode.TTS_RENDER_FAILED, f"The speech engine wrote audio in an unexpected format ({error})."
            ) from error


def _wav_complete(path: Path, size: int) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(min(size, 4096))
    except OSError:
        return False
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return False
    if struct.unpack_from("<I", head, 4)[0] + 8 != size:
        return False
    offset = 12
    while offset + 8 <= len(head):
        chunk, length = struct.unpack_from("<4sI", head, offset)
        if chunk == b"data":
            return bool(offset + 8 + length <= size)
        offset += 8 + length + (length & 1)
    return False
