"""The on-disk cache of rendered speech: keys, damaged entries, the size cap with LRU eviction, and
concurrent use from threads and from two cache objects sharing one directory."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from desktop_app.core.atomic_file import is_temporary
from desktop_app.core.audio_format import AudioChunk, AudioFormat
from desktop_app.speech.tts_cache import TtsCache, cache_key

MONO = AudioFormat(22_050, 2, 1)
HEADER = 54  # bytes before the PCM in an entry


def pcm(n: int, value: int = 1, audio_format: AudioFormat = MONO) -> AudioChunk:
    """`n` frames of the format, made of the bytes `value`, 0, `value`, 0, ..."""
    return AudioChunk(bytes([value % 256, 0]) * (n * audio_format.frame_bytes // 2), audio_format)


def entry_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("??/*.pcm") if not is_temporary(p.name))


def on_disk(directory: Path) -> int:
    return sum(p.stat().st_size for p in entry_files(directory))


def counted(cache: TtsCache) -> int:
    """The size the cache believes it has (what it evicts by)."""
    return cache._total


def test_the_key_covers_everything_that_changes_the_sound() -> None:
    base = cache_key("pyttsx3-espeak", "en-us", 175, 1.0, "Hello.")
    assert base == cache_key("pyttsx3-espeak", "en-us", 175, 1.0, "Hello.")
    others = {
        cache_key("other-engine", "en-us", 175, 1.0, "Hello."),
        cache_key("pyttsx3-espeak", "en-gb", 175, 1.0, "Hello."),
        cache_key("pyttsx3-espeak", None, 175, 1.0, "Hello."),
        cache_key("pyttsx3-espeak", "en-us", 150, 1.0, "Hello."),
        cache_key("pyttsx3-espeak", "en-us", 175, 0.5, "Hello."),
        cache_key("pyttsx3-espeak", "en-us", 175, 1.0, "Hello!"),
    }
    assert base not in others
    assert len(others) == 6


def test_stored_audio_comes_back(tmp_path: Path) -> None:
    cache = TtsCache(tmp_path / "tts")
    key = cache_key("e", "v", 175, 1.0, "text")
    assert cache.get(key) is None
    cache.put(key, pcm(1000, 7))
    assert cache.get(key) == pcm(1000, 7)  # the audio and its format
    stereo = AudioFormat(48_000, 4, 2)
    other = cache_key("e", "v", 175, 1.0, "stereo")
    cache.put(other, pcm(500, 3, stereo))
    assert cache.get(other) == pcm(500, 3, stereo)
    assert len(entry_files(tmp_path / "tts")) == 2
    assert counted(cache) == on_disk(tmp_path / "tts") == 2 * HEADER + 2000 + 500 * 8
    # A new cache object over the same directory knows the entries and their size.
    again = TtsCache(tmp_path / "tts")
    assert counted(again) == counted(cache)
    assert again.get(key) == pcm(1000, 7)


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty", "garbage"])
def test_a_damaged_entry_is_a_miss_and_is_removed(tmp_path: Path, damage: str) -> None:
    cache = TtsCache(tmp_path)
    key = cache_key("e", "v", 175, 1.0, damage)
    cache.put(key, pcm(500, 3))
    (path,) = entry_files(tmp_path)
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[:-10]
    elif damage == "flip":
        data[-1] ^= 0xFF
    elif damage == "empty":
        data = bytearray()
    else:
        data = bytearray(b"not a cache entry at all" * 10)
    path.write_bytes(bytes(data))

    assert cache.get(key) is None
    assert not path.exists()
    assert counted(cache) == 0
    cache.put(key, pcm(500, 3))  # rendered again
    assert cache.get(key) == pcm(500, 3)


def test_the_least_recently_used_entries_go_first(tmp_path: Path) -> None:
    entry = len(pcm(1000).audio) + HEADER
    cache = TtsCache(tmp_path, max_bytes=3 * entry + 10)
    keys = [cache_key("e", "v", 175, 1.0, str(i)) for i in range(4)]
    for key in keys[:3]:
        cache.put(key, pcm(1000))
        time.sleep(0.002)
    assert cache.get(keys[0]) is not None  # used: now the most recent
    time.sleep(0.002)
    cache.put(keys[3], pcm(1000))  # over the cap: evicts down to 90 %

    assert cache.get(keys[1]) is None  # the least recently used
    assert cache.get(keys[0]) is not None
    assert cache.get(keys[3]) is not None
    assert len(entry_files(tmp_path)) == 2  # down to 90 % of the cap: the next oldest went too
    assert counted(cache) == on_disk(tmp_path) <= cache.max_bytes


def test_an_entry_bigger_than_the_cap_is_not_stored(tmp_path: Path) -> None:
    cache = TtsCache(tmp_path, max_bytes=1000)
    key = cache_key("e", "v", 175, 1.0, "long")
    cache.put(key, pcm(5000))
    assert cache.get(key) is None
    assert entry_files(tmp_path) == []


def test_an_unwritable_directory_is_logged_not_raised(tmp_path: Path) -> None:
    cache = TtsCache(tmp_path / "tts")
    key = cache_key("e", "v", 175, 1.0, "x")
    (tmp_path / "tts" / key[:2]).write_text("a file where the folder should be")
    cache.put(key, pcm(10))  # no exception
    assert cache.get(key) is None


def test_concurrent_use_from_threads_and_two_cache_objects(tmp_path: Path) -> None:
    entry = len(pcm(2000).audio) + HEADER
    caches = [TtsCache(tmp_path, max_bytes=20 * entry), TtsCache(tmp_path, max_bytes=20 * entry)]
    keys = [cache_key("e", "v", 175, 1.0, f"phrase {i}") for i in range(40)]
    errors: list[BaseException] = []
    wrong: list[str] = []

    def work(worker: int) -> None:
        cache = caches[worker % 2]
        try:
            for round_ in range(60):
                key = keys[(worker * 7 + round_) % len(keys)]
                value = keys.index(key)
                hit = cache.get(key)
                if hit is None:
                    cache.put(key, pcm(2000, value))
                elif hit != pcm(2000, value):
                    wrong.append(key)
        except BaseException as error:  # any exception fails the test
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert not wrong
    assert on_disk(tmp_path) <= 20 * entry + 8 * entry  # at most one entry per writer above the cap, briefly
    assert not [p for p in tmp_path.glob("??/*") if is_temporary(p.name)]
    # Whatever survived is whole: every entry on disk is read back, and as it was written.
    fresh = TtsCache(tmp_path, max_bytes=20 * entry)
    for key in keys:
        stored = fresh._path(key).exists()
        hit = fresh.get(key)
        assert (hit is not None) == stored, key
        assert hit is None or hit == pcm(2000, keys.index(key))


def test_an_entry_of_the_earlier_layout_is_a_miss(tmp_path: Path) -> None:
    """Entries written before the sample width was kept in them are rendered again, not misread."""
    cache = TtsCache(tmp_path)
    key = cache_key("e", "v", 175, 1.0, "old")
    cache.put(key, pcm(100))
    (path,) = entry_files(tmp_path)
    data = path.read_bytes()
    path.write_bytes(b"VATTS\x01" + data[6:])
    assert cache.get(key) is None
    assert not path.exists()


def test_a_temporary_file_left_by_a_killed_writer_is_swept_and_a_live_one_kept(tmp_path: Path) -> None:
    cache = TtsCache(tmp_path)
    key = cache_key("e", "v", 175, 1.0, "swept")
    cache.put(key, pcm(100, 3))
    folder = entry_files(tmp_path)[0].parent
    abandoned = folder / f".{key}.pcm.k1ll3d.part"
    abandoned.write_bytes(b"half")
    os.utime(abandoned, (time.time() - 120, time.time() - 120))
    writing = folder / f".{key}.pcm.w0rk1n.part"
    writing.write_bytes(b"half")
    TtsCache(tmp_path)  # a new cache object looks at what is on disk
    assert not abandoned.exists() and writing.exists()
    assert [p.name for p in entry_files(tmp_path)] == [f"{key}.pcm"]
