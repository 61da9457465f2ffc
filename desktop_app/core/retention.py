"""How long conversations are kept (the `history.keep_days` setting): applied when the app starts, once a
day while it runs, and as soon as the setting changes. 0 keeps everything."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from desktop_app.core.ports import ConversationStore
from desktop_app.core.settings import HISTORY_KEEP_DAYS, Settings, Subscription

log = logging.getLogger(__name__)

DAY_S = 24 * 3600.0


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Retention:
    def __init__(
        self,
        store: ConversationStore,
        settings: Settings,
        *,
        now: Callable[[], datetime] = _utcnow,
        every_s: float = DAY_S,
    ) -> None:
        self._store = store
        self._settings = settings
        self._now = now
        self._every_s = every_s
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self._subscription: Subscription | None = None

    def apply(self) -> int:
        """Deletes what is older than the setting allows; how many conversations went."""
        days = self._settings.get(HISTORY_KEEP_DAYS)
        if days == 0:
            return 0
        deleted = self._store.delete_conversations_older_than(self._now() - timedelta(days=days))
        if deleted:
            log.info("deleted %d conversation(s) not added to in %d days (history.keep_days)", deleted, days)
        return deleted

    def start(self) -> None:
        """Applies it now, then once a day and at every change of the setting, on a thread of its own."""
        self._subscription = self._settings.subscribe(HISTORY_KEEP_DAYS, lambda _days: self._wake.set())
        self._thread = threading.Thread(target=self._run, name="history-retention", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._closing.is_set():
            try:
                self.apply()
            except Exception:  # a store that cannot write now is tried again at the next wake
                log.exception("the conversations past history.keep_days could not be deleted")
            self._wake.wait(self._every_s)
            self._wake.clear()

    def close(self) -> None:
        self._closing.set()
        self._wake.set()
        if self._subscription is not None:
            self._subscription.unsubscribe()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5.0)
