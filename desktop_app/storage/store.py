"""The conversation store: SQL persistence with one writer thread and a bounded cache in front.

Reads come from the cache when it can answer in full, otherwise from the database on a reader connection
(WAL lets readers run beside the writer). Writes go through the single writer and are committed when the
call returns; the cache is updated after the commit, in commit order.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    Dialect,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from desktop_app.core.errors import AppError, ErrorCode, NotFoundError, StorageError, ValidationError
from desktop_app.core.history_cache import CacheLimits, HistoryCache
from desktop_app.core.models import (
    DEFAULT_USER,
    AuditEntry,
    Conversation,
    ConversationSummary,
    Fact,
    Message,
    NewConversation,
    NewMessage,
    Role,
    SearchHit,
    StoreHealth,
    StoreStats,
)
from desktop_app.core.privacy import log_content_enabled
from desktop_app.core.validation import (
    check_aware_time,
    clean_content,
    clean_fact,
    clean_title,
    is_blank,
    parse_id,
    parse_role,
    title_from_text,
)
from desktop_app.storage import fulltext
from desktop_app.storage.alarms import SqlAlarmBook
from desktop_app.storage.database import OpenedDatabase, mark_needs_check, open_database
from desktop_app.storage.engine import DATABASE_ERRORS, is_damage, translate_error
from desktop_app.storage.keys import SqlKeyLedger
from desktop_app.storage.prepared import PreparedStatement
from desktop_app.storage.schema import audit_log, conversations, facts, messages, utcnow
from desktop_app.storage.writer import SingleWriter

log = logging.getLogger(__name__)
T = TypeVar("T")
WRITE_ERRORS: tuple[type[Exception], ...] = (*DATABASE_ERRORS, OSError)

PREVIEW_CHARS = 160
# A question is saved only when there is room for its answer too, so a full disk never leaves a question
# without its answer. A turn is two commits of about ten pages each, and the write-ahead log grows by every
# page written until its next checkpoint: 1 MB is room for several turns.
TURN_ROOM_BYTES = 1024 * 1024
MAX_PAGE = 1000

_MESSAGE_COLUMNS = (
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


def _message(row: Any) -> Message:
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


def _conversation(row: Any) -> Conversation:
    return Conversation(
        id=row.id,
        title=row.title,
        created_at=row.created_at,
        updated_at=row.updated_at,
        user_id=row.user_id,
        message_count=row.message_count,
    )


@dataclass(frozen=True, slots=True)
class _Checked:
    role: Role
    content: str
    created_at: datetime | None
    tokens_input: int | None
    tokens_output: int | None
    timings: dict[str, float] | None
    source: str | None


def _checked_message(message: NewMessage) -> _Checked:
    """Refuses a message before anything is written: role, content, counts, timings, source."""
    if message.created_at is not None:
        check_aware_time(message.created_at, "A message's time")
    if message.source is not None and (not isinstance(message.source, str) or len(message.source) > 120):
        raise ValidationError(ErrorCode.INVALID_ARGUMENT, "The reply source must be text of 120 characters at most.")
    return _Checked(
        role=parse_role(message.role),
        content=clean_content(message.content),
        created_at=message.created_at,
        tokens_input=_check_count(message.tokens_input, "tokens_input"),
        tokens_output=_check_count(message.tokens_output, "tokens_output"),
        timings=_check_timings(message.timings),
        source=message.source,
    )


def _message_values(message: _Checked, conversation_id: int, created_at: datetime, prefix: str = "") -> dict[str, Any]:
    return {
        f"{prefix}conversation_id": conversation_id,
        f"{prefix}role": message.role.value,
        f"{prefix}content": message.content,
        f"{prefix}created_at": created_at,
        f"{prefix}tokens_input": message.tokens_input,
        f"{prefix}tokens_output": message.tokens_output,
        f"{prefix}timings": message.timings,
        f"{prefix}source": message.source,
    }


# Token counts fit a 32-bit column on every database the store supports.
MAX_COUNT = 2**31 - 1


def _check_count(value: int | None, what: str) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT):
        raise ValidationError(ErrorCode.INVALID_ARGUMENT, f"{what} must be a whole number from 0 to {MAX_COUNT:,}.")
    return value


def _check_timings(timings: Mapping[str, float] | None) -> dict[str, float] | None:
    if timings is None:
        return None
    checked: dict[str, float] = {}
    for key, value in timings.items():
        if not isinstance(key, str) or isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError(ErrorCode.INVALID_ARGUMENT, "Timings must map stage names to numbers.")
        checked[key] = float(value)
    return checked


def _check_limit(limit: int | None, what: str = "limit") -> None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValidationError(ErrorCode.INVALID_ARGUMENT, f"The {what} must be a whole number of at least 0.")


_SEARCH = {
    name: text(sql).columns(created_at=messages.c.created_at.type)
    for name, sql in (
        ("ranked_first", fulltext.SQLITE_SEARCH_RANKED_FIRST),
        ("exact", fulltext.SQLITE_SEARCH_EXACT),
        ("postgres", fulltext.POSTGRES_SEARCH),
    )
}


class _HotStatements:
    """The two statements every added message runs."""

    def __init__(self, dialect: Dialect) -> None:
        self.touch_conversation = PreparedStatement(
            update(conversations)
            .where(conversations.c.id == bindparam("p_id"), conversations.c.user_id == bindparam("p_user"))
            .values(
                updated_at=bindparam("p_now", type_=conversations.c.updated_at.type),
                message_count=conversations.c.message_count + literal_column("1"),
                # The first user message names an untitled conversation.
                title=func.coalesce(func.nullif(conversations.c.title, literal_column("''")), bindparam("p_title")),
            ),
            dialect,
        )
        new_message = insert(messages).values(
            {column.name: bindparam(f"p_{column.name}", type_=column.type) for column in _MESSAGE_COLUMNS[1:]}
        )
        # SQLite reports the new id on the cursor (RETURNING costs more there); PostgreSQL needs RETURNING.
        self.id_from_cursor = dialect.name == "sqlite"
        self.insert_message = PreparedStatement(
            new_message if self.id_from_cursor else new_message.returning(messages.c.id), dialect
        )
        self.import_messages = PreparedStatement(new_message, dialect)


class SqlConversationStore:
    """Implements core.ports.ConversationStore on SQLite (default) or PostgreSQL."""

    def __init__(
        self, opened: OpenedDatabase, cache_limits: CacheLimits | None = None, user_id: str = DEFAULT_USER
    ) -> None:
        self._db = opened
        self._engine = opened.engine
        self._user = user_id
        self._cache = HistoryCache(cache_limits)
        self._writer = SingleWriter(self._engine)
        self._health_lock = threading.Lock()
        # A store opened read-only is not writable from the start; a failed write sets this until one succeeds.
        self._failure: StorageError | None = (
            StorageError(ErrorCode.DB_READ_ONLY, opened.notices[0]) if opened.read_only else None
        )
        self._is_sqlite = self._engine.dialect.name == "sqlite"
        self._hot = _HotStatements(self._engine.dialect)
        # Timers and reminders, and API-key metadata and usage: same database, same writer.
        self.alarms = SqlAlarmBook(self)
        self.keys = SqlKeyLedger(self)
        if self._is_sqlite:
            self._writer.changed_elsewhere()  # opens the writer now and takes the baseline for later checks
        for moved in opened.moved_aside[:1]:
            self.record_audit("database_moved_aside", str(moved), {"reason": "damaged"}, actor="system")

    @classmethod
    def open(cls, url: str, cache_limits: CacheLimits | None = None) -> SqlConversationStore:
        return cls(open_database(url), cache_limits)

    @property
    def url(self) -> str:
        return self._db.url

    @property
    def notices(self) -> tuple[str, ...]:
        return tuple(self._db.notices)

    @property
    def user_id(self) -> str:
        return self._user

    def run_write(self, job: Callable[[Connection], T], doing: str) -> T:
        """Runs `job` on the single writer in one transaction (for the alarm book and the key ledger)."""
        return self._write(job, doing)

    def run_read(self, query: Callable[[Connection], T], doing: str) -> T:
        return self._read(query, doing)

    # -- writes ---------------------------------------------------------------------------------------

    def create_conversation(self, title: str | None = None) -> Conversation:
        clean = clean_title(title) if title is not None else ""
        now = utcnow()

        def job(connection: Connection) -> Conversation:
            new_id = connection.execute(
                insert(conversations)
                .values(user_id=self._user, title=clean, created_at=now, updated_at=now, message_count=0)
                .returning(conversations.c.id)
            ).scalar_one()
            return Conversation(new_id, clean, now, now, self._user, 0)

        return self._write(job, "start a conversation", lambda c: self._cache.start_conversation(c.id))

    def add_message(
        self,
        conversation_id: int,
        role: Role | str,
        content: str,
        *,
        tokens_input: int | None = None,
        tokens_output: int | None = None,
        timings: Mapping[str, float] | None = None,
        source: str | None = None,
    ) -> Message:
        """Saves one message; when this returns, it is committed. Bad input raises and writes nothing."""
        cid = parse_id(conversation_id)
        checked = _checked_message(
            NewMessage(role, content, None, tokens_input, tokens_output, dict(timings) if timings else None, source)
        )
        default_title = title_from_text(checked.content) if checked.role is Role.USER else ""
        if checked.role is Role.USER:
            self._check_room_for_turn()

        def job(connection: Connection) -> Message:
            now = utcnow()
            touched = self._hot.touch_conversation.execute(
                connection, {"p_id": cid, "p_user": self._user, "p_now": now, "p_title": default_title}
            ).rowcount
            if touched != 1:
                raise NotFoundError(ErrorCode.UNKNOWN_CONVERSATION, f"There is no conversation {cid}.")
            cursor = self._hot.insert_message.execute(connection, _message_values(checked, cid, now, "p_"))
            try:
                new_id = int(cursor.lastrowid if self._hot.id_from_cursor else cursor.fetchone()[0])  # type: ignore[index]
            finally:
                cursor.close()
            return Message(
                new_id,
                cid,
                checked.role,
                checked.content,
                now,
                checked.tokens_input,
                checked.tokens_output,
                checked.timings,
                checked.source,
            )

        return self._write(job, "save the message", self._cache.append)

    def import_conversations(self, items: Iterable[NewConversation], batch_size: int = 500) -> int:
        """Adds whole conversations (an import, a restore), `batch_size` per transaction.

        Every message of a batch is checked before the batch is written; a bad one refuses its batch and
        those after it, keeping those committed before. Returns the number of messages added.
        """
        added = 0
        batch: list[tuple[str, datetime, list[_Checked]]] = []
        for item in items:
            checked = [_checked_message(message) for message in item.messages]
            title = clean_title(item.title) if not is_blank(item.title) else ""
            created = item.created_at or (checked[0].created_at if checked and checked[0].created_at else utcnow())
            batch.append((title, created, checked))
            if len(batch) >= batch_size:
                added += self._write(partial(self._import_batch, batch=batch), "import the conversations")
                batch = []
        if batch:
            added += self._write(partial(self._import_batch, batch=batch), "import the conversations")
        return added

    def _import_batch(self, connection: Connection, batch: list[tuple[str, datetime, list[_Checked]]]) -> int:
        rows = []
        for title, created, checked in batch:
            times = [m.created_at or created for m in checked]
            rows.append(
                {
                    "user_id": self._user,
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
            _message_values(m, cid, m.created_at or created, "p_")
            for cid, (_, created, checked) in zip(ids, batch, strict=True)
            for m in checked
        ]
        if message_rows:
            self._hot.import_messages.executemany(connection, message_rows)
        return len(message_rows)

    def rename_conversation(self, conversation_id: int, title: str) -> Conversation:
        cid = parse_id(conversation_id)
        clean = clean_title(title)

        def job(connection: Connection) -> Conversation:
            row = connection.execute(
                update(conversations)
                .where(conversations.c.id == cid, conversations.c.user_id == self._user)
                .values(title=clean)
                .returning(*conversations.c)
            ).first()
            if row is None:
                raise NotFoundError(ErrorCode.UNKNOWN_CONVERSATION, f"There is no conversation {cid}.")
            return _conversation(row)

        return self._write(job, "rename the conversation")

    def delete_conversation(self, conversation_id: int) -> None:
        cid = parse_id(conversation_id)

        def job(connection: Connection) -> None:
            deleted = connection.execute(
                delete(conversations).where(conversations.c.id == cid, conversations.c.user_id == self._user)
            ).rowcount
            if deleted != 1:
                raise NotFoundError(ErrorCode.UNKNOWN_CONVERSATION, f"There is no conversation {cid}.")
            self._audit(connection, "user", "conversation_deleted", str(cid), None)

        self._write(job, "delete the conversation", lambda _: self._cache.invalidate(cid))
        self._erase_deleted_text()

    def delete_all_conversations(self) -> int:
        def job(connection: Connection) -> int:
            count = connection.execute(delete(conversations).where(conversations.c.user_id == self._user)).rowcount
            self._audit(connection, "user", "all_conversations_deleted", None, {"count": count})
            return int(count)

        count = self._write(job, "delete the conversations", lambda _: self._cache.clear())
        self._erase_deleted_text()
        return count

    def add_fact(self, text_: str, source_message_id: int | None = None) -> Fact:
        body = clean_fact(text_)

        def job(connection: Connection) -> Fact:
            now = utcnow()
            new_id = connection.execute(
                insert(facts)
                .values(user_id=self._user, text=body, created_at=now, source_message_id=source_message_id)
                .returning(facts.c.id)
            ).scalar_one()
            return Fact(new_id, body, now, self._user)

        return self._write(job, "remember that")

    def delete_fact(self, fact_id: int) -> None:
        fid = parse_id(fact_id, "fact")

        def job(connection: Connection) -> None:
            deleted = connection.execute(delete(facts).where(facts.c.id == fid, facts.c.user_id == self._user)).rowcount
            if deleted != 1:
                raise NotFoundError(
                    ErrorCode.UNKNOWN_FACT,
                    f"There is no remembered fact {fid}. `voice-assistant facts list` shows the ones there are.",
                )
            self._audit(connection, "user", "fact_forgotten", str(fid), None)

        self._write(job, "forget that")
        self._erase_deleted_text(search_index=False)

    def delete_all_facts(self) -> int:
        """Forgets every remembered fact of this user; how many there were."""

        def job(connection: Connection) -> int:
            count = int(connection.execute(delete(facts).where(facts.c.user_id == self._user)).rowcount)
            self._audit(connection, "user", "all_facts_forgotten", None, {"count": count})
            return count

        count = self._write(job, "forget the remembered facts")
        self._erase_deleted_text(search_index=False)
        return count

    def record_audit(
        self,
        action: str,
        target: str | None = None,
        details: Mapping[str, Any] | None = None,
        actor: str = "user",
    ) -> None:
        self._write(
            lambda connection: self._audit(connection, actor, action, target, dict(details) if details else None),
            "write the audit log",
        )

    # -- reads ----------------------------------------------------------------------------------------

    def get_history(self, conversation_id: int, limit: int | None = None) -> list[Message]:
        """The conversation's last `limit` messages (all when None), oldest first."""
        cid = parse_id(conversation_id)
        _check_limit(limit)
        if limit == 0:
            self.get_conversation(cid)
            return []
        if self._cache_usable():
            cached = self._cache.get(cid, limit)
            if cached is not None and (self._is_sqlite or self._cache_matches_database(cid, cached)):
                return cached
        generation = self._cache.generation(cid)
        cap = self._cache.limits.max_messages_per_conversation
        fetch = None if limit is None else max(limit, cap)

        def query(connection: Connection) -> list[Message]:
            self._require_conversation(connection, cid)
            statement = (
                select(*_MESSAGE_COLUMNS).where(messages.c.conversation_id == cid).order_by(messages.c.id.desc())
            )
            if fetch is not None:
                statement = statement.limit(fetch)
            return [_message(row) for row in reversed(connection.execute(statement).all())]

        loaded = self._read(query, "read the conversation")
        complete = fetch is None or len(loaded) < fetch
        self._cache.fill(cid, loaded[-cap:], complete and len(loaded) <= cap, generation)
        return loaded if limit is None else loaded[-limit:]

    def get_conversation(self, conversation_id: int) -> Conversation:
        cid = parse_id(conversation_id)

        def query(connection: Connection) -> Conversation:
            return _conversation(self._require_conversation(connection, cid))

        return self._read(query, "read the conversation")

    def list_conversations(self, limit: int = 50, offset: int = 0) -> list[ConversationSummary]:
        """Newest first, each with the start of its latest message."""
        _check_limit(limit)
        _check_limit(offset, "offset")
        latest = (
            select(func.substr(messages.c.content, 1, PREVIEW_CHARS))
            .where(messages.c.conversation_id == conversations.c.id)
            .order_by(messages.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        statement = (
            select(*conversations.c, latest.label("preview"))
            .where(conversations.c.user_id == self._user)
            .order_by(conversations.c.updated_at.desc(), conversations.c.id.desc())
            # One more than a page is allowed, so a caller showing a page can tell whether more follow.
            .limit(min(limit, MAX_PAGE + 1))
            .offset(offset)
        )

        def query(connection: Connection) -> list[ConversationSummary]:
            return [
                ConversationSummary(_conversation(row), " ".join((row.preview or "").split()))
                for row in connection.execute(statement)
            ]

        return self._read(query, "list the conversations")

    def messages_between(
        self, start: datetime, end: datetime, role: Role | None = None, limit: int = 200, newest: bool = False
    ) -> list[Message]:
        """Messages in [start, end), oldest first; with `newest`, the latest `limit` of them (still oldest
        first)."""
        _check_limit(limit)
        check_aware_time(start, "The start")
        check_aware_time(end, "The end")
        statement = (
            select(*_MESSAGE_COLUMNS)
            .join(conversations, conversations.c.id == messages.c.conversation_id)
            .where(
                conversations.c.user_id == self._user,
                messages.c.created_at >= start,
                messages.c.created_at < end,
            )
            .order_by(messages.c.id.desc() if newest else messages.c.id)
            .limit(min(limit, MAX_PAGE))
        )
        if role is not None:
            statement = statement.where(messages.c.role == parse_role(role).value)
        found = self._read(lambda c: [_message(r) for r in c.execute(statement)], "read the conversations")
        return found[::-1] if newest else found

    def search(self, query: str, limit: int = 20, prefix: bool = False) -> list[SearchHit]:
        """Ranked full-text matches, best first, each with the matching passage marked [like this].

        Every word must match; with `prefix` the last one may be the start of a word (search as you type).
        """
        _check_limit(limit)
        if not isinstance(query, str):
            raise ValidationError(ErrorCode.INVALID_ARGUMENT, "The search must be text.")
        page = min(limit, MAX_PAGE)
        if page == 0:
            return []
        params: dict[str, Any] = {"user": self._user, "limit": page}
        if self._is_sqlite:
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

        return self._read(run, "search the conversations")

    def list_facts(self) -> list[Fact]:
        statement = select(facts).where(facts.c.user_id == self._user).order_by(facts.c.id)
        return self._read(
            lambda c: [Fact(r.id, r.text, r.created_at, r.user_id) for r in c.execute(statement)],
            "read the remembered facts",
        )

    def list_audit(self, limit: int = 100) -> list[AuditEntry]:
        _check_limit(limit)
        statement = select(audit_log).order_by(audit_log.c.id.desc()).limit(min(limit, MAX_PAGE))
        return self._read(
            lambda c: [AuditEntry(r.id, r.at, r.actor, r.action, r.target, r.details) for r in c.execute(statement)],
            "read the audit log",
        )

    def stats(self) -> StoreStats:
        in_memory, messages_in_memory, memory_bytes = self._cache.counts()

        def query(connection: Connection) -> tuple[int, int, int]:
            conversation_count = connection.scalar(
                select(func.count()).select_from(conversations).where(conversations.c.user_id == self._user)
            )
            message_count = connection.scalar(
                select(func.count())
                .select_from(messages.join(conversations))
                .where(conversations.c.user_id == self._user)
            )
            fact_count = connection.scalar(select(func.count()).select_from(facts).where(facts.c.user_id == self._user))
            return int(conversation_count or 0), int(message_count or 0), int(fact_count or 0)

        db_conversations, db_messages, db_facts = self._read(query, "count the conversations")
        return StoreStats(
            conversations_in_memory=in_memory,
            messages_in_memory=messages_in_memory,
            bytes_in_memory=memory_bytes,
            conversations_in_db=db_conversations,
            messages_in_db=db_messages,
            facts_in_db=db_facts,
            cache_hits=self._cache.hits,
            cache_misses=self._cache.misses,
        )

    def health(self) -> StoreHealth:
        with self._health_lock:
            failure = self._failure
        if failure is None:
            return StoreHealth(True, notices=self.notices)
        return StoreHealth(False, failure.code.value, failure.message, self.notices)

    def close(self) -> None:
        self._writer.close()
        if self._is_sqlite:
            try:
                with self._engine.connect() as connection:
                    connection.exec_driver_sql("PRAGMA optimize")
            except SQLAlchemyError:
                log.debug("PRAGMA optimize skipped", exc_info=True)
        self._engine.dispose()

    # -- plumbing -------------------------------------------------------------------------------------

    def _cache_usable(self) -> bool:
        """SQLite: clears the cache when another process wrote to the file; False while one of our own
        writes is in progress (reading the database then is correct and does not wait for it)."""
        if not self._is_sqlite:
            return True
        try:
            changed = self._writer.changed_elsewhere()
        except DATABASE_ERRORS as error:
            raise self._failed(error, "read the conversation", writing=False) from error
        if changed:
            self._cache.clear()
        return changed is not None

    def _cache_matches_database(self, cid: int, cached: list[Message]) -> bool:
        """A shared server may be written by other machines: check the newest message id, one index probe."""
        newest = self._read(
            lambda c: c.scalar(select(func.max(messages.c.id)).where(messages.c.conversation_id == cid)),
            "read the conversation",
        )
        if (cached and newest == cached[-1].id) or (not cached and newest is None):
            return True
        self._cache.invalidate(cid)
        return False

    def _require_conversation(self, connection: Connection, cid: int) -> Any:
        row = connection.execute(
            select(conversations).where(conversations.c.id == cid, conversations.c.user_id == self._user)
        ).first()
        if row is None:
            raise NotFoundError(ErrorCode.UNKNOWN_CONVERSATION, f"There is no conversation {cid}.")
        return row

    def _audit(
        self,
        connection: Connection,
        actor: str,
        action: str,
        target: str | None,
        details: dict[str, Any] | None,
    ) -> None:
        connection.execute(
            insert(audit_log).values(at=utcnow(), actor=actor, action=action, target=target, details=details)
        )

    def _check_room_for_turn(self) -> None:
        if self._db.sqlite_path is None:
            return  # a database server's disk is not ours to measure
        try:
            free = shutil.disk_usage(self._db.sqlite_path.parent).free
        except OSError:
            return  # the write itself will say what is wrong
        if free >= TURN_ROOM_BYTES:
            return
        failure = StorageError(
            ErrorCode.DISK_FULL,
            f"Could not save the question: the disk is full ({free // 1024} KB free; a question and its answer "
            "need about 1 MB). Free some space; everything saved before this is safe.",
        )
        with self._health_lock:
            self._failure = failure
        raise failure

    def _write(self, job: Callable[[Connection], T], doing: str, after_commit: Callable[[T], None] | None = None) -> T:
        try:
            result = self._writer.run(job, after_commit)
        except AppError:
            raise
        except WRITE_ERRORS as error:
            if not self._rebuilt_damaged_search_index(error):
                raise self._failed(error, doing, writing=True) from error
            try:  # the search index was the damage, and is whole again: the write can go on
                result = self._writer.run(job, after_commit)
            except AppError:
                raise
            except WRITE_ERRORS as again:
                raise self._failed(again, doing, writing=True) from again
        with self._health_lock:
            self._failure = None
        return result

    def _rebuilt_damaged_search_index(self, error: BaseException) -> bool:
        """After a write met damage: when it is in the full-text index (which every message insert updates,
        and which the page check cannot see), rebuild the index from the messages. True when rebuilt."""
        if not self._is_sqlite or not is_damage(error):
            return False
        try:
            problem = self._writer.run(fulltext.sqlite_repair)
        except DATABASE_ERRORS:
            log.warning("the search index could not be checked or rebuilt", exc_info=True)
            return False
        if problem is None:
            return False
        log.error("the search index was damaged (%s) and was rebuilt from the messages", problem)
        return True

    def _read(self, query: Callable[[Connection], T], doing: str) -> T:
        try:
            with self._engine.connect() as connection:
                return query(connection)
        except AppError:
            raise
        except DATABASE_ERRORS as error:
            raise self._failed(error, doing, writing=False) from error

    def _failed(self, error: BaseException, doing: str, writing: bool) -> StorageError:
        """The error to raise; a failed write also marks the store as not writable until one succeeds."""
        failure = translate_error(error, doing, self._db.sqlite_path and self._db.sqlite_path.parent)
        log.error("%s (%s)", failure.message, _error_for_log(error))
        if failure.code is ErrorCode.DB_CORRUPT:
            mark_needs_check(self._db.sqlite_path)
        if writing:
            with self._health_lock:
                self._failure = failure
        return failure

    def _erase_deleted_text(self, *, search_index: bool = True) -> None:
        """Deleted words must not linger: rebuild the search index without them (FTS5 otherwise keeps a
        deleted message's words in old index segments until they happen to merge), then fold the
        write-ahead log into the file. secure_delete zeroes the freed pages. About 1 s at a million
        messages, milliseconds for a typical history; only deletions pay it. Facts are not in the search
        index: forgetting one needs only the checkpoint (`search_index=False`)."""
        if not self._is_sqlite:
            return
        # The deletion itself has committed: a failure here (a full disk) is logged, not reported as a
        # failed delete, and the next deletion tries again.
        try:
            if search_index:
                self._writer.run(
                    lambda c: c.exec_driver_sql(
                        f"INSERT INTO {fulltext.FTS_TABLE}({fulltext.FTS_TABLE}) VALUES ('optimize')"
                    )
                )
            with self._engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        except DATABASE_ERRORS:
            log.warning("could not compact the search index after a deletion", exc_info=True)


def _error_for_log(error: BaseException) -> str:
    """A driver error as the log may show it: SQLAlchemy's text of a failed statement carries its
    parameters (a message's words), and PostgreSQL's DETAIL lines can quote values, so only the first line
    of the driver's own error is shown unless content logging is on."""
    if isinstance(error, DBAPIError) and error.orig is not None and not log_content_enabled():
        first_line = next(iter(str(error.orig).splitlines()), "")
        return f"{type(error.orig).__name__}: {first_line}"
    return str(error)
