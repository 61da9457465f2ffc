"""Per-key limits hold when several processes (each with its own connection) ask at the same moment, on
SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from desktop_app.core.brain.language_model import limit_check
from desktop_app.core.errors import AppError, ErrorCode
from desktop_app.storage.engine import sqlite_url
from desktop_app.storage.store import SqlConversationStore

PER_MINUTE = 5
CALLERS = 4
TRIES_EACH = 5


def _race(url: str) -> tuple[int, int]:
    """CALLERS stores on one database each try TRIES_EACH requests at once; returns (counted, refused)."""
    first = SqlConversationStore.open(url)
    key = first.keys.add_key("work", "test", None, "api-key:work", "f", requests_per_minute=PER_MINUTE)
    stores = [first, *(SqlConversationStore.open(url) for _ in range(CALLERS - 1))]
    start = threading.Barrier(CALLERS)
    counted: list[int] = []
    refused: list[AppError] = []
    lock = threading.Lock()

    def ask(store: SqlConversationStore) -> None:
        start.wait()
        for _ in range(TRIES_EACH):
            now = datetime.now(UTC)
            try:
                usage_id = store.keys.begin_request(key.id, "m", now, now - timedelta(hours=1), limit_check(key))
            except AppError as error:
                with lock:
                    refused.append(error)
            else:
                with lock:
                    counted.append(usage_id)

    threads = [threading.Thread(target=ask, args=(store,)) for store in stores]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        for store in stores:
            store.close()
    assert all(error.code is ErrorCode.KEY_LIMIT_REACHED for error in refused)
    return len(counted), len(refused)


def test_the_per_minute_limit_holds_across_connections_on_sqlite(tmp_path: Path) -> None:
    assert _race(sqlite_url(tmp_path / "assistant.db")) == (PER_MINUTE, CALLERS * TRIES_EACH - PER_MINUTE)


@pytest.mark.postgres
def test_the_per_minute_limit_holds_across_connections_on_postgresql(pg_database_url: str) -> None:
    assert _race(pg_database_url) == (PER_MINUTE, CALLERS * TRIES_EACH - PER_MINUTE)
