"""CSV exports for HR: members, opportunities, referrals, events (UTF-8 with BOM, so Excel opens Japanese).

Members have a fixed column list; the other kinds export every column of their feature's table, so they
follow the feature's model as it grows. A kind whose table does not exist in this build is "unavailable".

Instants are written in the workspace time zone as `2026-12-03 18:00` (a form Excel reads as a date and
time, unlike ISO text with `+00:00`), and their column header names the zone: `created_at (Asia/Tokyo)`.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Column, DateTime, or_
from sqlmodel import Session, SQLModel

from models.actors import Actor
from models.audit import record
from models.errors import DomainError, PermissionDenied
from models.member import SOURCE_IMPORT
from models.tables import import_all

if TYPE_CHECKING:
    from models.report import Month

BOM = "\ufeff"
KINDS: dict[str, str] = {
    "members": "member",
    "opportunities": "opportunity",
    "referrals": "referral",
    "events": "event",
}
MEMBER_COLUMNS = (
    "id",
    "slack_user_id",
    "display_name",
    "email",
    "former_department",
    "former_role",
    "joined_year",
    "left_year",
    "current_company",
    "current_role",
    "location",
    "skills",
    "interests",
    "open_to_rehire",
    "open_to_gigs",
    "open_to_collaboration",
    "open_to_mentoring",
    "open_to_speaking",
    "consented_at",
    "consent_version",
    "source",
    "last_checkin_at",
    "created_at",
)
# Columns that are internal plumbing, not information for HR.
_SKIP = {"search_text", "bigrams", "sequence", "rsvp_seq", "duplicate_key"}


def available_kinds() -> list[str]:
    import_all()
    return [kind for kind, table in KINDS.items() if table in SQLModel.metadata.tables]


EXCEL_DATETIME = "%Y-%m-%d %H:%M"


def _is_instant(column: Column[Any]) -> bool:
    kind = column.type
    return isinstance(getattr(kind, "impl", kind), DateTime)


def _cell(value: Any, zone: ZoneInfo) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(zone).strftime(EXCEL_DATETIME)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "1" if value else "0"
    text = str(value)
    # Spreadsheet formula injection: a cell starting with = + - @ would run as a formula in Excel.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    return text


def export_csv(session: Session, *, actor: Actor, kind: str, zone: ZoneInfo) -> tuple[bytes, int]:
    """(CSV bytes with a UTF-8 BOM, number of rows). HR only; audited. Instants in `zone` (the workspace's)."""
    if not actor.is_hr:
        raise PermissionDenied("not_allowed")
    if kind not in available_kinds():
        raise DomainError("admin.errors.export_unavailable", field="kind", kind=kind)
    table = SQLModel.metadata.tables[KINDS[kind]]
    if kind == "members":
        columns = [c for c in MEMBER_COLUMNS if c in table.c]
        # Like HR's screens: members who consented or came from HR's own roster, never erased ones.
        query = (
            table.select()
            .where(
                table.c.erased_at.is_(None),
                or_(table.c.consented_at.is_not(None), table.c.source == SOURCE_IMPORT),
            )
            .order_by(table.c.id)
        )
    else:
        columns = [c.name for c in table.columns if c.name not in _SKIP]
        query = table.select().order_by(*table.primary_key.columns)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([f"{c} ({zone.key})" if _is_instant(table.c[c]) else c for c in columns])
    count = 0
    for row in session.connection().execute(query).mappings():
        writer.writerow([_cell(row[c], zone) for c in columns])
        count += 1
    record(session, actor=actor.user_id, action="admin.export", target=kind, rows=count)
    session.flush()
    return (BOM + out.getvalue()).encode("utf-8"), count


FUNNEL_COLUMNS = ("month", "interested", "referred", "interviewing", "hired", "rehires")
INVITATION_FUNNEL_COLUMNS = ("roster", "invited", "joined", "consented", "active")


def export_funnel_csv(
    session: Session, *, actor: Actor, month: Month, zone: ZoneInfo, months: int = 12
) -> tuple[bytes, int]:
    """The hiring funnel of the `months` months up to `month`, one row a month, then
    the invitation funnel as of that month's end (CSV with a UTF-8 BOM; HR only; audited). Definitions:
    `models.report` and `models.invitation.invitation_funnel`. Returns (bytes, number of month rows)."""
    if not actor.is_hr:
        raise PermissionDenied("not_allowed")
    from models.invitation import invitation_funnel
    from models.report import pipeline_series

    if not 1 <= months <= 120:
        raise DomainError("invalid", field="months")
    chosen = [month]
    for _ in range(months - 1):
        chosen.insert(0, chosen[0].previous())
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FUNNEL_COLUMNS)
    rows = pipeline_series(session, months=chosen, zone=zone)
    for row in rows:
        writer.writerow([str(row.month), *(_cell(v, zone) for v in row.values())])
    funnel = invitation_funnel(session, since=None, until=month.end(zone))
    writer.writerow([])
    writer.writerow(["invitations_until", *INVITATION_FUNNEL_COLUMNS])
    writer.writerow([str(month), *(str(count) for _, count in funnel.stages())])
    record(session, actor=actor.user_id, action="admin.export", target="funnel", rows=len(rows))
    session.flush()
    return (BOM + out.getvalue()).encode("utf-8"), len(rows)
