"""pulse surveys: surveys, their questions, who was asked (recipients) and the anonymous answers

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "survey",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("intro", sa.Text(), server_default="", nullable=False),
        sa.Column("closes_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("segment_kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("segment_value", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("min_group", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("change_note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("change_noted_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("change_published_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("survey", schema=None) as batch_op:
        batch_op.create_index("ix_survey_status_closes_at", ["status", "closes_at"], unique=False)

    op.create_table(
        "survey_question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("prompt", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["survey_id"], ["survey.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("survey_id", "position", name="uq_survey_question_position"),
    )
    op.create_table(
        "survey_recipient",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("asked_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["survey_id"], ["survey.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("survey_id", "member_id", name="uq_survey_recipient_survey_member"),
    )
    with op.batch_alter_table("survey_recipient", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_survey_recipient_member_id"), ["member_id"], unique=False)
        batch_op.create_index("ix_survey_recipient_survey_answered", ["survey_id", "answered"], unique=False)

    op.create_table(
        "survey_answer",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("response_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["question_id"], ["survey_question.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["survey_id"], ["survey.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("response_id", "question_id", name="uq_survey_answer_response_question"),
    )
    with op.batch_alter_table("survey_answer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_survey_answer_survey_id"), ["survey_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("survey_answer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_answer_survey_id"))

    op.drop_table("survey_answer")
    with op.batch_alter_table("survey_recipient", schema=None) as batch_op:
        batch_op.drop_index("ix_survey_recipient_survey_answered")
        batch_op.drop_index(batch_op.f("ix_survey_recipient_member_id"))

    op.drop_table("survey_recipient")
    op.drop_table("survey_question")
    with op.batch_alter_table("survey", schema=None) as batch_op:
        batch_op.drop_index("ix_survey_status_closes_at")

    op.drop_table("survey")
