"""A running app follows its settings file: what another process saves there (the command line) reaches the
subscribers; a file replaced, removed, cut short or damaged changes nothing it should not."""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_runner import cli, ok

from desktop_app.core.settings import (
    AUDIO_INPUT_DEVICE,
    MAX_SETTINGS_FILE_BYTES,
    TALK_MODE,
    VOICE_RATE,
    VOICE_VOLUME,
    Settings,
)
from desktop_app.paths import AppPaths

WATCHER = "settings-watch"


class Heard:
    """Every change announced to a subscriber or listener, with when it arrived."""

    def __init__(self, settings: Settings) -> None:
        self.changes: queue.Queue[tuple[str, Any, float]] = queue.Queue()
        settings.on_change(lambda key, value: self.changes.put((key, value, time.monotonic())))

    def next(self, timeout: float = 5.0) -> tuple[str, Any, float]:
        try:
            return self.changes.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no change was announced within {timeout} s") from None

    def nothing_more(self) -> None:
        assert self.changes.empty(), list(self.changes.queue)


def write_atomically(path: Path, document: dict[str, Any] | str) -> None:
    """As the app and the command line save: a whole new file renamed over the old one."""
    text = document if isinstance(document, str) else json.dumps(document)
    temporary = path.with_name(".settings-test")
    temporary.write_text(text)
    os.replace(temporary, path)


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        time.sleep(0.02)


def watchers() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == WATCHER]


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[tuple[Settings, Path]]:
    path = tmp_path / "settings.json"
    write_atomically(path, {"version": 1, "voice.rate": 150, "talk.mode": "toggle"})
    settings = Settings(path)
    settings.watch()
    try:
        yield settings, path
    finally:
        settings.close()


def test_a_change_from_the_command_line_reaches_a_subscriber_within_a_second(data_dir: Path) -> None:
    paths = AppPaths.resolve(data_dir).ensure()
    settings = Settings(paths.settings_file)
    rates: queue.Queue[tuple[int, float]] = queue.Queue()
    settings.subscribe(VOICE_RATE, lambda rate: rates.put((rate, time.monotonic())))
    devices: queue.Queue[str | None] = queue.Queue()
    settings.subscribe(AUDIO_INPUT_DEVICE, devices.put)
    settings.watch()
    try:
        for word, expected in (("210", 210), ("95", 95)):
            ok(cli("--data-dir", str(data_dir), "settings", "set", "voice.rate", word))
            written = time.monotonic()  # the command has saved the file and ended
            rate, at = rates.get(timeout=1.0)
            assert rate == expected and at - written < 1.0
            assert settings.get(VOICE_RATE) == expected
        ok(cli("--data-dir", str(data_dir), "settings", "set", "audio.input_device", "USB Microphone"))
        assert devices.get(timeout=1.0) == "USB Microphone"
        assert rates.empty()  # only the key that changed is announced
    finally:
        settings.close()


def test_a_change_made_here_is_announced_once(watched: tuple[Settings, Path]) -> None:
    settings, path = watched
    heard = Heard(settings)
    settings.set(VOICE_RATE, 200)
    assert heard.next()[:2] == ("voice.rate", 200)
    time.sleep(1.0)  # the watcher looks at the file it just saw written several times meanwhile
    write_atomically(path, {**json.loads(path.read_text()), "voice.volume": 0.5})
    assert heard.next()[:2] == ("voice.volume", 0.5)
    heard.nothing_more()


def test_a_file_replaced_removed_or_damaged_keeps_the_values_in_use(
    watched: tuple[Settings, Path], caplog: pytest.LogCaptureFixture
) -> None:
    settings, path = watched
    caplog.set_level(logging.INFO, logger="desktop_app.core.settings")
    heard = Heard(settings)

    def logged(text: str) -> Callable[[], bool]:
        return lambda: any(text in record.getMessage() for record in caplog.records)

    write_atomically(path, {"version": 1, "voice.rate": 150, "talk.mode": "hold", "future.key": [1]})
    assert heard.next()[:2] == ("talk.mode", "hold")

    path.unlink()
    wait_for(logged("was removed; keeping the settings in use"))
    assert settings.get(VOICE_RATE) == 150 and settings.get(TALK_MODE) == "hold"

    write_atomically(path, "{not json")
    wait_for(logged("could not be read"))
    path.write_text("")  # cut short where it lies
    wait_for(logged("could not be read (Expecting value"))
    write_atomically(path, "[1, 2]")
    wait_for(logged("is not a JSON object"))
    write_atomically(path, json.dumps({"voice.rate": 120, "padding": "x" * MAX_SETTINGS_FILE_BYTES}))
    wait_for(logged("is too large"))
    assert settings.as_dict()["voice.rate"] == 150 and settings.get(TALK_MODE) == "hold"

    # One value that cannot be used keeps the one in use; the others are taken.
    write_atomically(
        path, {"version": 1, "voice.rate": "fast", "talk.mode": "hold", "voice.volume": 0.25, "future.key": [1]}
    )
    assert heard.next()[:2] == ("voice.volume", 0.25)
    wait_for(logged("voice.rate must be a whole number"))
    assert settings.get(VOICE_RATE) == 150
    heard.nothing_more()

    settings.set(VOICE_VOLUME, 0.75)  # saving again writes every value in use, and keeps unknown keys
    assert heard.next()[:2] == ("voice.volume", 0.75)
    saved = json.loads(path.read_text())
    assert saved["voice.rate"] == 150 and saved["talk.mode"] == "hold" and saved["future.key"] == [1]
    heard.nothing_more()


def test_a_value_another_process_saved_is_kept_when_this_one_saves(tmp_path: Path) -> None:
    """Not watching (or between two looks): a save here first takes in what the file holds now."""
    path = tmp_path / "settings.json"
    settings = Settings(path)
    heard = Heard(settings)
    other = Settings(path)  # another process, as far as the file is concerned
    other.set(TALK_MODE, "toggle")
    settings.set(VOICE_RATE, 300)
    assert [heard.next()[:2] for _ in range(2)] == [("talk.mode", "toggle"), ("voice.rate", 300)]
    assert Settings(path).as_dict() == settings.as_dict()
    assert Settings(path).get(TALK_MODE) == "toggle"


def test_the_watcher_is_gone_after_close_and_close_waits_a_bounded_time(tmp_path: Path) -> None:
    before = len(watchers())
    path = tmp_path / "settings.json"
    settings = Settings(path)
    settings.watch()
    settings.watch()  # already watching: no second thread
    assert len(watchers()) == before + 1
    settings.close()
    assert len(watchers()) == before

    # A subscriber still busy when the app closes: close gives up after its timeout; the thread ends when
    # the subscriber returns, and no later change is announced.
    entered, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow(rate: int) -> None:
        calls.append(rate)
        entered.set()
        release.wait(10)

    settings.subscribe(VOICE_RATE, slow)
    settings.watch()
    write_atomically(path, {"voice.rate": 100})
    assert entered.wait(5)
    started = time.monotonic()
    settings.close(timeout=0.3)
    assert time.monotonic() - started < 2.0
    release.set()
    wait_for(lambda: len(watchers()) == before)
    write_atomically(path, {"voice.rate": 110})
    time.sleep(0.6)
    assert calls == [100] and settings.get(VOICE_RATE) == 100
