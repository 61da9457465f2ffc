"""Core events to the widgets, on the main thread.

Workers publish from their own threads into a thread-safe queue; a timer on the main thread drains it
every 20 ms and hands each event to the widgets. No Python object travels through a queued Qt signal:
PySide6 can mis-count references of objects left in such a queue when the app quits (seen as a crash on
exit), and draining in batches also folds the 50-a-second level events into the window's own pace.
"""

from __future__ import annotations

import queue

from desktop_app.core.events import AudioLevel, Event, EventHub
from desktop_app.ui.qt import QObject, QTimer, Signal

DRAIN_INTERVAL_MS = 20


class EventBridge(QObject):
    happened = Signal(object)

    def __init__(self, hub: EventHub) -> None:
        super().__init__()
        self._hub = hub
        self._pending: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self._timer = QTimer(self)
        self._timer.setInterval(DRAIN_INTERVAL_MS)
        self._timer.timeout.connect(self.drain)
        self._timer.start()
        hub.subscribe(self._pending.put)

    def drain(self) -> None:
        """Delivers what arrived since the last call (the latest audio level only)."""
        latest_level: AudioLevel | None = None
        while True:
            try:
                event = self._pending.get_nowait()
            except queue.Empty:
                break
            if isinstance(event, AudioLevel):
                latest_level = event
                continue
            self.happened.emit(event)
        if latest_level is not None:
            self.happened.emit(latest_level)

    def detach(self) -> None:
        self._hub.unsubscribe(self._pending.put)
        self._timer.stop()
