"""index opportunities by kind, status and age (the Home tab's rehire-first list)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_opportunity_kind_status_created", "opportunity", ["kind", "status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_opportunity_kind_status_created", table_name="opportunity")
