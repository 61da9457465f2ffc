"""The last moments of sound before push-to-talk, kept in memory so a word begun just before the press
is not cut off. Only in memory, only while the microphone is armed, overwritten continuously."""

from __future__ import annotations

import threading
from collections import deque

SAMPLE_RATE = 16_000
BYTES_PER_SAMPLE = 2


class PrerollBuffer:
    def __init__(self, keep_ms: int = 500, sample_rate: int = SAMPLE_RATE) -> None:
        self.keep_bytes = keep_ms * sample_rate // 1000 * BYTES_PER_SAMPLE
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._lock = threading.Lock()

    def add(self, pcm16: bytes) -> None:
        with self._lock:
            self._chunks.append(pcm16)
            self._size += len(pcm16)
            while self._chunks and self._size - len(self._chunks[0]) >= self.keep_bytes:
                self._size -= len(self._chunks.popleft())

    def take(self) -> bytes:
        """Everything kept (at most `keep_ms`, whole samples), emptying the buffer."""
        with self._lock:
            data = b"".join(self._chunks)
            self._chunks.clear()
            self._size = 0
        excess = max(0, len(data) - self.keep_bytes)
        excess += excess % BYTES_PER_SAMPLE
        return data[excess:]

    def clear(self) -> None:
        with self._lock:
            self._chunks.clear()
            self._size = 0

    def duration_ms(self) -> float:
        with self._lock:
            return min(self._size, self.keep_bytes) / BYTES_PER_SAMPLE / SAMPLE_RATE * 1000
