"""The window never lowers the reference counts of True, False and None (Python 3.11 aborts when one
reaches zero), and the app refuses a Qt binding that does."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from desktop_app.core.events import (
    AudioLevel,
    Event,
    EventHub,
    FinalTranscript,
    PartialTranscript,
    ReplyChunk,
    StateChanged,
    TurnFinished,
    TurnStarted,
    TurnState,
)
from desktop_app.core.reply_source import ReplySource
from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

EVENTS = 10_000
# Other objects holding True or None come and go while the test runs; the defect loses one per event.
TOLERANCE = 200


def _singleton_counts() -> dict[str, int]:
    gc.collect()  # what earlier tests left for the collector goes now, not while the events are counted
    return {"True": sys.getrefcount(True), "False": sys.getrefcount(False), "None": sys.getrefcount(None)}


def _turn_events(turn_id: int) -> list[Event]:
    """The events of one short voice turn, as the pipeline publishes them."""
    return [
        TurnStarted(turn_id),
        StateChanged(TurnState.LISTENING),
        AudioLevel(-30.0, -12.0),
        PartialTranscript("what time"),
        AudioLevel(-28.0, -10.0),
        StateChanged(TurnState.RECOGNISING),
        FinalTranscript("what time is it", 0.9),
        StateChanged(TurnState.THINKING),
        ReplyChunk("It is ten past four.", ReplySource.skill("clock")),
        TurnFinished(turn_id, {"release_to_final_ms": 80.0}),
        StateChanged(TurnState.IDLE),
    ]


@pytest.mark.gui
def test_ten_thousand_events_through_the_real_bridge_and_window_keep_reference_counts(
    qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from desktop_app.ui.main_window import MainWindow

    store = SqlConversationStore.open(sqlite_url(tmp_path / "assistant.db"))
    hub = EventHub()
    window = MainWindow(store, hub)
    qtbot.addWidget(window)
    window.show()
    delivered: list[int] = []
    assert window._bridge is not None
    window._bridge.add_handler(lambda _event: delivered.append(1))
    # The history list is not what this test is about; 900 reloads would be slow.
    monkeypatch.setattr(window, "refresh", lambda: None)
    published = 0

    def publish_from_a_worker() -> None:
        nonlocal published
        turn_id = 0
        while published < EVENTS:
            turn_id += 1
            for event in _turn_events(turn_id):
                hub.publish(event)
                published += 1
            if turn_id % 20 == 0:
                time.sleep(0.002)  # let the window's drain run between bursts, as real turns do

    qtbot.wait(50)
    before = _singleton_counts()
    worker = threading.Thread(target=publish_from_a_worker)
    worker.start()
    qtbot.waitUntil(lambda: not worker.is_alive(), timeout=60_000)
    worker.join()
    qtbot.wait(100)  # the last batch is drained
    after = _singleton_counts()
    store.close()

    assert published >= EVENTS
    # Levels are folded to the latest one per drain; every other event reaches the window.
    assert len(delivered) >= published * 9 // 11
    for name, count in before.items():
        assert after[name] >= count - TOLERANCE, (name, before, after)


def test_the_probe_finds_no_lost_references_in_the_installed_binding() -> None:
    from desktop_app.ui.binding_check import KNOWN_BAD_RELEASES, binding_problem, probe_lost_references
    from desktop_app.ui.qt import BINDING_VERSION

    assert BINDING_VERSION not in KNOWN_BAD_RELEASES, "pyproject.toml must exclude the defective release"
    assert probe_lost_references() == 0
    assert binding_problem(BINDING_VERSION) is None


def test_a_known_defective_release_is_refused_with_what_to_do() -> None:
    from desktop_app.ui.binding_check import binding_problem

    problem = binding_problem("6.12.0")
    assert problem is not None
    assert "6.12.0" in problem and "crashes" in problem and "pip install" in problem


def test_the_app_refuses_to_start_on_a_defective_binding(tmp_path: Path, data_dir: Path) -> None:
    """The real start-up path, with the binding reporting the defective release's version."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text("import PySide6\nPySide6.__version__ = '6.12.0'\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), *sys.path])}
    env.pop("DISPLAY", None)
    env["QT_QPA_PLATFORM"] = "offscreen"
    done = subprocess.run(
        [sys.executable, "-m", "desktop_app", "--data-dir", str(data_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines == [lines[0]] and lines[0].startswith("error: PySide6 6.12.0 has a known defect"), done.stderr
    assert lines[0].endswith("[qt_binding_defective]")
    assert "Traceback" not in done.stderr


def test_the_interpreters_import_function_is_back_once_qt_is_imported() -> None:
    """PySide's own import function read the source of every module imported after Qt (desktop_app.ui.qt);
    in the app, and in this test process, the interpreter's is back, also after a later Qt module."""
    import builtins

    import desktop_app.ui.qt  # noqa: F401 (the module that puts it back)
    from desktop_app.ui import INTERPRETER_IMPORT

    assert builtins.__import__ is INTERPRETER_IMPORT and builtins.__import__.__name__ == "__import__"
    script = (
        "import builtins, desktop_app.ui.qt; from PySide6 import QtSvg; import desktop_app.voice; "
        "print(builtins.__import__.__name__)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "__import__", done.stderr
