"""Core events to Qt signals: workers publish from their own threads, widgets hear them on the main
thread (a signal to an object living on the main thread is queued there by Qt)."""

from __future__ import annotations

from desktop_app.core.events import Event, EventHub
from desktop_app.ui.qt import QObject, Signal


class EventBridge(QObject):
    happened = Signal(object)

    def __init__(self, hub: EventHub) -> None:
        super().__init__()
        self._hub = hub
        hub.subscribe(self._forward)

    def _forward(self, event: Event) -> None:
        self.happened.emit(event)

    def detach(self) -> None:
        self._hub.unsubscribe(self._forward)
