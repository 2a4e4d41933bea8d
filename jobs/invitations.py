"""Sending HR's queued email invitations (`models.invitation`), each exactly once.

`deliver_invitations` claims one due row at a time (one conditional UPDATE, committed before anything is
sent), so any number of workers in any number of processes never send a row twice. Before the message goes
to the SMTP server the row is marked handed over (committed); after the server's answer:
- accepted: `sent` (never sent again unless HR asks for a resend);
- transient (a 4xx, a refused or timed-out connection, all before the message was handed over): back to
  the queue with exponential backoff, at most `max_attempts` times, then `failed`;
- permanent (a 5xx: unknown mailbox, refused sender): `failed` with the server's answer;
- broken connection while the server had the message: `uncertain` (maybe delivered; never re-sent
  automatically, HR may resend);
- settings that cannot work (no STARTTLS, login refused): the row goes back without counting an attempt and
  the run stops, so a misconfiguration does not burn everyone's attempts.
A worker that dies mid-send leaves `sending`: after `stale_after` the row is queued again if it was never
handed over, `uncertain` if it was.

The scheduled job runs every 5 minutes; the handler that queues invitations may also call
`deliver_invitations` right away (after the ack) so HR's click is answered by an email within seconds.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from bot.config import Settings
from bot.mailer import (
    MailConfigError,
    PermanentMailError,
    SmtpConfig,
    TransientMailError,
    UncertainMailError,
    invitation_email,
    invitation_message_id,
    send_email,
)
from jobs.base import JobContext, ScheduledJob
from models import invitation as invitations
from models.db import Database
from models.timeutil import now

log = logging.getLogger(__name__)

JOB = "invitations_send"
EVERY_MINUTES = 5
SCOPES: tuple[str, ...] = ()

Sender = Callable[..., None]  # `bot.mailer.send_email`'s signature; tests may wrap it


@dataclass(frozen=True)
class InvitationDeliveryOptions:
    """Tuning of one run. The defaults suit production; tests shorten the waits."""

    max_attempts: int = 5
    backoff_base: timedelta = timedelta(minutes=2)  # 2, 4, 8, 16 minutes…
    backoff_max: timedelta = timedelta(hours=2)
    config_retry: timedelta = timedelta(minutes=15)  # after a settings problem
    stale_after: timedelta = timedelta(minutes=10)  # a `sending` claim older than this: its worker died
    max_per_run: int = 500
    smtp_timeout: float = 30.0  # seconds for the connection and each SMTP answer


@dataclass
class DeliveryTally:
    """What one run did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    uncertain: int = 0
    config_error: str | None = None


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def _backoff(attempts: int, options: InvitationDeliveryOptions) -> timedelta:
    delay: timedelta = options.backoff_base * (2 ** max(0, attempts))
    return min(options.backoff_max, delay)


def deliver_invitations(
    db: Database,
    settings: Settings,
    *,
    worker_id: str | None = None,
    options: InvitationDeliveryOptions | None = None,
    send: Sender = send_email,
    at: Callable[[], datetime] = now,
) -> DeliveryTally:
    """Send due queued invitations until none is due (or `max_per_run`); returns what happened.

    Does nothing (and sends nothing) until `Settings.email_invitations_ready`."""
    options = options or InvitationDeliveryOptions()
    tally = DeliveryTally()
    config = SmtpConfig.from_settings(settings, timeout=options.smtp_timeout)
    if config is None or not settings.email_invitations_ready or not settings.join_url:
        return tally
    worker = worker_id or default_worker_id()
    with db.session() as session:
        invitations.release_stale_claims(session, stale_before=at() - options.stale_after, at=at())
    for _ in range(options.max_per_run):
        with db.session() as session:
            claim = invitations.claim_next_invitation(session, worker_id=worker, at=at())
        if claim is None:
            break
        if not _deliver_one(db, config, settings.join_url, claim, options, send, at, tally):
            break
    return tally


def _deliver_one(
    db: Database,
    config: SmtpConfig,
    join_url: str,
    claim: invitations.InvitationClaim,
    options: InvitationDeliveryOptions,
    send: Sender,
    at: Callable[[], datetime],
    tally: DeliveryTally,
) -> bool:
    """Send one claimed invitation and record the outcome. False: stop this run (the settings are broken)."""
    message_id = invitation_message_id(claim.id, claim.sends + 1, config.sender)
    message: EmailMessage = invitation_email(
        language=claim.language,
        to=claim.email,
        sender=config.sender,
        name=claim.name,
        join_url=join_url,
        message_id=message_id,
    )

    def hand_over() -> bool:
        with db.session() as session:
            return invitations.mark_handed_over(session, claim, at=at())

    try:
        send(config, message, recipient=claim.email, before_data=hand_over)
    except MailConfigError as exc:
        log.error("invitation email settings do not work: %s", exc)
        with db.session() as session:
            invitations.retry_later(
                session, claim, not_before=at() + options.config_retry, error=str(exc), count_attempt=False
            )
        tally.config_error = str(exc)
        return False
    except TransientMailError as exc:
        with db.session() as session:
            if claim.attempts + 1 >= options.max_attempts:
                invitations.mark_failed(session, claim, error=str(exc))
                tally.failed += 1
            else:
                invitations.retry_later(
                    session, claim, not_before=at() + _backoff(claim.attempts, options), error=str(exc)
                )
                tally.retried += 1
        log.info("invitation %s: transient failure (%s)", claim.id, exc)
        return True
    except PermanentMailError as exc:
        with db.session() as session:
            invitations.mark_failed(session, claim, error=str(exc))
        tally.failed += 1
        log.info("invitation %s refused: %s", claim.id, exc)
        return True
    except UncertainMailError as exc:
        with db.session() as session:
            invitations.mark_failed(session, claim, error=str(exc), uncertain=True)
        tally.uncertain += 1
        log.warning("invitation %s may or may not have been delivered: %s", claim.id, exc)
        return True
    with db.session() as session:
        recorded = invitations.mark_sent(session, claim, message_id=message_id, at=at())
    if recorded:
        tally.sent += 1
    else:  # the claim was taken over before the hand-over, so `send` abandoned it: nothing went out
        log.warning("invitation %s: claim lost before sending", claim.id)
    return True


def run_invitations(ctx: JobContext) -> int:
    """Send the invitations that are due; returns how many were sent."""
    if ctx.dry_run:
        with ctx.services.db.session() as session:
            return 1 if invitations.has_due(session, at=ctx.scheduled_for) else 0
    tally = deliver_invitations(ctx.services.db, ctx.services.settings)
    return tally.sent


SCHEDULED_JOBS: list[ScheduledJob] = [
    ScheduledJob.every_minutes(
        EVERY_MINUTES,
        name=JOB,
        description=f"Email the invitations HR queued to leavers not in Slack yet (every {EVERY_MINUTES} min)",
        run=run_invitations,
        catch_up=timedelta(minutes=EVERY_MINUTES - 1),
    )
]
