"""The events of the last turns, kept in memory and written to the log when one fails, so "it didn't hear me"
can be answered from the log: when the key went down and up, how much preroll there was, what was heard,
which stage failed and how long each took.

What people said and were told is logged only as its length unless content logging is on (core.privacy).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import deque
from enum import Enum

from desktop_app.core.errors import ErrorCode
from desktop_app.core.events import AudioLevel, Event, TurnFailed, TurnStarted
from desktop_app.core.privacy import for_log

TURNS_KEPT = 20
EVENTS_PER_TURN = 200  # a long answer streams many chunks; the first ones and the end say enough
# Failures the user asked for are not faults: they are not worth the log's space.
NOT_FAULTS = frozenset({ErrorCode.TURN_CANCELLED})
# Fields that hold what people said or were told.
_CONTENT_FIELDS = frozenset({"text", "message"})

log = logging.getLogger(__name__)


class TurnDiary:
    def __init__(self, turns_kept: int = TURNS_KEPT) -> None:
        self._turns: deque[deque[Event]] = deque(maxlen=turns_kept)
        self._lock = threading.Lock()

    def record(self, event: Event) -> None:
        """Keeps `event` (levels are not kept: fifty a second, and stale at once); a failure writes the diary
        to the log."""
        if isinstance(event, AudioLevel):
            return
        with self._lock:
            if isinstance(event, TurnStarted) or not self._turns:
                self._turns.append(deque(maxlen=EVENTS_PER_TURN))
            self._turns[-1].append(event)
        if isinstance(event, TurnFailed) and event.code not in NOT_FAULTS:
            self.write_to_log(f"a turn failed ({event.code})")

    def turns(self) -> list[list[Event]]:
        with self._lock:
            return [list(turn) for turn in self._turns]

    def write_to_log(self, why: str) -> None:
        turns = self.turns()
        if not turns:
            return
        origin = turns[0][0].at
        lines = [f"{why}: the last {len(turns)} turns, times in ms from the first event"]
        for number, turn in enumerate(turns, 1):
            lines.extend(f"  turn -{len(turns) - number}: {describe(event, origin)}" for event in turn)
        log.warning("\n".join(lines))


def describe(event: Event, origin: float) -> str:
    """One line for an event: its kind, its time and its fields, with people's words only as their length."""
    parts = []
    for field in dataclasses.fields(event):
        if field.name == "at":
            continue
        value = getattr(event, field.name)
        if field.name in _CONTENT_FIELDS:
            shown = for_log(value)
        elif isinstance(value, Enum):
            shown = str(value.value)
        else:
            shown = repr(value)
        parts.append(f"{field.name}={shown}")
    return f"{(event.at - origin) * 1000:9.1f} {type(event).__name__} {' '.join(parts)}"
