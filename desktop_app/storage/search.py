"""Full-text search over the messages: FTS5 on SQLite, tsvector on PostgreSQL (queries in fulltext.py)."""

from __future__ import annotations

from sqlalchemy import Connection, text

from desktop_app.core.errors import ErrorCode, ValidationError
from desktop_app.core.models import Role, SearchHit
from desktop_app.storage import fulltext
from desktop_app.storage.handle import DatabaseHandle
from desktop_app.storage.rows import MAX_PAGE, check_limit
from desktop_app.storage.schema import messages

_SEARCH = {
    name: text(sql).columns(created_at=messages.c.created_at.type)
    for name, sql in (
        ("ranked_first", fulltext.SQLITE_SEARCH_RANKED_FIRST),
        ("exact", fulltext.SQLITE_SEARCH_EXACT),
        ("postgres", fulltext.POSTGRES_SEARCH),
    )
}


class MessageSearch:
    def __init__(self, db: DatabaseHandle) -> None:
        self._db = db

    def search(self, query: str, limit: int = 20, prefix: bool = False) -> list[SearchHit]:
        """Ranked full-text matches, best first, each with the matching passage marked [like this].

        Every word must match; with `prefix` the last one may be the start of a word (search as you type).
        """
        check_limit(limit)
        if not isinstance(query, str):
            raise ValidationError(ErrorCode.INVALID_ARGUMENT, "The search must be text.")
        page = min(limit, MAX_PAGE)
        if page == 0:
            return []
        params: dict[str, object] = {"user": self._db.user_id, "limit": page}
        if self._db.is_sqlite:
            params["q"] = fulltext.sqlite_match_expression(query, prefix)
            params["overfetch"] = max(page * fulltext.OVERFETCH_FACTOR, 50)
            statements = [_SEARCH["ranked_first"], _SEARCH["exact"]]
        else:
            params["q"] = fulltext.postgres_tsquery_text(query, prefix)
            statements = [_SEARCH["postgres"]]

        def run(connection: Connection) -> list[SearchHit]:
            for statement in statements:
                rows = connection.execute(statement, params).all()
                if len(rows) == page:
                    break
            return [
                SearchHit(
                    message_id=row.id,
                    conversation_id=row.conversation_id,
                    conversation_title=row.title,
                    role=Role(row.role),
                    created_at=row.created_at,
                    snippet=row.snippet,
                    score=float(row.score),
                )
                for row in rows
            ]

        return self._db.read(run, "search the conversations")
