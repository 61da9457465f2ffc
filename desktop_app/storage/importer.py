"""Adding whole conversations at once (an import, a restore), in batches of one transaction each."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import partial

from sqlalchemy import Connection, insert

from desktop_app.core.models import NewConversation
from desktop_app.core.validation import clean_title, is_blank
from desktop_app.storage.handle import DatabaseHandle
from desktop_app.storage.messages import CheckedMessage, checked_message, message_values, new_message_statement
from desktop_app.storage.prepared import PreparedStatement
from desktop_app.storage.schema import conversations, utcnow

_Batch = list[tuple[str, datetime, list[CheckedMessage]]]


class ConversationImporter:
    def __init__(self, db: DatabaseHandle) -> None:
        self._db = db
        self._insert_messages = PreparedStatement(new_message_statement(), db.engine.dialect)

    def import_conversations(self, items: Iterable[NewConversation], batch_size: int = 500) -> int:
        """Adds whole conversations, `batch_size` per transaction.

        Every message of a batch is checked before the batch is written; a bad one refuses its batch and
        those after it, keeping those committed before. Returns the number of messages added.
        """
        added = 0
        batch: _Batch = []
        for item in items:
            checked = [checked_message(message) for message in item.messages]
            title = clean_title(item.title) if not is_blank(item.title) else ""
            created = item.created_at or (checked[0].created_at if checked and checked[0].created_at else utcnow())
            batch.append((title, created, checked))
            if len(batch) >= batch_size:
                added += self._db.write(partial(self._import_batch, batch=batch), "import the conversations")
                batch = []
        if batch:
            added += self._db.write(partial(self._import_batch, batch=batch), "import the conversations")
        return added

    def _import_batch(self, connection: Connection, batch: _Batch) -> int:
        rows = []
        for title, created, checked in batch:
            times = [m.created_at or created for m in checked]
            rows.append(
                {
                    "user_id": self._db.user_id,
                    "title": title,
                    "created_at": created,
                    "updated_at": max(times, default=created),
                    "message_count": len(checked),
                }
            )
        ids = (
            connection.execute(insert(conversations).returning(conversations.c.id, sort_by_parameter_order=True), rows)
            .scalars()
            .all()
        )
        message_rows = [
            message_values(m, cid, m.created_at or created)
            for cid, (_, created, checked) in zip(ids, batch, strict=True)
            for m in checked
        ]
        if message_rows:
            self._insert_messages.executemany(connection, message_rows)
        return len(message_rows)
