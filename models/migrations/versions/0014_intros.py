"""reconnect intros: members' intro settings, rounds (one per period), groups and their "did you meet?" answers

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "intro_preference",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("opted_in", sa.Boolean(), nullable=False),
        sa.Column("cadence_weeks", sa.Integer(), nullable=False),
        sa.Column("wants", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("paused_until", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_paired_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("member_id"),
    )
    op.create_table(
        "intro_round",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("scheduled_for", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("period"),
    )
    with op.batch_alter_table("intro_round", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_intro_round_scheduled_for"), ["scheduled_for"], unique=False)
    op.create_table(
        "intro_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("overlap", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("follow_up_queued_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["round_id"], ["intro_round.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("intro_group", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_intro_group_round_id"), ["round_id"], unique=False)
    op.create_table(
        "intro_group_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("met", sa.Boolean(), nullable=True),
        sa.Column("answered_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["group_id"], ["intro_group.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("group_id", "member_id", name="uq_intro_group_member"),
    )
    with op.batch_alter_table("intro_group_member", schema=None) as batch_op:
        batch_op.create_index("ix_intro_group_member_member", ["member_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("intro_group_member", schema=None) as batch_op:
        batch_op.drop_index("ix_intro_group_member_member")
    op.drop_table("intro_group_member")
    with op.batch_alter_table("intro_group", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intro_group_round_id"))
    op.drop_table("intro_group")
    with op.batch_alter_table("intro_round", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intro_round_scheduled_for"))
    op.drop_table("intro_round")
    op.drop_table("intro_preference")
