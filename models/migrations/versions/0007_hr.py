"""HR operations and privacy: program settings, roster records, feedback

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "program_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest_day", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=True),
        sa.Column("digest_time", sqlmodel.sql.sqltypes.AutoString(length=5), nullable=True),
        sa.Column("nudge_cadence_days", sa.Integer(), nullable=True),
        sa.Column("reminder_offsets", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("retention_days", sa.Integer(), nullable=True),
        sa.Column("goal_members", sa.Integer(), nullable=True),
        sa.Column("goal_hires", sa.Integer(), nullable=True),
        sa.Column("goal_rehires", sa.Integer(), nullable=True),
        sa.Column("goal_events", sa.Integer(), nullable=True),
        sa.Column("updated_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("sender_user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("reply", sa.Text(), server_default="", nullable=False),
        sa.Column("replied_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("replied_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("change_note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("addressed_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("hr_channel", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("hr_ts", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feedback_addressed_at"), ["addressed_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_feedback_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_feedback_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_feedback_sender_user_id"), ["sender_user_id"], unique=False)

    op.create_table(
        "roster_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("department", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("joined_year", sa.Integer(), nullable=True),
        sa.Column("left_year", sa.Integer(), nullable=True),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("first_imported_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("matched_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    with op.batch_alter_table("roster_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_roster_record_member_id"), ["member_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("roster_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_roster_record_member_id"))
    op.drop_table("roster_record")
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_sender_user_id"))
        batch_op.drop_index(batch_op.f("ix_feedback_member_id"))
        batch_op.drop_index(batch_op.f("ix_feedback_created_at"))
        batch_op.drop_index(batch_op.f("ix_feedback_addressed_at"))
    op.drop_table("feedback")
    op.drop_table("program_settings")
