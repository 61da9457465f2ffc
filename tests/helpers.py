"""Small helpers shared by the storage tests."""

from __future__ import annotations

from pathlib import Path

from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore


def open_sqlite_store(path: Path) -> SqlConversationStore:
    return SqlConversationStore.open(sqlite_url(path))
