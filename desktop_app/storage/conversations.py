"""Conversations: starting, naming, listing and deleting them (their messages are in messages.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection, delete, func, insert, literal, select, true, tuple_, update

from desktop_app.core.errors import ErrorCode, NotFoundError, ValidationError
from desktop_app.core.models import Conversation, ConversationSummary
from desktop_app.core.validation import clean_title, parse_id
from desktop_app.storage.audit import write_audit
from desktop_app.storage.handle import DatabaseHandle
from desktop_app.storage.rows import MAX_PAGE, AnyRow, check_limit, conversation_from_row
from desktop_app.storage.schema import conversations, messages, utcnow

PREVIEW_CHARS = 160


def require_conversation(connection: Connection, cid: int, user_id: str) -> AnyRow:
    """The user's conversation `cid`; NotFoundError when there is none (or it is someone else's)."""
    row = connection.execute(
        select(conversations).where(conversations.c.id == cid, conversations.c.user_id == user_id)
    ).first()
    if row is None:
        raise NotFoundError(ErrorCode.UNKNOWN_CONVERSATION, f"There is no conversation {cid}.")
    return row


class ConversationRepository:
    """Writes take `after_commit`, run in commit order, so the cache in front can follow them."""

    def __init__(self, db: DatabaseHandle) -> None:
        self._db = db

    def create(self, title: str | None, after_commit: Callable[[Conversation], None] | None = None) -> Conversation:
        clean = clean_title(title) if title is not None else ""
        now = utcnow()
        user = self._db.user_id

        def job(connection: Connection) -> Conversation:
            new_id = connection.execute(
                insert(conversations)
                .values(user_id=user, title=clean, created_at=now, updated_at=now, message_count=0)
                .returning(conversations.c.id)
            ).scalar_one()
            return Conversation(new_id, clean, now, now, user, 0)

        return self._db.write(job, "start a conversation", after_commit)

    def rename(self, conversation_id: int, title: str) -> Conversation:
        cid = parse_id(conversation_id)
        clean = clean_title(title)

        def job(connection: Connection) -> Conversation:
            row = connection.execute(
                update(conversations)
                .where(conversations.c.id == cid, conversations.c.user_id == self._db.user_id)
                .values(title=clean)
                .returning(*conversations.c)
            ).first()
            if row is None:
                raise NotFoundError(ErrorCode.UNKNOWN_CONVERSATION, f"There is no conversation {cid}.")
            return conversation_from_row(row)

        return self._db.write(job, "rename the conversation")

    def delete(self, conversation_id: int, after_commit: Callable[[int], None] | None = None) -> None:
        """Deletes the conversation and its messages; `after_commit` gets its id."""
        cid = parse_id(conversation_id)

        def job(connection: Connection) -> int:
            deleted = connection.execute(
                delete(conversations).where(conversations.c.id == cid, conversations.c.user_id == self._db.user_id)
            ).rowcount
            if deleted != 1:
                raise NotFoundError(ErrorCode.UNKNOWN_CONVERSATION, f"There is no conversation {cid}.")
            write_audit(connection, "user", "conversation_deleted", str(cid), None)
            return cid

        self._db.write(job, "delete the conversation", after_commit)
        self._db.erase_deleted_text()

    def delete_all(self, after_commit: Callable[[int], None] | None = None) -> int:
        """Deletes every conversation of this user; how many there were."""

        def job(connection: Connection) -> int:
            count = connection.execute(
                delete(conversations).where(conversations.c.user_id == self._db.user_id)
            ).rowcount
            write_audit(connection, "user", "all_conversations_deleted", None, {"count": count})
            return int(count)

        count = self._db.write(job, "delete the conversations", after_commit)
        self._db.erase_deleted_text()
        return count

    def delete_older_than(self, cutoff: datetime, after_commit: Callable[[int], None] | None = None) -> int:
        """Deletes the conversations last added to before `cutoff` (the keep-for rule); how many. Recorded in
        the audit log when there were any."""
        if not isinstance(cutoff, datetime) or cutoff.tzinfo is None:
            raise ValidationError(ErrorCode.INVALID_ARGUMENT, "The cut-off must be a time with its time zone.")

        def job(connection: Connection) -> int:
            count = connection.execute(
                delete(conversations).where(
                    conversations.c.user_id == self._db.user_id, conversations.c.updated_at < cutoff
                )
            ).rowcount
            if count:
                write_audit(connection, "retention", "old_conversations_deleted", None,
                            {"count": count, "before": cutoff.isoformat()})  # fmt: skip
            return int(count)

        count = self._db.write(job, "delete the old conversations", after_commit)
        if count:
            self._db.erase_deleted_text()
        return count

    def get(self, conversation_id: int) -> Conversation:
        cid = parse_id(conversation_id)
        return self._db.read(
            lambda c: conversation_from_row(require_conversation(c, cid, self._db.user_id)), "read the conversation"
        )

    def summaries(
        self, limit: int = 50, offset: int = 0, after: ConversationSummary | None = None
    ) -> list[ConversationSummary]:
        """Newest first, each with the start of its latest message; `after`: the page that follows the one
        ending with that row (found through the index however deep, where an offset reads every row before)."""
        check_limit(limit)
        check_limit(offset, "offset")
        latest = (
            select(func.substr(messages.c.content, 1, PREVIEW_CHARS))
            .where(messages.c.conversation_id == conversations.c.id)
            .order_by(messages.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        statement = (
            select(*conversations.c, latest.label("preview"))
            .where(conversations.c.user_id == self._db.user_id)
            .where(
                true()
                if after is None
                else tuple_(conversations.c.updated_at, conversations.c.id)
                < tuple_(
                    literal(after.conversation.updated_at, conversations.c.updated_at.type),
                    literal(after.conversation.id),
                )
            )
            .order_by(conversations.c.updated_at.desc(), conversations.c.id.desc())
            # One more than a page is allowed, so a caller showing a page can tell whether more follow.
            .limit(min(limit, MAX_PAGE + 1))
            .offset(offset)
        )

        def query(connection: Connection) -> list[ConversationSummary]:
            return [
                ConversationSummary(conversation_from_row(row), " ".join((row.preview or "").split()))
                for row in connection.execute(statement)
            ]

        return self._db.read(query, "list the conversations")
