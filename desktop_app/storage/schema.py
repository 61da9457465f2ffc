"""Typed table definitions. Migrations must agree with these (tests/test_migrations.py checks it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    CheckConstraint,
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
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
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


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ConversationRow(Base):
    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), default="local")
    title: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    message_count: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        # The history list: newest first, per user.
        Index("ix_conversations_user_updated", "user_id", "updated_at"),
        # Ids are shown to people and written into exports: a deleted one is never handed out again.
        {"sqlite_autoincrement": True},
    )


class MessageRow(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    tokens_input: Mapped[int | None] = mapped_column(Integer)
    tokens_output: Mapped[int | None] = mapped_column(Integer)
    timings: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    source: Mapped[str | None] = mapped_column(String(120))

    __table_args__ = (
        CheckConstraint("role IN ('user', 'assistant', 'system')", name="role"),
        # A conversation's history in order, and its latest message for the list preview.
        Index("ix_messages_conversation_id", "conversation_id", "id"),
        # "What did I ask you yesterday?": messages in a time range.
        Index("ix_messages_created_at", "created_at"),
        {"sqlite_autoincrement": True},
    )


class FactRow(Base):
    __tablename__ = "facts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), default="local")
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source_message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))

    __table_args__ = (Index("ix_facts_user_created", "user_id", "created_at"), {"sqlite_autoincrement": True})


class ApiKeyRow(Base):
    """What the app knows about a key; the secret itself lives only in the OS keychain."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    provider: Mapped[str] = mapped_column(String(64))
    base_url: Mapped[str | None] = mapped_column(String(500))
    keychain_ref: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    requests_per_minute: Mapped[int | None] = mapped_column(Integer)
    tokens_per_day: Mapped[int | None] = mapped_column(Integer)
    tokens_input_total: Mapped[int] = mapped_column(Integer, default=0)
    tokens_output_total: Mapped[int] = mapped_column(Integer, default=0)


class LlmUsageRow(Base):
    """One request to a language model: counted for the per-key limits the moment it starts, its tokens
    filled in when it ends. Requests to a server that needs no key have no key id."""

    __tablename__ = "llm_usage"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    model: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    tokens_input: Mapped[int] = mapped_column(Integer, default=0)
    tokens_output: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str] = mapped_column(String(32), default="started")

    # The limit checks: this key's requests in the last minute, its tokens since midnight.
    __table_args__ = (Index("ix_llm_usage_key_started", "api_key_id", "started_at"),)


class AlarmRow(Base):
    """A timer, a reminder or an alarm. Pending ones survive restarts; one that ran out while the app was closed is
    announced as missed at the next start."""

    __tablename__ = "alarms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), default="local")
    kind: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id", ondelete="SET NULL"))

    __table_args__ = (
        CheckConstraint("kind IN ('timer', 'reminder', 'alarm')", name="kind"),
        CheckConstraint("status IN ('pending', 'fired', 'missed', 'cancelled')", name="status"),
        # The scheduler's question: which pending alarms are due next.
        Index("ix_alarms_status_due", "status", "due_at"),
        {"sqlite_autoincrement": True},
    )


class AuditRow(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))

    __table_args__ = (Index("ix_audit_log_at", "at"),)


class CacheEntryRow(Base):
    __tablename__ = "cache_entries"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[bytes | None] = mapped_column(LargeBinary)
    file_path: Mapped[str | None] = mapped_column(String(1000))
    size_bytes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        # Eviction takes the least recently used first; expiry sweeps take the expired.
        Index("ix_cache_entries_last_used_at", "last_used_at"),
        Index("ix_cache_entries_expires_at", "expires_at"),
    )


conversations = cast(Table, ConversationRow.__table__)
messages = cast(Table, MessageRow.__table__)
facts = cast(Table, FactRow.__table__)
api_keys = cast(Table, ApiKeyRow.__table__)
audit_log = cast(Table, AuditRow.__table__)
llm_usage = cast(Table, LlmUsageRow.__table__)
alarms = cast(Table, AlarmRow.__table__)
cache_entries = cast(Table, CacheEntryRow.__table__)

# A brand-new database is made with create_all; the full-text index is not a table SQLAlchemy knows,
# so it is created right after the messages table, from the same statements the migration runs.
event.listen(messages, "after_create", fulltext.create_ddl_listener)
