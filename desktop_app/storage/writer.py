"""The one writer. Every write runs on one connection, one at a time, in its own transaction.

A caller holds the writer for the length of its transaction and gets its result once committed, so "the
call returned" means "it is in the database". One writer connection means SQLite never reports "database
is locked" between our own threads, and commit order is the order in which writers got their turn.

The transaction runs on the calling thread under a lock rather than on a dedicated thread: the properties
are the same (one connection, one writer at a time, committed on return), and it saves the two thread
wake-ups per write that cost more than the write itself on a small machine.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine

from desktop_app.core.errors import ErrorCode, StorageError
from desktop_app.storage.engine import WRITER_FLAG

log = logging.getLogger(__name__)
T = TypeVar("T")


class SingleWriter:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._watch_others = engine.dialect.name == "sqlite"
        self._lock = threading.Lock()
        self._connection: Connection | None = None
        self._closed = False
        self._data_version: int | None = None

    def run(self, job: Callable[[Connection], T], after_commit: Callable[[T], None] | None = None) -> T:
        """Runs `job` in a transaction and returns its result once committed.

        `after_commit` runs right after the commit, still holding the writer, so anything it updates (the
        cache) sees writes in commit order. Its failure is logged: the write itself has succeeded.
        """
        with self._lock:
            connection = self._ensure_connection()
            try:
                with connection.begin():
                    result = job(connection)
            except BaseException:
                if connection.invalidated:
                    self._drop_connection()
                raise
            if after_commit is not None:
                try:
                    after_commit(result)
                except Exception:
                    log.exception("after-commit step failed")
            return result

    def changed_elsewhere(self) -> bool | None:
        """SQLite only: has another connection (another process) committed since the last look?

        PRAGMA data_version moves when any connection other than this one commits, so the writer's own
        commits never count. None when a write is in progress here: the caller must not wait for it, and
        cannot know, so it reads from the database instead.
        """
        if not self._lock.acquire(blocking=False):
            return None
        try:
            connection = self._ensure_connection()
            version = self._data_version_of(connection)
            changed = version != self._data_version
            self._data_version = version
            return changed
        finally:
            self._lock.release()

    @staticmethod
    def _data_version_of(connection: Connection) -> int:
        raw = connection.connection.dbapi_connection
        assert raw is not None
        cursor = raw.cursor()
        try:
            return int(cursor.execute("PRAGMA data_version").fetchone()[0])
        finally:
            cursor.close()

    def close(self) -> None:
        """Waits for the write in progress, then closes the connection; later writes are refused."""
        with self._lock:
            self._closed = True
            self._drop_connection()

    def _ensure_connection(self) -> Connection:
        if self._closed:
            raise StorageError(ErrorCode.STORE_CLOSED, "The conversation store is closed.")
        if self._connection is None:
            connection = self._engine.connect()
            connection.info[WRITER_FLAG] = True
            self._connection = connection
            if self._watch_others and self._data_version is None:
                # The baseline is taken at the first connection, before anything is cached, so a write by
                # another process between this moment and the first read is noticed.
                self._data_version = self._data_version_of(connection)
            elif self._watch_others:
                # A new connection after a failure cannot tell what happened meanwhile: assume a change.
                self._data_version = -1
        return self._connection

    def _drop_connection(self) -> None:
        if self._connection is not None:
            self._connection.info.pop(WRITER_FLAG, None)
            self._connection.close()
            self._connection = None
