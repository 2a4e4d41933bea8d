"""referrals

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "referral",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("referrer_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("opportunity_id", sa.Integer(), nullable=True),
        sa.Column("candidate_name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("candidate_email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
        sa.Column("candidate_url", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("relationship", sa.Text(), server_default="", nullable=False),
        sa.Column("why_fit", sa.Text(), server_default="", nullable=False),
        sa.Column("consent_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("owner_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("duplicate_key", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("hr_channel", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("hr_ts", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("hr_touched_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("duplicate_key"),
    )
    with op.batch_alter_table("referral", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referral_opportunity_id"), ["opportunity_id"], unique=False)
        batch_op.create_index("ix_referral_referrer_created", ["referrer_id", "created_at"], unique=False)
        batch_op.create_index("ix_referral_status_touched", ["status", "hr_touched_at"], unique=False)

    op.create_table(
        "referral_status_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("from_status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("to_status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("note_shared", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["referral_id"], ["referral.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("referral_status_change", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_referral_status_change_referral_id"), ["referral_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("referral_status_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_status_change_referral_id"))
    op.drop_table("referral_status_change")
    with op.batch_alter_table("referral", schema=None) as batch_op:
        batch_op.drop_index("ix_referral_status_touched")
        batch_op.drop_index("ix_referral_referrer_created")
        batch_op.drop_index(batch_op.f("ix_referral_opportunity_id"))
    op.drop_table("referral")
