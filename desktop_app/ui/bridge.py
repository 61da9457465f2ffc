"""Core events to the widgets, on the main thread.

Workers publish from their own threads into a thread-safe queue; a timer on the main thread drains it
every 20 ms and calls the window's handlers directly. No event goes through a Python-side
`Signal.emit()`: PySide6-Essentials 6.12.0's `SignalInstance.emit()` returns `True` without taking a
reference, so on Python 3.11 every emit lowers the reference count of `True` until the interpreter aborts
(`bool_dealloc`). Draining in batches also folds the 50-a-second level events into the window's own pace.

Work done off the main thread (a store read, the services starting, a remote command) comes back the same
way: `call_soon(fn)` from any thread runs `fn` on the main thread at the next drain, in order.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable

from desktop_app.core.events import AudioLevel, Event, EventHub
from desktop_app.ui.qt import QObject, QTimer

DRAIN_INTERVAL_MS = 20

EventHandler = Callable[[Event], None]
log = logging.getLogger(__name__)


class EventBridge(QObject):
    def __init__(self, hub: EventHub) -> None:
        super().__init__()
        self._hub = hub
        self._handlers: list[EventHandler] = []
        self._pending: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self._calls: queue.SimpleQueue[Callable[[], object]] = queue.SimpleQueue()
        self._timer = QTimer(self)
        self._timer.setInterval(DRAIN_INTERVAL_MS)
        self._timer.timeout.connect(self.drain)
        self._timer.start()
        hub.subscribe(self._pending.put)

    def add_handler(self, handler: EventHandler) -> None:
        """`handler` is called on the main thread with every event, in the order they happened."""
        self._handlers.append(handler)

    def call_soon(self, call: Callable[[], object]) -> None:
        """Runs `call` on the main thread at the next drain (any thread may ask)."""
        self._calls.put(call)

    def drain(self) -> None:
        """Delivers what arrived since the last call (the latest audio level only), then runs the calls."""
        self._deliver_events()
        while True:
            try:
                call = self._calls.get_nowait()
            except queue.Empty:
                break
            try:
                call()
            except Exception:  # one failing call must not stop the next ones
                log.exception("a call on the main thread failed")

    def _deliver_events(self) -> None:
        latest_level: AudioLevel | None = None
        while True:
            try:
                event = self._pending.get_nowait()
            except queue.Empty:
                break
            if isinstance(event, AudioLevel):
                latest_level = event
                continue
            self._deliver(event)
        if latest_level is not None:
            self._deliver(latest_level)

    def _deliver(self, event: Event) -> None:
        for handler in self._handlers:
            try:
                handler(event)
            except Exception:  # one bad event must not stop the window from showing the next ones
                log.exception("showing %s failed", type(event).__name__)

    def detach(self) -> None:
        self._hub.unsubscribe(self._pending.put)
        self._timer.stop()
