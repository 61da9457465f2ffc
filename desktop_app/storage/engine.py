"""Engines with the pragmas every SQLite connection needs, and database errors turned into ones people can act on."""

from __future__ import annotations

import shutil
import sqlite3
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from desktop_app.core.errors import ErrorCode, StorageError

BUSY_TIMEOUT_MS = 10_000
_ERRORS: tuple[type[Exception], ...] = (SQLAlchemyError, sqlite3.Error)
# A connection flagged with this in its info dict opens its transactions with BEGIN IMMEDIATE, taking the
# write lock up front, so a second process writing at the same time waits instead of failing.
WRITER_FLAG = "voice_assistant_writer"


def database_errors() -> tuple[type[Exception], ...]:
    """What a database call can raise: SQLAlchemy's wrappers, and the drivers' own errors from the statements
    that run on the driver directly (storage/prepared.py, the begin hook below). PostgreSQL's driver is
    loaded by SQLAlchemy for a postgresql URL only; until then none of its errors can be raised."""
    if "psycopg" not in sys.modules:
        return _ERRORS
    import psycopg

    return (*_ERRORS, psycopg.Error)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def read_only_sqlite_url(path: Path, *, immutable: bool) -> str:
    """Opens the file read-only; `immutable` also promises SQLite that nothing changes it, so it creates no
    -wal or -shm beside it (only safe when no other program can be writing)."""
    query = "mode=ro&immutable=1" if immutable else "mode=ro"
    return f"sqlite:///file:{quote(str(path))}?{query}&uri=true"


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_store_engine(url: str, **kwargs: Any) -> Engine:
    if not is_sqlite(url):
        return create_engine(url, pool_pre_ping=True, **kwargs)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000}, **kwargs)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    # Take transaction control away from the driver's legacy mode; "begin" below issues BEGIN itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        # Deleted conversations are zeroed inside their pages, not left readable in free space.
        cursor.execute("PRAGMA secure_delete=ON")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    immediate = connection.info.get(WRITER_FLAG, False)
    # Straight to the driver: this runs for every write, and SQLAlchemy's statement path costs more than BEGIN.
    connection.connection.dbapi_connection.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")  # type: ignore[union-attr]


SQLITE_FULL = 13
SQLITE_READONLY = 8
SQLITE_IOERR = 10
SQLITE_CORRUPT = 11
SQLITE_CANTOPEN = 14
SQLITE_NOTADB = 26
SQLITE_BUSY = 5
SQLITE_PERM = 3
# Less free space than this, and SQLite cannot add a page and its journal frame: the disk is full.
NO_ROOM_BYTES = 64 * 1024


def _no_room(folder: Path) -> bool:
    try:
        return shutil.disk_usage(folder).free < NO_ROOM_BYTES
    except OSError:
        return False


def is_damage(error: BaseException) -> bool:
    """An SQLite error (or SQLAlchemy's wrapper of one) that means the file's contents are damaged, not
    locked, full or missing."""
    return _sqlite_primary_code(_driver_error(error)) in (SQLITE_CORRUPT, SQLITE_NOTADB)


def _driver_error(error: BaseException) -> BaseException:
    return (error.orig or error) if isinstance(error, DBAPIError) else error


def _sqlite_primary_code(error: BaseException) -> int | None:
    code = getattr(error, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


def translate_error(error: BaseException, doing: str, folder: Path | None = None) -> StorageError:
    """Maps a driver error to a stable code and a sentence that says what happened and what to do.
    `folder` is where the SQLite file lives: an I/O error there with no room left is a full disk (SQLite
    reports a journal it cannot create or grow as an I/O error, not as SQLITE_FULL)."""
    original = _driver_error(error)
    code = _sqlite_primary_code(original)
    text = str(original).lower()
    out_of_room = code in (SQLITE_IOERR, SQLITE_CANTOPEN) and folder is not None and _no_room(folder)
    if code == SQLITE_FULL or out_of_room or "disk is full" in text or type(original).__name__ == "DiskFull":
        return StorageError(
            ErrorCode.DISK_FULL,
            f"Could not {doing}: the disk is full. Free some space; everything saved before this is safe.",
        )
    if code in (SQLITE_READONLY, SQLITE_PERM) or "readonly" in text or "read-only" in text:
        return StorageError(
            ErrorCode.DB_READ_ONLY,
            f"Could not {doing}: the conversation database is read-only. "
            "Check the folder's permissions or free the disk; everything saved before this is safe.",
        )
    if code in (SQLITE_CORRUPT, SQLITE_NOTADB):
        return StorageError(
            ErrorCode.DB_CORRUPT,
            f"Could not {doing}: the conversation database is damaged. Restart the app to set it aside "
            "and start a new one.",
        )
    if code == SQLITE_BUSY or "database is locked" in text:
        return StorageError(
            ErrorCode.DB_BUSY,
            f"Could not {doing}: the conversation database is busy (another program is keeping it locked). "
            "Try again in a moment; everything saved before this is safe.",
        )
    if code in (SQLITE_IOERR, SQLITE_CANTOPEN):
        return StorageError(
            ErrorCode.DB_UNAVAILABLE,
            f"Could not {doing}: the conversation database could not be read or written.",
        )
    if isinstance(error, database_errors()):
        return StorageError(ErrorCode.DB_UNAVAILABLE, f"Could not {doing}: {original}")
    raise error
