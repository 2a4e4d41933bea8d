"""alumni stories (story, story_approval, story_copy) and company news (news_post)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "story",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("author_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=150), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("story", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_story_subject_id"), ["subject_id"], unique=False)
        batch_op.create_index("ix_story_status_published", ["status", "published_at"], unique=False)

    op.create_table(
        "story_approval",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("decision", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("approver_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("text_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["story_id"], ["story.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("story_approval", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_story_approval_story_id"), ["story_id"], unique=False)

    op.create_table(
        "story_copy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("outbox_key", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("ts", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["story_id"], ["story.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("outbox_key"),
    )
    with op.batch_alter_table("story_copy", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_story_copy_story_id"), ["story_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_story_copy_subject_id"), ["subject_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_story_copy_status"), ["status"], unique=False)

    op.create_table(
        "news_post",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("author_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=150), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("image_url", sa.Text(), nullable=True),
        sa.Column("outbox_key", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("ts", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reactions", sa.Integer(), server_default="0", nullable=False),
        sa.Column("replies", sa.Integer(), server_default="0", nullable=False),
        sa.Column("reach_checked_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("outbox_key"),
    )
    with op.batch_alter_table("news_post", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_news_post_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("news_post", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_news_post_created_at"))
    op.drop_table("news_post")
    with op.batch_alter_table("story_copy", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_story_copy_status"))
        batch_op.drop_index(batch_op.f("ix_story_copy_subject_id"))
        batch_op.drop_index(batch_op.f("ix_story_copy_story_id"))
    op.drop_table("story_copy")
    with op.batch_alter_table("story_approval", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_story_approval_story_id"))
    op.drop_table("story_approval")
    with op.batch_alter_table("story", schema=None) as batch_op:
        batch_op.drop_index("ix_story_status_published")
        batch_op.drop_index(batch_op.f("ix_story_subject_id"))
    op.drop_table("story")
