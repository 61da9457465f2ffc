"""Microphone capture: the device's own rate and channels in, 16 kHz mono 16-bit out, with levels.

The PortAudio callback only copies each block into a bounded queue. A converter thread downmixes,
resamples with soxr (a maintained, high-quality streaming resampler; no hand-written filter), converts
to 16-bit and hands frames on, measuring RMS and peak levels for the meter. When the device fails or
disappears the capture reports one error, keeps trying to reopen it, and says when it is back.
"""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import sounddevice as sd
import soxr

from desktop_app.audio.devices import SoundDevice, choose_device, list_devices, not_connected, still_connected
from desktop_app.core.errors import AppError, ErrorCode

log = logging.getLogger(__name__)

TARGET_RATE = 16_000
BLOCK_MS = 20
LEVEL_INTERVAL_S = 0.0  # a level for every 20 ms block: 50 a second; the meter may show fewer
SILENCE_DBFS = -120.0
# No audio for this long from a running stream means the device is gone (PortAudio does not always say).
STALL_S = 1.0
RETRY_S = 0.5
# How often a chosen sound-server microphone is checked for: when it goes, the server moves its streams
# to another microphone, so the sound never stops and nothing else would tell.
WATCH_S = 1.0

FramesListener = Callable[[bytes], None]
LevelListener = Callable[[float, float], None]
ErrorListener = Callable[[AppError | None], None]

_WAKE = np.zeros((0, 1), dtype=np.float32)  # queued by set_device() so the converter notices at once


InputDevice = SoundDevice


def input_devices(*, monitors: bool = False) -> list[InputDevice]:
    """The microphones by the names people see (the sound server's sources when there is one; its
    monitors of speakers only with `monitors`), else PortAudio's; empty when there is no audio system."""
    return list_devices("input", monitors=monitors).devices


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
    """Device blocks (float32, any rate, one or more channels) to 16 kHz mono 16-bit PCM, streaming.

    soxr's streaming resampler gives the same samples as resampling the whole recording at once, so
    how the audio was cut into blocks never changes what the recogniser hears.
    """

    def __init__(self, in_rate: int) -> None:
        self._resampler = soxr.ResampleStream(in_rate, TARGET_RATE, 1, dtype="float32")

    def convert(self, block: np.ndarray, last: bool = False) -> tuple[bytes, np.ndarray]:
        """(16 kHz PCM, the block's mono samples at the device rate for level metering)."""
        mono = block.mean(axis=1, dtype=np.float32) if block.ndim == 2 and block.shape[1] > 1 else block.reshape(-1)
        converted = self._resampler.resample_chunk(mono, last=last)
        return to_pcm16(converted), mono


def to_pcm16(samples: np.ndarray) -> bytes:
    return bytes((np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes())


class MicrophoneCapture:
    """Runs until stop(); frames, levels and errors arrive on the converter thread."""

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
        self._device_name = device
        self._blocks: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=200)
        self._running = threading.Event()
        self._switch = threading.Event()  # set_device() asked for another microphone
        self._thread: threading.Thread | None = None
        self._stream: Any = None
        self._watched: InputDevice | None = None  # the chosen sound-server microphone, while it is open
        self._check_failed = False  # check_device() reported the microphone missing
        self.device: InputDevice | None = None
        self.overflows = 0

    def start(self) -> None:
        if self._thread is not None:
            return
        self._running.set()
        self._thread = threading.Thread(target=self._run, name="mic-capture", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._running.clear()
        with contextlib.suppress(queue.Full):
            self._blocks.put_nowait(None)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._close_stream()

    def set_device(self, name: str | None) -> None:
        """Switches to another microphone (by name) at the next block; returns at once (the capture's
        thread closes the old stream and opens the new one)."""
        self._device_name = name
        self._switch.set()
        with contextlib.suppress(queue.Full):
            self._blocks.put_nowait(_WAKE)

    def check_device(self) -> None:
        """Looks for the chosen microphone without opening it and reports through the error listener, as
        start() would: an AppError when it is not connected, and None when a microphone reported missing
        this way is found again. For start-up and for a new choice while the microphone stays closed
        (privacy mode). Returns at once; the look-up runs on a thread of its own."""

        def check() -> None:
            try:
                find_input_device(self._device_name)
                error = None
            except AppError as missing:
                error = missing
            if self._thread is not None:
                return  # a running capture reports for itself
            if error is not None:
                self._check_failed = True
                self._report(error)
            elif self._check_failed:
                self._check_failed = False
                self._report(None)

        threading.Thread(target=check, name="mic-check", daemon=True).start()

    # -- converter thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        failed: AppError | None = None
        while self._running.is_set():
            self._switch.clear()
            try:
                converter = self._open()
            except AppError as error:
                if failed is None or failed.message != error.message:
                    failed = error
                    self._report(error)
                self._switch.wait(RETRY_S)  # a device chosen meanwhile is tried at once
                continue
            if failed is not None:
                failed = None
                self._report(None)  # back again
            lost = self._convert(converter)
            self._close_stream()
            if lost is not None and self._running.is_set():
                failed = lost
                self._report(lost)

    def _open(self) -> BlockConverter:
        device = find_input_device(self._device_name)
        channels = min(2, device.channels)

        def callback(indata: np.ndarray, frames: int, _time: Any, status: sd.CallbackFlags) -> None:
            if status.input_overflow:
                self.overflows += 1
            try:
                self._blocks.put_nowait(indata.copy())
            except queue.Full:
                self.overflows += 1

        routed = self._device_name is not None and device.server_name is not None
        try:
            with device.opening("input", route=routed):
                stream = sd.InputStream(
                    device=device.index,
                    samplerate=device.default_rate,
                    channels=channels,
                    dtype="float32",
                    blocksize=device.default_rate * BLOCK_MS // 1000,
                    callback=callback,
                )
                stream.start()
        except (sd.PortAudioError, ValueError) as error:
            raise AppError(
                ErrorCode.AUDIO_INPUT_UNAVAILABLE,
                f"The microphone {device.name!r} could not be opened ({error}). It may be in use by another "
                "program; close it, or pick another microphone in Settings > Audio.",
            ) from error
        self._stream = stream
        self.device = device
        self._watched = device if routed else None
        log.info("capturing from %r at %d Hz, %d channel(s)", device.name, device.default_rate, channels)
        return BlockConverter(device.default_rate)

    def _convert(self, converter: BlockConverter) -> AppError | None:
        last_level = 0.0
        last_watch = time.monotonic()
        while self._running.is_set():
            watched = self._watched
            if watched is not None and time.monotonic() - last_watch >= WATCH_S:
                last_watch = time.monotonic()
                if not still_connected("input", watched):
                    named = self._device_name or watched.name  # as find_input_device says it, said once
                    return AppError(ErrorCode.AUDIO_INPUT_UNAVAILABLE, not_connected("microphone", named))
            if self._switch.is_set():
                return None
            try:
                block = self._blocks.get(timeout=STALL_S)
            except queue.Empty:
                return AppError(
                    ErrorCode.AUDIO_INPUT_UNAVAILABLE,
                    "The microphone stopped sending sound (unplugged?). Plug it back in, or pick another "
                    "in Settings > Audio; listening resumes by itself.",
                )
            if block is None:
                return None
            if block is _WAKE:
                continue
            pcm, mono = converter.convert(block)
            if pcm:
                self._on_frames(pcm)
            now = time.monotonic()
            if self._on_level is not None and now - last_level >= LEVEL_INTERVAL_S:
                last_level = now
                self._on_level(*levels_dbfs(mono))
        return None

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        self._watched = None
        if stream is not None:
            try:
                stream.abort()
                stream.close()
            except sd.PortAudioError:
                log.debug("closing the input stream failed", exc_info=True)
        while True:  # what is queued belongs to the old stream
            try:
                block = self._blocks.get_nowait()
            except queue.Empty:
                break
            if block is None:
                self._blocks.put_nowait(None)
                break

    def _report(self, error: AppError | None) -> None:
        if error is not None:
            log.warning("%s", error.message)
        if self._on_error is not None:
            self._on_error(error)
