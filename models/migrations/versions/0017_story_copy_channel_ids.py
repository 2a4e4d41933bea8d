"""story copies posted to a channel configured by name ("#alumni") take the channel ID Slack answered with

Slack's chat.update takes only a channel ID, so a copy stored with a name could never be replaced by the
"withdrawn" note. The settings now refuse channel names and new copies store the ID Slack answered with; this
copies the ID the outbox recorded for each earlier copy's post.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        UPDATE story_copy
        SET channel = (
            SELECT o.channel FROM outbox_message o WHERE o.dedupe_key = story_copy.outbox_key
        )
        WHERE EXISTS (
            SELECT 1 FROM outbox_message o
            WHERE o.dedupe_key = story_copy.outbox_key
              AND o.channel IS NOT NULL AND o.channel <> '' AND o.channel <> story_copy.channel
        )
        """
    )


def downgrade() -> None:
    pass  # the IDs are what the names stood for: nothing to undo
