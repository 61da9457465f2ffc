"""The one database handle every repository shares: the engine, the single writer, whose data it is, and
whether the store can write.

Writes run on the single writer in one transaction and are committed when the call returns; reads get a
connection of their own (WAL lets readers run beside the writer). A failed write marks the store as not
writable until one succeeds, so `health` can tell the user.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from desktop_app.core.errors import AppError, ErrorCode, StorageError
from desktop_app.core.privacy import log_content_enabled
from desktop_app.storage import fulltext
from desktop_app.storage.database import OpenedDatabase, mark_needs_check
from desktop_app.storage.engine import database_errors, is_damage, translate_error
from desktop_app.storage.writer import SingleWriter

# Storage failures are reported under the store's logger name, which people filter logs on.
log = logging.getLogger("desktop_app.storage.store")
T = TypeVar("T")


class DatabaseHandle:
    def __init__(self, opened: OpenedDatabase, user_id: str) -> None:
        self.opened = opened
        self.engine: Engine = opened.engine
        self.user_id = user_id
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self.writer = SingleWriter(self.engine)
        self._health_lock = threading.Lock()
        # A store opened read-only is not writable from the start; a failed write sets this until one succeeds.
        self._failure: StorageError | None = (
            StorageError(ErrorCode.DB_READ_ONLY, opened.notices[0]) if opened.read_only else None
        )
        if self.is_sqlite:
            self.writer.changed_elsewhere()  # opens the writer now and takes the baseline for later checks

    @property
    def sqlite_path(self) -> Path | None:
        return self.opened.sqlite_path

    @property
    def failure(self) -> StorageError | None:
        """Why the store cannot write just now; None when it can."""
        with self._health_lock:
            return self._failure

    def record_failure(self, failure: StorageError) -> StorageError:
        """Marks the store as not writable (a refused write) and returns `failure` for raising."""
        with self._health_lock:
            self._failure = failure
        return failure

    def write(self, job: Callable[[Connection], T], doing: str, after_commit: Callable[[T], None] | None = None) -> T:
        """Runs `job` on the single writer in one transaction; `after_commit` runs in commit order."""
        try:
            result = self.writer.run(job, after_commit)
        except AppError:
            raise
        except _write_errors() as error:
            if not self._rebuilt_damaged_search_index(error):
                raise self.failed(error, doing, writing=True) from error
            try:  # the search index was the damage, and is whole again: the write can go on
                result = self.writer.run(job, after_commit)
            except AppError:
                raise
            except _write_errors() as again:
                raise self.failed(again, doing, writing=True) from again
        with self._health_lock:
            self._failure = None
        return result

    def read(self, query: Callable[[Connection], T], doing: str) -> T:
        try:
            with self.engine.connect() as connection:
                return query(connection)
        except AppError:
            raise
        except database_errors() as error:
            raise self.failed(error, doing, writing=False) from error

    def failed(self, error: BaseException, doing: str, writing: bool) -> StorageError:
        """The error to raise; a failed write also marks the store as not writable until one succeeds."""
        failure = translate_error(error, doing, self.sqlite_path and self.sqlite_path.parent)
        log.error("%s (%s)", failure.message, _error_for_log(error))
        if failure.code is ErrorCode.DB_CORRUPT:
            mark_needs_check(self.sqlite_path)
        if writing:
            self.record_failure(failure)
        return failure

    def erase_deleted_text(self, *, search_index: bool = True) -> None:
        """Deleted words must not linger: rebuild the search index without them (FTS5 otherwise keeps a
        deleted message's words in old index segments until they happen to merge), then fold the
        write-ahead log into the file. secure_delete zeroes the freed pages. About 1 s at a million
        messages, milliseconds for a typical history; only deletions pay it. Facts are not in the search
        index: forgetting one needs only the checkpoint (`search_index=False`)."""
        if not self.is_sqlite:
            return
        # The deletion itself has committed: a failure here (a full disk) is logged, not reported as a
        # failed delete, and the next deletion tries again.
        try:
            if search_index:
                self.writer.run(
                    lambda c: c.exec_driver_sql(
                        f"INSERT INTO {fulltext.FTS_TABLE}({fulltext.FTS_TABLE}) VALUES ('optimize')"
                    )
                )
            with self.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        except database_errors():
            log.warning("could not compact the search index after a deletion", exc_info=True)

    def close(self) -> None:
        self.writer.close()
        if self.is_sqlite:
            try:
                with self.engine.connect() as connection:
                    connection.exec_driver_sql("PRAGMA optimize")
            except SQLAlchemyError:
                log.debug("PRAGMA optimize skipped", exc_info=True)
        self.engine.dispose()

    def _rebuilt_damaged_search_index(self, error: BaseException) -> bool:
        """After a write met damage: when it is in the full-text index (which every message insert updates,
        and which the page check cannot see), rebuild the index from the messages. True when rebuilt."""
        if not self.is_sqlite or not is_damage(error):
            return False
        try:
            problem = self.writer.run(fulltext.sqlite_repair)
        except database_errors():
            log.warning("the search index could not be checked or rebuilt", exc_info=True)
            return False
        if problem is None:
            return False
        log.error("the search index was damaged (%s) and was rebuilt from the messages", problem)
        return True


def _error_for_log(error: BaseException) -> str:
    """A driver error as the log may show it: SQLAlchemy's text of a failed statement carries its
    parameters (a message's words), and PostgreSQL's DETAIL lines can quote values, so only the first line
    of the driver's own error is shown unless content logging is on."""
    if isinstance(error, DBAPIError) and error.orig is not None and not log_content_enabled():
        first_line = next(iter(str(error.orig).splitlines()), "")
        return f"{type(error.orig).__name__}: {first_line}"
    return str(error)


def _write_errors() -> tuple[type[Exception], ...]:
    """Besides the database's own errors, a write can fail with an OSError."""
    return (*database_errors(), OSError)
