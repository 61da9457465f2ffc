"""The microphone test of Settings > Audio: a few seconds recorded from a microphone, then played back on a
speaker, with the app's own capture and player, so what is heard is what the assistant would hear.

It runs on a thread of its own (opening a device can take a while, and a device can fail); its progress is
read at the window's pace (`progress()`), and `stop()` ends it early from any thread without waiting. Each
step waits a bounded time, so a device that never delivers ends the check with a message instead of a hang.
The capture and the player (and PortAudio with them) are loaded on that thread too, so a window can make a
SoundCheck and start it from its main thread.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from desktop_app.core.audio_format import SPEECH_FORMAT, AudioChunk
from desktop_app.core.errors import AppError, ErrorCode

if TYPE_CHECKING:
    from desktop_app.audio.playback import PlayerEvent

log = logging.getLogger(__name__)

RECORD_S = 3.0
# Beyond the recording itself: time for the microphone to open and deliver, and for the speaker to finish.
RECORD_GRACE_S = 5.0
PLAY_GRACE_S = 5.0
POLL_S = 0.02
THREAD_NAME = "sound-check"
UNFINISHED = "The speaker stopped before the recording was played back (unplugged?). Pick another one."


class Phase(Enum):
    RECORDING = "recording"
    PLAYING = "playing"
    DONE = "done"  # recorded and played back in full
    STOPPED = "stopped"  # stop() came first
    FAILED = "failed"

    @property
    def over(self) -> bool:
        return self in (Phase.DONE, Phase.STOPPED, Phase.FAILED)


@dataclass(frozen=True, slots=True)
class CheckProgress:
    phase: Phase
    seconds: float  # the recording's length
    recorded_s: float
    played_s: float
    error: str | None  # what went wrong, for people (FAILED)


class SoundCheck:
    """One check at a time: start() again stops the last one first (it ends on its own thread)."""

    def __init__(self, seconds: float = RECORD_S) -> None:
        self.seconds = seconds
        self._run: _CheckRun | None = None
        self._lock = threading.Lock()

    def start(self, microphone: str | None, speaker: str | None) -> None:
        """Records from `microphone` and plays it back on `speaker` (None: the system default); returns at
        once."""
        run = _CheckRun(self.seconds, microphone, speaker)
        with self._lock:
            last, self._run = self._run, run
        if last is not None:
            last.stop()
        run.thread.start()

    def stop(self) -> None:
        """Ends the check early; returns at once (the devices are let go on the check's thread)."""
        with self._lock:
            run = self._run
        if run is not None:
            run.stop()

    def progress(self) -> CheckProgress | None:
        """Where the last check is; None before the first."""
        with self._lock:
            run = self._run
        return None if run is None else run.progress()

    @property
    def recording(self) -> bytes:
        """The last check's recording (SPEECH_FORMAT), as far as it got."""
        with self._lock:
            run = self._run
        return b"" if run is None else run.recording()

    def running(self) -> bool:
        """A check's thread still holds a device (also for a moment after stop())."""
        with self._lock:
            run = self._run
        return run is not None and run.thread.is_alive()


class _CheckRun:
    def __init__(self, seconds: float, microphone: str | None, speaker: str | None) -> None:
        self._seconds = seconds
        self._microphone = microphone
        self._speaker = speaker
        self._wanted = SPEECH_FORMAT.bytes_for(seconds)
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # the fields below
        self._frames: list[bytes] = []
        self._recorded = 0
        self._phase = Phase.RECORDING
        self._played_from: float | None = None  # when the first sample reached the speaker
        self._played_s = 0.0
        self._error: str | None = None
        self.thread = threading.Thread(target=self._main, name=THREAD_NAME, daemon=True)

    def stop(self) -> None:
        self._stopping.set()

    def progress(self) -> CheckProgress:
        with self._lock:
            played = self._played_s
            if self._phase is Phase.PLAYING and self._played_from is not None:
                played = min(self._seconds, time.monotonic() - self._played_from)
            recorded = SPEECH_FORMAT.duration(min(self._recorded, self._wanted))
            return CheckProgress(self._phase, self._seconds, recorded, played, self._error)

    def recording(self) -> bytes:
        with self._lock:
            return b"".join(self._frames)[: self._wanted]

    # -- the check's thread --------------------------------------------------------------------------------

    def _main(self) -> None:
        try:
            recorded = self._record()
            if recorded is not None:
                self._play(recorded)
        except AppError as error:
            self._end(Phase.FAILED, error.message)
        except Exception as error:  # a check must end, and say so, whatever went wrong
            log.exception("the sound check failed")
            self._end(Phase.FAILED, f"The test could not be run: {error}")

    def _record(self) -> bytes | None:
        from desktop_app.audio.capture import MicrophoneCapture

        errors: queue.SimpleQueue[AppError] = queue.SimpleQueue()

        def failed(error: AppError | None) -> None:
            if error is not None:
                errors.put(error)

        capture = MicrophoneCapture(self._heard, None, failed, device=self._microphone)
        capture.start()
        deadline = time.monotonic() + self._seconds + RECORD_GRACE_S
        try:
            while not self._stopping.is_set():
                if not errors.empty():
                    raise errors.get()
                with self._lock:
                    if self._recorded >= self._wanted:
                        break
                if time.monotonic() > deadline:
                    raise AppError(
                        ErrorCode.AUDIO_INPUT_UNAVAILABLE,
                        f"The microphone sent no sound for {self._seconds + RECORD_GRACE_S:.0f} seconds. Check that "
                        "it is plugged in and not used by another program, or pick another one.",
                    )
                time.sleep(POLL_S)
        finally:
            capture.stop()
        if self._stopping.is_set():
            self._end(Phase.STOPPED)
            return None
        with self._lock:
            self._phase = Phase.PLAYING
        return self.recording()

    def _heard(self, pcm: bytes) -> None:
        with self._lock:
            if self._phase is Phase.RECORDING and self._recorded < self._wanted:
                self._frames.append(pcm)
                self._recorded += len(pcm)

    def _play(self, recorded: bytes) -> None:
        from desktop_app.audio.playback import AudioPlayer, ClipFinished, ClipStarted, PlaybackFailed

        events: queue.SimpleQueue[PlayerEvent] = queue.SimpleQueue()
        player = AudioPlayer(self._speaker, events.put)
        try:
            clip = player.play(AudioChunk(recorded, SPEECH_FORMAT))
            deadline = time.monotonic() + SPEECH_FORMAT.duration(len(recorded)) + PLAY_GRACE_S
            while True:
                if self._stopping.is_set():
                    player.stop()
                    self._end(Phase.STOPPED)
                    return
                try:
                    event = events.get(timeout=POLL_S)
                except queue.Empty:
                    if time.monotonic() > deadline:
                        raise AppError(ErrorCode.AUDIO_OUTPUT_UNAVAILABLE, UNFINISHED) from None
                    continue
                if isinstance(event, PlaybackFailed):
                    raise event.error
                if isinstance(event, ClipStarted) and event.clip_id == clip:
                    with self._lock:
                        self._played_from = event.at
                elif isinstance(event, ClipFinished) and event.clip_id == clip:
                    if event.interrupted and not self._stopping.is_set():
                        raise _failure(events)  # cut short by the device
                    self._end(Phase.STOPPED if event.interrupted else Phase.DONE)
                    return
        finally:
            player.close()

    def _end(self, phase: Phase, error: str | None = None) -> None:
        with self._lock:
            if self._phase is Phase.PLAYING and self._played_from is not None:
                self._played_s = min(self._seconds, time.monotonic() - self._played_from)
            self._phase = phase
            self._error = error


def _failure(events: queue.SimpleQueue[PlayerEvent]) -> AppError:
    """What the player says cut the clip short (its report may come just after the clip's end)."""
    from desktop_app.audio.playback import PlaybackFailed

    deadline = time.monotonic() + PLAY_GRACE_S / 10
    while time.monotonic() < deadline:
        try:
            event = events.get(timeout=POLL_S)
        except queue.Empty:
            continue
        if isinstance(event, PlaybackFailed):
            return event.error
    return AppError(ErrorCode.AUDIO_OUTPUT_UNAVAILABLE, UNFINISHED)
