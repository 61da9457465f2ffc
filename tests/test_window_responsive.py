"""The window's event loop keeps turning: a 10 ms timer on the main thread keeps firing while the speech
model loads (the services start behind the shown window), while a slow language model's answer streams in,
while speech is stopped mid-answer, and with the store on PostgreSQL. The longest gap is printed.

The bound (every phase but the loading: see LOADING) checks the architecture, that nothing waits on the
main thread, not speed: a store read, a model load or a stop that ran on the main thread would each stall
it for hundreds of milliseconds or more. The product's aim is 50 ms; today one gap of about 100-130 ms
remains while another thread holds the interpreter lock in C code during the first language-model request
(see docs/benchmarks.md)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from openai_server import OpenAIServer, Reply

from desktop_app.core.events import EventHub, Notice, NoticeCode, ReplyChunk, TurnFinished, TurnState
from desktop_app.core.settings import Settings
from desktop_app.core.talk_controls import TalkControls
from desktop_app.paths import AppPaths
from desktop_app.services import AppServices
from desktop_app.storage.store import SqlConversationStore

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TICK_MS = 10
LONGEST_GAP_MS = 250.0
# Loading the built-in recogniser in this process holds the interpreter lock inside its C library (up to
# 1.35 s measured under coverage in CI): printed, not held to the bound, until recognition runs in a
# process of its own.
LOADING = "the services start and the speech model loads"
BOUND_S = 90.0
ANSWER = " ".join(["The long answer goes on and on, sentence after sentence, until it is stopped."] * 6)


class Ticks:
    """A timer on the main thread; the longest gap between its firings in each phase."""

    def __init__(self) -> None:
        from desktop_app.ui.qt import QTimer

        self.last = time.monotonic()
        self.longest_ms: dict[str, float] = {}
        self._phase = ""
        self.timer = QTimer()
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def phase(self, name: str) -> None:
        self._phase = name
        self.longest_ms[name] = 0.0

    def _tick(self) -> None:
        now = time.monotonic()
        gap = (now - self.last) * 1000
        if self._phase and gap > self.longest_ms[self._phase]:
            self.longest_ms[self._phase] = gap
        self.last = now


def _until(qtbot, condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + BOUND_S
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {BOUND_S:.0f} s"
        qtbot.wait(20)


@pytest.mark.gui
@pytest.mark.audio
@pytest.mark.postgres
@pytest.mark.slow
def test_the_window_keeps_turning_through_loading_streaming_stopping_on_postgresql(
    qtbot, pulse_audio, data_dir: Path, pg_database_url: str
) -> None:
    from desktop_app.ui.main_window import MainWindow

    paths = AppPaths.resolve(data_dir).ensure()
    settings = Settings(paths.settings_file)
    store = SqlConversationStore.open(pg_database_url)
    with OpenAIServer.start(Reply(ANSWER, first_token_delay=0.5, token_delay=0.03)) as server:
        settings.set("llm.base_url", server.base_url)
        settings.set("llm.model", "test-model")
        hub = EventHub()
        events: list[object] = []
        hub.subscribe(events.append)
        services = AppServices(settings, paths, store, hub, TalkControls(hub.publish), with_hotkey=False)
        window = MainWindow(store, hub, services.controls, voice_ready=False, settings=settings)
        qtbot.addWidget(window)
        window.show()
        ticks = Ticks()
        try:
            ticks.phase(LOADING)
            services.start_in_background(lambda: None)
            _until(qtbot, lambda: any(_is(e, NoticeCode.SPEECH_MODEL_READY) for e in events), "the model loading")
            _until(qtbot, lambda: any(_is(e, NoticeCode.VOICE_READY) for e in events), "the voice starting")

            ticks.phase("a slow language model's answer streams in")
            qtbot.keyClicks(window.question, "tell me a long story about the sea")
            qtbot.keyClick(window.question, _enter())
            _until(qtbot, lambda: sum(isinstance(e, ReplyChunk) for e in events) >= 20, "the answer streaming")

            ticks.phase("speech is stopped mid-answer")
            _until(qtbot, window.stop_button.isEnabled, "the Stop button")
            qtbot.mouseClick(window.stop_button, _left())
            _until(qtbot, lambda: services.controls.state is TurnState.IDLE, "the turn ending")

            ticks.phase("a second answer, read back into the history from PostgreSQL")
            qtbot.keyClicks(window.question, "what time is it")
            qtbot.keyClick(window.question, _enter())
            _until(qtbot, lambda: any(isinstance(e, TurnFinished) for e in events), "the second answer")
            qtbot.wait(300)  # the history list is read again, off the main thread
        finally:
            ticks.timer.stop()
            window.close()
            services.close()
            store.close()
    for phase, longest in ticks.longest_ms.items():
        print(f"longest gap between 10 ms ticks while {phase}: {longest:.1f} ms")
    checked = {phase: longest for phase, longest in ticks.longest_ms.items() if phase != LOADING}
    assert len(checked) == 3 and max(checked.values()) < LONGEST_GAP_MS, checked
    assert len(server.chat_requests) == 1


def _is(event: object, code: NoticeCode) -> bool:
    return isinstance(event, Notice) and event.code is code


def _enter():
    from desktop_app.ui.qt import Qt

    return Qt.Key.Key_Return


def _left():
    from desktop_app.ui.qt import Qt

    return Qt.MouseButton.LeftButton
