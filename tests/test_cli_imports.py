"""Each command line loads only what it uses: `--version` nothing of the app, `ask` on SQLite neither the
PostgreSQL driver nor numpy nor Qt, and alembic only when the database needs an upgrade. Checked on the
real command (`python -m desktop_app`) with Python's import log (PYTHONPROFILEIMPORTTIME); how fast it
starts is bench/startup.py's business, not a test's."""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from cli_runner import REPO_ROOT, Run, cli, ok

from desktop_app.cli.arguments import Runs
from desktop_app.cli.main import run
from desktop_app.cli.parser import build_parser
from desktop_app.cli.parser_store import EXPORT_FORMATS
from desktop_app.core.export import ExportFormat
from desktop_app.storage.engine import create_store_engine, sqlite_url
from desktop_app.storage.migrate import alembic_config, current_revision, head_revision

_IMPORTED = re.compile(r"^import time:\s+\d+ \|\s+\d+ \| +(\S+)$", re.MULTILINE)
# Never needed by a command that is not the window, the recogniser or a PostgreSQL store.
HEAVY = {"sqlalchemy", "sqlalchemy.orm", "alembic", "psycopg", "numpy", "PySide6", "hassil", "httpx", "keyring"}
QUESTION = "what is two plus two"


def imported(run: Run) -> set[str]:
    """Every module the command imported, from its import log on stderr."""
    return set(_IMPORTED.findall(run.err))


def logged(*args: str) -> tuple[Run, set[str]]:
    run = ok(cli(*args, env={"PYTHONPROFILEIMPORTTIME": "1"}))
    return run, imported(run)


def test_version_loads_nothing_of_the_command_line() -> None:
    run, modules = logged("--version")
    assert run.out.startswith("voice-assistant ")
    assert not modules & HEAVY
    assert not {"desktop_app.cli.main", "desktop_app.cli.parser", "desktop_app.paths", "argparse"} & modules


def test_ask_on_a_new_sqlite_database_loads_no_driver_numpy_qt_or_alembic(tmp_path: Path) -> None:
    run, modules = logged("--data-dir", str(tmp_path / "new"), "ask", QUESTION)
    assert run.out == "Two plus two is 4.\n"
    assert not modules & {"psycopg", "numpy", "PySide6", "alembic", "sqlalchemy.orm", "httpx", "keyring"}
    # The skills' templates are parsed when a question is matched: hassil is loaded for it.
    assert {"sqlalchemy", "hassil"} <= modules

    again, modules = logged("--data-dir", str(tmp_path / "new"), "ask", QUESTION)
    assert again.out == "Two plus two is 4.\n"
    assert "alembic" not in modules


def test_ask_on_an_older_database_loads_alembic_to_upgrade_it(tmp_path: Path) -> None:
    database = tmp_path / "data" / "assistant.db"
    database.parent.mkdir(mode=0o700)
    engine = create_store_engine(sqlite_url(database))
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0002")

        run, modules = logged("--data-dir", str(database.parent), "ask", QUESTION)

        assert run.out == "Two plus two is 4.\n"
        assert "alembic" in modules and "psycopg" not in modules
        with engine.connect() as connection:
            assert current_revision(connection) == head_revision()
    finally:
        engine.dispose()


def test_commands_without_the_store_load_no_database(data_dir: Path) -> None:
    for args in (["settings", "list"], ["settings", "set", "voice.rate", "200"]):
        _, modules = logged("--data-dir", str(data_dir), *args)
        assert not modules & HEAVY, args
        assert not any(name.startswith("desktop_app.storage") for name in modules), args
    assert not (data_dir / "assistant.db").exists()


def test_commands_on_the_store_load_no_templates_parser_or_migrations(data_dir: Path) -> None:
    ok(cli("--data-dir", str(data_dir), "ask", QUESTION))
    for args in (["history", "list"], ["facts", "list"], ["history", "export", "--format", "json"]):
        _, modules = logged("--data-dir", str(data_dir), *args)
        assert "sqlalchemy" in modules
        assert not modules & (HEAVY - {"sqlalchemy"}), args


def test_building_the_parser_imports_no_command() -> None:
    code = (
        "import json, sys\n"
        "from desktop_app.cli.parser import build_parser\n"
        "build_parser()\n"
        "print(json.dumps(sorted(name for name in sys.modules if name.startswith('desktop_app.cli.'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=True, timeout=60
    )
    loaded = set(json.loads(done.stdout))
    commands = {"ask", "desktop", "facts", "history", "keys", "models", "settings", "setup", "transcribe"}
    assert not {f"desktop_app.cli.{name}" for name in commands} & loaded


def _every_runs(parser: argparse.ArgumentParser) -> list[Runs]:
    found = [value for value in parser._defaults.values() if isinstance(value, Runs)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                sub.format_help()  # a command's arguments are declared when it parses or shows its help
                found += _every_runs(sub)
    return found


def test_every_declared_command_names_a_function_that_exists() -> None:
    runs = _every_runs(build_parser())
    assert len(runs) == 23
    for target in runs:
        assert callable(getattr(importlib.import_module(target.module), target.function)), target


def test_the_export_formats_offered_are_the_ones_written() -> None:
    assert list(EXPORT_FORMATS) == [f.value for f in ExportFormat]


def test_a_command_that_ends_the_process_leaves_the_collector_on(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        assert run(["--data-dir", str(data_dir), "settings", "list"], process_ends=True) == 0
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0  # what was loaded is left for the exit
    finally:
        gc.unfreeze()
        gc.enable()
    assert "voice.rate" in capsys.readouterr().out


def test_the_window_starts_with_the_collector_on_and_nothing_set_aside(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import desktop_app.app

    seen: list[tuple[bool, int]] = []

    def fake_run_gui(options: desktop_app.app.AppOptions) -> int:
        seen.append((gc.isenabled(), gc.get_freeze_count()))
        return 0

    monkeypatch.setattr(desktop_app.app, "run_gui", fake_run_gui)
    monkeypatch.setattr(desktop_app.app, "configure_logging", lambda paths, verbose=False: None)
    try:
        assert run(["--data-dir", str(tmp_path / "d")], process_ends=True) == 0
    finally:
        gc.enable()
    assert seen == [(True, 0)]
