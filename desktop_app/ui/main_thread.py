"""Calls from worker threads run on the main thread: put on a queue from any thread, drained by a timer.

No Python-side signal is emitted to cross threads (see ui/bridge.py): PySide6's `SignalInstance.emit()`
leaks a reference to `True` on Python 3.11.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable

from desktop_app.ui.qt import QObject, QTimer

log = logging.getLogger(__name__)

DRAIN_INTERVAL_MS = 20


class MainThreadQueue(QObject):
    """`post(fn)` from any thread; `fn()` runs on the main thread at the next drain, in order."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = DRAIN_INTERVAL_MS) -> None:
        super().__init__(parent)
        self._calls: queue.SimpleQueue[Callable[[], object]] = queue.SimpleQueue()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.drain)
        self._timer.start()

    def post(self, call: Callable[[], object]) -> None:
        self._calls.put(call)

    def drain(self) -> None:
        while True:
            try:
                call = self._calls.get_nowait()
            except queue.Empty:
                return
            try:
                call()
            except Exception:  # one failing call must not stop the rest, nor the timer
                log.exception("a call on the main thread failed")

    def stop(self) -> None:
        """Stops draining; calls still waiting are dropped."""
        self._timer.stop()
