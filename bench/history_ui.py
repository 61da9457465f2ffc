"""The history browser over a big history: 100,000 conversations of 10 messages (1,000,000 messages, the
corpus of bench/storage.py), on Qt's offscreen platform, the main window and the browser as the app makes
them (the store read on a worker).

- history_open_ms: File > History… triggered -> the list's first page painted (median of the rounds; each
  round opens a new browser on the same store).
- search_first_results_ms_p95: a keystroke in the search box -> the list painted with that search's first
  page, over the queries of bench/storage.py typed a letter at a time (every keystroke timed).

Targets: history_open_ms <= 150, search_first_results_ms_p95 <= 100.

    python bench/history_ui.py --json
    python bench/history_ui.py --keep DIR    # build the database there once; later runs reuse it
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from big_history import SEED, Corpus, build_big, keystrokes  # type: ignore[import-not-found, unused-ignore]
from report import percentile, print_results
from storage import search_queries

from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore

CONVERSATIONS = 100_000
MESSAGES_EACH = 10
OPEN_ROUNDS = 7
QUERIES = 20
BOUND_S = 30.0


class ListWatch:
    """When the browser's list last received a page and when its viewport was last painted (one event filter
    and one connection for the browser's life, so the timed path does not grow as keystrokes are timed)."""

    def __init__(self, history) -> None:
        from desktop_app.ui.qt import QEvent, QObject

        watch = self

        class Filter(QObject):
            def eventFilter(self, watched, event) -> bool:
                if event.type() == QEvent.Type.Paint:
                    watch.painted_at = time.perf_counter()
                return False

        self.painted_at = 0.0
        self.loaded_at = 0.0
        self._filter = Filter()
        history.list.viewport().installEventFilter(self._filter)
        history.pages.loaded.connect(self._loaded)

    def _loaded(self) -> None:
        self.loaded_at = time.perf_counter()


def _wait(app, condition, what: str) -> None:
    deadline = time.perf_counter() + BOUND_S
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{what} did not happen within {BOUND_S:.0f} s")
        app.processEvents()
        time.sleep(0.0005)


def _painted_after(app, history, watch: ListWatch, started: float, generation: int | None) -> float:
    """Seconds from `started` to the list painted with a newly shown page (a new search's, when
    `generation` is the one before it)."""

    def shown() -> bool:
        fresh = generation is None or history.pages._generation > generation
        if not (fresh and watch.loaded_at > started and not history.pages.loading):
            return False
        # A page with rows is done when the list has painted them; an empty one changes no pixel of it.
        return watch.painted_at > watch.loaded_at or history.pages.rowCount() == 0

    _wait(app, shown, "the page painted")
    return max(watch.painted_at, watch.loaded_at) - started


def measure(database: Path, queries: list[str]) -> dict[str, object]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtTest import QTest

    from desktop_app.core.events import EventHub
    from desktop_app.core.talk_controls import TalkControls
    from desktop_app.ui.main_window import MainWindow
    from desktop_app.ui.qt import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0]])
    store = SqlConversationStore.open(sqlite_url(database))
    hub = EventHub()
    window = MainWindow(store, hub, TalkControls(hub.publish))
    window.show()
    _wait(app, lambda: window.conversations.count() > 1, "the main window's recent list")
    opens: list[float] = []
    typed: list[float] = []
    try:
        for _ in range(OPEN_ROUNDS):
            started = time.perf_counter()
            window.history_action.trigger()
            history = window._history
            assert history is not None
            opens.append(_painted_after(app, history, ListWatch(history), started, generation=None))
            history.close()
            _wait(app, lambda: window._history is None, "the browser closing")

        window.history_action.trigger()
        history = window._history
        assert history is not None
        watch = ListWatch(history)
        _wait(app, lambda: history.pages.rowCount() > 0, "the first page")
        history.search.setFocus()
        for text in keystrokes(queries):
            history.search.setText(text[:-1])  # what was typed before this keystroke, its search done
            history.apply_search()
            _wait(app, lambda: not history.pages.loading, "the search before the keystroke")
            generation = history.pages._generation
            started = time.perf_counter()
            QTest.keyClicks(history.search, text[-1])
            typed.append(_painted_after(app, history, watch, started, generation))
    finally:
        window.close()
        store.close()
    return {
        "history_open_ms": round(statistics.median(opens) * 1000, 1),
        "history_open_ms_max": round(max(opens) * 1000, 1),
        "search_first_results_ms_p50": round(statistics.median(typed) * 1000, 1),
        "search_first_results_ms_p95": round(percentile(typed, 0.95) * 1000, 1),
        "search_keystrokes": len(typed),
        "targets": {"history_open_ms": 150.0, "search_first_results_ms_p95": 100.0},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--keep", type=Path, help="build the database in this folder and keep it")
    args = parser.parse_args()
    rng = random.Random(SEED)
    corpus = Corpus(rng)
    with tempfile.TemporaryDirectory(prefix="va-bench-history-") as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        database = folder / "history-100k.db"
        built = None if database.exists() else round(build_big(database, corpus, CONVERSATIONS, MESSAGES_EACH), 1)
        queries = search_queries(corpus, rng, QUERIES, skip_commonest=100)
        results: dict[str, object] = {"conversations": CONVERSATIONS, "messages": CONVERSATIONS * MESSAGES_EACH}
        results["build_s"] = built
        results.update(measure(database, queries))
    print_results(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
