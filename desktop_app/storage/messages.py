"""Messages: checking and saving them (the hot path of every turn) and reading them back."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Dialect, bindparam, func, insert, literal_column, select, update
from sqlalchemy.sql.dml import Insert

from desktop_app.core.errors import ErrorCode, NotFoundError, StorageError, ValidationError
from desktop_app.core.models import Message, NewMessage, Role
from desktop_app.core.validation import (
    check_aware_time,
    clean_content,
    parse_id,
    parse_role,
    title_from_text,
)
from desktop_app.storage.conversations import require_conversation
from desktop_app.storage.handle import DatabaseHandle
from desktop_app.storage.prepared import PreparedStatement
from desktop_app.storage.rows import MAX_PAGE, MESSAGE_COLUMNS, check_limit, message_from_row
from desktop_app.storage.schema import conversations, messages, utcnow

# A question is saved only when there is room for its answer too, so a full disk never leaves a question
# without its answer. A turn is two commits of about ten pages each, and the write-ahead log grows by every
# page written until its next checkpoint: 1 MB is room for several turns.
TURN_ROOM_BYTES = 1024 * 1024
# Token counts fit a 32-bit column on every database the store supports.
MAX_COUNT = 2**31 - 1


@dataclass(frozen=True, slots=True)
class CheckedMessage:
    role: Role
    content: str
    created_at: datetime | None
    tokens_input: int | None
    tokens_output: int | None
    timings: dict[str, float] | None
    source: str | None


def checked_message(message: NewMessage) -> CheckedMessage:
    """Refuses a message before anything is written: role, content, counts, timings, source."""
    if message.created_at is not None:
        check_aware_time(message.created_at, "A message's time")
    if message.source is not None and (not isinstance(message.source, str) or len(message.source) > 120):
        raise ValidationError(ErrorCode.INVALID_ARGUMENT, "The reply source must be text of 120 characters at most.")
    return CheckedMessage(
        role=parse_role(message.role),
        content=clean_content(message.content),
        created_at=message.created_at,
        tokens_input=_check_count(message.tokens_input, "tokens_input"),
        tokens_output=_check_count(message.tokens_output, "tokens_output"),
        timings=_check_timings(message.timings),
        source=message.source,
    )


def message_values(message: CheckedMessage, conversation_id: int, created_at: datetime) -> dict[str, object]:
    """The parameters of `new_message_statement` for one message."""
    return {
        "p_conversation_id": conversation_id,
        "p_role": message.role.value,
        "p_content": message.content,
        "p_created_at": created_at,
        "p_tokens_input": message.tokens_input,
        "p_tokens_output": message.tokens_output,
        "p_timings": message.timings,
        "p_source": message.source,
    }


def new_message_statement() -> Insert:
    """An insert of one message, every value a named parameter (p_<column>)."""
    return insert(messages).values(
        {column.name: bindparam(f"p_{column.name}", type_=column.type) for column in MESSAGE_COLUMNS[1:]}
    )


def _check_count(value: int | None, what: str) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT):
        raise ValidationError(ErrorCode.INVALID_ARGUMENT, f"{what} must be a whole number from 0 to {MAX_COUNT:,}.")
    return value


def _check_timings(timings: Mapping[str, float] | None) -> dict[str, float] | None:
    if timings is None:
        return None
    checked: dict[str, float] = {}
    for key, value in timings.items():
        if not isinstance(key, str) or isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError(ErrorCode.INVALID_ARGUMENT, "Timings must map stage names to numbers.")
        checked[key] = float(value)
    return checked


class _HotStatements:
    """The two statements every added message runs."""

    def __init__(self, dialect: Dialect) -> None:
        self.touch_conversation = PreparedStatement(
            update(conversations)
            .where(conversations.c.id == bindparam("p_id"), conversations.c.user_id == bindparam("p_user"))
            .values(
                updated_at=bindparam("p_now", type_=conversations.c.updated_at.type),
                message_count=conversations.c.message_count + literal_column("1"),
                # The first user message names an untitled conversation.
                title=func.coalesce(func.nullif(conversations.c.title, literal_column("''")), bindparam("p_title")),
            ),
            dialect,
        )
        # SQLite reports the new id on the cursor (RETURNING costs more there); PostgreSQL needs RETURNING.
        self.id_from_cursor = dialect.name == "sqlite"
        new_message = new_message_statement()
        self.insert_message = PreparedStatement(
            new_message if self.id_from_cursor else new_message.returning(messages.c.id), dialect
        )


class MessageRepository:
    def __init__(self, db: DatabaseHandle) -> None:
        self._db = db
        self._hot = _HotStatements(db.engine.dialect)

    def add(
        self,
        conversation_id: int,
        message: NewMessage,
        after_commit: Callable[[Message], None] | None = None,
    ) -> Message:
        """Saves one message; when this returns, it is committed. Bad input raises and writes nothing."""
        cid = parse_id(conversation_id)
        checked = checked_message(message)
        default_title = title_from_text(checked.content) if checked.role is Role.USER else ""
        if checked.role is Role.USER:
            self._check_room_for_turn()
        user = self._db.user_id

        def job(connection: Connection) -> Message:
            now = utcnow()
            touched = self._hot.touch_conversation.execute(
                connection, {"p_id": cid, "p_user": user, "p_now": now, "p_title": default_title}
            ).rowcount
            if touched != 1:
                raise NotFoundError(ErrorCode.UNKNOWN_CONVERSATION, f"There is no conversation {cid}.")
            cursor = self._hot.insert_message.execute(connection, message_values(checked, cid, now))
            try:
                new_id = int(cursor.lastrowid if self._hot.id_from_cursor else cursor.fetchone()[0])  # type: ignore[index]
            finally:
                cursor.close()
            return Message(
                new_id,
                cid,
                checked.role,
                checked.content,
                now,
                checked.tokens_input,
                checked.tokens_output,
                checked.timings,
                checked.source,
            )

        return self._db.write(job, "save the message", after_commit)

    def latest(self, cid: int, limit: int | None) -> list[Message]:
        """The conversation's last `limit` messages (all when None), oldest first."""

        def query(connection: Connection) -> list[Message]:
            require_conversation(connection, cid, self._db.user_id)
            statement = select(*MESSAGE_COLUMNS).where(messages.c.conversation_id == cid).order_by(messages.c.id.desc())
            if limit is not None:
                statement = statement.limit(limit)
            return [message_from_row(row) for row in reversed(connection.execute(statement).all())]

        return self._db.read(query, "read the conversation")

    def newest_id(self, cid: int) -> int | None:
        """The id of the conversation's newest message, one index probe."""
        newest: int | None = self._db.read(
            lambda c: c.scalar(select(func.max(messages.c.id)).where(messages.c.conversation_id == cid)),
            "read the conversation",
        )
        return newest

    def between(
        self, start: datetime, end: datetime, role: Role | None = None, limit: int = 200, newest: bool = False
    ) -> list[Message]:
        """Messages in [start, end), oldest first; with `newest`, the latest `limit` of them (still oldest
        first)."""
        check_limit(limit)
        check_aware_time(start, "The start")
        check_aware_time(end, "The end")
        statement = (
            select(*MESSAGE_COLUMNS)
            .join(conversations, conversations.c.id == messages.c.conversation_id)
            .where(
                conversations.c.user_id == self._db.user_id,
                messages.c.created_at >= start,
                messages.c.created_at < end,
            )
            .order_by(messages.c.id.desc() if newest else messages.c.id)
            .limit(min(limit, MAX_PAGE))
        )
        if role is not None:
            statement = statement.where(messages.c.role == parse_role(role).value)
        found = self._db.read(lambda c: [message_from_row(r) for r in c.execute(statement)], "read the conversations")
        return found[::-1] if newest else found

    def _check_room_for_turn(self) -> None:
        path = self._db.sqlite_path
        if path is None:
            return  # a database server's disk is not ours to measure
        try:
            free = shutil.disk_usage(path.parent).free
        except OSError:
            return  # the write itself will say what is wrong
        if free >= TURN_ROOM_BYTES:
            return
        raise self._db.record_failure(
            StorageError(
                ErrorCode.DISK_FULL,
                f"Could not save the question: the disk is full ({free // 1024} KB free; a question and its "
                "answer need about 1 MB). Free some space; everything saved before this is safe.",
            )
        )
