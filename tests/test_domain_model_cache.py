"""The command language model kept on disk (speech.domain_cache): built once, found again for the same
sentences and model files, rebuilt when an entry is missing, partial or damaged, written atomically into a
folder the app made, and nothing the app did not make is replaced or removed."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from pocketsphinx import get_model_path
from speech_audio import pcm_of, say_to_wav

from desktop_app.core.atomic_file import is_temporary
from desktop_app.core.brain.assistant import command_phrases, default_skills
from desktop_app.speech import pocketsphinx_recognizer
from desktop_app.speech.domain_cache import MARKER, DomainModelCache, DomainModelText, domain_key
from desktop_app.speech.domain_model import build_domain_model
from desktop_app.speech.pocketsphinx_recognizer import PocketSphinxRecognizer, command_model_files

MODEL = Path(get_model_path()) / "en-us"
DICTIONARY = MODEL / "cmudict-en-us.dict"
GENERAL_LM = MODEL / "en-us.lm.bin"
PHRASES = ["what time is it", "set a timer for five minutes", "remind me to call mum"]


def _probability(word: str) -> float | None:
    return -3.0 if word in {"plumber", "the"} else None


def _files(folder: Path, cache: DomainModelCache | None, phrases: list[str] = PHRASES) -> tuple[bytes, bytes]:
    folder.mkdir(exist_ok=True)
    lm, words = command_model_files(
        folder, phrases, dictionary=DICTIONARY, general_lm=GENERAL_LM, log10_probability=_probability, cache=cache
    )
    return lm.read_bytes(), words.read_bytes()


def _built(phrases: list[str] = PHRASES) -> tuple[bytes, bytes]:
    arpa, words = build_domain_model(phrases, DICTIONARY, _probability)
    return arpa.encode(), words.encode()


class Builds:
    """Counts the builds, so a test can tell a cache hit from a miss."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        real = build_domain_model

        def counted(*args: object, **kwargs: object) -> tuple[str, str]:
            self.count += 1
            return real(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(pocketsphinx_recognizer, "build_domain_model", counted)


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> Builds:
    return Builds(monkeypatch)


def _only_entry(cache: DomainModelCache) -> Path:
    (entry,) = [p for p in cache.folder.iterdir() if p.name != MARKER]
    return entry


def test_a_miss_builds_and_keeps_the_model_and_a_hit_reads_it_back(tmp_path: Path, builds: Builds) -> None:
    cache = DomainModelCache.open(tmp_path / "cache")
    assert cache is not None and cache.folder == tmp_path / "cache" / "recognition"
    assert (cache.folder.stat().st_mode & 0o777) == 0o700
    first = _files(tmp_path / "a", cache)
    assert builds.count == 1 and first == _built()
    entry = _only_entry(cache)
    assert entry.name.startswith("domain-") and (entry.stat().st_mode & 0o777) == 0o600
    again = _files(tmp_path / "b", DomainModelCache.open(tmp_path / "cache"))  # a later start
    assert builds.count == 1 and again == first


def test_the_key_follows_everything_the_model_depends_on(tmp_path: Path) -> None:
    dictionary = tmp_path / "words.dict"
    dictionary.write_text("time T AY M\n")
    key = domain_key(PHRASES, [dictionary], "builder 1")
    assert key == domain_key(list(PHRASES), [dictionary], "builder 1")
    assert key != domain_key([*PHRASES, "stop"], [dictionary], "builder 1")
    assert key != domain_key(PHRASES[::-1], [dictionary], "builder 1")
    assert key != domain_key(PHRASES, [dictionary], "builder 2")
    assert (
        key
        != domain_key(["what time", "is it"], [dictionary], "builder 1")
        != domain_key(["what time is it"], [dictionary], "builder 1")
    )
    os.utime(dictionary, ns=(0, 1_000_000_000))  # the same size, another time: a reinstalled model
    touched = domain_key(PHRASES, [dictionary], "builder 1")
    assert touched != key
    dictionary.write_text("time T AY M Z\n")
    os.utime(dictionary, ns=(0, 1_000_000_000))
    assert domain_key(PHRASES, [dictionary], "builder 1") != touched  # another size
    hashed = domain_key(PHRASES, [dictionary], "builder 1", file_hash=[dictionary])
    dictionary.write_text("tame T EY M Z\n")  # same size and time, other words
    os.utime(dictionary, ns=(0, 1_000_000_000))
    assert domain_key(PHRASES, [dictionary], "builder 1", file_hash=[dictionary]) != hashed


@pytest.mark.parametrize(
    "damage",
    ["truncated", "flipped", "empty", "garbage", "other key", "longer"],
)
def test_a_damaged_entry_is_rebuilt_never_trusted(tmp_path: Path, builds: Builds, damage: str) -> None:
    cache = DomainModelCache.open(tmp_path / "cache")
    assert cache is not None
    good = _files(tmp_path / "a", cache)
    entry = _only_entry(cache)
    data = entry.read_bytes()
    if damage == "truncated":  # a write cut short (by a crash before the rename existed, or the disk)
        entry.write_bytes(data[: len(data) // 2])
    elif damage == "flipped":
        middle = len(data) // 2
        entry.write_bytes(data[:middle] + bytes([data[middle] ^ 0x20]) + data[middle + 1 :])
    elif damage == "empty":
        entry.write_bytes(b"")
    elif damage == "garbage":
        entry.write_bytes(os.urandom(4096))
    elif damage == "other key":  # whole, but another model's (copied by hand, say)
        entry.write_bytes(data.replace(entry.name[7:39].encode(), b"0" * 32, 1))
    else:
        entry.write_bytes(data + b"more")
    assert _files(tmp_path / "b", cache) == good
    assert builds.count == 2
    assert entry.read_bytes() == data  # the rebuilt entry replaced the damaged one
    assert _files(tmp_path / "c", cache) == good and builds.count == 2


def test_writes_are_atomic_and_leave_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = DomainModelCache.open(tmp_path / "cache")
    assert cache is not None
    model = DomainModelText(b"arpa\n", b"words\n")
    renamed: list[tuple[str, str]] = []
    real_replace = os.replace

    def replace(source: str, target: str) -> None:
        assert Path(source).parent == cache.folder  # written beside the entry, then renamed into place
        renamed.append((Path(source).name, Path(target).name))
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace)
    assert cache.store("a" * 32, model)
    assert renamed == [(renamed[0][0], f"domain-{'a' * 32}.model")] and is_temporary(renamed[0][0])
    assert sorted(p.name for p in cache.folder.iterdir()) == [MARKER, f"domain-{'a' * 32}.model"]
    assert cache.load("a" * 32) == model

    def fail(source: str, target: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    assert not cache.store("b" * 32, model)  # not cached, and no temporary file left
    assert sorted(p.name for p in cache.folder.iterdir()) == [MARKER, f"domain-{'a' * 32}.model"]


def test_old_entries_and_abandoned_temporary_files_are_cleared(tmp_path: Path) -> None:
    cache = DomainModelCache.open(tmp_path / "cache")
    assert cache is not None
    model = DomainModelText(b"arpa\n", b"words\n")
    for number in range(6):
        assert cache.store(f"{number:032x}", model)
        os.utime(cache.entry(f"{number:032x}"), (1000 + number, 1000 + number))
    abandoned = cache.folder / f".domain-{'a' * 32}.model.abc123.part"  # a writer that was killed
    abandoned.write_bytes(b"half")
    os.utime(abandoned, (time.time() - 7200, time.time() - 7200))
    fresh = cache.folder / f".domain-{'b' * 32}.model.def456.part"  # a writer that may still be writing
    fresh.write_bytes(b"half")
    assert cache.store("f" * 32, model)
    kept = sorted(p.name for p in cache.folder.iterdir())
    expected = [f"domain-{number:032x}.model" for number in (3, 4, 5)] + [f"domain-{'f' * 32}.model"]
    assert kept == sorted([MARKER, fresh.name, *expected])


def test_nothing_the_app_did_not_make_is_used_or_replaced(tmp_path: Path, builds: Builds) -> None:
    cache_dir = tmp_path / "cache"
    foreign = cache_dir / "recognition"
    foreign.mkdir(parents=True)  # a folder of that name the app did not make: no marker
    (foreign / "notes.txt").write_text("mine")
    assert DomainModelCache.open(cache_dir) is None
    assert _files(tmp_path / "a", None) == _built()
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]

    linked_dir = tmp_path / "linked"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    linked_dir.mkdir()
    (linked_dir / "recognition").symlink_to(elsewhere)  # a link in the folder's place is not followed
    assert DomainModelCache.open(linked_dir) is None
    assert list(elsewhere.iterdir()) == []

    cache = DomainModelCache.open(tmp_path / "own")
    assert cache is not None
    key = "c" * 32
    target = tmp_path / "precious.txt"
    target.write_text("precious")
    link = cache.entry(key)
    link.symlink_to(target)  # a link where an entry belongs: neither read nor replaced
    assert cache.load(key) is None
    assert not cache.store(key, DomainModelText(b"a", b"b"))
    assert link.is_symlink() and target.read_text() == "precious"


def test_pocketsphinx_hears_the_same_with_a_cached_model(tmp_path: Path, builds: Builds) -> None:
    phrases = command_phrases(default_skills())
    pcm = pcm_of(say_to_wav("what time is it", tmp_path / "time.wav"))
    heard = []
    for _ in range(2):  # a miss, then a hit
        cache = DomainModelCache.open(tmp_path / "cache")
        recognizer = PocketSphinxRecognizer(phrases, cache=cache)
        recognizer.start_utterance()
        for offset in range(0, len(pcm), 640):
            recognizer.feed(pcm[offset : offset + 640])
        heard.append(recognizer.finish())
    assert builds.count == 1
    assert heard[0] == heard[1] and heard[0].text == "what time is it"
