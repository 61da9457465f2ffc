"""Microphone capture: the device's own rate and channels in, SPEECH_FORMAT out, with levels.

The PortAudio callback only copies each block into a bounded queue. The capture's own thread (one for each
start()) opens and closes the streams, downmixes, resamples with soxr (a maintained, high-quality
streaming resampler; no hand-written filter), converts to SPEECH_FORMAT and hands frames on, measuring RMS
and peak levels for the meter. When the device fails or disappears the capture reports one error, keeps
trying to reopen it, and says when it is back.

Another microphone chosen while capturing is opened before the old one is closed, and what the old one had
recorded by then is handed on before the new one's sound: the listener hears one stream, with no failure
and nothing lost. The controls (start, stop, set_device) never open or close a stream themselves and hold
no lock while the capture's thread does; stop() waits a bounded time for it.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any

import numpy as np
import soxr

from desktop_app.audio.devices import SoundDevice, choose_device, list_devices, not_connected, still_connected
from desktop_app.audio.portaudio import sd
from desktop_app.core.audio_format import SPEECH_CHUNK_SECONDS, SPEECH_FORMAT
from desktop_app.core.errors import AppError, ErrorCode

log = logging.getLogger(__name__)

BLOCK_SECONDS = SPEECH_CHUNK_SECONDS  # each device block is converted and handed on as it comes
SILENCE_DBFS = -120.0
# No audio for this long from a running stream means the device is gone (PortAudio does not always say).
STALL_S = 1.0
RETRY_S = 0.5
# How often a chosen sound-server microphone is checked for: when it goes, the server moves its streams
# to another microphone, so the sound never stops and nothing else would tell.
WATCH_S = 1.0
# stop() waits at most this long for the capture's thread to close its stream.
STOP_WAIT_S = 0.5
# A new start() lets the last one's stream close first, waiting at most this long (on its own thread).
HANDOVER_WAIT_S = 2.0
QUEUED_BLOCKS = 200  # 4 s of device blocks: enough to bridge opening another microphone

FramesListener = Callable[[bytes], None]  # PCM in SPEECH_FORMAT
LevelListener = Callable[[float, float], None]
ErrorListener = Callable[[AppError | None], None]

InputDevice = SoundDevice


def find_input_device(name: str | None) -> InputDevice:
    """The device with this name (exact, then its sound-server name, then a case-insensitive part of the
    name); the default when None. AppError(audio_input_unavailable) naming it when it is not connected."""
    return choose_device(
        list_devices("input", monitors=True),
        name,
        ErrorCode.AUDIO_INPUT_UNAVAILABLE,
        "microphone",
        "No microphone found. Plug one in, or pick one in Settings > Audio.",
    )


def levels_dbfs(samples: np.ndarray) -> tuple[float, float]:
    """RMS and peak of float samples in [-1, 1], in dB relative to full scale."""
    if samples.size == 0:
        return SILENCE_DBFS, SILENCE_DBFS
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    peak = float(np.max(np.abs(samples)))

    def db(value: float) -> float:
        return max(SILENCE_DBFS, 20 * math.log10(value)) if value > 0 else SILENCE_DBFS

    return db(rms), db(peak)


class BlockConverter:
    """Device blocks (float32, any rate, one or more channels) to SPEECH_FORMAT PCM (mono), streaming.

    soxr's streaming resampler gives the same samples as resampling the whole recording at once, so
    how the audio was cut into blocks never changes what the recogniser hears.
    """

    def __init__(self, in_rate: int) -> None:
        self._resampler = soxr.ResampleStream(in_rate, SPEECH_FORMAT.rate, SPEECH_FORMAT.channels, dtype="float32")

    def convert(self, block: np.ndarray, last: bool = False) -> tuple[bytes, np.ndarray]:
        """(SPEECH_FORMAT PCM, the block's mono samples at the device rate for level metering)."""
        mono = block.mean(axis=1, dtype=np.float32) if block.ndim == 2 and block.shape[1] > 1 else block.reshape(-1)
        converted = self._resampler.resample_chunk(mono, last=last)
        return to_pcm16(converted), mono


def to_pcm16(samples: np.ndarray) -> bytes:
    """Float samples in [-1, 1] as SPEECH_FORMAT PCM."""
    scale = SPEECH_FORMAT.full_scale - 1
    return bytes((np.clip(samples, -1.0, 1.0) * scale).astype(SPEECH_FORMAT.sample_type).tobytes())


class MicrophoneCapture:
    """Runs from start() to stop(); frames, levels and errors arrive on the capture's thread."""

    def __init__(
        self,
        on_frames: FramesListener,
        on_level: LevelListener | None = None,
        on_error: ErrorListener | None = None,
        device: str | None = None,
    ) -> None:
        self._on_frames = on_frames
        self._on_level = on_level
        self._on_error = on_error
        self._lock = threading.Lock()  # the fields below; never held while a stream opens or closes
        self._device_name = device
        self._run: _Run | None = None
        self._last_run: _Run | None = None
        self._check_failed = False  # check_device() reported the microphone missing
        self.device: InputDevice | None = None
        self.overflows = 0

    def start(self) -> None:
        """Starts capturing (the device opens on the capture's thread); returns at once."""
        with self._lock:
            if self._run is not None:
                return
            run = self._run = _Run(self, self._last_run)
            self._last_run = run
        run.thread.start()

    def stop(self, timeout: float = STOP_WAIT_S) -> bool:
        """Stops capturing. Waits at most `timeout` for the capture's thread to close the stream and end:
        True when it has (nothing more is handed on), False when not yet (it still will, handing on nothing
        new)."""
        with self._lock:
            run, self._run = self._run, None
        if run is None:
            return True
        run.stop()
        if run.thread is threading.current_thread():
            return False  # a listener stopped it: the thread closes the stream as it returns
        closed = run.join(timeout)
        if not closed:
            log.warning("the microphone's stream was still closing after %.1f s", timeout)
        return closed

    def set_device(self, name: str | None) -> None:
        """Switches to another microphone (by name; None: the default); returns at once. While capturing,
        the capture's thread opens the new one before it closes the old one."""
        with self._lock:
            if name == self._device_name:
                return
            self._device_name = name
            run = self._run
        if run is not None:
            run.switch()

    def check_device(self) -> None:
        """Looks for the chosen microphone without opening it and reports through the error listener, as
        start() would: an AppError when it is not connected, and None when a microphone reported missing
        this way is found again. For start-up and for a new choice while the microphone stays closed
        (privacy mode). Returns at once; the look-up runs on a thread of its own."""

        def check() -> None:
            try:
                find_input_device(self.device_name)
                error = None
            except AppError as missing:
                error = missing
            if self._run is not None:
                return  # a running capture reports for itself
            if error is not None:
                self._check_failed = True
                self._report(error)
            elif self._check_failed:
                self._check_failed = False
                self._report(None)

        threading.Thread(target=check, name="mic-check", daemon=True).start()

    @property
    def device_name(self) -> str | None:
        with self._lock:
            return self._device_name

    def _report(self, error: AppError | None) -> None:
        if error is not None:
            log.warning("%s", error.message)
        if self._on_error is not None:
            self._on_error(error)


class _Source:
    """One open input stream, and the converter its blocks go through."""

    def __init__(self, device: InputDevice, routed: bool) -> None:
        self.device = device
        self.routed = routed  # opened on the chosen sound-server device: watched for (see WATCH_S)
        self.converter = BlockConverter(device.default_rate)
        self.stream: Any = None


_Item = tuple[_Source, np.ndarray] | None  # None only wakes the thread up


class _Run:
    """One start() to stop(): a thread that owns the streams it opens and hands their sound on."""

    def __init__(self, capture: MicrophoneCapture, previous: _Run | None) -> None:
        self._capture = capture
        self._previous = previous
        self._blocks: queue.Queue[_Item] = queue.Queue(maxsize=QUEUED_BLOCKS)
        self._stopping = threading.Event()
        self._switching = threading.Event()
        self._wake = threading.Event()
        self.thread = threading.Thread(target=self._main, name="mic-capture", daemon=True)

    def stop(self) -> None:
        self._stopping.set()
        self._poke()

    def switch(self) -> None:
        self._switching.set()
        self._poke()

    def join(self, timeout: float) -> bool:
        self.thread.join(timeout)
        return not self.thread.is_alive()

    def _poke(self) -> None:
        self._wake.set()
        with suppress(queue.Full):
            self._blocks.put_nowait(None)

    # -- the capture's thread ----------------------------------------------------------------------------

    def _main(self) -> None:
        previous, self._previous = self._previous, None
        if previous is not None and not previous.join(HANDOVER_WAIT_S):
            log.warning("the last microphone stream is still closing; opening anyway")
        source: _Source | None = None
        failed: AppError | None = None
        try:
            while not self._stopping.is_set():
                if source is None:
                    source, failed = self._reopen(failed)
                    continue
                lost = self._pump(source)
                if lost is not None:
                    self._close(source)
                    source = None
                    if not self._stopping.is_set():
                        failed = lost
                        self._capture._report(lost)
                elif self._switching.is_set() and not self._stopping.is_set():
                    source, failed = self._switch(source)
        finally:
            if source is not None:
                self._close(source)

    def _reopen(self, failed: AppError | None) -> tuple[_Source | None, AppError | None]:
        """Opens the chosen microphone; while it fails, says so once and tries again every RETRY_S (at once
        when another one is chosen)."""
        self._wake.clear()
        self._switching.clear()
        try:
            source = self._open()
        except AppError as error:
            if failed is None or failed.message != error.message:
                self._capture._report(error)
            self._wake.wait(RETRY_S)
            return None, error
        if failed is not None:
            self._capture._report(None)  # back again
        return source, None

    def _switch(self, old: _Source) -> tuple[_Source | None, AppError | None]:
        """Opens the newly chosen microphone, then closes the old one, handing on what it had recorded
        before the new one's first sound."""
        self._switching.clear()
        try:
            new = self._open()
        except AppError as error:
            self._close(old, hand_on=True)  # what it recorded counts; listening on to it would not
            self._capture._report(error)
            return None, error
        for _, block in self._close(old, hand_on=True):
            self._hand_on(new, block)
        return new, None

    def _open(self) -> _Source:
        name = self._capture.device_name
        device = find_input_device(name)
        source = _Source(device, routed=name is not None and device.server_name is not None)
        capture = self._capture
        blocks = self._blocks

        def callback(indata: np.ndarray, frames: int, _time: Any, status: sd.CallbackFlags) -> None:
            if status.input_overflow:
                capture.overflows += 1
            try:
                blocks.put_nowait((source, indata.copy()))
            except queue.Full:
                capture.overflows += 1

        channels = min(2, device.channels)
        try:
            with device.opening("input", route=source.routed):
                stream = sd.InputStream(
                    device=device.index,
                    samplerate=device.default_rate,
                    channels=channels,
                    dtype="float32",
                    blocksize=int(device.default_rate * BLOCK_SECONDS),
                    callback=callback,
                )
                stream.start()
        except (sd.PortAudioError, ValueError) as error:
            raise AppError(
                ErrorCode.AUDIO_INPUT_UNAVAILABLE,
                f"The microphone {device.name!r} could not be opened ({error}). It may be in use by another "
                "program; close it, or pick another microphone in Settings > Audio.",
            ) from error
        source.stream = stream
        capture.device = device
        log.info("capturing from %r at %d Hz, %d channel(s)", device.name, device.default_rate, channels)
        return source

    def _pump(self, source: _Source) -> AppError | None:
        """Hands on the source's sound until a stop or a switch is asked for (None), or the device is lost."""
        last_watch = time.monotonic()
        while not self._stopping.is_set() and not self._switching.is_set():
            if source.routed and time.monotonic() - last_watch >= WATCH_S:
                last_watch = time.monotonic()
                if not still_connected("input", source.device):
                    named = self._capture.device_name or source.device.name  # as find_input_device says it
                    return AppError(ErrorCode.AUDIO_INPUT_UNAVAILABLE, not_connected("microphone", named))
            try:
                item = self._blocks.get(timeout=STALL_S)
            except queue.Empty:
                return AppError(
                    ErrorCode.AUDIO_INPUT_UNAVAILABLE,
                    "The microphone stopped sending sound (unplugged?). Plug it back in, or pick another "
                    "in Settings > Audio; listening resumes by itself.",
                )
            if item is not None and item[0] is source:
                self._hand_on(source, item[1])
        return None

    def _close(self, source: _Source, hand_on: bool = False) -> list[tuple[_Source, np.ndarray]]:
        """Closes the source's stream. What it had queued is handed on with `hand_on`, else dropped; blocks
        of other sources (the one opened to replace it) are returned, in order."""
        try:
            source.stream.abort()
            source.stream.close()
        except sd.PortAudioError:
            log.debug("closing the input stream failed", exc_info=True)
        others: list[tuple[_Source, np.ndarray]] = []
        while True:  # the stream is closed: all its blocks are queued
            try:
                item = self._blocks.get_nowait()
            except queue.Empty:
                break
            if item is None:
                continue
            if item[0] is not source:
                others.append(item)
            elif hand_on:
                self._hand_on(source, item[1])
        if hand_on:
            self._hand_on(source, np.zeros((0, 1), dtype=np.float32), last=True)  # the resampler's tail
        return others

    def _hand_on(self, source: _Source, block: np.ndarray, last: bool = False) -> None:
        if self._stopping.is_set():
            return
        capture = self._capture
        pcm, mono = source.converter.convert(block, last=last)
        if pcm:
            capture._on_frames(pcm)
        if capture._on_level is not None and mono.size:
            capture._on_level(*levels_dbfs(mono))
