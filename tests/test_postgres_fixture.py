"""The test-suite's own servers work: a private PostgreSQL with a fresh database per test, and a virtual X
screen."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from pg_server import PostgresServer
from sqlalchemy import create_engine, text

# Names of the per-test databases seen so far, across the parametrized rounds below.
_seen_databases: list[str] = []


def _query(url: str, statement: str) -> object:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(statement)).scalar_one()
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_pg_database_url_is_an_empty_postgresql_database(pg_database_url: str) -> None:
    assert pg_database_url.startswith("postgresql+psycopg://postgres@127.0.0.1:")
    version = _query(pg_database_url, "SELECT version()")
    assert isinstance(version, str)
    assert version.startswith("PostgreSQL")
    assert _query(pg_database_url, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'") == 0


@pytest.mark.postgres
@pytest.mark.parametrize("round_", [1, 2])
def test_each_test_gets_its_own_database(round_: int, pg_database_url: str, postgres_server: PostgresServer) -> None:
    engine = create_engine(pg_database_url)
    try:
        with engine.begin() as connection:
            name = connection.execute(text("SELECT current_database()")).scalar_one()
            # A table left by an earlier round would mean the database was shared.
            assert connection.execute(text("SELECT to_regclass('public.marker')")).scalar_one() is None
            connection.execute(text("CREATE TABLE marker (round integer)"))
            connection.execute(text("INSERT INTO marker VALUES (:round)"), {"round": round_})
    finally:
        engine.dispose()
    assert name not in _seen_databases
    # The earlier rounds' databases were dropped when their tests ended.
    assert not set(_seen_databases) & set(postgres_server.databases())
    _seen_databases.append(name)


@pytest.mark.postgres
def test_two_databases_at_once_are_distinct(pg_database_url: str, postgres_server: PostgresServer) -> None:
    other = postgres_server.create_database()
    try:
        other_url = postgres_server.url(other)
        assert other_url != pg_database_url
        assert _query(other_url, "SELECT current_database()") == other
        assert _query(pg_database_url, "SELECT current_database()") != other
    finally:
        postgres_server.drop_database(other)
    assert other not in postgres_server.databases()


@pytest.mark.postgres
def test_postgres_url_is_shared_by_the_session(postgres_url: str) -> None:
    assert _query(postgres_url, "SELECT current_database()") == "voice_assistant_test"


@pytest.mark.gui
def test_xvfb_display_answers_xdpyinfo(xvfb_display: str) -> None:
    xdpyinfo = shutil.which("xdpyinfo")
    assert xdpyinfo is not None, "xdpyinfo not found: run ./test.sh, which installs x11-utils"
    result = subprocess.run(
        [xdpyinfo, "-display", xvfb_display], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    assert f"name of display:    {xvfb_display}" in result.stdout
    assert "1280x800 pixels" in result.stdout
