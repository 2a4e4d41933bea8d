"""Demo data for `alumni-bot playground --demo` (filled in below)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.playground.workspace import Workspace
    from models.db import Database


def seed_demo(database: Database, workspace: Workspace) -> None:
    """Seeds believable ja/en data into a freshly migrated database."""
