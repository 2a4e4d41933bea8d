"""A test-only digest section standing in for features: one line per AuditLog row with action
`digest_sample.item` in the week (detail {"title": ...}). Tests add it to discovery with
`ALUMNI_JOBS_EXTRA_MODULES=tests.jobs.digest_sample_section` (also across processes)."""

from __future__ import annotations

import json

from sqlmodel import col, func, select

from bot.mrkdwn import escape
from jobs.base import DigestContext, DigestSection
from models.audit import AuditLog

ACTION = "digest_sample.item"
DIGEST_ORDER = 5
LIMIT = 200  # like a real feature: at most this many lines, the total says how many exist


def digest_section(ctx: DigestContext) -> DigestSection | None:
    window = (AuditLog.action == ACTION, AuditLog.at >= ctx.start, AuditLog.at < ctx.end)
    total = ctx.session.exec(select(func.count()).select_from(AuditLog).where(*window)).one()
    if not total:
        return None
    rows = ctx.session.exec(select(AuditLog).where(*window).order_by(col(AuditLog.id)).limit(LIMIT)).all()
    lines = [f"• *{escape(json.loads(r.detail)['title'])}*" for r in rows]
    return DigestSection(key="sample", title="Sample items", lines=lines, total=total, more_hint="/sample")
