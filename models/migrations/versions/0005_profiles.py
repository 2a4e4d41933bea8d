"""profiles: check-ins (the profile, consent and nudge columns are on member since 0001)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "checkin",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), server_default="", nullable=False),
        sa.Column("open_to_rehire", sa.Boolean(), nullable=False),
        sa.Column("open_to_gigs", sa.Boolean(), nullable=False),
        sa.Column("open_to_collaboration", sa.Boolean(), nullable=False),
        sa.Column("open_to_mentoring", sa.Boolean(), nullable=False),
        sa.Column("open_to_speaking", sa.Boolean(), nullable=False),
        sa.Column("available_until", sa.Date(), nullable=True),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("checkin", schema=None) as batch_op:
        batch_op.create_index("ix_checkin_member_created", ["member_id", "created_at"], unique=False)
        batch_op.create_index("ix_checkin_created", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("checkin", schema=None) as batch_op:
        batch_op.drop_index("ix_checkin_created")
        batch_op.drop_index("ix_checkin_member_created")
    op.drop_table("checkin")
