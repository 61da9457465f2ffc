"""Hot-path statements compiled once per engine.

SQLAlchemy spends more time building a statement's cache key and result on every call than SQLite spends
running a small INSERT. The few statements run for every message are compiled here once, for the engine's
own dialect, and run on the driver's cursor with their values passed through the column types' own bind
processors, so they are stored exactly as Core would store them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, Dialect
from sqlalchemy.engine.interfaces import DBAPICursor
from sqlalchemy.sql.expression import Executable


class PreparedStatement:
    def __init__(self, statement: Executable, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
        for name, bind in compiled.binds.items():
            if bind.value is not None or bind.callable is not None:
                raise ValueError(f"{name}: prepared statements take every value as a named parameter")
        self.sql: str = str(compiled)
        self._order: list[str] | None = list(compiled.positiontup) if compiled.positional else None
        self._processors: dict[str, Callable[[Any], Any]] = {}
        for name, bind in compiled.binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self._processors[name] = processor

    def execute(self, connection: Connection, values: Mapping[str, Any]) -> DBAPICursor:
        """Runs on the connection's own driver cursor, inside the transaction `connection` has open."""
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(self.sql, self._parameters(values))
        except BaseException:
            cursor.close()
            raise
        return cursor

    def executemany(self, connection: Connection, rows: Iterable[Mapping[str, Any]]) -> None:
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(self.sql, [self._parameters(values) for values in rows])
        finally:
            cursor.close()

    def _parameters(self, values: Mapping[str, Any]) -> Any:
        processors = self._processors
        processed = {name: (processors[name](value) if name in processors else value) for name, value in values.items()}
        return processed if self._order is None else tuple(processed[name] for name in self._order)
