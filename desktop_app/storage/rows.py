"""What the repositories share about rows: the message columns, rows as core dataclasses, page limits."""

from __future__ import annotations

from typing import Any, TypeAlias

from sqlalchemy import Row

from desktop_app.core.errors import ErrorCode, ValidationError
from desktop_app.core.models import Conversation, Message, Role
from desktop_app.storage.schema import messages

# A result row of any shape; its columns are read by name.
AnyRow: TypeAlias = Row[*tuple[Any, ...]]

# The most rows one read returns, whatever limit the caller asks for.
MAX_PAGE = 1000

MESSAGE_COLUMNS = (
    messages.c.id,
    messages.c.conversation_id,
    messages.c.role,
    messages.c.content,
    messages.c.created_at,
    messages.c.tokens_input,
    messages.c.tokens_output,
    messages.c.timings,
    messages.c.source,
)


def message_from_row(row: AnyRow) -> Message:
    return Message(
        id=row.id,
        conversation_id=row.conversation_id,
        role=Role(row.role),
        content=row.content,
        created_at=row.created_at,
        tokens_input=row.tokens_input,
        tokens_output=row.tokens_output,
        timings=row.timings,
        source=row.source,
    )


def conversation_from_row(row: AnyRow) -> Conversation:
    return Conversation(
        id=row.id,
        title=row.title,
        created_at=row.created_at,
        updated_at=row.updated_at,
        user_id=row.user_id,
        message_count=row.message_count,
    )


def check_limit(limit: int | None, what: str = "limit") -> None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValidationError(ErrorCode.INVALID_ARGUMENT, f"The {what} must be a whole number of at least 0.")
