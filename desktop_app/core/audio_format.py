"""What a piece of raw audio is: its sample rate, sample width and channel count, and the audio with it.

Every part of the app that handles PCM says its format with an `AudioFormat` instead of numbers of its own,
and a chunk of audio carries its format (`AudioChunk`), so sizes and durations are computed in one place.
`SPEECH_FORMAT` is what the microphone hands on and the recognisers take.

Samples are signed little-endian integers, frames interleaved (a frame is one sample per channel).
"""

from __future__ import annotations

from dataclasses import dataclass

# Bytes a sample may take: signed 16- and 32-bit integers (8-bit PCM is unsigned, 24-bit has no array type).
SAMPLE_WIDTHS = (2, 4)


@dataclass(frozen=True, slots=True)
class AudioFormat:
    rate: int  # frames a second
    width: int  # bytes a sample
    channels: int

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.channels <= 0:
            raise ValueError(f"audio needs a positive rate and channel count, not {self.rate} Hz x {self.channels}")
        if self.width not in SAMPLE_WIDTHS:
            raise ValueError(f"{8 * self.width}-bit samples are not supported (16- or 32-bit signed PCM)")

    @property
    def frame_bytes(self) -> int:
        return self.width * self.channels

    @property
    def bytes_per_second(self) -> int:
        return self.rate * self.frame_bytes

    @property
    def sample_type(self) -> str:
        """The samples' array type as numpy spells it: "<i2" is signed 16-bit little-endian."""
        return f"<i{self.width}"

    @property
    def full_scale(self) -> int:
        """One past the largest sample: a sample divided by this lies in [-1, 1)."""
        return 1 << (8 * self.width - 1)

    def frames(self, byte_count: int) -> int:
        """Whole frames in `byte_count` bytes."""
        return byte_count // self.frame_bytes

    def bytes_for_frames(self, frames: int) -> int:
        return frames * self.frame_bytes

    def bytes_for(self, seconds: float) -> int:
        """Bytes of `seconds` of audio, in whole frames (rounded down)."""
        return self.bytes_for_frames(int(seconds * self.rate))

    def duration(self, byte_count: int) -> float:
        """Seconds of audio in `byte_count` bytes (whole frames)."""
        return self.frames(byte_count) / self.rate

    def milliseconds(self, byte_count: int) -> float:
        return self.duration(byte_count) * 1000


SPEECH_FORMAT = AudioFormat(rate=16_000, width=2, channels=1)
# How much audio the microphone hands on at a time, and how a recording is fed to a recogniser like it.
SPEECH_CHUNK_SECONDS = 0.02


@dataclass(frozen=True, slots=True)
class AudioChunk:
    """Raw PCM and its format; whole frames only."""

    audio: bytes
    format: AudioFormat

    def __post_init__(self) -> None:
        if len(self.audio) % self.format.frame_bytes:
            raise ValueError(f"{len(self.audio)} bytes are not whole frames of {self.format.frame_bytes} bytes")

    @property
    def frames(self) -> int:
        return self.format.frames(len(self.audio))

    @property
    def duration(self) -> float:
        """In seconds."""
        return self.format.duration(len(self.audio))

    @property
    def milliseconds(self) -> float:
        return self.format.milliseconds(len(self.audio))
