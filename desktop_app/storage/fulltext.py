"""Full-text search over message content: SQLite FTS5 kept in sync by triggers; PostgreSQL text search."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection

from desktop_app.core.errors import ErrorCode, ValidationError

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


def create_ddl_listener(target: Any, connection: Connection, **_: Any) -> None:
    create(connection)


_WORD = re.compile(r"\w+", re.UNICODE)


def query_words(query: str) -> list[str]:
    """The words of what the user typed; operators and punctuation are not syntax here."""
    words = _WORD.findall(query.lower())
    if not words:
        raise ValidationError(ErrorCode.INVALID_ARGUMENT, "Search needs at least one word.")
    return words[:16]


def sqlite_match_expression(query: str) -> str:
    """Every word must match; the last one may be the start of a word (search as you type)."""
    words = query_words(query)
    quoted = [f'"{word}"' for word in words]
    quoted[-1] += "*"
    return " ".join(quoted)


def postgres_tsquery_text(query: str) -> str:
    words = query_words(query)
    return " & ".join([*words[:-1], f"{words[-1]}:*"])
