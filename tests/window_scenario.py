"""The window's event loop while things happen: a 10 ms timer on the main thread, and the longest gap
between its firings in each phase of one session with the real window and services: they start and the
speech model loads; a slow language model's answer streams in; speech is stopped mid-answer; a second
answer is stored in PostgreSQL and read back into the history list.

Used by tests/test_window_responsive.py (a bound that catches any store, model or network call on the main
thread) and bench/event_loop.py (the numbers, against the product's 50 ms aim), each session in a new
process as the app runs (`run_in_new_process`: this file run as a script), not in a test process that has
grown through a thousand tests. Needs the private PulseAudio server in PULSE_SERVER and a PostgreSQL
database.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from openai_server import OpenAIServer, Reply

from desktop_app.core.events import EventHub, Notice, NoticeCode, ReplyChunk, TurnFinished, TurnState
from desktop_app.core.settings import Settings
from desktop_app.core.talk_controls import TalkControls
from desktop_app.paths import AppPaths
from desktop_app.services import AppServices
from desktop_app.storage.store import SqlConversationStore

TICK_MS = 10
SESSION_TIMEOUT_S = 300.0
LOADING = "the services start and the speech model loads"
STREAMING = "a slow language model's answer streams in"
STOPPING = "speech is stopped mid-answer"
POSTGRES = "a second answer is stored in PostgreSQL and read back into the history"
PHASES = (LOADING, STREAMING, STOPPING, POSTGRES)
# Each phase goes on this long after what it waits for, so what follows it (the speaker falling silent,
# the interrupted answer stored, the history read again) is measured too.
AFTERMATH_S = 0.5
BOUND_S = 90.0
ANSWER = " ".join(["The long answer goes on and on, sentence after sentence, until it is stopped."] * 6)


@dataclass
class PhaseGaps:
    longest_ms: float = 0.0
    ticks: int = 0


class Ticks:
    """A timer on the main thread; per phase, the longest gap between its firings and how often it fired."""

    def __init__(self) -> None:
        from desktop_app.ui.qt import QTimer

        self.last = time.monotonic()
        self.phases: dict[str, PhaseGaps] = {}
        self._phase: PhaseGaps | None = None
        self.timer = QTimer()
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def phase(self, name: str) -> None:
        self._phase = self.phases[name] = PhaseGaps()

    def _tick(self) -> None:
        now = time.monotonic()
        if self._phase is not None:
            self._phase.longest_ms = max(self._phase.longest_ms, (now - self.last) * 1000)
            self._phase.ticks += 1
        self.last = now

    def stop(self) -> None:
        """Stops the timer; the time since its last firing counts as a gap of the last phase, so a phase too
        short for a firing (or one that blocked throughout) is measured too."""
        self.timer.stop()
        if self._phase is not None:
            self._phase.longest_ms = max(self._phase.longest_ms, (time.monotonic() - self.last) * 1000)


@dataclass
class Session:
    phases: dict[str, PhaseGaps]
    chat_requests: int


def run_session(wait: Callable[[int], None], data_dir: Path, database_url: str) -> Session:
    """One session: `wait(ms)` runs the event loop for that long (qtbot.wait, or the bench's own)."""
    from PySide6.QtTest import QTest

    from desktop_app.ui.main_window import MainWindow
    from desktop_app.ui.qt import Qt

    def until(condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + BOUND_S
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} did not happen within {BOUND_S:.0f} s")
            wait(20)

    paths = AppPaths.resolve(data_dir).ensure()
    settings = Settings(paths.settings_file)
    store = SqlConversationStore.open(database_url)
    with OpenAIServer.start(Reply(ANSWER, first_token_delay=0.5, token_delay=0.03)) as server:
        settings.set("llm.base_url", server.base_url)
        settings.set("llm.model", "test-model")
        hub = EventHub()
        events: list[object] = []
        hub.subscribe(events.append)
        services = AppServices(settings, paths, store, hub, TalkControls(hub.publish), with_hotkey=False)
        window = MainWindow(store, hub, services.controls, voice_ready=False, settings=settings)
        window.show()
        ticks = Ticks()
        try:
            ticks.phase(LOADING)
            services.start_in_background(lambda: None)
            until(lambda: any(_is(e, NoticeCode.SPEECH_MODEL_READY) for e in events), "the model loading")
            until(lambda: any(_is(e, NoticeCode.VOICE_READY) for e in events), "the voice starting")
            wait(int(AFTERMATH_S * 1000))

            ticks.phase(STREAMING)
            QTest.keyClicks(window.question, "tell me a long story about the sea")
            QTest.keyClick(window.question, Qt.Key.Key_Return)
            until(lambda: sum(isinstance(e, ReplyChunk) for e in events) >= 20, "the answer streaming")

            ticks.phase(STOPPING)
            until(window.stop_button.isEnabled, "the Stop button")
            QTest.mouseClick(window.stop_button, Qt.MouseButton.LeftButton)
            until(lambda: services.controls.state is TurnState.IDLE, "the turn ending")
            wait(int(AFTERMATH_S * 1000))

            ticks.phase(POSTGRES)
            QTest.keyClicks(window.question, "what time is it")
            QTest.keyClick(window.question, Qt.Key.Key_Return)
            until(lambda: any(isinstance(e, TurnFinished) for e in events), "the second answer")
            wait(int(AFTERMATH_S * 1000))  # the history list is read again, off the main thread
        finally:
            ticks.stop()
            window.close()
            services.close()
            store.close()
            window.deleteLater()
    return Session(ticks.phases, len(server.chat_requests))


def _is(event: object, code: NoticeCode) -> bool:
    return isinstance(event, Notice) and event.code is code


def run_in_new_process(data_dir: Path, database_url: str, env: Mapping[str, str]) -> dict[str, PhaseGaps]:
    """One session in a new process (offscreen, with `env`): what its timer saw in each phase. A session that
    fails raises CalledProcessError with what the process wrote."""
    out = data_dir.parent / f"{data_dir.name}-session.json"
    subprocess.run(
        [sys.executable, __file__, str(data_dir), database_url, str(out)],
        env={**env, "QT_QPA_PLATFORM": "offscreen"},
        check=True,
        timeout=SESSION_TIMEOUT_S,
        capture_output=True,
        text=True,
    )
    return {phase: PhaseGaps(longest, int(ticks)) for phase, (longest, ticks) in json.loads(out.read_text()).items()}


def _session_here(data_dir: str, database_url: str, out: str) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from desktop_app.ui.qt import QApplication, QEventLoop, QTimer

    app = QApplication([sys.argv[0]])

    def wait(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    session = run_session(wait, Path(data_dir), database_url)
    if session.chat_requests != 1:  # the streaming phase must have asked the language model once
        raise SystemExit(f"the language model was asked {session.chat_requests} times, not once")
    Path(out).write_text(json.dumps({phase: [gaps.longest_ms, gaps.ticks] for phase, gaps in session.phases.items()}))
    del app


if __name__ == "__main__":
    _session_here(*sys.argv[1:4])
