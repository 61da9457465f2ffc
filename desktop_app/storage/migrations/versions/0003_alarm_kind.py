"""Alarms (a time of day) kept beside timers and reminders: the alarms table takes the kind "alarm".

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_COLUMNS = "id, user_id, kind, label, created_at, due_at, duration_seconds, status, finished_at, conversation_id"


def _alarms_table(kinds: str) -> sa.Table:
    """The table as the models declare it (the same DDL as a new database gets), with the kinds allowed."""
    metadata = sa.MetaData()
    sa.Table("conversations", metadata, sa.Column("id", sa.Integer(), primary_key=True))  # referred to only
    return sa.Table(
        "alarms",
        metadata,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column(
            "conversation_id",
            sa.Integer(),
            sa.ForeignKey("conversations.id", name="fk_alarms_conversation_id_conversations", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.CheckConstraint(f"kind IN ({kinds})", name="ck_alarms_kind"),
        sa.CheckConstraint("status IN ('pending', 'fired', 'missed', 'cancelled')", name="ck_alarms_status"),
        sqlite_autoincrement=True,
    )


def _allow(kinds: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.drop_constraint(op.f("ck_alarms_kind"), "alarms", type_="check")
        op.create_check_constraint(op.f("ck_alarms_kind"), "alarms", f"kind IN ({kinds})")
        return
    # SQLite cannot alter a CHECK constraint. The table is moved aside and made again under its own name,
    # exactly as a new database has it, and its AUTOINCREMENT counter carried over, so no id that was
    # handed out (and maybe deleted since) is handed out again.
    op.drop_index("ix_alarms_status_due", table_name="alarms")
    op.rename_table("alarms", "_alarms_before_0003")
    _alarms_table(kinds).create(bind)
    op.execute(f"INSERT INTO alarms ({_COLUMNS}) SELECT {_COLUMNS} FROM _alarms_before_0003")
    handed_out = bind.execute(
        sa.text("SELECT seq FROM sqlite_sequence WHERE name = '_alarms_before_0003'")
    ).scalar_one_or_none()
    if handed_out is not None:
        op.execute("DELETE FROM sqlite_sequence WHERE name = 'alarms'")
        op.execute(
            sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES ('alarms', :seq)").bindparams(seq=handed_out)
        )
    op.drop_table("_alarms_before_0003")
    op.create_index("ix_alarms_status_due", "alarms", ["status", "due_at"], unique=False)


def upgrade() -> None:
    _allow("'timer', 'reminder', 'alarm'")


def downgrade() -> None:
    # Kept as reminders, which the older schema knows, rather than lost.
    op.execute("UPDATE alarms SET kind = 'reminder', label = 'alarm' WHERE kind = 'alarm' AND label = ''")
    op.execute("UPDATE alarms SET kind = 'reminder' WHERE kind = 'alarm'")
    _allow("'timer', 'reminder'")
