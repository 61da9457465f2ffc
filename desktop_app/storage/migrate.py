"""Brings a database to the current schema at start-up: new ones are created and stamped, old ones upgraded,
and one written by a newer version of the app is refused and left as it is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect

from desktop_app.core.errors import ErrorCode, StorageError
from desktop_app.storage import fulltext
from desktop_app.storage.engine import WRITER_FLAG

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"


def alembic_config(connection: Connection | None = None, migrations_dir: Path = MIGRATIONS_DIR) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.attributes["connection"] = connection
    return config


def script_directory(migrations_dir: Path = MIGRATIONS_DIR) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(None, migrations_dir))


def head_revision() -> str:
    head = script_directory().get_current_head()
    assert head is not None, "the migrations directory has no revisions"
    return head


def include_name(name: str | None, type_: str, _parent: Any) -> bool:
    """The schema comparison looks at the models' tables only, not the search index's own objects."""
    return not (name and (name in fulltext.SEARCH_OBJECT_NAMES or name.startswith("sqlite_")))


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def ensure_schema(engine: Engine, location: str, migrations_dir: Path = MIGRATIONS_DIR) -> str:
    """Returns the action taken: "created", "upgraded" or "current". `location` names the database for messages.

    A database that is already current is only read: a start (or `history list`) never waits for the write
    lock another program may be holding. Creating or upgrading takes the lock and looks again under it."""
    if schema_is_current(engine, location, migrations_dir):
        return "current"
    with engine.connect() as connection:
        connection.info[WRITER_FLAG] = True  # hold the write lock: two processes starting at once take turns
        try:
            with connection.begin():
                return _ensure_schema_locked(connection, location, migrations_dir)
        finally:
            connection.info.pop(WRITER_FLAG, None)


def schema_is_current(engine: Engine, location: str, migrations_dir: Path = MIGRATIONS_DIR) -> bool:
    """Looks without the write lock; raises for a database that is not ours or from a newer release."""
    with engine.connect() as connection, connection.begin():
        current = current_revision(connection)
        if current is not None and current == script_directory(migrations_dir).get_current_head():
            return True
        refuse_foreign_or_newer(current, inspect(connection).get_table_names(), location, migrations_dir)
        return False


def refuse_foreign_or_newer(
    current: str | None, tables: list[str], location: str, migrations_dir: Path = MIGRATIONS_DIR
) -> None:
    """Raises when the database is not ours (tables but no version) or from a newer release."""
    if current is None:
        foreign = sorted(t for t in tables if include_name(t, "table", None) and t != VERSION_TABLE)
        if foreign:
            raise StorageError(
                ErrorCode.DB_UNREADABLE,
                f"{location} is not a conversation database of this app (it has tables "
                f"{', '.join(foreign[:5])}). It was left as it is; choose another data folder.",
            )
        return
    known = {revision.revision for revision in script_directory(migrations_dir).walk_revisions()}
    if current not in known:
        raise StorageError(
            ErrorCode.DB_NEWER_VERSION,
            f"The conversation database {location} was written by a newer version of this app "
            f"(schema {current}). Update the app to open it. The file was not changed.",
        )


def _ensure_schema_locked(connection: Connection, location: str, migrations_dir: Path) -> str:
    from desktop_app.storage.schema import Base  # the models import fulltext; keep this module light

    scripts = script_directory(migrations_dir)
    current = current_revision(connection)
    refuse_foreign_or_newer(current, inspect(connection).get_table_names(), location, migrations_dir)
    if current is None:
        Base.metadata.create_all(connection)
        MigrationContext.configure(connection).stamp(scripts, "head")
        return "created"
    if current == scripts.get_current_head():
        return "current"
    command.upgrade(alembic_config(connection, migrations_dir), "head")
    return "upgraded"
