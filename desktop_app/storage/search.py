"""Full-text search over the messages: FTS5 on SQLite, tsvector on PostgreSQL (queries in fulltext.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, text
from sqlalchemy.sql.expression import TextualSelect

from desktop_app.core.errors import ErrorCode, ValidationError
from desktop_app.core.models import Role, SearchFilter, SearchHit, SearchPage
from desktop_app.core.reply_source import ReplySource
from desktop_app.core.search_terms import has_words
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


# A page looks at the index's matches a window at a time, newest first; it stops after this many, with
# what it found and where to go on, so a filter that keeps few matches never holds a page up for long.
WINDOW = 200
MOST_EXAMINED_PER_PAGE = 5_000
NEWEST = 2**62  # `before` for the first page: above every message id
# Without words, a page walks the messages by id, newest first, this many ids at a time, and looks at no more
# than MOST_IDS_PER_PAGE of them (a filter that keeps few messages goes on at the next page).
ID_WINDOW = 20_000
MOST_IDS_PER_PAGE = 400_000
PASSAGE_CHARS = 160
_FILTERED_WINDOW = (
    f"SELECT {fulltext.HIT_COLUMNS}, substr(m.content, 1, {PASSAGE_CHARS}) AS snippet "
    "FROM messages m JOIN conversations c ON c.id = m.conversation_id "
    "WHERE m.id < :before AND m.id >= :floor AND c.user_id = :user {filters} ORDER BY m.id DESC LIMIT :limit"
)


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
            return [_hit(row, float(row.score)) for row in rows]

        return self._db.read(run, "search the conversations")

    def search_page(
        self,
        query: str,
        *,
        prefix: bool = False,
        before: int | None = None,
        limit: int = 50,
        filters: SearchFilter | None = None,
    ) -> SearchPage:
        """Messages that match every word, newest first (by the order they were kept), each with the matching
        passage marked [like this]; `before`: the page after the one whose `next_before` this is. However
        common the words, a page never ranks or joins more than the matches it looks at. A query without
        words lists the messages the filters keep (every message without filters), each with its start."""
        check_limit(limit)
        if not isinstance(query, str):
            raise ValidationError(ErrorCode.INVALID_ARGUMENT, "The search must be text.")
        if before is not None and (isinstance(before, bool) or not isinstance(before, int) or before < 1):
            raise ValidationError(ErrorCode.INVALID_ARGUMENT, "Where the page starts must be a message id.")
        chosen = filters or SearchFilter()
        if chosen.since is not None and chosen.until is not None and chosen.until <= chosen.since:
            raise ValidationError(ErrorCode.INVALID_ARGUMENT, "The search's date range ends before it starts.")
        page = min(limit, MAX_PAGE)
        start = NEWEST if before is None else before
        if page == 0 or chosen.origins == frozenset():
            return SearchPage((), None)
        filter_sql, filter_params = _filter_clause(chosen)
        params: dict[str, object] = {"user": self._db.user_id, **filter_params}
        if not has_words(query):
            statement = _typed(_FILTERED_WINDOW.format(filters=filter_sql), chosen)
            return self._db.read(
                lambda connection: _filtered_page(connection, statement, params, start, page), "list the messages"
            )
        if self._db.is_sqlite:
            params["q"] = fulltext.sqlite_match_expression(query, prefix)
            hits_statement = _typed(fulltext.SQLITE_WINDOW_HITS.format(filters=filter_sql), chosen)
            return self._db.read(
                lambda connection: _sqlite_page(connection, hits_statement, params, start, page),
                "search the conversations",
            )
        params["q"] = fulltext.postgres_tsquery_text(query, prefix)
        statement = _typed(fulltext.POSTGRES_PAGE.format(filters=filter_sql), chosen)

        def postgres_page(connection: Connection) -> SearchPage:
            rows = connection.execute(statement, {**params, "before": start, "window": page + 1}).all()
            hits = tuple(_hit(row) for row in rows[:page])
            return SearchPage(hits, hits[-1].message_id if len(rows) > page else None)

        return self._db.read(postgres_page, "search the conversations")


def _sqlite_page(
    connection: Connection, hits_statement: TextualSelect, params: dict[str, object], start: int, page: int
) -> SearchPage:
    """Windows of WINDOW matches, newest first: the first finds where the window ends, the second joins,
    filters and marks the passages of just those."""
    hits: list[SearchHit] = []
    before = start
    examined = 0
    floor_statement = text(fulltext.SQLITE_WINDOW_FLOOR)
    while True:
        window = connection.execute(floor_statement, {"q": params["q"], "before": before, "window": WINDOW}).one()
        if not window.found:
            return SearchPage(tuple(hits), None)
        rows = connection.execute(hits_statement, {**params, "before": before, "floor": window.floor}).all()
        for row in rows:
            hits.append(_hit(row))
            if len(hits) == page:
                return SearchPage(tuple(hits), row.id)
        examined += window.found
        if window.found < WINDOW:
            return SearchPage(tuple(hits), None)  # the index has no older match
        before = window.floor
        if examined >= MOST_EXAMINED_PER_PAGE:
            return SearchPage(tuple(hits), before)  # more may come: the caller asks for the next page


def _filtered_page(
    connection: Connection, statement: TextualSelect, params: dict[str, object], start: int, page: int
) -> SearchPage:
    """Windows of ID_WINDOW message ids, newest first, from the newest message below `start`."""
    newest = connection.execute(text("SELECT max(id) FROM messages WHERE id < :before"), {"before": start}).scalar()
    if newest is None:
        return SearchPage((), None)
    hits: list[SearchHit] = []
    before = int(newest) + 1
    while before > 1:
        floor = max(1, before - ID_WINDOW)
        rows = connection.execute(statement, {**params, "before": before, "floor": floor, "limit": page - len(hits)})
        hits += [_hit(row) for row in rows]
        if len(hits) == page:
            return SearchPage(tuple(hits), hits[-1].message_id)
        before = floor
        if int(newest) + 1 - before >= MOST_IDS_PER_PAGE:
            return SearchPage(tuple(hits), before)  # more may come: the caller asks for the next page
    return SearchPage(tuple(hits), None)


def _filter_clause(chosen: SearchFilter) -> tuple[str, dict[str, Any]]:
    """The SQL that keeps the filter's messages, with its parameters (bound, never spliced in)."""
    parts: list[str] = []
    params: dict[str, Any] = {}
    if chosen.since is not None:
        parts.append("AND m.created_at >= :since")
        params["since"] = chosen.since
    if chosen.until is not None:
        parts.append("AND m.created_at < :until")
        params["until"] = chosen.until
    if chosen.origins is not None:
        either: list[str] = []
        for index, origin in enumerate(sorted(chosen.origins)):
            if origin is Role.USER:
                either.append("m.role = 'user'")
            elif isinstance(origin, Role):
                raise ValidationError(ErrorCode.INVALID_ARGUMENT, f"{origin} is not an origin of messages to keep.")
            else:
                either.append(f"m.source LIKE :origin_{index}")
                params[f"origin_{index}"] = f"{origin.value}:%"
        parts.append(f"AND ({' OR '.join(either)})")
    return " ".join(parts), params


def _typed(sql: str, chosen: SearchFilter) -> TextualSelect:
    """The statement, its dates bound and read back as the store's timestamps."""
    dates = [name for name, value in (("since", chosen.since), ("until", chosen.until)) if value is not None]
    statement = text(sql).bindparams(*(bindparam(name, type_=messages.c.created_at.type) for name in dates))
    return statement.columns(created_at=messages.c.created_at.type)


def _hit(row: Any, score: float = 0.0) -> SearchHit:
    """A row of the search queries (fulltext.HIT_COLUMNS and the passage) as a hit."""
    return SearchHit(
        message_id=row.id,
        conversation_id=row.conversation_id,
        conversation_title=row.title,
        role=Role(row.role),
        created_at=row.created_at,
        snippet=row.snippet,
        score=score,
        source=ReplySource.parse(row.source),
    )
