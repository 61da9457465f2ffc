"""Brings a database to the current schema at start-up: new ones are created and stamped, old ones upgraded,
and one written by a newer version of the app is refused and left as it is.

Alembic is imported only to upgrade: the stored revision is read with a plain query and compared with the
head read from the migrations folder (`revisions`), and a new database is stamped the way alembic stamps one
(the same version table, the same row)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, Connection, Engine, MetaData, PrimaryKeyConstraint, String, Table, inspect, select

from desktop_app.core.errors import ErrorCode, StorageError
from desktop_app.storage import fulltext
from desktop_app.storage.engine import WRITER_FLAG
from desktop_app.storage.revisions import Revisions, read_revisions

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"


def alembic_config(connection: Connection | None = None, migrations_dir: Path = MIGRATIONS_DIR) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.attributes["connection"] = connection
    return config


def script_directory(migrations_dir: Path = MIGRATIONS_DIR) -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(None, migrations_dir))


def revisions(migrations_dir: Path = MIGRATIONS_DIR) -> Revisions:
    """The head and every known revision: from the scripts' text, or from alembic when the text is not a
    plain chain (it then raises what it raises for a history it cannot follow)."""
    read = read_revisions(migrations_dir / "versions")
    if read is not None:
        return read
    scripts = script_directory(migrations_dir)
    head = scripts.get_current_head()
    return Revisions(head, frozenset(revision.revision for revision in scripts.walk_revisions()))


def head_revision() -> str:
    head = revisions().head
    assert head is not None, "the migrations directory has no revisions"
    return head


def include_name(name: str | None, type_: str, _parent: Any) -> bool:
    """The schema comparison looks at the models' tables only, not the search index's own objects."""
    return not (name and (name in fulltext.SEARCH_OBJECT_NAMES or name.startswith("sqlite_")))


def _version_table() -> Table:
    # alembic's own (DefaultImpl.version_table_impl): a database stamped here is one alembic stamped.
    return Table(
        VERSION_TABLE,
        MetaData(),
        Column("version_num", String(32), nullable=False),
        PrimaryKeyConstraint("version_num", name=f"{VERSION_TABLE}_pkc"),
    )


def current_revision(connection: Connection) -> str | None:
    """What MigrationContext.get_current_revision answers, read without alembic."""
    if not connection.dialect.has_table(connection, VERSION_TABLE):
        return None
    stored = list(connection.scalars(select(_version_table().c.version_num)))
    if len(stored) > 1:  # branches: alembic says why it cannot give one revision
        from alembic.runtime.migration import MigrationContext

        return MigrationContext.configure(connection).get_current_revision()
    return stored[0] if stored else None


def _stamp(connection: Connection, revision: str) -> None:
    """What MigrationContext.stamp(scripts, "head") does to a database with no revision stored."""
    table = _version_table()
    table.create(connection, checkfirst=True)
    connection.execute(table.insert().values(version_num=revision))


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
        if current is not None and current == revisions(migrations_dir).head:
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
    if current not in revisions(migrations_dir).known:
        raise StorageError(
            ErrorCode.DB_NEWER_VERSION,
            f"The conversation database {location} was written by a newer version of this app "
            f"(schema {current}). Update the app to open it. The file was not changed.",
        )


def _ensure_schema_locked(connection: Connection, location: str, migrations_dir: Path) -> str:
    from desktop_app.storage.schema import metadata  # the tables import fulltext; keep this module light

    head = revisions(migrations_dir).head
    current = current_revision(connection)
    refuse_foreign_or_newer(current, inspect(connection).get_table_names(), location, migrations_dir)
    if current is None:
        assert head is not None, "the migrations directory has no revisions"
        # No table of ours is there (refused above otherwise): no need to ask for each before creating it.
        metadata.create_all(connection, checkfirst=False)
        _stamp(connection, head)
        return "created"
    if current == head:
        return "current"
    from alembic import command  # only an upgrade needs alembic (and its scripts)

    command.upgrade(alembic_config(connection, migrations_dir), "head")
    return "upgraded"
