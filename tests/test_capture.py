"""Microphone capture on real (virtual) devices: format conversion, levels, and device failures."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from pulse_server import MICROPHONE_DESCRIPTION, SPEAKER_DESCRIPTION
from speech_audio import say_to_wav

from desktop_app.audio.capture import MicrophoneCapture, find_input_device, levels_dbfs
from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.core.preroll import PrerollBuffer


class Collector:
    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.levels: list[tuple[float, float, float]] = []
        self.errors: list[AppError | None] = []
        self.error_seen = threading.Event()
        self.back = threading.Event()

    def on_frames(self, pcm: bytes) -> None:
        self.frames.append(pcm)

    def on_level(self, rms: float, peak: float) -> None:
        self.levels.append((time.monotonic(), rms, peak))

    def on_error(self, error: AppError | None) -> None:
        self.errors.append(error)
        (self.error_seen if error is not None else self.back).set()


def test_speech_arrives_as_16k_mono_with_levels_at_20_per_second(pulse_audio, tmp_path: Path) -> None:
    speech = say_to_wav("what time is it", tmp_path / "s.wav")
    got = Collector()
    capture = MicrophoneCapture(got.on_frames, got.on_level, got.on_error)
    capture.start()
    try:
        time.sleep(0.3)
        started = time.monotonic()
        pulse_audio.play(speech)
        time.sleep(0.2)
        elapsed = time.monotonic() - started
    finally:
        capture.stop()
    assert got.errors == []
    pcm = np.frombuffer(b"".join(got.frames), dtype="<i2")
    assert capture.device is not None and capture.device.default_rate != 16_000
    # 16 kHz: the sample count matches the wall-clock time captured (within 10 %).
    seconds = len(pcm) / 16_000
    assert 0.9 * (elapsed + 0.3) < seconds < 1.1 * (elapsed + 0.3) + 0.2
    assert np.abs(pcm).max() > 3000  # the speech is there
    during = [lvl for lvl in got.levels if started <= lvl[0] <= started + elapsed]
    assert len(during) / elapsed >= 20
    assert max(peak for _, _, peak in during) > -20 and min(rms for _, rms, _ in got.levels) < -60


def test_levels_in_dbfs() -> None:
    assert levels_dbfs(np.zeros(100, dtype=np.float32)) == (-120.0, -120.0)
    full = np.ones(100, dtype=np.float32)
    assert levels_dbfs(full) == pytest.approx((0.0, 0.0), abs=1e-6)
    sine = np.sin(np.linspace(0, 200 * np.pi, 16000)).astype(np.float32) * 0.5
    rms, peak = levels_dbfs(sine)
    assert rms == pytest.approx(-9.03, abs=0.05) and peak == pytest.approx(-6.02, abs=0.05)


def test_preroll_keeps_the_last_half_second() -> None:
    buffer = PrerollBuffer(500)
    for _ in range(100):  # 2 s of 20 ms chunks
        buffer.add(b"\x01\x00" * 320)
    assert buffer.duration_ms() == pytest.approx(500, abs=20)
    kept = buffer.take()
    assert len(kept) == 500 * 16 * 2 and buffer.take() == b""


def test_a_missing_microphone_gives_a_clear_error_and_the_default_still_works(pulse_audio) -> None:
    with pytest.raises(AppError) as caught:
        find_input_device("USB Headset that is not plugged in")
    assert caught.value.code is ErrorCode.AUDIO_INPUT_UNAVAILABLE
    assert "not connected" in caught.value.message and "Settings > Audio" in caught.value.message
    got = Collector()
    capture = MicrophoneCapture(got.on_frames, got.on_level, got.on_error, device="USB Headset that is not plugged in")
    capture.start()
    try:
        assert got.error_seen.wait(3)
        capture.set_device(None)  # the user picks the default in settings
        assert got.back.wait(5)
    finally:
        capture.stop()


def test_no_audio_server_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import sounddevice

    monkeypatch.setenv("PULSE_SERVER", f"unix:{tmp_path}/no-server-here")
    sounddevice._terminate()
    sounddevice._initialize()
    got = Collector()
    capture = MicrophoneCapture(got.on_frames, got.on_level, got.on_error)
    capture.start()
    try:
        assert got.error_seen.wait(5)
    finally:
        capture.stop()
        monkeypatch.undo()
        sounddevice._terminate()
        sounddevice._initialize()
    error = got.errors[0]
    assert error is not None and error.code is ErrorCode.AUDIO_INPUT_UNAVAILABLE
    assert "Settings > Audio" in error.message


def test_a_microphone_unplugged_and_plugged_back_in(pulse_audio) -> None:
    """Unloading the virtual microphone is as close to pulling the plug as this machine gets."""
    got = Collector()
    capture = MicrophoneCapture(got.on_frames, got.on_level, got.on_error)
    capture.start()
    try:
        time.sleep(0.4)
        assert got.errors == [] and got.frames
        modules = pulse_audio.pactl("list", "short", "modules").stdout.splitlines()
        remap = next(line.split()[0] for line in modules if "module-remap-source" in line)
        null = next(line.split()[0] for line in modules if "module-null-sink" in line)
        pulse_audio.pactl("unload-module", remap)
        pulse_audio.pactl("unload-module", null)
        assert got.error_seen.wait(5), "losing the device should be reported"
        error = got.errors[0]
        assert error is not None and error.code is ErrorCode.AUDIO_INPUT_UNAVAILABLE
        # Plugged back in as it was (names and descriptions): later tests share this server.
        pulse_audio.pactl(
            "load-module",
            "module-null-sink",
            "sink_name=vspk",
            "rate=48000",
            "channels=2",
            "norewinds=1",
            f"sink_properties='device.description=\"{SPEAKER_DESCRIPTION}\"'",
        )
        pulse_audio.pactl(
            "load-module",
            "module-remap-source",
            "master=vspk.monitor",
            "source_name=vmic",
            f"source_properties='device.description=\"{MICROPHONE_DESCRIPTION}\"'",
        )
        pulse_audio.pactl("set-default-source", "vmic")
        pulse_audio.pactl("set-default-sink", "vspk")
        assert got.back.wait(10), "capture should resume by itself when the device is back"
        sources = pulse_audio.pactl("list", "sources").stdout
        assert f"Description: {MICROPHONE_DESCRIPTION}" in sources
        before = len(got.frames)
        time.sleep(0.3)
        assert len(got.frames) > before
    finally:
        capture.stop()
