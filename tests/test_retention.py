"""history.keep_days (core/retention.py) on a real store: nothing is deleted while it is 0, what is older
goes at start, and a change of the setting applies at once on the retention thread."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from desktop_app.core.models import NewConversation, NewMessage, Role
from desktop_app.core.retention import Retention
from desktop_app.core.settings import HISTORY_KEEP_DAYS, Settings
from desktop_app.storage.store import SqlConversationStore

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def fill(store: SqlConversationStore) -> None:
    """One conversation last added to 1, 10, 100 and 1,000 days ago."""
    for age in (1, 10, 100, 1000):
        when = NOW - timedelta(days=age)
        store.import_conversations(
            [NewConversation(f"{age} days", (NewMessage(Role.USER, "hi", created_at=when),), when)]
        )


def titles(store: SqlConversationStore) -> list[str]:
    return [summary.conversation.title for summary in store.list_conversations()]


def test_nothing_is_deleted_while_conversations_are_kept_forever(store: SqlConversationStore, tmp_path) -> None:
    fill(store)
    settings = Settings(tmp_path / "settings.json")
    assert settings.get(HISTORY_KEEP_DAYS) == 0
    assert Retention(store, settings, now=lambda: NOW).apply() == 0
    assert len(titles(store)) == 4


def test_at_start_and_when_the_setting_changes_older_conversations_go(store: SqlConversationStore, tmp_path) -> None:
    fill(store)
    settings = Settings(tmp_path / "settings.json")
    settings.set(HISTORY_KEEP_DAYS, 365)
    retention = Retention(store, settings, now=lambda: NOW, every_s=3600)
    retention.start()
    try:
        deadline = time.monotonic() + 10
        while len(titles(store)) != 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert titles(store) == ["1 days", "10 days", "100 days"]  # applied at start
        settings.set(HISTORY_KEEP_DAYS, 30)  # applied at once, not at the next daily run
        while len(titles(store)) != 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert titles(store) == ["1 days", "10 days"]
    finally:
        retention.close()
    assert [e.actor for e in store.list_audit() if e.action == "old_conversations_deleted"] == ["retention"] * 2
