"""A second test-only digest section (AuditLog action `digest_sample.other`), after the first one."""

from __future__ import annotations

import json

from sqlmodel import col, select

from bot.mrkdwn import escape
from jobs.base import DigestContext, DigestSection
from models.audit import AuditLog

ACTION = "digest_sample.other"
DIGEST_ORDER = 6


def digest_section(ctx: DigestContext) -> DigestSection | None:
    rows = ctx.session.exec(
        select(AuditLog)
        .where(AuditLog.action == ACTION, AuditLog.at >= ctx.start, AuditLog.at < ctx.end)
        .order_by(col(AuditLog.id))
    ).all()
    if not rows:
        return None
    lines = [f"• {escape(json.loads(r.detail)['title'])}" for r in rows]
    return DigestSection(key="other", title="Other items", lines=lines, total=len(lines))
