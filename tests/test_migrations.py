"""The models and the migrations describe the same schema; old databases are upgraded at start-up."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from desktop_app.storage.engine import create_store_engine, sqlite_url
from desktop_app.storage.migrate import (
    MIGRATIONS_DIR,
    alembic_config,
    current_revision,
    ensure_schema,
    head_revision,
    include_name,
    revisions,
)
from desktop_app.storage.revisions import Revisions, read_revisions
from desktop_app.storage.schema import metadata
from desktop_app.storage.store import SqlConversationStore


def _schema_objects(url: str) -> dict[str, object]:
    """Tables with their columns, indexes and foreign keys, plus SQLite's triggers and virtual tables."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            inspector = inspect(connection)
            tables: dict[str, object] = {}
            for table in sorted(inspector.get_table_names()):
                tables[table] = {
                    "columns": [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
                    "indexes": sorted((i["name"], tuple(i["column_names"])) for i in inspector.get_indexes(table)),
                    "fks": sorted(
                        (tuple(f["constrained_columns"]), f["referred_table"], f["options"].get("ondelete"))
                        for f in inspector.get_foreign_keys(table)
                    ),
                }
            if connection.dialect.name == "sqlite":
                tables["sqlite_master"] = sorted(
                    tuple(row) for row in connection.execute(text("SELECT type, name, sql FROM sqlite_master"))
                )
            else:
                tables["pg_indexes"] = sorted(
                    tuple(row)
                    for row in connection.execute(
                        text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")
                    )
                )
            return tables
    finally:
        engine.dispose()


def _migrated_from_nothing(url: str) -> None:
    engine = create_store_engine(url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "head")
    finally:
        engine.dispose()


def _created_by_the_app(url: str) -> None:
    SqlConversationStore.open(url).close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def two_urls(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "migrated.db"), sqlite_url(tmp_path / "created.db")
    server = request.getfixturevalue("postgres_server")
    names = [server.create_database(), server.create_database()]
    request.addfinalizer(lambda: [server.drop_database(name) for name in names])
    return server.url(names[0]), server.url(names[1])


def test_migrations_and_models_agree(two_urls: tuple[str, str]) -> None:
    migrated, created = two_urls
    _migrated_from_nothing(migrated)
    _created_by_the_app(created)
    # Alembic's own comparison of the migrated database with the models finds nothing to do.
    engine = create_engine(migrated)
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_name": include_name, "compare_type": True, "target_metadata": metadata}
        )
        assert compare_metadata(context, metadata) == []
        assert current_revision(connection) == head_revision()
    engine.dispose()
    # And a database made by create_all + stamp has exactly the same objects, search index included.
    assert _schema_objects(migrated) == _schema_objects(created)


def test_migrations_go_down_and_up_again(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "assistant.db")
    _migrated_from_nothing(url)
    engine = create_store_engine(url)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
    engine.dispose()
    store = SqlConversationStore.open(url)
    conversation = store.create_conversation()
    store.add_message(conversation.id, "user", "searchable after the round trip")
    assert store.search("round trip")
    store.close()


NEXT_REVISION = textwrap.dedent(
    '''
    """A later schema: messages get a language column.

    Revision ID: 9001
    Revises: {head}
    """
    import sqlalchemy as sa
    from alembic import op

    revision = "9001"
    down_revision = "{head}"
    branch_labels = None
    depends_on = None


    def upgrade() -> None:
        with op.batch_alter_table("messages") as batch:
            batch.add_column(sa.Column("language", sa.String(16), nullable=True))


    def downgrade() -> None:
        with op.batch_alter_table("messages") as batch:
            batch.drop_column("language")
    '''
)


def test_an_older_database_is_upgraded_at_start_up_and_keeps_its_data(tmp_path: Path) -> None:
    """A later release's migration, applied to a database written by this one, keeps every message."""
    url = sqlite_url(tmp_path / "assistant.db")
    store = SqlConversationStore.open(url)
    conversation = store.create_conversation()
    for i in range(50):
        store.add_message(conversation.id, "user", f"kept across the upgrade {i}")
    store.close()

    later = tmp_path / "later-migrations"
    shutil.copytree(MIGRATIONS_DIR, later, ignore=shutil.ignore_patterns("__pycache__"))
    (later / "versions" / "9001_language.py").write_text(NEXT_REVISION.format(head=head_revision()))
    engine = create_store_engine(url)
    try:
        assert ensure_schema(engine, "test", later) == "upgraded"
        assert ensure_schema(engine, "test", later) == "current"
        with engine.connect() as connection:
            assert current_revision(connection) == "9001"
            assert "language" in {c["name"] for c in inspect(connection).get_columns("messages")}
            assert connection.scalar(text("SELECT count(*) FROM messages")) == 50
            # Batch mode rebuilt the table; the search index still finds the old rows.
            hits = connection.scalar(text("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'upgrade'"))
            assert hits == 50
    finally:
        engine.dispose()


def _alarm_rows(engine: object) -> list[tuple[object, ...]]:
    with engine.connect() as connection:  # type: ignore[attr-defined]
        return [tuple(row) for row in connection.execute(text("SELECT id, kind, label FROM alarms ORDER BY id"))]


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_alarms_come_in_at_revision_0003_keeping_every_timer_and_reminder(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        url = sqlite_url(tmp_path / "assistant.db")
    else:
        server = request.getfixturevalue("postgres_server")
        name = server.create_database()
        request.addfinalizer(lambda: server.drop_database(name))
        url = server.url(name)
    engine = create_store_engine(url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0002")
        for kind, label in (("timer", "pasta"), ("reminder", "call mum"), ("timer", "eggs")):
            connection.execute(
                text(
                    "INSERT INTO alarms (user_id, kind, label, created_at, due_at, status) "
                    "VALUES ('local', :kind, :label, '2026-12-01 10:00:00', '2026-12-01 11:00:00', 'pending')"
                ),
                {"kind": kind, "label": label},
            )
        connection.execute(text("DELETE FROM alarms WHERE label = 'eggs'"))  # id 3 was handed out once
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0003")
        connection.execute(
            text(
                "INSERT INTO alarms (user_id, kind, label, created_at, due_at, status) "
                "VALUES ('local', 'alarm', '', '2026-12-01 10:00:00', '2026-12-02 07:00:00', 'pending')"
            )
        )
    assert _alarm_rows(engine) == [(1, "timer", "pasta"), (2, "reminder", "call mum"), (4, "alarm", "")]
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0002")
    # An alarm is kept as a reminder, which the older schema knows.
    assert _alarm_rows(engine) == [(1, "timer", "pasta"), (2, "reminder", "call mum"), (4, "reminder", "alarm")]
    engine.dispose()


def _alembics(migrations_dir: Path) -> Revisions:
    scripts = ScriptDirectory.from_config(alembic_config(None, migrations_dir))
    return Revisions(scripts.get_current_head(), frozenset(r.revision for r in scripts.walk_revisions()))


def _later_migrations(tmp_path: Path, *scripts: tuple[str, str]) -> Path:
    later = tmp_path / "later-migrations"
    shutil.copytree(MIGRATIONS_DIR, later, ignore=shutil.ignore_patterns("__pycache__"))
    for name, script in scripts:
        (later / "versions" / name).write_text(script)
    return later


def test_the_revisions_read_without_alembic_are_alembics(tmp_path: Path) -> None:
    assert read_revisions(MIGRATIONS_DIR / "versions") == _alembics(MIGRATIONS_DIR)
    assert revisions() == _alembics(MIGRATIONS_DIR) and head_revision() == "0003"
    # A later release's script, also in the style alembic's own template writes (annotated).
    annotated = textwrap.dedent(
        """
        revision: str = "9002"
        down_revision: str | None = "9001"
        branch_labels: str | None = None
        depends_on: str | None = None


        def upgrade() -> None:
            pass
        """
    )
    later = _later_migrations(
        tmp_path, ("9001_language.py", NEXT_REVISION.format(head=head_revision())), ("9002_more.py", annotated)
    )
    read = read_revisions(later / "versions")
    assert read == _alembics(later) and read is not None and read.head == "9002"


def test_scripts_that_are_not_a_plain_chain_are_left_to_alembic(tmp_path: Path) -> None:
    head = head_revision()
    branch = NEXT_REVISION.format(head=head).replace('revision = "9001"', 'revision = "9002"')
    odd = {
        "two heads": [("9001_a.py", NEXT_REVISION.format(head=head)), ("9002_b.py", branch)],
        "a merge": [("9001_a.py", NEXT_REVISION.format(head=head).replace(f'"{head}"', f'("{head}", "0002")'))],
        "a dependency": [
            ("9001_a.py", NEXT_REVISION.format(head=head).replace("depends_on = None", 'depends_on = "0001"'))
        ],
        "a computed id": [("9001_a.py", NEXT_REVISION.format(head=head).replace('"9001"', '"90" + "01"'))],
        "an unknown parent": [("9001_a.py", NEXT_REVISION.format(head="8000"))],
        "a revision twice": [
            ("9001_a.py", NEXT_REVISION.format(head=head)),
            ("9001_b.py", NEXT_REVISION.format(head=head)),
        ],
    }
    for what, scripts in odd.items():
        later = _later_migrations(tmp_path / what.replace(" ", "-"), *scripts)
        assert read_revisions(later / "versions") is None, what
    # revisions() then asks alembic, which says what it says about such a history.
    later = _later_migrations(tmp_path / "merge", *odd["a merge"])
    assert revisions(later) == _alembics(later)


def test_a_new_database_is_stamped_as_alembic_stamps_one(tmp_path: Path) -> None:
    ours, theirs = tmp_path / "ours.db", tmp_path / "theirs.db"
    _created_by_the_app(sqlite_url(ours))
    engine = create_store_engine(sqlite_url(theirs))
    with engine.begin() as connection:
        metadata.create_all(connection)
        MigrationContext.configure(connection).stamp(ScriptDirectory.from_config(alembic_config()), "head")
    engine.dispose()
    assert _schema_objects(sqlite_url(ours)) == _schema_objects(sqlite_url(theirs))
    for database in (ours, theirs):
        engine = create_engine(sqlite_url(database))
        with engine.connect() as connection:
            assert list(connection.execute(text("SELECT version_num FROM alembic_version"))) == [(head_revision(),)]
        engine.dispose()


def test_psycopg_errors_count_once_the_driver_is_loaded() -> None:
    code = (
        "import sys\n"
        "from desktop_app.storage.engine import database_errors\n"
        "assert 'psycopg' not in sys.modules and len(database_errors()) == 2\n"
        "import psycopg\n"
        "assert psycopg.Error in database_errors()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
