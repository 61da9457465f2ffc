"""Rendered speech kept on disk, so a phrase said before starts at once.

An entry is keyed by a hash of everything that changes the sound: the engine, the voice, the rate, the
volume and the text. Changing a voice setting therefore simply misses; nothing needs to be invalidated.

Each entry is one file: a small header (magic, sample rate, channels, length, BLAKE2 digest of the audio)
followed by 16-bit PCM. A file that is short, damaged or does not match its digest counts as a miss and is
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
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
_MAGIC = b"VATTS\x01"
_HEADER = struct.Struct("<6sIHQ32s")  # magic, rate, channels, PCM byte count, blake2b-256 of the PCM
_SUFFIX = ".pcm"


@dataclass(frozen=True, slots=True)
class CachedAudio:
    pcm: bytes
    rate: int
    channels: int


@dataclass(frozen=True, slots=True)
class CacheStats:
    entries: int
    bytes: int
    max_bytes: int
    hits: int
    misses: int
    evictions: int
    corrupt: int


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
        self._hits = self._misses = self._evictions = self._corrupt = 0
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._lock:
            self._rescan()

    def get(self, key: str) -> CachedAudio | None:
        """The audio stored under `key`, or None (never there, evicted, or damaged: then deleted)."""
        path = self._path(key)
        try:
            data = path.read_bytes()
        except OSError:
            with self._lock:
                self._misses += 1
                self._forget(key)
            return None
        audio = _decode(data)
        with self._lock:
            if audio is None:
                self._misses += 1
                self._corrupt += 1
                log.warning("damaged speech cache entry %s; it will be rendered again", path.name)
                with contextlib.suppress(OSError):
                    path.unlink()
                self._forget(key)
                return None
            self._hits += 1
            now = time.time()
            with contextlib.suppress(OSError):
                os.utime(path, (now, now))
            self._forget(key)
            self._entries[key] = (len(data), now)
            self._total += len(data)
        return audio

    def put(self, key: str, pcm: bytes, rate: int, channels: int = 1) -> None:
        """Stores audio under `key`, evicting the least recently used entries beyond the cap. An entry
        larger than the whole cap is not stored. Errors writing (a full disk) are logged, not raised."""
        data = _encode(pcm, rate, channels)
        if len(data) > self.max_bytes:
            return
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            handle, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=_SUFFIX, dir=path.parent)
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(data)
                now = time.time()
                os.utime(temporary, (now, now))  # file systems stamp coarsely; the LRU order needs better
                os.replace(temporary, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
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

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(
                len(self._entries),
                self._total,
                self.max_bytes,
                self._hits,
                self._misses,
                self._evictions,
                self._corrupt,
            )

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
        for path in self.directory.glob(f"??/*{_SUFFIX}"):
            if path.name.startswith(".tmp-"):
                # A writer that died mid-way; a live one renames its file within milliseconds.
                with contextlib.suppress(OSError):
                    if time.time() - path.stat().st_mtime > 60:
                        path.unlink()
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
            self._evictions += 1


def _encode(pcm: bytes, rate: int, channels: int) -> bytes:
    digest = hashlib.blake2b(pcm, digest_size=32).digest()
    return _HEADER.pack(_MAGIC, rate, channels, len(pcm), digest) + pcm


def _decode(data: bytes) -> CachedAudio | None:
    if len(data) < _HEADER.size:
        return None
    magic, rate, channels, length, digest = _HEADER.unpack_from(data)
    pcm = data[_HEADER.size :]
    if magic != _MAGIC or rate <= 0 or channels <= 0 or length != len(pcm):
        return None
    if hashlib.blake2b(pcm, digest_size=32).digest() != digest:
        return None
    return CachedAudio(pcm, rate, channels)
