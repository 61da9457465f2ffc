"""Rendered speech kept on disk, so a phrase said before starts at once.

An entry is keyed by a hash of everything that changes the sound: the engine, the voice, the rate, the
volume and the text. Changing a voice setting therefore simply misses; nothing needs to be invalidated.

Each entry is one file: a small header (magic, the audio's format, length, BLAKE2 digest of the audio)
followed by the PCM. A file that is short, damaged or does not match its digest counts as a miss and is
deleted, so the phrase is rendered again. Files are written to a private temporary name and renamed into
place, so a reader never sees half an entry, and two threads or processes writing the same entry both
leave a whole one.

The total size is capped. Sizes and last-use times are kept in memory (the file's modification time is the
last use, so the order survives restarts); when a new entry takes the cache over the cap, the entries used
least recently are deleted until it is at 90 % of the cap. Other processes sharing the directory are noticed on
the next eviction, which rescans it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import struct
import threading
import time
from pathlib import Path

from desktop_app.core.atomic_file import is_temporary, replace_file
from desktop_app.core.audio_format import AudioChunk, AudioFormat

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
_MAGIC = b"VATTS\x02"  # entries of another version are misses, like damaged ones
_HEADER = struct.Struct("<6sIHHQ32s")  # magic, rate, sample width, channels, PCM byte count, blake2b-256 of it
_SUFFIX = ".pcm"


def cache_key(engine: str, voice: str | None, rate: int, volume: float, text: str) -> str:
    """A stable hex key for one rendering."""
    material = "\x1f".join((engine, voice or "", str(int(rate)), f"{float(volume):.3f}", text))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


class TtsCache:
    """Thread-safe; several processes may share one directory."""

    def __init__(self, directory: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[int, float]] = {}  # key -> (size, last use)
        self._total = 0
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._lock:
            self._rescan()

    def get(self, key: str) -> AudioChunk | None:
        """The audio stored under `key`, or None (never there, evicted, or damaged: then deleted)."""
        path = self._path(key)
        try:
            data = path.read_bytes()
        except OSError:
            with self._lock:
                self._forget(key)
            return None
        audio = _decode(data)
        with self._lock:
            if audio is None:
                log.warning("damaged speech cache entry %s; it will be rendered again", path.name)
                with contextlib.suppress(OSError):
                    path.unlink()
                self._forget(key)
                return None
            now = time.time()
            with contextlib.suppress(OSError):
                os.utime(path, (now, now))
            self._forget(key)
            self._entries[key] = (len(data), now)
            self._total += len(data)
        return audio

    def put(self, key: str, audio: AudioChunk) -> None:
        """Stores audio under `key`, evicting the least recently used entries beyond the cap. An entry
        larger than the whole cap is not stored. Errors writing (a full disk) are logged, not raised."""
        data = _encode(audio)
        if len(data) > self.max_bytes:
            return
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            replace_file(path, data, durable=False)  # a cache: lost on a power cut, it is rendered again
            now = time.time()
            os.utime(path, (now, now))  # file systems stamp coarsely; the LRU order needs better
        except OSError as error:
            log.warning("could not store rendered speech in %s: %s", self.directory, error)
            return
        with self._lock:
            self._forget(key)
            self._entries[key] = (len(data), now)
            self._total += len(data)
            if self._total > self.max_bytes:
                self._evict(keep=key)

    def clear(self) -> None:
        with self._lock:
            for key in list(self._entries):
                with contextlib.suppress(OSError):
                    self._path(key).unlink()
            self._entries.clear()
            self._total = 0

    # -- internals (called with the lock held) ---------------------------------------------------------

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}{_SUFFIX}"

    def _forget(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._total -= entry[0]

    def _rescan(self) -> None:
        self._entries.clear()
        self._total = 0
        for path in self.directory.glob("??/*"):
            if is_temporary(path.name):
                # A writer that died mid-way; a live one renames its file within milliseconds.
                with contextlib.suppress(OSError):
                    if time.time() - path.stat().st_mtime > 60:
                        path.unlink()
                continue
            if not path.name.endswith(_SUFFIX):
                continue
            try:
                info = path.stat()
            except OSError:
                continue
            self._entries[path.name.removesuffix(_SUFFIX)] = (info.st_size, info.st_mtime)
            self._total += info.st_size

    def _evict(self, keep: str) -> None:
        """Deletes the least recently used entries until the cache is at 90 % of its cap (so that not every
        new entry rescans the directory)."""
        self._rescan()  # other processes may have added or used entries
        target = self.max_bytes * 9 // 10
        for key, (size, _) in sorted(self._entries.items(), key=lambda item: item[1][1]):
            if self._total <= target:
                break
            if key == keep:
                continue
            with contextlib.suppress(FileNotFoundError):
                self._path(key).unlink()
            self._entries.pop(key)
            self._total -= size


def _encode(audio: AudioChunk) -> bytes:
    digest = hashlib.blake2b(audio.audio, digest_size=32).digest()
    audio_format = audio.format
    header = _HEADER.pack(
        _MAGIC, audio_format.rate, audio_format.width, audio_format.channels, len(audio.audio), digest
    )
    return header + audio.audio


def _decode(data: bytes) -> AudioChunk | None:
    if len(data) < _HEADER.size:
        return None
    magic, rate, width, channels, length, digest = _HEADER.unpack_from(data)
    pcm = data[_HEADER.size :]
    if magic != _MAGIC or length != len(pcm) or hashlib.blake2b(pcm, digest_size=32).digest() != digest:
        return None
    try:
        return AudioChunk(pcm, AudioFormat(rate, width, channels))
    except ValueError:  # a format this app does not play, or not whole frames
        return None
