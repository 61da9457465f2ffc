"""A listener that keeps every event it is given, for tests to look at and wait on."""

from __future__ import annotations

import threading
from typing import Any


class Recorder:
    def __init__(self) -> None:
        self.events: list[object] = []
        self.changed = threading.Condition()

    def __call__(self, event: object) -> None:
        with self.changed:
            self.events.append(event)
            self.changed.notify_all()

    def of(self, kind: type) -> list[Any]:
        with self.changed:
            return [e for e in self.events if isinstance(e, kind)]

    def kinds(self) -> list[type]:
        with self.changed:
            return [type(e) for e in self.events]

    def wait_for(self, kind: type, count: int = 1, timeout: float = 20.0) -> bool:
        """True once `count` events of `kind` have come, False after `timeout`."""
        with self.changed:
            return self.changed.wait_for(lambda: sum(isinstance(e, kind) for e in self.events) >= count, timeout)
