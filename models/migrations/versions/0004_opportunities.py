"""opportunities: opportunity, opportunity_interest, and the generic search index

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26

The search index is `search_entry` (both databases) plus, on PostgreSQL, a GIN index over its `bigrams`
text[] column and, on SQLite, the contentless FTS5 table `search_fts` (see models/search.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import models.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FTS_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5("
    "grams, content='', detail=none, tokenize='unicode61 remove_diacritics 0')"
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "search_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("ref_id", sa.Integer(), nullable=False),
        sa.Column("sort_key", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "bigrams", sa.Text().with_variant(postgresql.ARRAY(sa.Text()), "postgresql"), nullable=True
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "ref_id", name="uq_search_entry_kind_ref"),
    )
    with op.batch_alter_table("search_entry", schema=None) as batch_op:
        batch_op.create_index("ix_search_entry_kind_sort", ["kind", "sort_key", "ref_id"], unique=False)
        batch_op.create_index(
            "ix_search_entry_bigrams",
            ["bigrams"],
            unique=False,
            postgresql_using="gin",
            sqlite_where=sa.text("bigrams IS NOT NULL"),
        )
    if dialect == "sqlite":
        op.execute(FTS_DDL)

    op.create_table(
        "opportunity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=150), nullable=False),
        sa.Column("company", sqlmodel.sql.sqltypes.AutoString(length=150), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("location", sqlmodel.sql.sqltypes.AutoString(length=150), nullable=False),
        sa.Column("work_style", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("skills", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("compensation", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("apply_url", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("apply_contact", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("poster_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("filled_by_member_id", sa.Integer(), nullable=True),
        sa.Column("channel_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("message_ts", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("permalink", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.ForeignKeyConstraint(["filled_by_member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("opportunity", schema=None) as batch_op:
        batch_op.create_index("ix_opportunity_poster", ["poster_id", "created_at"], unique=False)
        batch_op.create_index("ix_opportunity_status_created", ["status", "created_at"], unique=False)
        batch_op.create_index("ix_opportunity_status_expires", ["status", "expires_at"], unique=False)

    op.create_table(
        "opportunity_interest",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("opportunity_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.ForeignKeyConstraint(["opportunity_id"], ["opportunity.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("opportunity_id", "user_id", name="uq_interest_opportunity_user"),
    )
    with op.batch_alter_table("opportunity_interest", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_opportunity_interest_opportunity_id"), ["opportunity_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("opportunity_interest", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_opportunity_interest_opportunity_id"))
    op.drop_table("opportunity_interest")
    with op.batch_alter_table("opportunity", schema=None) as batch_op:
        batch_op.drop_index("ix_opportunity_status_expires")
        batch_op.drop_index("ix_opportunity_status_created")
        batch_op.drop_index("ix_opportunity_poster")
    op.drop_table("opportunity")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS search_fts")
    with op.batch_alter_table("search_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_search_entry_bigrams")
        batch_op.drop_index("ix_search_entry_kind_sort")
    op.drop_table("search_entry")
