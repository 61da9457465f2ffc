"""The running voice services follow what `voice-assistant settings set` changes in another process: talk
mode, preroll, microphone, recogniser, and the speaking rate the speaker reads at its next answer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_runner import cli, ok

from desktop_app.core.brain.assistant import Assistant
from desktop_app.core.errors import ErrorCode
from desktop_app.core.events import Event, EventHub, Notice, TalkMode, TalkModeChanged, TurnFailed
from desktop_app.core.settings import VOICE_RATE, Settings
from desktop_app.paths import AppPaths
from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore
from desktop_app.voice import start_voice


class Events:
    def __init__(self) -> None:
        self.seen: list[Event] = []
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            self.seen.append(event)

    def codes(self, kind: type[Notice] | type[TurnFailed]) -> list[str]:
        with self._lock:
            return [event.code for event in self.seen if isinstance(event, kind)]


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the running services did not follow the change in time"
        time.sleep(0.02)


@pytest.mark.slow
def test_the_running_voice_services_follow_the_command_line(pulse_audio, data_dir: Path) -> None:
    paths = AppPaths.resolve(data_dir).ensure()
    settings = Settings(paths.settings_file)
    store = SqlConversationStore.open(sqlite_url(paths.database_file))
    hub = EventHub()
    events = Events()
    hub.subscribe(events)
    services = start_voice(settings, paths, store, hub, Assistant(store, store.alarms), speak=False)
    settings.watch()  # as the app does once its services are up

    def va(key: str, value: str) -> None:
        ok(cli("--data-dir", str(data_dir), "settings", "set", key, value))

    try:
        wait_for(lambda: "speech_model_ready" in events.codes(Notice))
        assert services.armed and not services.toggle_mode

        va("talk.mode", "toggle")
        wait_for(lambda: services.toggle_mode)
        assert [e.mode for e in events.seen if isinstance(e, TalkModeChanged)] == [TalkMode.TOGGLE]  # to the window

        va("audio.preroll", "off")
        wait_for(lambda: not services.armed)

        va("audio.input_device", "Blue Yeti")  # not connected: said at once, though the microphone is closed
        wait_for(lambda: ErrorCode.AUDIO_INPUT_UNAVAILABLE.value in events.codes(TurnFailed))
        (failed,) = [e for e in events.seen if isinstance(e, TurnFailed)]
        assert "'Blue Yeti' is not connected" in failed.message

        va("speech.engine", "pocketsphinx")  # the recogniser is loaded again, once
        wait_for(lambda: events.codes(Notice).count("speech_model_ready") == 2)

        va("voice.rate", "220")
        wait_for(lambda: settings.get(VOICE_RATE) == 220)
        assert events.codes(Notice).count("speech_model_loading") == 2
    finally:
        settings.close()
        services.close()
        store.close()
    assert not any(subscription.active for subscription in services.subscriptions)
