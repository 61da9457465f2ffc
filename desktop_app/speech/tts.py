"""Spoken answers: the Speaker port, put together from small parts.

  * speech.reply_queue: splits the streamed reply into sentences, numbers them, and keeps the reply's life
    as one state (NEW, OPEN, CLOSING, DONE, INTERRUPTED). Every reply that received text or `end_reply()`
    ends with exactly one SpeakingFinished; SpeakingStarted comes at most once, when its first sound
    reaches the device.
  * speech.tts_engine: the one thread that owns pyttsx3 and renders a sentence to audio (cached on disk by
    speech.tts_cache). Each sentence is a job there: render it, then hand the clip to the player.
  * audio.playback: plays the clips back to back on the chosen device and reports when each starts and
    ends (on the player's thread), so the first sentence plays while the next ones render.
  * speech.output_device: keeps the player on the speaker the settings name, or the default while it is
    missing.
  * one event thread hands SpeakingStarted, SpeakingFinished, TurnFailed and Notice to the listener, in the
    order they happened.

No lock is held here while the player, the engine or the listener is called; `stop()` waits only for the
player's bounded fade.
"""

from __future__ import annotations

import logging
import time
from functools import partial
from pathlib import Path

from desktop_app.audio.playback import AudioPlayer, ClipStarted, PlaybackFailed, PlayerEvent, StopReport
from desktop_app.core.delivery import SerialCalls
from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.core.events import Event, Notice
from desktop_app.core.ports import EventListener, VoiceInfo
from desktop_app.core.privacy import for_log
from desktop_app.core.sentences import DEFAULT_MAX_CHARS
from desktop_app.core.settings import AUDIO_OUTPUT_DEVICE, Settings
from desktop_app.speech.output_device import OutputDeviceChoice
from desktop_app.speech.reply_queue import Cut, ReplyQueue, ReplyTimings, Sentence
from desktop_app.speech.tts_cache import TtsCache
from desktop_app.speech.tts_engine import (
    RENDER_TIMEOUT_SECONDS,
    WORK_FOLDER_PREFIX,
    RenderedSpeech,
    Renderer,
    TtsEngine,
    VoiceChoice,
)

__all__ = ["RENDER_TIMEOUT_SECONDS", "WORK_FOLDER_PREFIX", "RenderedSpeech", "ReplyTimings", "SpeechOutput"]

log = logging.getLogger(__name__)

EVENTS_CLOSE_SECONDS = 5.0


class SpeechOutput:
    """core.ports.Speaker with pyttsx3 and the audio player. Methods may be called from any thread.
    espeak-ng is one engine per process, so only one SpeechOutput can be open at a time in a process."""

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
        self.last_stop: StopReport | None = None
        self._events = SerialCalls("tts-events")
        self._replies = ReplyQueue(self._send, self._announce, max_sentence_chars)
        chosen = settings.get(AUDIO_OUTPUT_DEVICE)
        self.player = AudioPlayer(chosen, self._on_player_event)
        self._device = OutputDeviceChoice(settings, self.player, chosen)
        self._engine = TtsEngine(cache=cache, render_timeout=render_timeout, on_notice=self._announce)
        self._keep = True  # whether the reply being spoken may be cached

    # -- core.ports.Speaker ----------------------------------------------------------------------------

    def start_reply(self, keep: bool = True) -> None:
        self._keep = keep  # for this reply's sentences, as they are sent (under the reply queue's lock)
        self._silence(self._replies.begin())
        self._device.sync(retry_fallback=True)
        self.player.prepare()  # a missing speaker is reported when the first sentence is played

    def add_text(self, text: str) -> None:
        self._replies.add_text(text, time.monotonic())

    def end_reply(self) -> None:
        self._replies.end(time.monotonic())

    def stop(self) -> None:
        self._silence(self._replies.interrupt())

    def is_speaking(self) -> bool:
        """Sound is playing or a sentence is on its way to the speaker."""
        return self._replies.pending() or self.player.is_playing()

    def voices(self) -> list[VoiceInfo]:
        return self._engine.voices()

    def close(self) -> None:
        if not self._replies.close():
            return
        self._device.close()
        self.stop()
        self._engine.close()
        self.player.close()
        self._events.close(EVENTS_CLOSE_SECONDS)

    # -- more for the app, the benchmark and the tests -------------------------------------------------

    def speak(self, text: str) -> None:
        """A whole reply at once."""
        self.start_reply()
        self.add_text(text)
        self.end_reply()

    def last_reply_timings(self) -> ReplyTimings | None:
        return self._replies.last_timings()

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Waits until the engine is loaded and warmed up; False on timeout."""
        return self._engine.wait_ready(timeout)

    @property
    def _work_dir(self) -> Path:
        """Where rendered WAVs pass through (the run-folder tests look for it)."""
        return self._engine.work_dir

    # -- a sentence's way: queued under the reply queue's lock, rendered and played on the engine thread --

    def _send(self, sentence: Sentence) -> None:
        self._engine.submit(partial(self._speak, sentence=sentence, keep=self._keep))

    def _speak(self, renderer: Renderer, sentence: Sentence, keep: bool = True) -> None:
        if not self._replies.is_live(sentence.reply_id):
            return  # stopped meanwhile
        try:
            rendered = self._render(renderer, sentence.text, keep)
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
            self._device.sync(retry_fallback=False)
        # Read before the reply is checked: a stop() that the check misses comes after this and changes the
        # generation, and the player then drops the clip (so stop() never waits for this thread).
        generation = self.player.generation
        if not self._replies.rendered(sentence, rendered.render_seconds, rendered.cached, time.monotonic()):
            return
        failure = self._play(rendered, sentence, generation)
        if failure is not None:
            self._fail(sentence.reply_id, failure)

    def _render(self, renderer: Renderer, text: str, keep: bool = True) -> RenderedSpeech:
        """On the engine thread, with the voice settings of this moment."""
        return renderer.render(text, VoiceChoice.from_settings(self._settings), keep)

    def _play(self, rendered: RenderedSpeech, sentence: Sentence, generation: int) -> AppError | None:
        try:
            self.player.play(rendered.audio, sentence, generation=generation)
            return None
        except AppError as error:
            if error.code is not ErrorCode.AUDIO_OUTPUT_UNAVAILABLE or not self._device.fall_back():
                return error
            # The chosen speaker is missing: say so, and carry on with the system default.
            self._announce(Notice(error.code, f"{error.message} Playing on the default speaker meanwhile."))
        try:
            self.player.play(rendered.audio, sentence, generation=generation)
            return None
        except AppError as error:
            return error

    # -- endings ---------------------------------------------------------------------------------------

    def _fail(self, reply_id: int | None, error: AppError) -> None:
        cut = self._replies.fail(reply_id, error)
        if cut is not None:
            self._silence(cut)

    def _silence(self, cut: Cut | None) -> None:
        """Silences the player (waiting only for its fade); then the reply cut short, if any, is over."""
        report = self.player.stop()
        if report.silent_at is not None:
            self.last_stop = report
        if cut is not None:
            self._replies.finish_cut(cut, report.silent_at or report.requested_at)

    # -- the player's thread ---------------------------------------------------------------------------

    def _on_player_event(self, event: PlayerEvent) -> None:
        if isinstance(event, PlaybackFailed):
            self._fail(None, event.error)  # whichever reply is playing
        elif isinstance(event.tag, Sentence):
            if isinstance(event, ClipStarted):
                self._replies.clip_started(event.tag, event.at)
            else:  # ClipFinished: played, or cut short; over either way
                self._replies.clip_finished(event.tag, event.at)

    # -- the event thread ------------------------------------------------------------------------------

    def _announce(self, event: Event) -> None:
        """Queues `event` for the listener; returns at once (the reply queue calls this under its lock)."""
        self._events.submit(partial(self._listener, event))
