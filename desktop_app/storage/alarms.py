"""Timers and reminders in the database, so they outlive the process that set them.

Several processes may share the file (the window and a `voice-assistant ask` run): an alarm is claimed by
one atomic update from pending, so it is announced once, by whoever sees it due first.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Connection, func, insert, select, update

from desktop_app.core.errors import ErrorCode, NotFoundError, ValidationError
from desktop_app.core.models import MAX_ALARM_LABEL_CHARS, Alarm, AlarmKind, AlarmStatus
from desktop_app.core.validation import check_aware_time, parse_id
from desktop_app.storage.handle import DatabaseHandle
from desktop_app.storage.rows import AnyRow
from desktop_app.storage.schema import alarms, utcnow


def _alarm(row: AnyRow) -> Alarm:
    return Alarm(
        id=row.id,
        kind=AlarmKind(row.kind),
        label=row.label,
        created_at=row.created_at,
        due_at=row.due_at,
        status=AlarmStatus(row.status),
        duration_seconds=row.duration_seconds,
        finished_at=row.finished_at,
        conversation_id=row.conversation_id,
    )


class SqlAlarmBook:
    """Implements core.ports.AlarmBook on the conversation store's database and writer."""

    def __init__(self, db: DatabaseHandle) -> None:
        self._db = db

    def add(
        self,
        kind: AlarmKind,
        label: str,
        due_at: datetime,
        *,
        duration_seconds: int | None = None,
        conversation_id: int | None = None,
    ) -> Alarm:
        kind = AlarmKind(kind)
        clean = " ".join(str(label).split())
        if len(clean) > MAX_ALARM_LABEL_CHARS:
            raise ValidationError(
                ErrorCode.INVALID_ARGUMENT, f"An alarm's name is at most {MAX_ALARM_LABEL_CHARS} characters."
            )
        due = check_aware_time(due_at, "An alarm's time")
        if duration_seconds is not None and (not isinstance(duration_seconds, int) or duration_seconds < 0):
            raise ValidationError(ErrorCode.INVALID_ARGUMENT, "A timer's length must be a whole number of seconds.")
        now = utcnow()
        values = {
            "user_id": self._db.user_id,
            "kind": kind.value,
            "label": clean,
            "created_at": now,
            "due_at": due,
            "duration_seconds": duration_seconds,
            "status": AlarmStatus.PENDING.value,
            "conversation_id": conversation_id,
        }

        def job(connection: Connection) -> Alarm:
            new_id = connection.execute(insert(alarms).values(values).returning(alarms.c.id)).scalar_one()
            return Alarm(new_id, kind, clean, now, due, AlarmStatus.PENDING, duration_seconds, None, conversation_id)

        return self._db.write(job, "set the timer" if kind is AlarmKind.TIMER else "save the reminder")

    def pending(self, kind: AlarmKind | None = None) -> list[Alarm]:
        condition = [alarms.c.kind == AlarmKind(kind).value] if kind is not None else []
        return self._pending_in_order(*condition)

    def due(self, now: datetime) -> list[Alarm]:
        """Pending alarms whose time has come, oldest first."""
        return self._pending_in_order(alarms.c.due_at <= check_aware_time(now, "The time now"))

    def next_due_at(self) -> datetime | None:
        statement = select(func.min(alarms.c.due_at)).where(*self._is_pending())
        # min() keeps the column's type, so the answer comes back aware UTC like every other time.
        due: datetime | None = self._db.read(lambda c: c.scalar(statement), "read the timers")
        return due

    def _is_pending(self) -> tuple[ColumnElement[bool], ...]:
        return alarms.c.status == AlarmStatus.PENDING.value, alarms.c.user_id == self._db.user_id

    def _pending_in_order(self, *conditions: ColumnElement[bool]) -> list[Alarm]:
        """This user's pending alarms that meet `conditions`, soonest first."""
        statement = select(alarms).where(*self._is_pending(), *conditions).order_by(alarms.c.due_at, alarms.c.id)
        return self._db.read(lambda c: [_alarm(row) for row in c.execute(statement)], "read the timers")

    def claim(self, alarm_id: int, status: AlarmStatus, now: datetime) -> bool:
        """Moves a pending alarm to fired, missed or cancelled; False when another process got there first."""
        aid = parse_id(alarm_id, "alarm")
        final = AlarmStatus(status)
        if final is AlarmStatus.PENDING:
            raise ValidationError(ErrorCode.INVALID_ARGUMENT, "An alarm can only be claimed as finished.")
        moment = check_aware_time(now, "The time now")

        def job(connection: Connection) -> bool:
            changed = connection.execute(
                update(alarms)
                .where(alarms.c.id == aid, *self._is_pending())
                .values(status=final.value, finished_at=moment)
            ).rowcount
            return bool(changed == 1)

        return self._db.write(job, "update the timer")

    def cancel(self, alarm_id: int, now: datetime) -> None:
        if not self.claim(alarm_id, AlarmStatus.CANCELLED, now):
            raise NotFoundError(ErrorCode.UNKNOWN_ALARM, f"There is no running timer or reminder {alarm_id}.")
