"""The audio format type: sizes and durations computed in one place, and audio that cannot be played
refused when it is made."""

from __future__ import annotations

import pytest

from desktop_app.core.audio_format import SPEECH_CHUNK_SECONDS, SPEECH_FORMAT, AudioChunk, AudioFormat
from desktop_app.core.preroll import PrerollBuffer


def test_the_speech_format_is_16_khz_16_bit_mono() -> None:
    assert (SPEECH_FORMAT.rate, SPEECH_FORMAT.width, SPEECH_FORMAT.channels) == (16_000, 2, 1)
    assert SPEECH_FORMAT.bytes_per_second == 32_000
    assert SPEECH_FORMAT.bytes_for(SPEECH_CHUNK_SECONDS) == 640  # what the microphone hands on at a time
    assert SPEECH_FORMAT.sample_type == "<i2" and SPEECH_FORMAT.full_scale == 32_768


def test_sizes_and_durations() -> None:
    stereo = AudioFormat(rate=22_050, width=2, channels=2)
    assert stereo.frame_bytes == 4
    assert stereo.frames(4 * 22_050 + 3) == 22_050  # whole frames only
    assert stereo.bytes_for(0.5) == 4 * 11_025
    assert stereo.bytes_for_frames(10) == 40
    assert stereo.duration(4 * 22_050) == 1.0
    assert stereo.milliseconds(4 * 2205) == pytest.approx(100.0)
    wide = AudioFormat(48_000, 4, 1)
    assert wide.sample_type == "<i4" and wide.full_scale == 2**31


def test_a_chunk_knows_its_duration() -> None:
    chunk = AudioChunk(bytes(SPEECH_FORMAT.bytes_for(0.25)), SPEECH_FORMAT)
    assert chunk.frames == 4000
    assert chunk.duration == 0.25
    assert chunk.milliseconds == 250.0
    assert AudioChunk(b"", SPEECH_FORMAT).duration == 0.0


@pytest.mark.parametrize(
    ("rate", "width", "channels"),
    [(0, 2, 1), (-16_000, 2, 1), (22_050, 2, 0), (22_050, 1, 1), (22_050, 3, 1), (22_050, 8, 1)],
)
def test_a_format_that_cannot_be_played_is_refused(rate: int, width: int, channels: int) -> None:
    """8-bit PCM is unsigned and 24-bit has no array type: neither is taken rather than played as noise."""
    with pytest.raises(ValueError):
        AudioFormat(rate, width, channels)


def test_a_chunk_must_hold_whole_frames() -> None:
    with pytest.raises(ValueError, match="whole frames"):
        AudioChunk(b"\0\0\0", SPEECH_FORMAT)
    with pytest.raises(ValueError, match="whole frames"):
        AudioChunk(bytes(6), AudioFormat(22_050, 2, 2))


def test_the_preroll_keeps_whole_frames_of_its_format() -> None:
    stereo = AudioFormat(8_000, 2, 2)
    buffer = PrerollBuffer(100, stereo)
    for _ in range(30):
        buffer.add(bytes(stereo.bytes_for(0.01)))
    assert buffer.duration_ms() == pytest.approx(100.0)
    kept = buffer.take()
    assert len(kept) == stereo.bytes_for(0.1) and len(kept) % stereo.frame_bytes == 0
    assert buffer.take() == b"" and buffer.duration_ms() == 0.0
