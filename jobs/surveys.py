"""Pulse survey jobs: invitations, one reminder before closing, closing, and the digest's "you said, we did".

- `surveys_invitations` (every 5 minutes): DMs each recipient of an open survey the invitation, once: the
  outbox dedupe key is (purpose, member, `survey-<id>`), and the recipient row is marked invited in the same
  transaction, so a rerun, a second replica or a restart queues nothing twice.
- `surveys_reminders` (every 15 minutes): `REMINDER_BEFORE` (24 h) before closing, one reminder to recipients
  who were invited before that window and have not answered, exactly once (same keys and marking).
- `surveys_close` (every 5 minutes): closes surveys whose time has come and tells the HR channel how many
  answered (participation only; results are read by HR on demand, with the anonymity threshold applied).
- `digest_section`: the notes HR wrote on what changed because of a survey, each published once.

Answering queues nothing: a message queued at the moment someone answers would time-stamp their answer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlmodel import Session

from bot.blocks import surveys as ui
from bot.i18n import Translator, language_of
from jobs.base import DigestContext, DigestSection, JobContext, ScheduledJob
from models import survey as sv

INVITE_JOB = "surveys_invitations"
REMINDER_JOB = "surveys_reminders"
CLOSE_JOB = "surveys_close"
PURPOSE_INVITE = "survey_invite"
PURPOSE_REMINDER = "survey_reminder"
PURPOSE_CLOSED = "survey_closed"
INVITE_EVERY_MINUTES = 5
REMINDER_EVERY_MINUTES = 15
CLOSE_EVERY_MINUTES = 5
BATCH = 500  # recipients per run; the next run takes the rest
DIGEST_ORDER = 91  # right after the feedback "you said, we did" section
DIGEST_LIMIT = 10
SCOPES: tuple[str, ...] = ("chat:write", "im:write")


def survey_period(survey: sv.Survey) -> str:
    """One message per survey and recipient (the outbox dedupes on it)."""
    return f"survey-{survey.id}"


def _queue_dms(
    ctx: JobContext,
    session: Session,
    invitations: list[sv.Invitation],
    *,
    purpose: str,
    render: Callable[[sv.Survey, Translator], dict[str, Any]],
) -> tuple[int, list[int]]:
    """Queue one DM per invitation, rendered once per survey and language; returns (new, recipient ids)."""
    default = ctx.services.settings.language
    rendered: dict[tuple[int, str], dict[str, Any]] = {}
    queued = 0
    for invitation in invitations:
        tr = Translator(language_of(invitation.locale, default))
        key = (int(invitation.survey.id or 0), tr.language)
        if key not in rendered:
            rendered[key] = render(invitation.survey, tr)
        queued += ctx.enqueue(
            session,
            purpose=purpose,
            recipient=invitation.slack_user_id,
            period=survey_period(invitation.survey),
            message=rendered[key],
        )
    return queued, [i.recipient_id for i in invitations]


def run_invitations(ctx: JobContext) -> int:
    """DM the invitation to every recipient of an open survey who has not had it; returns how many were new."""
    with ctx.services.db.session() as session:
        invitations = sv.pending_invitations(session, at=ctx.scheduled_for, limit=BATCH)
        queued, ids = _queue_dms(ctx, session, invitations, purpose=PURPOSE_INVITE, render=ui.invitation_dm)
        if not ctx.dry_run:
            sv.mark_invited(session, ids, at=ctx.scheduled_for)
    return queued


def run_reminders(ctx: JobContext) -> int:
    """One reminder, 24 h before closing, to those who have not answered; returns how many were new."""
    with ctx.services.db.session() as session:
        due = sv.due_reminders(session, at=ctx.scheduled_for, limit=BATCH)
        queued, ids = _queue_dms(
            ctx,
            session,
            due,
            purpose=PURPOSE_REMINDER,
            render=lambda survey, tr: ui.invitation_dm(survey, tr, reminder=True),
        )
        if not ctx.dry_run:
            sv.mark_reminded(session, ids, at=ctx.scheduled_for)
    return queued


def run_close(ctx: JobContext) -> int:
    """Close the surveys whose closing time has come; tell the HR channel. Returns how many messages."""
    hr_channel = ctx.services.settings.alumni_hr_channel
    tr = ctx.services.workspace_translator
    queued = 0
    with ctx.services.db.session() as session:
        if ctx.dry_run:
            return 0
        closed = sv.close_due_surveys(session, at=ctx.scheduled_for)
        counts = sv.participation(session, survey_ids=[s.id for s in closed if s.id is not None])
        for survey in closed:
            if not hr_channel:
                continue
            asked, answered = counts.get(survey.id or 0, (0, 0))
            queued += ctx.enqueue(
                session,
                purpose=PURPOSE_CLOSED,
                recipient=hr_channel,
                period=survey_period(survey),
                message=ui.closed_notice(survey, tr, asked=asked, answered=answered),
            )
    return queued


SCHEDULED_JOBS: list[ScheduledJob] = [
    ScheduledJob.every_minutes(
        INVITE_EVERY_MINUTES,
        name=INVITE_JOB,
        description="DM survey invitations to the recipients of open surveys (once each)",
        run=run_invitations,
        catch_up=timedelta(hours=1),
    ),
    ScheduledJob.every_minutes(
        REMINDER_EVERY_MINUTES,
        name=REMINDER_JOB,
        description="Remind survey recipients who have not answered, 24 h before closing (once each)",
        run=run_reminders,
        catch_up=timedelta(hours=1),
    ),
    ScheduledJob.every_minutes(
        CLOSE_EVERY_MINUTES,
        name=CLOSE_JOB,
        description="Close surveys at their closing time and tell the HR channel how many answered",
        run=run_close,
        catch_up=timedelta(hours=6),
    ),
]


def digest_section(ctx: DigestContext) -> DigestSection | None:
    """ "You said, we did" for surveys: each note HR wrote on a closed survey, exactly once."""
    changes = sv.unpublished_survey_changes(ctx.session, limit=DIGEST_LIMIT)
    if not changes:
        return None
    if not ctx.dry_run:
        sv.mark_survey_changes_published(ctx.session, changes, at=ctx.end)
    return DigestSection(
        key="surveys_you_said_we_did",
        title=ctx.tr("surveys.digest.title"),
        lines=[ui.digest_line(survey, ctx.tr) for survey in changes],
        total=len(changes),
        more_hint=ctx.tr("surveys.digest.hint"),
    )
