"""The tables, declared with SQLAlchemy Core. Migrations must agree with these (tests/test_migrations.py
checks it). The store reads and writes through Core statements only, so the ORM (and the time it takes to
import and to map classes) is not needed."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    event,
)
from sqlalchemy.types import TypeDecorator

from desktop_app.storage import fulltext

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, hands back aware UTC, so comparisons never mix zones."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


metadata = MetaData(naming_convention=NAMING_CONVENTION)

conversations = Table(
    "conversations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", String(64), nullable=False, default="local"),
    Column("title", String(200), nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("message_count", Integer, nullable=False, default=0),
    # The history list: newest first, per user.
    Index("ix_conversations_user_updated", "user_id", "updated_at"),
    # Ids are shown to people and written into exports: a deleted one is never handed out again.
    sqlite_autoincrement=True,
)

messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("conversation_id", Integer, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
    Column("role", String(16), nullable=False),
    Column("content", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("tokens_input", Integer, nullable=True),
    Column("tokens_output", Integer, nullable=True),
    Column("timings", JSON(none_as_null=True), nullable=True),
    Column("source", String(120), nullable=True),
    CheckConstraint("role IN ('user', 'assistant', 'system')", name="role"),
    # A conversation's history in order, and its latest message for the list preview.
    Index("ix_messages_conversation_id", "conversation_id", "id"),
    # "What did I ask you yesterday?": messages in a time range.
    Index("ix_messages_created_at", "created_at"),
    sqlite_autoincrement=True,
)

facts = Table(
    "facts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", String(64), nullable=False, default="local"),
    Column("text", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("source_message_id", Integer, ForeignKey("messages.id", ondelete="SET NULL"), nullable=True),
    Index("ix_facts_user_created", "user_id", "created_at"),
    sqlite_autoincrement=True,
)

# What the app knows about a key; the secret itself lives only in the OS keychain.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("provider", String(64), nullable=False),
    Column("base_url", String(500), nullable=True),
    Column("keychain_ref", String(200), nullable=False),
    Column("fingerprint", String(32), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("requests_per_minute", Integer, nullable=True),
    Column("tokens_per_day", Integer, nullable=True),
    Column("tokens_input_total", Integer, nullable=False, default=0),
    Column("tokens_output_total", Integer, nullable=False, default=0),
)

# One request to a language model: counted for the per-key limits the moment it starts, its tokens filled
# in when it ends. Requests to a server that needs no key have no key id.
llm_usage = Table(
    "llm_usage",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("api_key_id", Integer, ForeignKey("api_keys.id", ondelete="CASCADE"), nullable=True),
    Column("model", String(200), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("tokens_input", Integer, nullable=False, default=0),
    Column("tokens_output", Integer, nullable=False, default=0),
    Column("outcome", String(32), nullable=False, default="started"),
    # The limit checks: this key's requests in the last minute, its tokens since midnight.
    Index("ix_llm_usage_key_started", "api_key_id", "started_at"),
)

# A timer, a reminder or an alarm. Pending ones survive restarts; one that ran out while the app was closed
# is announced as missed at the next start.
alarms = Table(
    "alarms",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", String(64), nullable=False, default="local"),
    Column("kind", String(16), nullable=False),
    Column("label", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("duration_seconds", Integer, nullable=True),
    Column("status", String(16), nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("conversation_id", Integer, ForeignKey("conversations.id", ondelete="SET NULL"), nullable=True),
    CheckConstraint("kind IN ('timer', 'reminder', 'alarm')", name="kind"),
    CheckConstraint("status IN ('pending', 'fired', 'missed', 'cancelled')", name="status"),
    # The scheduler's question: which pending alarms are due next.
    Index("ix_alarms_status_due", "status", "due_at"),
    sqlite_autoincrement=True,
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(200), nullable=True),
    Column("details", JSON(none_as_null=True), nullable=True),
    Index("ix_audit_log_at", "at"),
)

cache_entries = Table(
    "cache_entries",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("value", LargeBinary, nullable=True),
    Column("file_path", String(1000), nullable=True),
    Column("size_bytes", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    # Eviction takes the least recently used first; expiry sweeps take the expired.
    Index("ix_cache_entries_last_used_at", "last_used_at"),
    Index("ix_cache_entries_expires_at", "expires_at"),
)

# A brand-new database is made with create_all; the full-text index is not a table SQLAlchemy knows,
# so it is created right after the messages table, from the same statements the migration runs.
event.listen(messages, "after_create", fulltext.create_ddl_listener)
