"""Work the window needs but must not wait for (a store read, a file written): run on a worker thread, its
result handed back on the main thread, as Anki's QueryOp does.

The main thread never touches the store: a read that takes a second on a busy PostgreSQL server leaves the
window turning. Requests of one kind (`key`) coalesce: while one runs, a newer request replaces any waiting
one, so a burst of refreshes reads the store at most twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
Post = Callable[[Callable[[], object]], None]
WORKERS = 2
CLOSE_BOUND_S = 5.0


@dataclass(frozen=True, slots=True)
class _Job(Generic[T]):
    work: Callable[[], T]
    done: Callable[[T], None]
    failed: Callable[[Exception], None] | None


class Background:
    def __init__(self, post: Post, workers: int = WORKERS) -> None:
        """`post(fn)` runs fn on the main thread (ui.bridge.EventBridge.call_soon)."""
        self._post = post
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ui-background")
        self._lock = threading.Lock()
        self._running: set[str] = set()
        self._waiting: dict[str, _Job[Any]] = {}
        self._closed = False
        self._finishing = False  # closed, but what was asked for still runs (settings being saved)

    def run(
        self,
        key: str,
        work: Callable[[], T],
        done: Callable[[T], None],
        failed: Callable[[Exception], None] | None = None,
    ) -> None:
        """Runs `work()` on a worker, then `done(result)` (or `failed(error)`) on the main thread."""
        job = _Job(work, done, failed)
        with self._lock:
            if self._closed:
                return
            if key in self._running:
                self._waiting[key] = job  # the latest wins
                return
            self._running.add(key)
        self._pool.submit(self._do, key, job)

    def _do(self, key: str, job: _Job[Any]) -> None:
        """Runs `job`, then the newest request of its kind that came meanwhile, on this worker."""
        following: _Job[Any] | None = job
        while following is not None:
            self._run_one(key, following)
            with self._lock:
                following = self._waiting.pop(key, None)
                if following is None or (self._closed and not self._finishing):
                    self._running.discard(key)
                    return

    def _run_one(self, key: str, job: _Job[Any]) -> None:
        try:
            result = job.work()
        except Exception as error:  # reported on the main thread, where the window can say it
            log.warning("background %s failed: %s", key, error)
            failed = job.failed
            if failed is not None and not self._closed:
                self._post(partial(failed, error))
        else:
            if not self._closed:
                self._post(partial(job.done, result))

    def close(self, *, finish_asked: bool = False) -> None:
        """Waits (bounded) for running requests; their results are not delivered. Requests not started yet are
        dropped, or with `finish_asked` run too (a setting changed just before a dialog closed is saved)."""
        with self._lock:
            self._closed = True
            self._finishing = finish_asked
            if not finish_asked:
                self._waiting.clear()
        self._pool.shutdown(wait=False, cancel_futures=not finish_asked)
        done = threading.Event()

        def join() -> None:
            self._pool.shutdown(wait=True)
            done.set()

        threading.Thread(target=join, name="ui-background-close", daemon=True).start()
        if not done.wait(CLOSE_BOUND_S):
            log.error("a background read did not end within %.0f s", CLOSE_BOUND_S)


def run_work(
    background: Background | None,
    key: str,
    work: Callable[[], T],
    done: Callable[[T], None],
    failed: Callable[[Exception], None],
) -> None:
    """`work` on `background`'s worker, its result handed to `done` (or its error to `failed`) on the main
    thread; with no worker (a window made without an event hub: tests, a bench), here and now, alike."""
    if background is not None:
        background.run(key, work, done, failed)
        return
    try:
        result = work()
    except Exception as error:
        failed(error)
        return
    done(result)
