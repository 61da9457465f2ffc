"""The last moments of sound before push-to-talk, kept in memory so a word begun just before the press
is not cut off. Only in memory, only while the microphone is armed, overwritten continuously."""

from __future__ import annotations

import threading
from collections import deque

from desktop_app.core.audio_format import SPEECH_FORMAT, AudioFormat


class PrerollBuffer:
    """Keeps the last `keep_ms` of PCM in `audio_format` (what the microphone hands on)."""

    def __init__(self, keep_ms: int = 500, audio_format: AudioFormat = SPEECH_FORMAT) -> None:
        self.format = audio_format
        self.keep_bytes = audio_format.bytes_for(keep_ms / 1000)
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._lock = threading.Lock()

    def add(self, pcm: bytes) -> None:
        with self._lock:
            self._chunks.append(pcm)
            self._size += len(pcm)
            while self._chunks and self._size - len(self._chunks[0]) >= self.keep_bytes:
                self._size -= len(self._chunks.popleft())

    def take(self) -> bytes:
        """Everything kept (at most `keep_ms`, whole frames), emptying the buffer."""
        with self._lock:
            data = b"".join(self._chunks)
            self._chunks.clear()
            self._size = 0
        kept = self.format.bytes_for_frames(self.format.frames(min(len(data), self.keep_bytes)))
        return data[len(data) - kept :]

    def clear(self) -> None:
        with self._lock:
            self._chunks.clear()
            self._size = 0

    def duration_ms(self) -> float:
        with self._lock:
            return self.format.milliseconds(min(self._size, self.keep_bytes))
