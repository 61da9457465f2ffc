"""The speech engine's thread: pyttsx3 (espeak-ng) renders one sentence at a time to audio.

pyttsx3 must be created, driven and destroyed on one thread, so `TtsEngine` runs that thread and hands it
jobs in order; a job gets the thread's `Renderer`. Rendering is to a WAV file, never pyttsx3's own `say()`:
that shells out to `aplay` on Linux and can be neither stopped nor routed to the chosen speaker.

One sentence per `runAndWait()`: `save_to_file(text, wav)`, `runAndWait()`, then wait until the WAV is
complete, because with espeak-ng `runAndWait()` returns as soon as synthesis has *started* (espeak renders
on its own thread and the driver writes the file when it finishes). It also waits until espeak-ng is idle
before each utterance: voice, rate and volume are commands in espeak-ng's queue, and pyttsx3 2.99's
`runAndWait()` cancels that queue when espeak-ng still looks busy from the last utterance, silently
dropping a change made just before (measured: every rate change after the first was lost when sentences
were rendered back to back).

Rendered audio is cached on disk (speech.tts_cache), keyed by engine, voice, rate, volume and text.
espeak-ng is one synthesiser per process, so only one engine may be open at a time in a process.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from desktop_app.core.audio_format import SPEECH_FORMAT, AudioChunk, AudioFormat
from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.core.events import Notice
from desktop_app.core.ports import VoiceInfo
from desktop_app.core.settings import VOICE_NAME, VOICE_RATE, VOICE_VOLUME, Settings
from desktop_app.paths import RunFolder
from desktop_app.speech.tts_cache import TtsCache, cache_key

log = logging.getLogger(__name__)

DRIVER = "espeak"
RATE_RANGE = (80, 450)  # words per minute espeak-ng accepts
RENDER_TIMEOUT_SECONDS = 10.0
FINISH_GRACE_SECONDS = 1.0
POLL_SECONDS = 0.002
ESPEAK_IDLE_WAIT_SECONDS = 1.0
OWNER_WAIT_SECONDS = 10.0  # for another engine in this process to close
WORK_FOLDER_PREFIX = "va-tts-"  # in the temporary directory: va-tts-<pid>-<random>
_T = TypeVar("_T")

# espeak-ng keeps one synthesiser per process: one engine at a time may drive it.
_ESPEAK_OWNER = threading.Lock()


@dataclass(frozen=True, slots=True)
class VoiceChoice:
    name: str | None  # None: espeak-ng's default voice
    rate: int  # words per minute
    volume: float  # 0.0 to 1.0

    @classmethod
    def from_settings(cls, settings: Settings) -> VoiceChoice:
        rate = min(max(int(settings.get(VOICE_RATE)), RATE_RANGE[0]), RATE_RANGE[1])
        volume = min(max(float(settings.get(VOICE_VOLUME)), 0.0), 1.0)
        return cls(settings.get(VOICE_NAME) or None, rate, volume)


@dataclass(frozen=True, slots=True)
class RenderedSpeech:
    text: str
    audio: AudioChunk
    cached: bool
    render_seconds: float  # from the request on the engine thread to PCM in hand (cache lookups included)

    @property
    def duration(self) -> float:
        return self.audio.duration


class Renderer(Protocol):
    """What a job gets on the engine thread; used nowhere else."""

    def render(self, text: str, voice: VoiceChoice, keep: bool = True) -> RenderedSpeech:
        """AppError(tts_unavailable, tts_render_failed) when it cannot. `keep` False: not written to the
        cache (a phrase already there is still taken from it)."""
        ...

    def voices(self) -> list[VoiceInfo]: ...


Job = Callable[[Renderer], None]


class TtsEngine:
    """Owns the engine thread. `submit` and `call` may be used from any thread; jobs run in order."""

    def __init__(self, *, cache: TtsCache | None, render_timeout: float, on_notice: Callable[[Notice], None]) -> None:
        self._cache = cache
        self._render_timeout = render_timeout
        self._on_notice = on_notice
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._ready = threading.Event()
        self._voices: list[VoiceInfo] | None = None
        # Rendered WAVs pass through a scratch folder of this run; a later run removes it if this one is killed.
        self._work_folder = RunFolder.create(WORK_FOLDER_PREFIX)
        self._thread = threading.Thread(target=self._run, name="tts-engine", daemon=True)
        self._thread.start()

    @property
    def work_dir(self) -> Path:
        return self._work_folder.path

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Waits until the engine is loaded and warmed up (or could not start); False on timeout."""
        return self._ready.wait(timeout)

    def submit(self, job: Job) -> None:
        """Runs `job` on the engine thread after the ones before it; returns at once."""
        self._jobs.put(job)

    def call(self, function: Callable[[Renderer], _T]) -> _T:
        """`function` on the engine thread, after the jobs before it; waits for its result (bounded)."""
        future: Future[_T] = Future()

        def job(renderer: Renderer) -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(function(renderer))
            except BaseException as error:
                future.set_exception(error)

        self.submit(job)
        return future.result(timeout=max(30.0, self._render_timeout * 3))

    def voices(self) -> list[VoiceInfo]:
        # Kept after the first answer, so that asking again does not queue behind rendering.
        if self._voices is None:
            self._voices = self.call(lambda renderer: renderer.voices())
        return list(self._voices)

    def close(self) -> None:
        """Ends the thread after the jobs already queued (bounded), then removes the scratch folder."""
        self._jobs.put(None)
        self._thread.join(timeout=15)
        self._work_folder.close()

    # -- the engine thread -----------------------------------------------------------------------------

    def _run(self) -> None:
        if not _ESPEAK_OWNER.acquire(timeout=OWNER_WAIT_SECONDS):
            self._serve(
                _Unavailable(
                    AppError(
                        ErrorCode.TTS_UNAVAILABLE, "Speech output is already in use in this process; close it first."
                    )
                )
            )
            return
        espeak: _Espeak | None = None
        try:
            renderer: Renderer
            try:
                espeak = renderer = _Espeak(self.work_dir, self._cache, self._render_timeout, self._on_notice)
            except Exception as error:
                log.exception("the speech engine could not start")
                renderer = _Unavailable(
                    AppError(
                        ErrorCode.TTS_UNAVAILABLE,
                        f"Speech output is not available ({error}). Install espeak-ng (Linux: the espeak-ng "
                        "package), then restart the app. Answers are still shown as text.",
                    )
                )
            self._serve(renderer)
        finally:
            if espeak is not None:
                espeak.shut_down()
            _ESPEAK_OWNER.release()

    def _serve(self, renderer: Renderer) -> None:
        self._ready.set()
        while (job := self._jobs.get()) is not None:
            try:
                job(renderer)
            except Exception:
                log.exception("a speech engine job failed")


class _Unavailable:
    """The engine could not start: every job hears why."""

    def __init__(self, error: AppError) -> None:
        self._error = error

    def render(self, text: str, voice: VoiceChoice, keep: bool = True) -> RenderedSpeech:
        raise self._error

    def voices(self) -> list[VoiceInfo]:
        raise self._error


class _Espeak:
    """pyttsx3 with its espeak-ng driver. Lives on the engine thread; its callbacks run on espeak-ng's."""

    def __init__(
        self, work_dir: Path, cache: TtsCache | None, render_timeout: float, on_notice: Callable[[Notice], None]
    ) -> None:
        import pyttsx3
        import pyttsx3.drivers._espeak as espeak_library
        import pyttsx3.drivers.espeak as espeak_driver

        self._work_dir = work_dir
        self._cache = cache
        self._render_timeout = render_timeout
        self._on_notice = on_notice
        self._utterances = itertools.count(1)
        self._finished = threading.Event()  # set on espeak-ng's thread once the driver wrote the file
        self._errors: list[BaseException] = []  # appended on whichever thread the driver reports from
        self._applied: VoiceChoice | None = None  # what was last asked of the engine
        self._voice: str | None = None  # the voice in effect (None: the default)
        # pyttsx3 2.99's espeak driver print()s "Audio saved to <path>" for every file, on espeak-ng's thread.
        # stdout belongs to the CLI (`voice-assistant ask` prints answers there), so the driver module gets a
        # `print` of its own that logs instead. Only that module's global changes; swapping sys.stdout would
        # silence every thread in the process.
        vars(espeak_driver)["print"] = _log_driver_output
        self._engine: Any = pyttsx3.Engine(DRIVER)
        # espeak_IsPlaying(): 1 while espeak-ng's own thread runs a command (see _synthesise).
        self._espeak_busy: Callable[[], int] = espeak_library.IsPlaying
        self._engine.connect("finished-utterance", self._on_finished)
        self._engine.connect("error", self._on_error)
        self._default_voice: str | None = self._engine.getProperty("voice")
        # The first utterance loads espeak-ng's data and leaves the driver idle, so that properties set
        # later take effect at once (a fresh driver queues them until its first run).
        started = time.monotonic()
        self._synthesise("ready", RENDER_TIMEOUT_SECONDS)
        log.info("speech engine ready in %.0f ms", (time.monotonic() - started) * 1000)

    def render(self, text: str, voice: VoiceChoice, keep: bool = True) -> RenderedSpeech:
        started = time.monotonic()
        if not any(char.isalnum() for char in text):
            return RenderedSpeech(text, AudioChunk(b"", SPEECH_FORMAT), False, 0.0)  # nothing to say
        in_effect = self._apply(voice)
        key = cache_key(f"pyttsx3-{DRIVER}", in_effect, voice.rate, voice.volume, text)
        if self._cache is not None:
            hit = self._cache.get(key)
            if hit is not None:
                return RenderedSpeech(text, hit, True, time.monotonic() - started)
        self._errors.clear()
        audio = self._synthesise(text, self._render_timeout)
        if self._cache is not None and keep and not self._errors:
            self._cache.put(key, audio)
        return RenderedSpeech(text, audio, False, time.monotonic() - started)

    def voices(self) -> list[VoiceInfo]:
        return [
            VoiceInfo(str(v.id), str(v.name or v.id), tuple(str(lang) for lang in (v.languages or ())))
            for v in self._engine.getProperty("voices")
        ]

    def shut_down(self) -> None:
        with contextlib.suppress(Exception):
            self._engine.stop()
        self._engine = None  # its driver unhooks from espeak-ng

    def _apply(self, voice: VoiceChoice) -> str | None:
        """Sets voice, rate and volume when they changed; returns the voice in effect (None: the default)."""
        if voice != self._applied:
            if self._applied is None or voice.name != self._applied.name:
                self._voice = self._set_voice(voice.name)
            self._engine.setProperty("rate", voice.rate)
            self._engine.setProperty("volume", voice.volume)
            self._applied = voice
        return self._voice

    def _set_voice(self, name: str | None) -> str | None:
        self._errors.clear()
        self._engine.setProperty("voice", name or self._default_voice)
        if name is None or not self._errors:
            return name
        self._on_notice(
            Notice(
                ErrorCode.VOICE_UNAVAILABLE,
                f"The voice {name!r} is not installed; using the default voice. Pick another in Settings > Voice.",
            )
        )
        self._engine.setProperty("voice", self._default_voice)
        self._errors.clear()
        return None

    def _synthesise(self, text: str, timeout: float) -> AudioChunk:
        """One utterance per runAndWait(), then the finished WAV's audio."""
        path = self._work_dir / f"utterance-{next(self._utterances)}.wav"
        self._finished.clear()
        # Voice, rate and volume just set are commands in espeak-ng's queue. runAndWait() cancels that
        # queue when espeak-ng still looks busy, and would drop them: wait until it has applied them.
        self._wait_until_idle()
        self._engine.save_to_file(text, str(path))
        self._engine.runAndWait()
        try:
            audio = wait_for_wav(path, self._finished, time.monotonic() + timeout)
            self._wait_until_idle()  # the driver has returned from its last callback
            return audio
        finally:
            with contextlib.suppress(OSError):
                path.unlink()

    def _wait_until_idle(self) -> None:
        deadline = time.monotonic() + ESPEAK_IDLE_WAIT_SECONDS
        while self._espeak_busy() and time.monotonic() < deadline:
            time.sleep(0.0005)

    def _on_finished(self, name: object = None, completed: bool = True, **_: object) -> None:
        self._finished.set()

    def _on_error(self, name: object = None, exception: BaseException | None = None, **_: object) -> None:
        log.warning("speech engine error: %s", exception)
        self._errors.append(exception or RuntimeError("speech engine error"))


def _log_driver_output(*args: object, **_: object) -> None:
    log.debug(" ".join(str(arg) for arg in args))


def wait_for_wav(path: Path, finished: threading.Event, deadline: float) -> AudioChunk:
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
