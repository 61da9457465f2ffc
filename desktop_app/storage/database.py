"""Opening the database at start-up: checks the file, sets a damaged one aside, migrates the schema."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from desktop_app.core.errors import ErrorCode, StorageError, ValidationError
from desktop_app.paths import file_kind, is_writable_folder, touch_private_file
from desktop_app.storage import fulltext
from desktop_app.storage.engine import (
    BUSY_TIMEOUT_MS,
    create_store_engine,
    database_errors,
    is_damage,
    is_sqlite,
    read_only_sqlite_url,
    sqlite_url,
    translate_error,
)
from desktop_app.storage.migrate import VERSION_TABLE, ensure_schema, refuse_foreign_or_newer, schema_is_current
from desktop_app.storage.salvage import salvage

log = logging.getLogger(__name__)

SQLITE_HEADER = b"SQLite format 3\x00"
SIDE_FILES = ("-wal", "-shm", "-journal")
# Marker left when a query met a damaged page at run time: the next start checks the whole file.
NEEDS_CHECK_SUFFIX = ".needs-check"
# Files up to this size get SQLite's quick_check and FTS5's index check at every start (0.26 s for both at
# 62 MB, bench/recovery.py; milliseconds for a typical history); larger ones only when the marker above
# asks for it, so a big history does not slow every start.
QUICK_CHECK_MAX_BYTES = 64 * 1024 * 1024
# How long the start-up look waits for another program that holds the file locked.
PREFLIGHT_TIMEOUT_S = 2.0
# How long the start-up check of the search index waits for another program's write before leaving it for
# the next start.
SEARCH_CHECK_WAIT_MS = 200


@dataclass
class OpenedDatabase:
    engine: Engine
    url: str
    schema_action: str
    notices: list[str] = field(default_factory=list)
    sqlite_path: Path | None = None
    moved_aside: list[Path] = field(default_factory=list)
    read_only: bool = False


def open_database(url: str) -> OpenedDatabase:
    notices: list[str] = []
    moved: list[Path] = []
    path: Path | None = None
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValidationError(
            ErrorCode.INVALID_ARGUMENT,
            "The database URL is not one this app can use; give a URL such as "
            "sqlite:////home/me/assistant.db or postgresql+psycopg://user@host/db.",
        ) from None
    if is_sqlite(url):
        database = parsed.database
        if not database or database == ":memory:":
            raise StorageError(ErrorCode.INVALID_ARGUMENT, "The conversation store needs a database file.")
        path = _database_file(Path(database))
        if not is_writable_folder(path.parent) or (path.exists() and not _is_writable_file(path)):
            return open_read_only(path)
        full_check = needs_full_check(path)
        problem = check_sqlite_file(path)
        if problem is not None:
            moved = move_aside(path)
        if not path.exists():
            touch_private_file(path)
        url = sqlite_url(path)
    location = str(path) if path else make_url(url).render_as_string(hide_password=True)
    engine = create_store_engine(url)
    try:
        action = ensure_schema(engine, location)
    except StorageError:
        engine.dispose()
        raise
    except database_errors() as error:
        engine.dispose()
        raise translate_error(error, "open the conversation database", path and path.parent) from error
    if path is not None and moved:
        report = salvage(moved[0], path)
        notice = (
            f"The conversation database was damaged ({problem}). It was kept as {moved[0]}, nothing was "
            f"deleted, and a new one was started: {report.describe()}"
        )
        log.error(notice)
        notices.append(notice)
    elif path is not None and full_check:
        notices += _repair_search_index(engine)
    if path is not None:
        path.with_name(path.name + NEEDS_CHECK_SUFFIX).unlink(missing_ok=True)
    return OpenedDatabase(engine, url, action, notices, path, moved)


def needs_full_check(path: Path) -> bool:
    """Whether this start reads the whole file: small ones always, large ones after a query met damage."""
    try:
        return path.with_name(path.name + NEEDS_CHECK_SUFFIX).exists() or path.stat().st_size <= QUICK_CHECK_MAX_BYTES
    except OSError:
        return False


def _repair_search_index(engine: Engine) -> list[str]:
    """Checks the full-text index, whose records the page check does not read, and rebuilds it from the
    messages when it is damaged. Returns the notice for the user, if any."""
    try:
        with engine.connect() as connection:
            # The check is an INSERT, so it needs the write lock: a start must not wait long for it.
            driver = connection.connection.dbapi_connection
            assert driver is not None
            driver.execute(f"PRAGMA busy_timeout={SEARCH_CHECK_WAIT_MS}")
            try:
                with connection.begin():
                    problem = fulltext.sqlite_repair(connection)
                if problem is None:
                    return []
            finally:
                driver.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    except database_errors():
        # Busy (another program is writing) or worse: the next start that reads the whole file tries again.
        log.warning("could not check the search index", exc_info=True)
        return []
    notice = f"The search index was damaged ({problem}) and was rebuilt from your messages; nothing was lost."
    log.error(notice)
    return [notice]


def _database_file(path: Path) -> Path:
    """The file the database lives in: a symbolic link leads to its target (which is then the file opened,
    set aside when damaged, and so on). Anything there that is not a regular file (a device such as
    /dev/zero, a named pipe, a socket, a folder) is refused before it is opened, and never moved or replaced."""
    path = path.absolute()
    real = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        mode = real.stat().st_mode
    except FileNotFoundError:
        if path.is_symlink():
            raise StorageError(
                ErrorCode.DB_UNREADABLE,
                f"The conversation database {path} is a symbolic link to {real}, which does not exist. Fix the "
                "link or remove it; it was left as it is.",
            ) from None
        return real
    except OSError as error:
        raise StorageError(
            ErrorCode.DB_UNREADABLE, f"The conversation database {path} cannot be read: {error.strerror}."
        ) from error
    if not stat.S_ISREG(mode):
        shown = f"{path} (a link to {real})" if real != path else str(path)
        raise StorageError(
            ErrorCode.DB_UNREADABLE,
            f"The conversation database {shown} is {file_kind(mode)}, not a file. It was left as it is; "
            "choose another location.",
        )
    return real


def open_read_only(path: Path) -> OpenedDatabase:
    """A database in a read-only folder (or a read-only file): everything in it can be read, nothing is
    written, and nothing in the folder is created, changed or set aside. Saving then fails with
    `db_read_only`."""
    where = path.parent if not is_writable_folder(path.parent) else path
    if not path.exists() or path.stat().st_size == 0:
        raise StorageError(
            ErrorCode.DB_READ_ONLY,
            f"{where} is read-only and holds no conversations yet, so none can be read or saved. Make it "
            "writable, or start with --data-dir to use another folder. Nothing in it was changed.",
        )
    wal = path.with_name(path.name + "-wal")
    # With no write-ahead log to read, "immutable" opens the file without creating -wal and -shm beside it
    # (root could create them even in a 0555 folder). A log left by a crash holds saved messages: read it.
    immutable = not (wal.exists() and wal.stat().st_size > 0)
    problem = check_sqlite_file(path, immutable=immutable)
    if problem is not None:
        raise StorageError(
            ErrorCode.DB_CORRUPT,
            f"The conversation database {path} is damaged ({problem}), and {where} is read-only, so it cannot "
            "be set aside and a new one started. Make it writable and start again. Nothing was changed.",
        )
    url = read_only_sqlite_url(path, immutable=immutable)
    engine = create_store_engine(url)
    try:
        if not schema_is_current(engine, str(path)):
            raise StorageError(
                ErrorCode.DB_READ_ONLY,
                f"The conversation database {path} needs an upgrade to this version of the app, and {where} "
                "is read-only. Make it writable and start again. Nothing was changed.",
            )
    except StorageError:
        engine.dispose()
        raise
    except database_errors() as error:
        engine.dispose()
        raise translate_error(error, "open the conversation database", path.parent) from error
    notice = f"{where} is read-only: conversations can be read, but nothing new will be saved until it is writable."
    log.warning(notice)
    return OpenedDatabase(engine, url, "current", [notice], path, read_only=True)


def _is_writable_file(path: Path) -> bool:
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return bool(mode & stat.S_IWUSR) and os.access(path, os.W_OK)


def check_sqlite_file(path: Path, *, immutable: bool = False) -> str | None:
    """None when the file is absent, empty or sound; otherwise what is wrong with it.

    A file that cannot be read at all (a folder in its place, no permission) raises: it is not damaged,
    and setting it aside would hide a problem the user can fix.
    """
    if not path.exists():
        return None
    if path.is_dir() or not os.access(path, os.R_OK):
        raise StorageError(
            ErrorCode.DB_UNREADABLE,
            f"The conversation database {path} cannot be read ("
            + ("it is a folder" if path.is_dir() else "permission denied")
            + "). Fix or move it, or start with --data-dir to use another folder.",
        )
    try:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as error:
        raise StorageError(
            ErrorCode.DB_UNREADABLE, f"The conversation database {path} cannot be read: {error.strerror}."
        ) from error
    if not header:
        return None
    if header != SQLITE_HEADER:
        return "it is not an SQLite database"
    full_check = needs_full_check(path)
    side_files_before = {suffix for suffix in SIDE_FILES if path.with_name(path.name + suffix).exists()}
    try:
        # Read-only: a file that is refused below (foreign, newer) must be left exactly as it was.
        look = f"{path.as_uri()}?mode=ro" + ("&immutable=1" if immutable else "")
        connection = sqlite3.connect(look, uri=True, timeout=PREFLIGHT_TIMEOUT_S)
        try:
            tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            if full_check:
                rows = connection.execute("PRAGMA quick_check").fetchall()
                if rows != [("ok",)]:
                    # SQLite's report spans lines ("*** in database main ***" first): one line for the user.
                    found = [line.strip() for line in str(rows[0][0]).splitlines() if "***" not in line]
                    more = f", and {len(found) - 1} more" if len(found) > 1 else ""
                    return f"integrity check: {found[0][:160] if found else 'failed'}{more}"
            current = None
            if VERSION_TABLE in tables:
                row = connection.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchone()
                current = row[0] if row else None
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        if is_damage(error):
            return str(error)
        # Locked, busy or unopenable is not damage: say so and leave the file where it is.
        raise translate_error(error, "open the conversation database", path.parent) from error
    try:
        refuse_foreign_or_newer(current, tables, str(path))
    except StorageError:
        # Refused files are left exactly as found: remove the empty side files the read-only look made.
        for suffix in set(SIDE_FILES) - side_files_before:
            side = path.with_name(path.name + suffix)
            if side.exists() and (suffix == "-shm" or side.stat().st_size == 0):
                side.unlink()
        raise
    return None


def move_aside(path: Path) -> list[Path]:
    """Renames the database and its side files with one timestamped name; returns the new paths, main first."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    base = f"{path.name}.corrupt-{stamp}"
    n = 1
    while any(path.with_name(base + suffix).exists() for suffix in ("", *SIDE_FILES)):
        base = f"{path.name}.corrupt-{stamp}-{n}"
        n += 1
    moved: list[Path] = []
    for suffix in ("", *SIDE_FILES):
        source = path.with_name(path.name + suffix)
        if source.exists():
            target = path.with_name(base + suffix)
            source.rename(target)
            moved.append(target)
    return moved


def mark_needs_check(path: Path | None) -> None:
    if path is not None:
        try:
            path.with_name(path.name + NEEDS_CHECK_SUFFIX).touch()
        except OSError:
            log.warning("could not leave the integrity-check marker beside %s", path)
