"""Remembered facts ("remember that ..."): adding, listing and forgetting them."""

from __future__ import annotations

from sqlalchemy import Connection, delete, insert, select

from desktop_app.core.errors import ErrorCode, NotFoundError
from desktop_app.core.models import Fact
from desktop_app.core.validation import clean_fact, parse_id
from desktop_app.storage.audit import write_audit
from desktop_app.storage.handle import DatabaseHandle
from desktop_app.storage.schema import facts, utcnow


class FactRepository:
    def __init__(self, db: DatabaseHandle) -> None:
        self._db = db

    def add(self, text: str, source_message_id: int | None = None) -> Fact:
        body = clean_fact(text)
        user = self._db.user_id

        def job(connection: Connection) -> Fact:
            now = utcnow()
            new_id = connection.execute(
                insert(facts)
                .values(user_id=user, text=body, created_at=now, source_message_id=source_message_id)
                .returning(facts.c.id)
            ).scalar_one()
            return Fact(new_id, body, now, user)

        return self._db.write(job, "remember that")

    def all(self) -> list[Fact]:
        statement = select(facts).where(facts.c.user_id == self._db.user_id).order_by(facts.c.id)
        return self._db.read(
            lambda c: [Fact(r.id, r.text, r.created_at, r.user_id) for r in c.execute(statement)],
            "read the remembered facts",
        )

    def delete(self, fact_id: int) -> None:
        fid = parse_id(fact_id, "fact")

        def job(connection: Connection) -> None:
            deleted = connection.execute(
                delete(facts).where(facts.c.id == fid, facts.c.user_id == self._db.user_id)
            ).rowcount
            if deleted != 1:
                raise NotFoundError(
                    ErrorCode.UNKNOWN_FACT,
                    f"There is no remembered fact {fid}. `voice-assistant facts list` shows the ones there are.",
                )
            write_audit(connection, "user", "fact_forgotten", str(fid), None)

        self._db.write(job, "forget that")
        self._db.erase_deleted_text(search_index=False)

    def delete_all(self) -> int:
        """Forgets every remembered fact of this user; how many there were."""

        def job(connection: Connection) -> int:
            count = int(connection.execute(delete(facts).where(facts.c.user_id == self._db.user_id)).rowcount)
            write_audit(connection, "user", "all_facts_forgotten", None, {"count": count})
            return count

        count = self._db.write(job, "forget the remembered facts")
        self._db.erase_deleted_text(search_index=False)
        return count
