"""Speaker playback: 16-bit PCM clips, queued back to back, on an output device chosen by name.

One sounddevice OutputStream runs while there is something to play (and a while after, so the next reply
starts at once). Its callback copies samples from the clip queue into the device buffer and nothing else:
no locks, no allocation beyond a fade ramp. Clips are converted to the stream's rate and channel count with
soxr when they are queued, so the next clip starts in the same buffer the last one ends in.

`stop()` works through the callback too: it fades the current clip out over a few milliseconds (no click)
and drops everything queued. With the small device buffer asked for (about 20 ms) the sound is gone well
within 50 ms of the call.

The callback reports when each clip starts and ends, timed at the device (PortAudio's DAC time estimate), to
a control thread that passes the reports on to the listener, watches the stream and closes it when it has
been idle for a while. A device that is missing, fails to open or disappears while playing becomes an
AppError with code `audio_output_unavailable`; the player drops what it had and opens the device afresh for
the next clip, so it recovers by itself once the device is back.
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
import sounddevice as sd
import soxr

from desktop_app.audio.devices import SoundDevice, choose_device, list_devices, still_connected
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


OutputDevice = SoundDevice


def output_devices() -> list[OutputDevice]:
    """The speakers by the names people see (the sound server's sinks when there is one), else PortAudio's
    devices in its order; empty when there is no audio system."""
    return list_devices("output").devices


def output_device_names() -> list[str]:
    return [device.name for device in output_devices()]


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
    interrupted: bool  # cut short or dropped by stop(), a device change or a device failure


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


class _Clip:
    __slots__ = ("epoch", "frames", "id", "position", "started", "tag")

    def __init__(self, clip_id: int, tag: object, frames: np.ndarray, epoch: int) -> None:
        self.id = clip_id
        self.tag = tag
        self.frames = frames
        self.epoch = epoch
        self.position = 0
        self.started = False


@dataclass(frozen=True, slots=True)
class _StreamFormat:
    device: OutputDevice
    rate: int
    channels: int
    routed: bool  # opened on the chosen sound-server device (watched for, see WATCH_SECONDS)


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
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._stream: Any = None
        self._format: _StreamFormat | None = None
        self._stream_rate = 48_000  # read by the callback
        # Shared with the callback; each is replaced or mutated by one side only (see _callback).
        self._pending: deque[_Clip] = deque()
        self._current: _Clip | None = None
        self._epoch = 0
        self._faded_epoch = 0
        self._last_callback = 0.0
        self._fade_ends_at: float | None = None
        self._reports: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self._active: dict[int, _Clip] = {}
        self._idle = threading.Condition(self._lock)
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
    def stream_rate(self) -> int | None:
        with self._lock:
            return None if self._format is None else self._format.rate

    def set_device(self, name: str | None) -> None:
        """Plays on this device (None: the system default) from the next clip on; what is playing on the
        old device is cut."""
        if name == self._device_name:
            return
        self.stop()
        with self._lock:
            self._device_name = name
            self._close_stream()

    def open(self) -> None:
        """Opens the device now, so the first clip starts without delay. AppError when it cannot."""
        with self._lock:
            self._ensure_stream()
            self._last_activity = time.monotonic()

    def play(self, pcm: bytes, rate: int, channels: int = 1, tag: object = None) -> int:
        """Queues 16-bit little-endian PCM after whatever is queued; returns the clip's id. Every clip
        accepted gets exactly one ClipFinished (and a ClipStarted before it when it was heard).
        AppError(audio_output_unavailable) when the device cannot be opened; nothing is queued then."""
        if rate <= 0 or channels <= 0:
            raise AppError(ErrorCode.INVALID_ARGUMENT, "Audio needs a positive sample rate and channel count.")
        samples = np.frombuffer(pcm, dtype="<i2", count=len(pcm) // 2)
        samples = samples[: len(samples) - len(samples) % channels].reshape(-1, channels)
        with self._lock:
            if self._closed:
                raise AppError(ErrorCode.AUDIO_OUTPUT_UNAVAILABLE, "The audio player is closed.")
            stream_format = self._ensure_stream()
            frames = _convert(samples, rate, stream_format.rate, stream_format.channels)
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
            running = self._stream is not None and self._stream.active
            playing = self._current is not None
        report = StopReport(requested, None, True)
        if running and playing:
            deadline = requested + STOP_WAIT_SECONDS
            while self._faded_epoch < epoch and time.monotonic() < deadline:
                time.sleep(0.001)
            confirmed = self._faded_epoch >= epoch
            report = StopReport(requested, self._fade_ends_at if confirmed else None, confirmed)
        # After the faded clip's own report; the callback may have taken one of these meanwhile, and
        # _handle reports each clip once.
        for clip in dropped:
            self._reports.put(("end", clip, requested, True))
        return report

    def is_playing(self) -> bool:
        with self._lock:
            return bool(self._active)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Waits until every queued clip has finished; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._active, timeout)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self.stop()
        with self._lock:
            self._close_stream()
        self._reports.put(("close",))
        self._thread.join(timeout=5)

    # -- the stream ------------------------------------------------------------------------------------

    def _ensure_stream(self) -> _StreamFormat:
        if self._stream is not None and self._format is not None:
            return self._format
        device = find_output_device(self._device_name)
        channels = min(2, device.channels)
        rate = device.default_rate
        self._stream_rate = rate
        stream: Any = None
        routed = self._device_name is not None and device.server_name is not None
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
                    finished_callback=lambda: self._reports.put(("finished", stream)),
                )
                stream.start()
        except (sd.PortAudioError, ValueError) as error:
            if stream is not None:
                with contextlib.suppress(sd.PortAudioError):
                    stream.close()
            raise AppError(
                ErrorCode.AUDIO_OUTPUT_UNAVAILABLE,
                f"The speaker {device.name!r} could not be opened ({error}). Check that it is connected, or "
                "pick another in Settings > Audio.",
            ) from error
        self._stream = stream
        self._format = _StreamFormat(device, rate, channels, routed)
        self._last_watch = time.monotonic()
        self._last_callback = time.monotonic()
        log.info("playing on %r at %d Hz, %d channel(s)", device.name, rate, channels)
        return self._format

    def _close_stream(self) -> None:
        stream, self._stream, self._format = self._stream, None, None
        if stream is None:
            return
        with contextlib.suppress(sd.PortAudioError):
            stream.abort()
        with contextlib.suppress(sd.PortAudioError):
            stream.close()
        # The callback no longer runs: whatever it had is over.
        now = time.monotonic()
        leftovers = ([self._current] if self._current is not None else []) + list(self._pending)
        self._current = None
        self._pending.clear()
        for clip in leftovers:
            self._reports.put(("end", clip, now, True))

    def _callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: sd.CallbackFlags) -> None:
        """PortAudio's thread: fill `outdata`. Reads `_epoch` and `_pending`; owns `_current`."""
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
            self._reports.put(("end", current, at + filled / rate, True))
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
                    self._reports.put(("end", current, at, True))
                    current = None
                    continue
                self._current = current
            if not current.started:
                current.started = True
                self._reports.put(("start", current, at + filled / rate))
            count = min(frames - filled, len(current.frames) - current.position)
            outdata[filled : filled + count] = current.frames[current.position : current.position + count]
            filled += count
            current.position += count
            if current.position >= len(current.frames):
                self._reports.put(("end", current, at + filled / rate, False))
                self._current = current = None
        if filled < frames:
            outdata[filled:] = 0.0

    # -- the control thread ----------------------------------------------------------------------------

    def _control(self) -> None:
        while True:
            try:
                report = self._reports.get(timeout=0.1)
            except queue.Empty:
                report = None
            if report is not None:
                if report[0] == "close":
                    self._drain_reports()
                    return
                self._handle(report)
            self._watch()

    def _drain_reports(self) -> None:
        while True:
            try:
                report = self._reports.get_nowait()
            except queue.Empty:
                return
            if report[0] != "close":
                self._handle(report)

    def _handle(self, report: tuple[Any, ...]) -> None:
        kind = report[0]
        if kind == "start":
            _, clip, at = report
            with self._lock:
                known = clip.id in self._active
            if known:
                self._tell(ClipStarted(clip.id, clip.tag, at))
        elif kind == "end":
            _, clip, at, interrupted = report
            with self._lock:
                known = self._active.pop(clip.id, None) is not None
                self._last_activity = time.monotonic()
                if not self._active:
                    self._idle.notify_all()
            if known:
                self._tell(ClipFinished(clip.id, clip.tag, at, interrupted))
        elif kind == "finished":
            with self._lock:
                if report[1] is self._stream and not self._closed:
                    self._fail("stopped")
        elif kind == "failed":
            self._tell(PlaybackFailed(report[1], report[2]))

    def _watch(self) -> None:
        now = time.monotonic()
        watched: _StreamFormat | None = None
        with self._lock:
            if self._stream is None:
                return
            if not self._stream.active:
                self._fail("stopped")
            elif now - self._last_callback > STALL_SECONDS:
                self._fail("stalled")
            elif not self._active and now - self._last_activity > self._idle_close_seconds:
                log.info("closing the idle output stream")
                self._close_stream()
            elif self._format is not None and self._format.routed and now - self._last_watch >= WATCH_SECONDS:
                self._last_watch = now
                watched = self._format
        if watched is not None and not still_connected("output", watched.device):  # asked without the lock
            with self._lock:
                if self._format is watched:
                    self._fail("is no longer connected")

    def _fail(self, why: str) -> None:
        name = self._format.device.name if self._format is not None else self._device_name or "default"
        log.warning("output stream on %r %s", name, why)
        error = AppError(
            ErrorCode.AUDIO_OUTPUT_UNAVAILABLE,
            f"The speaker {name!r} stopped working. Check that it is connected, or pick another in Settings > "
            "Audio; the next answer will try it again.",
        )
        # Reported before the clips it cut short, so a listener knows why they ended.
        self._reports.put(("failed", error, time.monotonic()))
        self._epoch += 1
        self._close_stream()

    def _tell(self, event: PlayerEvent) -> None:
        if self._listener is None:
            return
        try:
            self._listener(event)
        except Exception:
            log.exception("playback listener failed")


def _convert(samples: np.ndarray, rate: int, out_rate: int, out_channels: int) -> np.ndarray:
    """int16 frames (n, channels) -> float32 frames at out_rate with out_channels, C-contiguous."""
    audio = samples.astype(np.float32) / 32768.0
    if audio.shape[1] != out_channels:
        audio = audio.mean(axis=1, keepdims=True) if out_channels == 1 else np.repeat(audio[:, :1], out_channels, 1)
    if rate != out_rate and len(audio):
        audio = soxr.resample(audio, rate, out_rate, quality="HQ")
    return np.ascontiguousarray(audio, dtype=np.float32)
