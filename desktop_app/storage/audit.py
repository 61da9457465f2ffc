"""The audit log: what was deleted or changed, by whom and when."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, insert, select

from desktop_app.core.models import AuditEntry
from desktop_app.storage.handle import DatabaseHandle
from desktop_app.storage.rows import MAX_PAGE, check_limit
from desktop_app.storage.schema import audit_log, utcnow


def write_audit(
    connection: Connection, actor: str, action: str, target: str | None, details: dict[str, Any] | None
) -> None:
    """Adds an entry inside the caller's transaction, so the entry and the change commit together."""
    connection.execute(
        insert(audit_log).values(at=utcnow(), actor=actor, action=action, target=target, details=details)
    )


class AuditLog:
    def __init__(self, db: DatabaseHandle) -> None:
        self._db = db

    def record(
        self,
        action: str,
        target: str | None = None,
        details: Mapping[str, Any] | None = None,
        actor: str = "user",
    ) -> None:
        self._db.write(
            lambda connection: write_audit(connection, actor, action, target, dict(details) if details else None),
            "write the audit log",
        )

    def entries(self, limit: int = 100) -> list[AuditEntry]:
        check_limit(limit)
        statement = select(audit_log).order_by(audit_log.c.id.desc()).limit(min(limit, MAX_PAGE))
        return self._db.read(
            lambda c: [AuditEntry(r.id, r.at, r.actor, r.action, r.target, r.details) for r in c.execute(statement)],
            "read the audit log",
        )
