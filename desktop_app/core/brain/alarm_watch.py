"""Announces timers, reminders and alarms when they are due, and, at start-up, those that ran out while the
app was closed ("missed").

Time comes from the caller (`now`), so tests move the clock instead of sleeping. The background thread
sleeps until the next alarm is due, or at most `poll_seconds` (another process may have added one), and
wakes at once when this process sets one: the assistant hands its skills a `WakingAlarmBook`, so whatever
skill adds an alarm wakes the watch, without a list of skills that might.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from desktop_app.core.brain.skill import local_now
from desktop_app.core.brain.skills.timers import timer_name
from desktop_app.core.brain.spoken import clock_phrase, when_phrase
from desktop_app.core.errors import AppError, StorageError
from desktop_app.core.models import Alarm, AlarmKind, AlarmStatus
from desktop_app.core.ports import AlarmBook
from desktop_app.core.reply_source import ReplySource

log = logging.getLogger(__name__)

POLL_SECONDS = 5.0
ALARM_SOURCE = {kind: ReplySource.skill(kind.value) for kind in AlarmKind}


@dataclass(frozen=True, slots=True)
class Announcement:
    text: str
    source: ReplySource
    alarm: Alarm
    missed: bool


def announcement_text(alarm: Alarm, now: datetime, missed: bool) -> str:
    due = alarm.due_at.astimezone(now.tzinfo)
    if alarm.kind is AlarmKind.TIMER:
        if missed:
            return f"While I was closed, {timer_name(alarm)} ran out {when_phrase(due, now)}."
        return f"Time's up: {timer_name(alarm)} is done."
    if alarm.kind is AlarmKind.ALARM:
        named = f"your {alarm.label} alarm" if alarm.label else "your alarm"
        if missed:
            return f"While I was closed, {named} for {clock_phrase(due)} went off {when_phrase(due, now)}."
        return f"It's {clock_phrase(due)}: {named}."
    if missed:
        return f"While I was closed, you had a reminder {when_phrase(due, now)}: {alarm.label}."
    return f"Reminder: {alarm.label}. (Set for {clock_phrase(due)}.)"


class AlarmWatch:
    def __init__(
        self,
        alarms: AlarmBook,
        announce: Callable[[Announcement], None],
        *,
        now: Callable[[], datetime] = local_now,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self._alarms = alarms
        self._announce = announce
        self._now = now
        self._poll = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._told_unmarked: set[int] = set()

    def missed_since_last_run(self) -> list[Announcement]:
        """Alarms that came due while no app was running: claimed as missed and announced."""
        return self._claim_due(AlarmStatus.MISSED, self._now())

    def check(self) -> list[Announcement]:
        """Announces what is due now."""
        return self._claim_due(AlarmStatus.FIRED, self._now())

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="alarm-watch", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """An alarm (of any kind) was just set: look again now rather than after the poll interval."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _claim_due(self, status: AlarmStatus, now: datetime) -> list[Announcement]:
        made: list[Announcement] = []
        for alarm in self._alarms.due(now):
            if not self._claim(alarm, status, now):
                continue  # another process announced it, or this one already did
            missed = status is AlarmStatus.MISSED
            item = Announcement(announcement_text(alarm, now, missed), ALARM_SOURCE[alarm.kind], alarm, missed)
            made.append(item)
            try:
                self._announce(item)
            except Exception:  # one failed announcement must not stop the others
                log.exception("could not announce alarm %d", alarm.id)
        return made

    def _claim(self, alarm: Alarm, status: AlarmStatus, now: datetime) -> bool:
        """Marks the alarm as told, so no other process tells it too. When the store cannot be written (a
        read-only folder, a full disk), it is told anyway, once in this process: better twice than never."""
        try:
            return self._alarms.claim(alarm.id, status, now)
        except StorageError as error:
            if alarm.id in self._told_unmarked:
                return False
            log.warning("alarm %d could not be marked as told: %s", alarm.id, error.message)
            self._told_unmarked.add(alarm.id)
            return True

    def _run(self) -> None:
        while not self._stop.is_set():
            checked_at = self._now()
            try:
                self._claim_due(AlarmStatus.FIRED, checked_at)
                next_due = self._alarms.next_due_at()
            except AppError as error:
                log.warning("alarm check failed: %s", error.message)
                next_due = None
            wait = self._poll
            # One that was already due when checked could not be marked as told (the store cannot be
            # written): looking again at once would spin, so it waits for the next poll. One that came due
            # since the check is looked at at once.
            if next_due is not None and next_due > checked_at:
                wait = min(wait, max(0.0, (next_due - self._now()).total_seconds()))
            self._wake.wait(wait)
            self._wake.clear()


class WakingAlarmBook:
    """An alarm book that calls `on_add` after each alarm added through it (implements AlarmBook)."""

    def __init__(self, book: AlarmBook, on_add: Callable[[], None]) -> None:
        self._book = book
        self._on_add = on_add

    def add(
        self,
        kind: AlarmKind,
        label: str,
        due_at: datetime,
        *,
        duration_seconds: int | None = None,
        conversation_id: int | None = None,
    ) -> Alarm:
        alarm = self._book.add(kind, label, due_at, duration_seconds=duration_seconds, conversation_id=conversation_id)
        self._on_add()  # after the write, so the watch reads the new alarm when it looks
        return alarm

    def pending(self, kind: AlarmKind | None = None) -> list[Alarm]:
        return self._book.pending(kind)

    def due(self, now: datetime) -> list[Alarm]:
        return self._book.due(now)

    def next_due_at(self) -> datetime | None:
        return self._book.next_due_at()

    def claim(self, alarm_id: int, status: AlarmStatus, now: datetime) -> bool:
        return self._book.claim(alarm_id, status, now)

    def cancel(self, alarm_id: int, now: datetime) -> None:
        self._book.cancel(alarm_id, now)
