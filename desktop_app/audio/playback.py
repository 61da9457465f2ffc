"""Speaker playback: audio clips (AudioChunk), queued back to back, on an output device chosen by name.

One sounddevice OutputStream runs while there is something to play (and a while after, so the next reply
starts at once). Its callback copies samples from the clip queue into the device buffer and nothing else:
no locks, no allocation beyond a fade ramp. Clips are converted to the stream's rate and channel count with
soxr when they are queued, so the next clip starts in the same buffer the last one ends in.

`stop()` works through the callback too: it fades the current clip out over a few milliseconds (no click)
and drops everything queued. With the small device buffer asked for (about 20 ms) the sound is gone well
within 50 ms of the call.

Another device chosen while a clip plays takes over where it is: the new stream is opened, the old one
stopped, what is left converted to the new stream's format, and the new stream started. Chosen while
nothing plays, the old stream is closed and the next clip opens the new device.

Threads and locks. The callback reports when each clip starts and ends, timed at the device (PortAudio's DAC
time estimate), to the player's own thread, which passes the reports on to the listener, watches the
stream, opens it ahead of a reply (prepare), closes it when it has been idle for a while and moves to
another device. A stream is opened, moved or closed only under `_stream_lock`: by that thread, or by play()
on its caller's thread when the stream it needs is not open. The controls (stop, is_playing, set_device,
prepare) never take that lock, only `_lock`, which guards the clip bookkeeping and is never held while a
stream opens or closes or a listener is called; so they return at once (stop() waits at most
STOP_WAIT_SECONDS for the fade).

A device that is missing, fails to open or disappears while playing becomes an AppError with code
`audio_output_unavailable`; the player drops what it had and opens the device afresh for the next clip, so
it recovers by itself once the device is back.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import soxr

from desktop_app.audio.devices import SoundDevice, choose_device, list_devices, still_connected
from desktop_app.audio.portaudio import sd
from desktop_app.core.audio_format import AudioChunk
from desktop_app.core.errors import AppError, ErrorCode

log = logging.getLogger(__name__)

FADE_SECONDS = 0.005
BLOCK_SECONDS = 0.005
LATENCY_SECONDS = 0.02
IDLE_CLOSE_SECONDS = 20.0
# A running stream whose callback has not run for this long has lost its device.
STALL_SECONDS = 0.5
# stop() waits at most this long for the callback to confirm the fade.
STOP_WAIT_SECONDS = 0.2
# How often a chosen sound-server speaker is checked for while its stream is open: when it goes, the server
# moves the stream to another speaker, so playback never stalls and nothing else would tell.
WATCH_SECONDS = 1.0
CONTROL_TICK_SECONDS = 0.1


OutputDevice = SoundDevice


def find_output_device(name: str | None) -> OutputDevice:
    """The device with this name (exact, then its sound-server name, then a case-insensitive part of the
    name); the default when None. AppError(audio_output_unavailable) naming it when it is not connected."""
    return choose_device(
        list_devices("output"),
        name,
        ErrorCode.AUDIO_OUTPUT_UNAVAILABLE,
        "speaker",
        "No speaker or headphones found. Plug one in, or pick one in Settings > Audio.",
    )


# -- what the player tells its listener ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClipStarted:
    clip_id: int
    tag: object
    at: float  # time.monotonic() when its first sample reaches the device (estimated by PortAudio)


@dataclass(frozen=True, slots=True)
class ClipFinished:
    clip_id: int
    tag: object
    at: float  # when its last sample (or the end of the fade) reaches the device
    interrupted: bool  # cut short or dropped by stop() or a device failure


@dataclass(frozen=True, slots=True)
class PlaybackFailed:
    error: AppError
    at: float


PlayerEvent = ClipStarted | ClipFinished | PlaybackFailed
PlayerListener = Callable[[PlayerEvent], None]


@dataclass(frozen=True, slots=True)
class StopReport:
    requested_at: float
    silent_at: float | None  # when the end of the fade reaches the device; None when nothing was playing
    confirmed: bool  # the callback faded out before stop() returned

    @property
    def latency(self) -> float | None:
        return None if self.silent_at is None else max(0.0, self.silent_at - self.requested_at)


# -- what the callback and the controls tell the player's thread ----------------------------------------------


class _Clip:
    __slots__ = ("epoch", "frames", "id", "position", "started", "tag")

    def __init__(self, clip_id: int, tag: object, frames: np.ndarray, epoch: int) -> None:
        self.id = clip_id
        self.tag = tag
        self.frames = frames  # float32 (n, channels) in the stream's format
        self.epoch = epoch
        self.position = 0
        self.started = False


@dataclass(frozen=True, slots=True)
class _Started:
    clip: _Clip
    at: float


@dataclass(frozen=True, slots=True)
class _Ended:
    clip: _Clip
    at: float
    interrupted: bool


@dataclass(frozen=True, slots=True)
class _StreamEnded:
    stream: Any  # PortAudio stopped calling this stream back


@dataclass(frozen=True, slots=True)
class _DeviceChosen:
    pass


@dataclass(frozen=True, slots=True)
class _Prepare:
    pass


@dataclass(frozen=True, slots=True)
class _Close:
    pass


_Report = _Started | _Ended | _StreamEnded | PlaybackFailed | _DeviceChosen | _Prepare | _Close


@dataclass(frozen=True, slots=True)
class _StreamFormat:
    device: OutputDevice
    rate: int
    channels: int
    routed: bool  # opened on the chosen sound-server device (watched for, see WATCH_SECONDS)
    chosen: str | None  # the name it was opened for (None: the default)


class AudioPlayer:
    """Plays clips in order on one output device. Thread-safe; events arrive on the player's own thread."""

    def __init__(
        self,
        device: str | None = None,
        listener: PlayerListener | None = None,
        *,
        latency: float = LATENCY_SECONDS,
        idle_close_seconds: float = IDLE_CLOSE_SECONDS,
    ) -> None:
        self._device_name = device
        self._listener = listener
        self._latency = latency
        self._idle_close_seconds = idle_close_seconds
        self._lock = threading.Lock()  # clip bookkeeping and the chosen device; never held for long
        self._stream_lock = threading.Lock()  # opening, moving and closing the stream
        self._ids = itertools.count(1)
        self._stream: Any = None
        self._format: _StreamFormat | None = None
        self._live = False  # the stream's callback is running
        self._stream_rate = 0  # read by the callback; set before each stream starts
        # Shared with the callback; each is replaced or mutated by one side only (see _callback).
        self._pending: deque[_Clip] = deque()
        self._current: _Clip | None = None
        self._epoch = 0
        self._faded_epoch = 0
        self._last_callback = 0.0
        self._buffered_until = 0.0  # when the last sample the callback wrote reaches the device
        self._fade_ends_at: float | None = None
        self._reports: queue.SimpleQueue[_Report] = queue.SimpleQueue()
        self._active: dict[int, _Clip] = {}
        self._last_activity = time.monotonic()
        self._last_watch = 0.0
        self._closed = False
        self.underflows = 0  # device buffer ran dry (the callback was late): a glitch if it happened mid-clip
        self._thread = threading.Thread(target=self._control, name="audio-playback", daemon=True)
        self._thread.start()

    # -- public ----------------------------------------------------------------------------------------

    @property
    def device(self) -> str | None:
        return self._device_name

    @property
    def generation(self) -> int:
        """Changes with every stop() and every device failure: see play()."""
        return self._epoch

    def set_device(self, name: str | None) -> None:
        """Plays on this device (None: the system default) from now on; returns at once. What is playing
        carries on there from where it is."""
        with self._lock:
            if name == self._device_name:
                return
            self._device_name = name
        self._reports.put(_DeviceChosen())

    def prepare(self) -> None:
        """Has the player's thread open the device now, so the next clip starts without delay; returns at
        once. A device that cannot be opened is reported by the next play()."""
        self._reports.put(_Prepare())

    def play(self, audio: AudioChunk, tag: object = None, *, generation: int | None = None) -> int | None:
        """Queues `audio` after whatever is queued; returns the clip's id. Every clip accepted gets exactly
        one ClipFinished (and a ClipStarted before it when it was heard). With `generation` (read from the
        property of that name) nothing is queued, and None returned, when a stop() or a device failure came
        since. AppError(audio_output_unavailable) when the device cannot be opened; nothing is queued then."""
        samples = _samples(audio)
        with self._stream_lock:
            if self._closed:
                raise AppError(ErrorCode.AUDIO_OUTPUT_UNAVAILABLE, "The audio player is closed.")
            stream_format = self._ensure_stream()
            frames = _convert(samples, audio.format.rate, stream_format.rate, stream_format.channels)
            with self._lock:
                if generation is not None and generation != self._epoch:
                    return None
                clip = _Clip(next(self._ids), tag, frames, self._epoch)
                self._active[clip.id] = clip
                self._pending.append(clip)
                self._last_activity = time.monotonic()
        return clip.id

    def stop(self) -> StopReport:
        """Fades out what is playing (about 5 ms) and drops everything queued. Returns once the callback
        has done so (at most STOP_WAIT_SECONDS), with when the silence reaches the device."""
        requested = time.monotonic()
        with self._lock:
            self._epoch += 1
            epoch = self._epoch
            dropped = list(self._pending)
            self._pending.clear()
            playing = self._live and self._current is not None
        report = StopReport(requested, None, True)
        if playing:
            deadline = requested + STOP_WAIT_SECONDS
            while self._faded_epoch < epoch and time.monotonic() < deadline:
                time.sleep(0.001)
            confirmed = self._faded_epoch >= epoch
            report = StopReport(requested, self._fade_ends_at if confirmed else None, confirmed)
        # After the faded clip's own report; the callback may have taken one of these meanwhile, and
        # _handle reports each clip once.
        for clip in dropped:
            self._reports.put(_Ended(clip, requested, True))
        return report

    def is_playing(self) -> bool:
        with self._lock:
            return bool(self._active)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self.stop()
        with self._stream_lock:
            self._close_stream()
        self._reports.put(_Close())
        self._thread.join(timeout=5)

    # -- the stream (with _stream_lock held) ------------------------------------------------------------

    def _ensure_stream(self) -> _StreamFormat:
        """The open stream's format, on the device chosen now: opened, or moved there, when it is not."""
        with self._lock:
            chosen = self._device_name
        if self._format is not None and self._format.chosen == chosen:
            return self._format
        device = find_output_device(chosen)
        if self._format is None:
            return self._start(*self._open(device, chosen))
        return self._move(device, chosen)

    def _open(self, device: OutputDevice, chosen: str | None) -> tuple[Any, _StreamFormat]:
        """A stream on `device`, not started yet."""
        channels = min(2, device.channels)
        rate = device.default_rate
        routed = chosen is not None and device.server_name is not None
        stream: Any = None
        try:
            with device.opening("output", route=routed):
                stream = sd.OutputStream(
                    device=device.index,
                    samplerate=rate,
                    channels=channels,
                    dtype="float32",
                    latency=self._latency,
                    blocksize=max(64, int(rate * BLOCK_SECONDS)),
                    callback=self._callback,
                    finished_callback=lambda: self._reports.put(_StreamEnded(stream)),
                )
        except (sd.PortAudioError, ValueError) as error:
            raise _cannot_open(device, error) from error
        return stream, _StreamFormat(device, rate, channels, routed, chosen)

    def _start(self, stream: Any, stream_format: _StreamFormat) -> _StreamFormat:
        self._stream_rate = stream_format.rate
        self._last_callback = time.monotonic()
        try:
            stream.start()
        except sd.PortAudioError as error:
            with contextlib.suppress(sd.PortAudioError):
                stream.close()
            raise _cannot_open(stream_format.device, error) from error
        self._stream, self._format = stream, stream_format
        with self._lock:
            self._live = True
        self._last_watch = time.monotonic()
        log.info(
            "playing on %r at %d Hz, %d channel(s)",
            stream_format.device.name,
            stream_format.rate,
            stream_format.channels,
        )
        return stream_format

    def _move(self, device: OutputDevice, chosen: str | None) -> _StreamFormat:
        """Carries on on `device`: its stream is opened before the old one stops, and what is left to
        play is converted to its format in between (the callback runs on neither then)."""
        stream, new_format = self._open(device, chosen)
        old_format = self._format
        self._halt()
        with self._lock:
            current = self._current
            moving = ([current] if current is not None else []) + list(self._pending)
        if old_format is not None:
            if current is not None:  # what the old device had buffered but not yet played is played again
                unplayed = int(max(0.0, self._buffered_until - time.monotonic()) * old_format.rate)
                current.position -= min(current.position, unplayed)
            for clip in moving:
                rest = clip.frames[clip.position :]
                clip.frames = _convert(rest, old_format.rate, new_format.rate, new_format.channels)
                clip.position = 0
        try:
            return self._start(stream, new_format)
        except AppError:
            self._close_stream()  # reports what it had as cut short
            raise

    def _halt(self) -> None:
        """Stops and closes the stream; the clips stay where they are."""
        stream, self._stream, self._format = self._stream, None, None
        with self._lock:
            self._live = False
        if stream is None:
            return
        with contextlib.suppress(sd.PortAudioError):
            stream.abort()
        with contextlib.suppress(sd.PortAudioError):
            stream.close()

    def _close_stream(self) -> None:
        self._halt()
        # The callback no longer runs: whatever it had is over.
        now = time.monotonic()
        with self._lock:
            leftovers = ([self._current] if self._current is not None else []) + list(self._pending)
            self._current = None
            self._pending.clear()
        for clip in leftovers:
            self._reports.put(_Ended(clip, now, True))

    def _fail(self, why: str) -> None:
        name = self._format.device.name if self._format is not None else self._device_name or "default"
        log.warning("output stream on %r %s", name, why)
        self._fail_with(
            AppError(
                ErrorCode.AUDIO_OUTPUT_UNAVAILABLE,
                f"The speaker {name!r} stopped working. Check that it is connected, or pick another in "
                "Settings > Audio; the next answer will try it again.",
            )
        )

    def _fail_with(self, error: AppError) -> None:
        # Reported before the clips it cut short, so a listener knows why they ended.
        self._reports.put(PlaybackFailed(error, time.monotonic()))
        with self._lock:
            self._epoch += 1
        self._close_stream()

    # -- PortAudio's thread ------------------------------------------------------------------------------

    def _callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: sd.CallbackFlags) -> None:
        """Fills `outdata`. Reads `_epoch` and `_pending`; owns `_current` while the stream runs."""
        now = time.monotonic()
        self._last_callback = now
        if status.output_underflow:
            self.underflows += 1
        delay = time_info.outputBufferDacTime - time_info.currentTime
        if not 0.0 <= delay < 1.0:
            delay = self._latency
        rate = self._stream_rate
        at = now + delay
        epoch = self._epoch
        filled = 0
        current = self._current
        if current is not None and current.epoch != epoch:  # stop(): fade out, then silence
            count = min(int(rate * FADE_SECONDS), frames, len(current.frames) - current.position)
            if count > 0:
                ramp = np.linspace(1.0, 0.0, count, dtype=np.float32)[:, None]
                outdata[:count] = current.frames[current.position : current.position + count] * ramp
                filled = count
            self._reports.put(_Ended(current, at + filled / rate, True))
            self._current = current = None
        if self._faded_epoch != epoch:
            self._fade_ends_at = at + filled / rate  # written before the epoch stop() waits for
            self._faded_epoch = epoch
        while filled < frames:
            if current is None:
                try:
                    current = self._pending.popleft()
                except IndexError:
                    break
                if current.epoch != epoch:  # queued just as stop() ran
                    self._reports.put(_Ended(current, at, True))
                    current = None
                    continue
                self._current = current
            if not current.started:
                current.started = True
                self._reports.put(_Started(current, at + filled / rate))
            count = min(frames - filled, len(current.frames) - current.position)
            outdata[filled : filled + count] = current.frames[current.position : current.position + count]
            filled += count
            current.position += count
            if current.position >= len(current.frames):
                self._reports.put(_Ended(current, at + filled / rate, False))
                self._current = current = None
        if filled < frames:
            outdata[filled:] = 0.0
        self._buffered_until = at + frames / rate

    # -- the player's thread -----------------------------------------------------------------------------

    def _control(self) -> None:
        while True:
            try:
                report: _Report | None = self._reports.get(timeout=CONTROL_TICK_SECONDS)
            except queue.Empty:
                report = None
            if isinstance(report, _Close):
                self._drain_reports()
                return
            if report is not None:
                self._handle(report)
            self._watch()

    def _drain_reports(self) -> None:
        while True:
            try:
                report = self._reports.get_nowait()
            except queue.Empty:
                return
            if not isinstance(report, _Close | _DeviceChosen | _Prepare):
                self._handle(report)

    def _handle(self, report: _Report) -> None:
        if isinstance(report, _Started):
            with self._lock:
                known = report.clip.id in self._active
            if known:
                self._tell(ClipStarted(report.clip.id, report.clip.tag, report.at))
        elif isinstance(report, _Ended):
            with self._lock:
                known = self._active.pop(report.clip.id, None) is not None
                self._last_activity = time.monotonic()
            if known:
                self._tell(ClipFinished(report.clip.id, report.clip.tag, report.at, report.interrupted))
        elif isinstance(report, _StreamEnded):
            with self._stream_lock:
                if report.stream is self._stream and not self._closed:
                    self._fail("stopped")
        elif isinstance(report, _DeviceChosen):
            self._follow_device()
        elif isinstance(report, _Prepare):
            self._prepare()
        elif isinstance(report, PlaybackFailed):
            self._tell(report)

    def _follow_device(self) -> None:
        """Another device was chosen: an idle stream is closed (the next clip opens the new device), one
        that is playing moves there."""
        with self._stream_lock:
            with self._lock:
                chosen = self._device_name
                busy = bool(self._active) and not self._closed
            if self._format is None or self._format.chosen == chosen:
                return
            if not busy:
                self._close_stream()
                return
            try:
                self._move(find_output_device(chosen), chosen)
            except AppError as error:
                log.warning("%s", error.message)
                self._fail_with(error)

    def _prepare(self) -> None:
        with self._stream_lock:
            if self._closed:
                return
            try:
                self._ensure_stream()
            except AppError as error:
                log.debug("the speaker could not be opened ahead (%s)", error.message)
                return
        with self._lock:
            self._last_activity = time.monotonic()

    def _watch(self) -> None:
        if not self._stream_lock.acquire(blocking=False):
            return  # a stream is being opened or moved: look next time
        watched: _StreamFormat | None = None
        try:
            now = time.monotonic()
            if self._stream is None:
                return
            with self._lock:
                idle = not self._active and now - self._last_activity > self._idle_close_seconds
            if not self._stream.active:
                self._fail("stopped")
            elif now - self._last_callback > STALL_SECONDS:
                self._fail("stalled")
            elif idle:
                log.info("closing the idle output stream")
                self._close_stream()
            elif self._format is not None and self._format.routed and now - self._last_watch >= WATCH_SECONDS:
                self._last_watch = now
                watched = self._format
        finally:
            self._stream_lock.release()
        if watched is not None and not still_connected("output", watched.device):  # asked without the lock
            with self._stream_lock:
                if self._format is watched:
                    self._fail("is no longer connected")

    def _tell(self, event: PlayerEvent) -> None:
        if self._listener is None:
            return
        try:
            self._listener(event)
        except Exception:
            log.exception("playback listener failed")


def _cannot_open(device: OutputDevice, error: Exception) -> AppError:
    return AppError(
        ErrorCode.AUDIO_OUTPUT_UNAVAILABLE,
        f"The speaker {device.name!r} could not be opened ({error}). Check that it is connected, or "
        "pick another in Settings > Audio.",
    )


def _samples(audio: AudioChunk) -> np.ndarray:
    """The chunk's frames as float32 in [-1, 1), shaped (frames, channels)."""
    audio_format = audio.format
    ints = np.frombuffer(audio.audio, dtype=audio_format.sample_type)
    return (ints.astype(np.float32) / audio_format.full_scale).reshape(-1, audio_format.channels)


def _convert(frames: np.ndarray, rate: int, out_rate: int, out_channels: int) -> np.ndarray:
    """float32 frames (n, channels) -> float32 frames at out_rate with out_channels, C-contiguous."""
    audio = frames
    if audio.shape[1] != out_channels:
        audio = audio.mean(axis=1, keepdims=True) if out_channels == 1 else np.repeat(audio[:, :1], out_channels, 1)
    if rate != out_rate and len(audio):
        audio = soxr.resample(audio, rate, out_rate, quality="HQ")
    return np.ascontiguousarray(audio, dtype=np.float32)
