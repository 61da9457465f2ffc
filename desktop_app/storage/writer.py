"""The one thread that writes. Every write runs there, in its own transaction, on one connection it owns.

Callers block until their transaction has committed (or failed), so "the call returned" means "it is on
disk as far as the database is concerned". One writer means SQLite never reports "database is locked" to us
from our own threads, and commit order is the order writes were submitted.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

from desktop_app.core.errors import ErrorCode, StorageError
from desktop_app.storage.engine import WRITER_FLAG

log = logging.getLogger(__name__)
T = TypeVar("T")

WriteJob = Callable[[Connection], T]
AfterCommit = Callable[[T], None]


class _Stop:
    pass


class SingleWriter:
    def __init__(self, engine: Engine, name: str = "db-writer") -> None:
        self._engine = engine
        self._jobs: queue.SimpleQueue[tuple[WriteJob[Any], AfterCommit[Any] | None, Future[Any]] | _Stop] = (
            queue.SimpleQueue()
        )
        self._closed = False
        self._close_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def run(self, job: WriteJob[T], after_commit: AfterCommit[T] | None = None) -> T:
        """Runs `job` in a transaction on the writer thread and returns its result once committed.

        `after_commit` runs on the writer thread right after the commit, before the next write starts, so
        anything it updates (the cache) sees writes in commit order.
        """
        future: Future[T] = Future()
        with self._close_lock:
            if self._closed:
                raise StorageError(ErrorCode.STORE_CLOSED, "The conversation store is closed.")
            self._jobs.put((job, after_commit, future))
        return future.result()

    def close(self) -> None:
        """Finishes every write already submitted, then closes the connection."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
            self._jobs.put(_Stop())
        self._thread.join()

    def _run(self) -> None:
        connection = self._engine.connect()
        connection.info[WRITER_FLAG] = True
        try:
            while True:
                item = self._jobs.get()
                if isinstance(item, _Stop):
                    return
                job, after_commit, future = item
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    with connection.begin():
                        result = job(connection)
                except BaseException as error:  # handed to the caller, who decides what to say
                    future.set_exception(error)
                    continue
                try:
                    if after_commit is not None:
                        after_commit(result)
                except Exception:  # the write is committed; a cache hiccup must not make it look failed
                    log.exception("after-commit step failed")
                future.set_result(result)
        finally:
            connection.info.pop(WRITER_FLAG, None)
            connection.close()
