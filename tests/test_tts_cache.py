"""The on-disk cache of rendered speech: keys, damaged entries, the size cap with LRU eviction, and
concurrent use from threads and from two cache objects sharing one directory."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from desktop_app.speech.tts_cache import TtsCache, cache_key


def pcm(n: int, value: int = 1) -> bytes:
    return bytes([value % 256, 0]) * n


def entry_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("??/*.pcm") if not p.name.startswith(".tmp-"))


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
    cache.put(key, pcm(1000, 7), 22_050, 1)
    hit = cache.get(key)
    assert hit is not None
    assert (hit.pcm, hit.rate, hit.channels) == (pcm(1000, 7), 22_050, 1)
    stats = cache.stats()
    assert (stats.entries, stats.hits, stats.misses) == (1, 1, 1)
    assert stats.bytes == sum(p.stat().st_size for p in entry_files(tmp_path / "tts"))
    # A new cache object over the same directory knows the entry and its size.
    again = TtsCache(tmp_path / "tts")
    assert again.stats().bytes == stats.bytes
    assert again.get(key) is not None


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty", "garbage"])
def test_a_damaged_entry_is_a_miss_and_is_removed(tmp_path: Path, damage: str) -> None:
    cache = TtsCache(tmp_path)
    key = cache_key("e", "v", 175, 1.0, damage)
    cache.put(key, pcm(500, 3), 16_000)
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
    assert cache.stats().corrupt == 1
    assert cache.stats().entries == 0
    cache.put(key, pcm(500, 3), 16_000)  # rendered again
    assert cache.get(key) is not None


def test_the_least_recently_used_entries_go_first(tmp_path: Path) -> None:
    entry = len(pcm(1000)) + 52  # header included
    cache = TtsCache(tmp_path, max_bytes=3 * entry + 10)
    keys = [cache_key("e", "v", 175, 1.0, str(i)) for i in range(4)]
    for key in keys[:3]:
        cache.put(key, pcm(1000), 22_050)
        time.sleep(0.002)
    assert cache.get(keys[0]) is not None  # used: now the most recent
    time.sleep(0.002)
    cache.put(keys[3], pcm(1000), 22_050)  # over the cap: evicts down to 90 %

    assert cache.get(keys[1]) is None  # the least recently used
    assert cache.get(keys[0]) is not None
    assert cache.get(keys[3]) is not None
    stats = cache.stats()
    assert stats.evictions >= 1
    assert stats.bytes <= cache.max_bytes
    assert stats.bytes == sum(p.stat().st_size for p in entry_files(tmp_path))


def test_an_entry_bigger_than_the_cap_is_not_stored(tmp_path: Path) -> None:
    cache = TtsCache(tmp_path, max_bytes=1000)
    key = cache_key("e", "v", 175, 1.0, "long")
    cache.put(key, pcm(5000), 22_050)
    assert cache.get(key) is None
    assert entry_files(tmp_path) == []


def test_an_unwritable_directory_is_logged_not_raised(tmp_path: Path) -> None:
    cache = TtsCache(tmp_path / "tts")
    key = cache_key("e", "v", 175, 1.0, "x")
    (tmp_path / "tts" / key[:2]).write_text("a file where the folder should be")
    cache.put(key, pcm(10), 22_050)  # no exception
    assert cache.get(key) is None


def test_concurrent_use_from_threads_and_two_cache_objects(tmp_path: Path) -> None:
    entry = len(pcm(2000)) + 52
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
                    cache.put(key, pcm(2000, value), 22_050)
                elif hit.pcm != pcm(2000, value):
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
    on_disk = sum(p.stat().st_size for p in entry_files(tmp_path))
    assert on_disk <= 20 * entry + 8 * entry  # at most one entry per writer above the cap, briefly
    assert not list(tmp_path.glob("??/.tmp-*"))
    # Whatever survived is whole.
    fresh = TtsCache(tmp_path, max_bytes=20 * entry)
    for key in keys:
        hit = fresh.get(key)
        assert hit is None or hit.pcm == pcm(2000, keys.index(key))
    assert fresh.stats().corrupt == 0
