"""Store reads for the window run on a worker; their results come back on the main thread, the latest of a
burst once, and a failure is reported, not raised into the event loop."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from desktop_app.ui.background import Background


class MainThread:
    """Stands in for the bridge: calls posted from workers, run when the test drains them."""

    def __init__(self) -> None:
        self.posted: list[Callable[[], object]] = []
        self._lock = threading.Lock()

    def post(self, call: Callable[[], object]) -> None:
        with self._lock:
            self.posted.append(call)

    def drain_until(self, done: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not done() and time.monotonic() < deadline:
            with self._lock:
                calls, self.posted = self.posted, []
            for call in calls:
                call()
            time.sleep(0.005)
        assert done()


def test_results_and_failures_come_back_on_the_main_thread() -> None:
    main = MainThread()
    background = Background(main.post)
    results: list[tuple[str, str]] = []
    try:
        background.run("a", lambda: threading.current_thread().name, lambda name: results.append(("done", name)))

        def fails() -> str:
            raise OSError("disk on fire")

        background.run("b", fails, lambda _r: None, lambda error: results.append(("failed", str(error))))
        main.drain_until(lambda: len(results) == 2)
    finally:
        background.close()
    assert ("failed", "disk on fire") in results
    ((_, worker),) = [r for r in results if r[0] == "done"]
    assert worker.startswith("ui-background") and worker != threading.current_thread().name


def test_a_burst_of_refreshes_reads_at_most_twice_and_shows_the_latest() -> None:
    main = MainThread()
    background = Background(main.post)
    gate = threading.Event()
    reads: list[int] = []
    shown: list[int] = []

    def read(n: int) -> Callable[[], int]:
        def work() -> int:
            gate.wait(10)
            reads.append(n)
            return n

        return work

    try:
        for n in range(10):
            background.run("history", read(n), shown.append)
        gate.set()
        main.drain_until(lambda: shown[-1:] == [9])
    finally:
        background.close()
    assert reads == [0, 9] and shown == [0, 9]


def test_after_close_nothing_more_is_delivered() -> None:
    main = MainThread()
    background = Background(main.post)
    background.close()
    background.run("history", lambda: 1, lambda _r: None)
    time.sleep(0.05)
    assert main.posted == []


def test_closing_to_finish_runs_what_was_asked_for_and_delivers_nothing() -> None:
    """A dialog closing right after a change: the change still runs (a setting is saved), the waiting
    newest of its kind too; without `finish_asked` the waiting one is dropped."""
    for finish, expected in ((True, ["first", "newest"]), (False, ["first"])):
        main = MainThread()
        background = Background(main.post, workers=1)
        gate = threading.Event()
        ran: list[str] = []

        def save(name: str) -> Callable[[], None]:
            def work() -> None:
                gate.wait(10)
                ran.append(name)

            return work

        background.run("setting", save("first"), lambda _r: None)
        background.run("setting", save("dropped: a newer one came"), lambda _r: None)
        background.run("setting", save("newest"), lambda _r: None)
        threading.Timer(0.1, gate.set).start()  # the first save is still running when the dialog closes
        background.close(finish_asked=finish)  # waits for what runs (bounded)
        time.sleep(0.05)
        assert ran == expected and main.posted == []
