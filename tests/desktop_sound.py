"""Helpers for tests on the two-speaker, two-microphone PulseAudio server (pulse_server.py, second_pair):
using it from this process, tones to play into each speaker, and measuring which tone was heard."""

from __future__ import annotations

import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from pulse_server import PulseAudioServer

from desktop_app.core.audio_format import AudioChunk, AudioFormat

RATE = 16_000  # what the capture hands on, and what recordings of the speakers are made at
LOW, HIGH = 440.0, 1000.0  # the tone played into each speaker


def reinitialise_portaudio() -> None:
    import sounddevice

    sounddevice._terminate()
    sounddevice._initialize()


def use(server: PulseAudioServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[PulseAudioServer]:
    """This process talks to `server` while the generator runs."""
    monkeypatch.setenv("PULSE_SERVER", server.server)
    reinitialise_portaudio()  # PortAudio scans its devices once per initialisation
    try:
        yield server
    finally:
        monkeypatch.undo()
        reinitialise_portaudio()


def tone_wav(path: Path, freq: float, seconds: float, rate: int = 48_000) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.5 * np.sin(2 * np.pi * freq * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return path


def tone_clip(freq: float, seconds: float, rate: int = 22_050) -> AudioChunk:
    t = np.arange(int(seconds * rate)) / rate
    return AudioChunk((0.5 * np.sin(2 * np.pi * freq * t) * 32767).astype("<i2").tobytes(), AudioFormat(rate, 2, 1))


def power_at(samples: np.ndarray, rate: int, freq: float) -> float:
    """Spectral power within 20 Hz of `freq`."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples)))) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    return float(spectrum[np.abs(freqs - freq) < 20].sum())


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as handle:
        return np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2").astype(np.float32) / 32768


def as_float(pcm: bytes) -> np.ndarray:
    """16-bit PCM as floats in [-1, 1)."""
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768
