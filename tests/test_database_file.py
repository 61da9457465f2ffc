"""Start-up with a damaged, unreadable, foreign or newer database file; file permissions."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from desktop_app.app import AppOptions, open_store, resolve_paths
from desktop_app.core.errors import ErrorCode, StorageError
from desktop_app.storage.database import NEEDS_CHECK_SUFFIX
from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _filled(path: Path, messages: int = 5) -> None:
    store = SqlConversationStore.open(sqlite_url(path))
    conversation = store.create_conversation()
    for i in range(messages):
        store.add_message(conversation.id, "user", f"message {i} " + "padding " * 200)
    store.close()


def test_a_file_that_is_not_a_database_is_set_aside_and_a_new_one_started(tmp_path: Path) -> None:
    path = tmp_path / "assistant.db"
    garbage = os.urandom(8192)
    path.write_bytes(garbage)
    store = SqlConversationStore.open(sqlite_url(path))
    try:
        aside = sorted(tmp_path.glob("assistant.db.corrupt-*"))
        assert [p.name for p in aside] and aside[0].read_bytes() == garbage  # kept, byte for byte
        assert store.notices and str(aside[0]) in store.notices[0]
        assert "damaged" in store.notices[0]
        health = store.health()
        assert health.writable and health.notices == store.notices
        conversation = store.create_conversation()  # the new database works
        store.add_message(conversation.id, "user", "fresh start")
        assert store.list_audit()[-1].action == "database_moved_aside"
    finally:
        store.close()


def test_a_database_with_damaged_pages_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "assistant.db"
    _filled(path, messages=40)
    size = path.stat().st_size
    with path.open("r+b") as handle:  # scribble over pages in the middle, keep the header
        handle.seek(4096 * 2)
        handle.write(b"\xa5" * min(4096 * 3, size - 4096 * 2))
    damaged = _digest(path)
    store = SqlConversationStore.open(sqlite_url(path))
    try:
        aside = next(tmp_path.glob("assistant.db.corrupt-*[!lm]"))
        assert _digest(aside) == damaged
        # What could still be read was carried over, and the notice says how much.
        recovered = store.stats().messages_in_db
        assert recovered <= 40
        (notice,) = store.notices
        assert str(aside) in notice and f"{recovered} message" in notice and "recovered" in notice
    finally:
        store.close()


def test_damage_found_while_running_is_checked_at_the_next_start(tmp_path: Path) -> None:
    """Big files skip the full check at start-up; a corruption error met later asks for it next time."""
    path = tmp_path / "assistant.db"
    _filled(path)
    marker = path.with_name(path.name + NEEDS_CHECK_SUFFIX)
    marker.touch()
    store = SqlConversationStore.open(sqlite_url(path))
    store.close()
    assert not marker.exists()  # checked, found sound, marker cleared
    assert not list(tmp_path.glob("*.corrupt-*"))


def test_a_folder_in_place_of_the_database_is_reported_not_moved(tmp_path: Path) -> None:
    path = tmp_path / "assistant.db"
    path.mkdir()
    with pytest.raises(StorageError) as caught:
        SqlConversationStore.open(sqlite_url(path))
    assert caught.value.code is ErrorCode.DB_UNREADABLE
    assert str(path) in caught.value.message
    assert path.is_dir() and not list(tmp_path.glob("*.corrupt-*"))


def test_a_database_from_a_newer_version_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "assistant.db"
    _filled(path)
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE alembic_version SET version_num = '9999'")
    raw.close()
    before = _digest(path)
    listing = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(StorageError) as caught:
        SqlConversationStore.open(sqlite_url(path))
    assert caught.value.code is ErrorCode.DB_NEWER_VERSION
    assert "newer version" in caught.value.message and "9999" in caught.value.message
    assert _digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == listing  # no side files left behind either


def test_another_programs_database_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "assistant.db"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE recipes (id INTEGER PRIMARY KEY, name TEXT)")
    raw.close()
    before = _digest(path)
    with pytest.raises(StorageError) as caught:
        SqlConversationStore.open(sqlite_url(path))
    assert caught.value.code is ErrorCode.DB_UNREADABLE and "recipes" in caught.value.message
    assert _digest(path) == before


def test_data_directories_are_private_and_the_database_file_is_0600(tmp_path: Path) -> None:
    root = tmp_path / "state"
    options = AppOptions(data_dir=str(root))
    paths = resolve_paths(options)
    store = open_store(options, paths)
    try:
        conversation = store.create_conversation()
        store.add_message(conversation.id, "user", "private")
    finally:
        store.close()
    for directory in (paths.data_dir, paths.config_dir, paths.cache_dir, paths.log_dir, paths.models_dir):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    assert paths.database_file == root / "assistant.db"
    for file in root.glob("assistant.db*"):
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file


def test_an_existing_data_directory_keeps_its_permissions_and_new_folders_in_it_are_private(tmp_path: Path) -> None:
    root = tmp_path / "state"
    root.mkdir(mode=0o755)
    os.chmod(root, 0o755)
    paths = resolve_paths(AppOptions(data_dir=str(root)))
    assert stat.S_IMODE(root.stat().st_mode) == 0o755  # the user's folder: its mode is theirs to choose
    for made in (paths.config_dir, paths.cache_dir, paths.log_dir, paths.models_dir):
        assert stat.S_IMODE(made.stat().st_mode) == 0o700, made


def test_the_environment_variable_chooses_the_data_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICE_ASSISTANT_DATA_DIR", str(tmp_path / "from-env"))
    assert resolve_paths(AppOptions()).database_file == tmp_path / "from-env" / "assistant.db"
    assert resolve_paths(AppOptions(data_dir=str(tmp_path / "flag"))).data_dir == tmp_path / "flag"


def test_a_database_locked_by_another_program_is_reported_not_moved(tmp_path: Path) -> None:
    path = tmp_path / "assistant.db"
    _filled(path)
    holder = sqlite3.connect(path)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StorageError) as caught:
            SqlConversationStore.open(sqlite_url(path))
        assert caught.value.code is ErrorCode.DB_BUSY
        assert "busy" in caught.value.message and "another program" in caught.value.message
        assert not list(tmp_path.glob("*.corrupt-*"))
    finally:
        holder.rollback()
        holder.close()
    reopened = SqlConversationStore.open(sqlite_url(path))
    try:
        assert reopened.stats().messages_in_db == 5
    finally:
        reopened.close()
