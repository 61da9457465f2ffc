"""A capture of one microphone for a level meter (the first-run guide, Settings > Audio), read by the
window's timer. Qt-free.

The meter reads a short-lived capture of its own rather than the app's AudioLevel events: the app's
microphone runs while idle only with audio.preroll on and once the voice services are up, and it follows
the saved setting, not the device being tried. Sound servers (PulseAudio, PipeWire, WASAPI shared mode,
Core Audio) let two streams read one microphone.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from desktop_app.core.errors import AppError

if TYPE_CHECKING:
    from desktop_app.audio.capture import MicrophoneCapture

SILENCE_DBFS = -120.0
# Quieter than this is no one speaking (a real microphone's room noise is around -60 to -70 dBFS).
SILENT_DBFS = -50.0
THREAD_PREFIX = "mic-probe"


@dataclass(frozen=True, slots=True)
class LevelReading:
    loudest_dbfs: float  # since the last reading
    quiet_s: float  # since the microphone was opened or chosen, or last heard
    error: str | None  # the microphone could not be opened, or was lost


def _ignore(*_args: object) -> None:
    """For the sound itself: only its level is wanted."""


class LevelProbe:
    """Opened and closed on threads of its own (a device can take half a second to open); levels and errors
    arrive on the capture's thread and are read by the window's timer (`read`). Each open() starts a
    generation: what an older one reports is dropped."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generation = 0
        self._capture: MicrophoneCapture | None = None
        self._device: str | None = None
        self._loudest = SILENCE_DBFS
        self._heard_at = time.monotonic()
        self._error: str | None = None
        self.running = False

    def open(self, device: str | None) -> None:
        with self._lock:
            self._generation += 1
            generation = self._generation
            self._device = device
            self._restart_locked()
            self.running = True
        threading.Thread(target=self._start, args=(generation,), name=f"{THREAD_PREFIX}-open", daemon=True).start()

    def _start(self, generation: int) -> None:
        try:
            # PortAudio alone first: when it is missing, its error is raised here whole, not met half-way
            # through another thread's import of the audio modules.
            import desktop_app.audio.portaudio  # noqa: F401
            from desktop_app.audio.capture import MicrophoneCapture  # loads PortAudio: never on the main thread
        except AppError as error:  # PortAudio is missing: said where the level would show
            self._failed(generation, error)
            return
        with self._lock:
            if generation != self._generation:
                return  # closed (or reopened) before it got here
            capture = MicrophoneCapture(
                _ignore, partial(self._level, generation), partial(self._failed, generation), device=self._device
            )
            self._capture = capture
            capture.start()  # the capture's own thread opens the device

    def switch(self, device: str | None) -> None:
        """Listens to another microphone (the capture opens it before it lets the old one go)."""
        with self._lock:
            self._device = device
            self._restart_locked()
            capture = self._capture
        if capture is not None:
            capture.set_device(device)

    def close(self) -> None:
        with self._lock:
            self._generation += 1
            capture, self._capture = self._capture, None
            self.running = False
        if capture is not None:  # stop() waits for the stream to close: not on the main thread
            threading.Thread(target=capture.stop, name=f"{THREAD_PREFIX}-close", daemon=True).start()

    def read(self) -> LevelReading:
        with self._lock:
            reading = LevelReading(self._loudest, time.monotonic() - self._heard_at, self._error)
            self._loudest = SILENCE_DBFS
        return reading

    def _restart_locked(self) -> None:
        self._loudest = SILENCE_DBFS
        self._heard_at = time.monotonic()
        self._error = None

    def _level(self, generation: int, rms_dbfs: float, _peak_dbfs: float) -> None:
        with self._lock:
            if generation != self._generation:
                return
            self._loudest = max(self._loudest, rms_dbfs)
            self._error = None
            if rms_dbfs > SILENT_DBFS:
                self._heard_at = time.monotonic()

    def _failed(self, generation: int, error: AppError | None) -> None:
        with self._lock:
            if generation == self._generation:
                self._error = None if error is None else error.message
