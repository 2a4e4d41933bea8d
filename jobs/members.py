"""Members in the weekly digest (new members, check-ins shared with the community), and the opt-in
personal digest: a weekly DM of open opportunities that fit the member's skills and availability, at 09:00
on Monday in the member's own time zone, in their language, through the outbox (once per ISO week)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.blocks.common import context, divider, section, to_dicts
from bot.blocks.opportunities import summary
from bot.i18n import Translator, language_of
from bot.mrkdwn import escape, is_user_id, truncate, user_mention
from jobs.base import DigestContext, DigestSection, JobContext, ScheduledJob, hourly_period, weekly_period
from jobs.nudges import zone_of, zones_at
from models.checkin import eligible_time_zones, members_for_personal_digest, shared_checkins
from models.member import Member
from models.profile import OpportunityMatch, match_opportunities, new_members, open_opportunities

DIGEST_ORDER = 40
DIGEST_LIMIT = 8  # members, and shared check-ins, listed by name in the channel digest
CHECKIN_LINE_LIMIT = 150

PERSONAL_JOB = "personal_digest"
PERSONAL_PURPOSE = "personal_digest"
PERSONAL_HOUR = 9
PERSONAL_WEEKDAYS = frozenset({0})  # Monday
PERSONAL_LIMIT = 10


def _who(member: Member) -> str:
    if is_user_id(member.slack_user_id):
        return user_mention(member.slack_user_id)
    return escape(member.display_name) or "—"


def digest_section(ctx: DigestContext) -> DigestSection | None:
    """New members this week (those who agreed to be shown to everyone) and check-ins they shared."""
    tr = ctx.tr
    joined, joined_total = new_members(ctx.session, start=ctx.start, end=ctx.end, limit=DIGEST_LIMIT)
    shared, shared_total = shared_checkins(ctx.session, start=ctx.start, end=ctx.end, limit=DIGEST_LIMIT)
    if not joined and not shared:
        return None
    lines: list[str] = []
    if joined:
        lines.append(tr("profiles.digest.new_heading", count=joined_total))
        for member in joined:
            if member.current_role and member.current_company:
                about = tr(
                    "profiles.card.current",
                    role=escape(member.current_role),
                    company=escape(member.current_company),
                )
                lines.append(tr("profiles.digest.new_line_about", who=_who(member), about=about))
            else:
                lines.append(tr("profiles.digest.new_line", who=_who(member)))
    if shared:
        lines.append(tr("profiles.digest.checkins_heading", count=shared_total))
        for checkin, member in shared:
            text = escape(truncate(" ".join(checkin.text.split()), CHECKIN_LINE_LIMIT))
            lines.append(tr("profiles.digest.checkin_line", who=_who(member), text=text))
    return DigestSection(
        key="members",
        title=tr("profiles.digest.title"),
        lines=lines,
        # The builder's "and N more" counts lines: the headings are lines too.
        total=joined_total + shared_total + bool(joined) + bool(shared),
        more_hint="/alumni",
    )


def personal_digest_message(matches: list[OpportunityMatch], tr: Translator) -> dict[str, Any]:
    """The personal digest DM: the opportunities that fit, with why each fits."""
    text = tr("profiles.personal_digest.header", count=len(matches))
    blocks: list[Any] = [section(text)]
    for match in matches:
        why = (
            tr("profiles.personal_digest.why_skills", skills=escape(", ".join(match.shared_skills)))
            if match.shared_skills
            else tr("profiles.personal_digest.why_availability")
        )
        blocks.append(divider())
        blocks.append(section(summary(match.opportunity, tr) + "\n" + why))
    blocks.append(context(tr("profiles.personal_digest.footer")))
    return {"text": text, "blocks": to_dicts(blocks), "unfurl_links": False}


def run_personal_digest(ctx: JobContext) -> int:
    """Queue this hour's personal digests (members whose local time is Monday 09:00); returns how many."""
    services = ctx.services
    at = ctx.scheduled_for
    default = services.settings.zone
    queued = 0
    with services.db.session() as session:
        zones = zones_at(
            eligible_time_zones(session, personal_digest=True),
            at=at,
            hour=PERSONAL_HOUR,
            weekdays=PERSONAL_WEEKDAYS,
            default=default,
        )
        if not zones:
            return 0
        members = members_for_personal_digest(session, zones=zones)
        if not members:
            return 0
        opportunities = open_opportunities(session, at=at)
        for member in members:
            if not member.slack_user_id:
                continue
            zone = zone_of(member.tz, default)
            matches = match_opportunities(
                member, opportunities, today=at.astimezone(zone).date(), limit=PERSONAL_LIMIT
            )
            if not matches:
                continue
            tr = Translator(language_of(member.locale, services.settings.language))
            if ctx.enqueue(
                session,
                purpose=PERSONAL_PURPOSE,
                recipient=member.slack_user_id,
                period=weekly_period(at, zone),
                message=personal_digest_message(matches, tr),
            ):
                queued += 1
    return queued


SCHEDULED_JOBS: list[ScheduledJob] = [
    ScheduledJob(
        name=PERSONAL_JOB,
        description="DM opted-in members the open opportunities that fit them, Mondays 09:00 their time",
        cron={"minute": "0"},
        period=hourly_period,
        run=run_personal_digest,
        catch_up=timedelta(minutes=50),
    )
]
