"""Collects a voice turn's events for a test to look at."""

from __future__ import annotations

import threading
from typing import Any

from desktop_app.core.events import Event, StateChanged, TurnFailed, TurnFinished, TurnState


class TurnEvents:
    """A pipeline listener: keeps every event; `done` is set when a turn finishes or fails."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.done = threading.Event()

    def __call__(self, event: Event) -> None:
        self.events.append(event)
        if isinstance(event, TurnFinished | TurnFailed):
            self.done.set()

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def states(self) -> list[TurnState]:
        return [e.state for e in self.of(StateChanged)]
