"""Full-text search over message content: SQLite FTS5 kept in sync by triggers; PostgreSQL text search."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from desktop_app.core.search_terms import is_word_start, query_words
from desktop_app.storage.engine import is_damage

FTS_TABLE = "messages_fts"

SQLITE_DDL = (
    # External-content table: the text lives once, in messages; FTS5 keeps only the index.
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5("
    "content, content='messages', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')",
    f"CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN "
    f"INSERT INTO {FTS_TABLE}(rowid, content) VALUES (new.id, new.content); END",
    f"CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, content) VALUES ('delete', old.id, old.content); END",
    f"CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, content) VALUES ('delete', old.id, old.content); "
    f"INSERT INTO {FTS_TABLE}(rowid, content) VALUES (new.id, new.content); END",
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS messages_fts_update",
    "DROP TRIGGER IF EXISTS messages_fts_delete",
    "DROP TRIGGER IF EXISTS messages_fts_insert",
    f"DROP TABLE IF EXISTS {FTS_TABLE}",
)

PG_INDEX = "ix_messages_content_tsv"
POSTGRES_DDL = (f"CREATE INDEX {PG_INDEX} ON messages USING gin (to_tsvector('english', content))",)
POSTGRES_DROP = (f"DROP INDEX IF EXISTS {PG_INDEX}",)

# Objects that belong to search, not to the models; the schema comparison leaves them out.
SEARCH_OBJECT_NAMES = frozenset({FTS_TABLE, PG_INDEX}) | {
    f"{FTS_TABLE}_{suffix}" for suffix in ("data", "idx", "content", "docsize", "config")
}


def create(connection: Connection) -> None:
    statements = SQLITE_DDL if connection.dialect.name == "sqlite" else POSTGRES_DDL
    for statement in statements:
        connection.exec_driver_sql(statement)


def drop(connection: Connection) -> None:
    statements = SQLITE_DROP if connection.dialect.name == "sqlite" else POSTGRES_DROP
    for statement in statements:
        connection.exec_driver_sql(statement)


def sqlite_index_problem(connection: Connection) -> str | None:
    """FTS5's own check of the index against the messages. SQLite's integrity check reads pages, not the
    index's records: damage inside them passes it and still breaks every later insert."""
    try:
        connection.exec_driver_sql(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('integrity-check')")
    except DBAPIError as error:
        if not is_damage(error):
            raise
        return str(error.orig)
    return None


def sqlite_repair(connection: Connection) -> str | None:
    """Checks the index and, when it is damaged, builds it anew; returns what was wrong, or None."""
    problem = sqlite_index_problem(connection)
    if problem is not None:
        sqlite_rebuild(connection)
    return problem


def sqlite_rebuild(connection: Connection) -> None:
    """Builds the index anew from the messages, which hold the text (an external-content index keeps none).
    Its tables are dropped and made again rather than rebuilt in place: a damaged record can stop FTS5's
    own `rebuild`, which reads the old index first."""
    drop(connection)
    create(connection)
    connection.exec_driver_sql(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")


def create_ddl_listener(target: Any, connection: Connection, **_: Any) -> None:
    create(connection)


HIT_COLUMNS = "m.id, m.conversation_id, c.title, m.role, m.created_at AS created_at, m.source"

# Ranked inside the full-text index first, then joined: a common word can match tens of thousands of
# messages, and joining each of them before ranking costs more than the ranking. The over-fetch leaves room
# for the user filter; when it leaves fewer than asked for, the exact query below runs instead.
SQLITE_SEARCH_RANKED_FIRST = (
    f"SELECT {HIT_COLUMNS}, f.snippet, f.score FROM ("
    f"SELECT rowid, snippet({FTS_TABLE}, 0, '[', ']', '…', 12) AS snippet, -bm25({FTS_TABLE}) AS score "
    f"FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :q ORDER BY rank LIMIT :overfetch) f "
    "JOIN messages m ON m.id = f.rowid JOIN conversations c ON c.id = m.conversation_id "
    "WHERE c.user_id = :user ORDER BY f.score DESC, m.id DESC LIMIT :limit"
)
SQLITE_SEARCH_EXACT = (
    f"SELECT {HIT_COLUMNS}, snippet({FTS_TABLE}, 0, '[', ']', '…', 12) AS snippet, -bm25({FTS_TABLE}) AS score "
    f"FROM {FTS_TABLE} JOIN messages m ON m.id = {FTS_TABLE}.rowid "
    "JOIN conversations c ON c.id = m.conversation_id "
    f"WHERE {FTS_TABLE} MATCH :q AND c.user_id = :user "
    f"ORDER BY bm25({FTS_TABLE}), m.id DESC LIMIT :limit"
)
POSTGRES_SEARCH = (
    f"SELECT {HIT_COLUMNS}, "
    "ts_headline('english', m.content, q, "
    "'StartSel=[, StopSel=], MaxWords=18, MinWords=6, MaxFragments=1, FragmentDelimiter=…') AS snippet, "
    # Normalised by document length, so one mention in a long message ranks below a short exact one.
    "ts_rank_cd(to_tsvector('english', m.content), q, 1) AS score "
    "FROM messages m JOIN conversations c ON c.id = m.conversation_id, to_tsquery('english', :q) q "
    "WHERE to_tsvector('english', m.content) @@ q AND c.user_id = :user "
    "ORDER BY score DESC, m.id DESC LIMIT :limit"
)
OVERFETCH_FACTOR = 5


def sqlite_match_expression(query: str, prefix: bool = False) -> str:
    """Every word must match (stemmed: "timers" finds "timer"). With `prefix`, the last word may be the
    start of a word, for search as you type, once it has MIN_PREFIX_CHARS letters (see core.search_terms)."""
    words = query_words(query)
    quoted = [f'"{word}"' for word in words]
    if prefix and is_word_start(words[-1]):
        quoted[-1] += "*"
    return " ".join(quoted)


def postgres_tsquery_text(query: str, prefix: bool = False) -> str:
    words = query_words(query)
    if prefix and is_word_start(words[-1]):
        words[-1] += ":*"
    return " & ".join(words)


# -- history search: newest first, one page at a time ---------------------------------------------------------
# A page never ranks every match: the index hands out matches newest first (by message id, the order they
# were kept), a window of them at a time, and only the window is joined, filtered and given its passage.

SQLITE_WINDOW_FLOOR = (
    f"SELECT min(rowid) AS floor, count(*) AS found FROM (SELECT rowid FROM {FTS_TABLE} "
    f"WHERE {FTS_TABLE} MATCH :q AND rowid < :before ORDER BY rowid DESC LIMIT :window)"
)
SQLITE_WINDOW_HITS = (
    f"SELECT {HIT_COLUMNS}, snippet({FTS_TABLE}, 0, '[', ']', '…', 12) AS snippet "
    f"FROM {FTS_TABLE} JOIN messages m ON m.id = {FTS_TABLE}.rowid "
    "JOIN conversations c ON c.id = m.conversation_id "
    f"WHERE {FTS_TABLE} MATCH :q AND {FTS_TABLE}.rowid < :before AND {FTS_TABLE}.rowid >= :floor "
    "AND c.user_id = :user {filters} ORDER BY m.id DESC"
)
POSTGRES_PAGE = (
    f"SELECT {HIT_COLUMNS}, "
    "ts_headline('english', m.content, q, "
    "'StartSel=[, StopSel=], MaxWords=18, MinWords=6, MaxFragments=1, FragmentDelimiter=…') AS snippet "
    "FROM messages m JOIN conversations c ON c.id = m.conversation_id, to_tsquery('english', :q) q "
    "WHERE to_tsvector('english', m.content) @@ q AND m.id < :before AND c.user_id = :user {filters} "
    "ORDER BY m.id DESC LIMIT :window"
)
