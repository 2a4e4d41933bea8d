"""The invitation delivery job against a real local SMTP server (aiosmtpd) on SQLite and PostgreSQL: each
queued invitation arrives exactly once, even with workers racing; transient failures are retried, refusals
recorded, and nothing is re-sent after success unless HR asks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from bot.config import Settings
from jobs.invitations import InvitationDeliveryOptions, deliver_invitations
from models.actors import Actor
from models.db import Database
from models.invitation import FAILED, QUEUED, SENT, STOPPED, UNCERTAIN, Invitation, queue_invitations
from models.roster import RosterRecord, link_new_slack_user
from models.timeutil import freeze, now
from tests.smtp_server import HANG, SmtpServer, running_smtp_server

HR = Actor("U0HR00001", is_hr=True)
JOIN_URL = "https://join.slack.com/t/example-alumni/shared_invite/zt-abc123"
T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
FAST = InvitationDeliveryOptions(smtp_timeout=1.0)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with running_smtp_server() as server:
        yield server


def settings_for(server: SmtpServer, **overrides: object) -> Settings:
    base = Settings(
        smtp_host=server.host,
        smtp_port=server.port,
        smtp_starttls=False,
        smtp_from="Alumni team <alumni@example.com>",
        join_url=JOIN_URL,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def invite(db: Database, *people: tuple[str, str]) -> list[int]:
    with db.session() as session:
        records = [RosterRecord(email=email, name=name) for email, name in people]
        session.add_all(records)
        session.flush()
        ids = [int(r.id or 0) for r in records]
        queue_invitations(session, actor=HR, roster_ids=ids)
    return ids


def rows(session: Session) -> dict[str, Invitation]:
    return {i.email: i for i in session.exec(select(Invitation))}


def test_each_invitation_arrives_once_in_its_language_and_a_rerun_sends_nothing(
    db: Database, smtp_server: SmtpServer
) -> None:
    freeze(T0)
    invite(db, ("taro@example.com", "山田太郎"), ("jane@example.com", "Jane Doe"))
    tally = deliver_invitations(db, settings_for(smtp_server), options=FAST)
    assert tally.sent == 2
    by_rcpt = {r.rcpt_tos[0]: r for r in smtp_server.received}
    assert sorted(by_rcpt) == ["jane@example.com", "taro@example.com"]
    assert all(len(r.rcpt_tos) == 1 for r in smtp_server.received)
    assert (
        "山田太郎 様" in by_rcpt["taro@example.com"].body() and JOIN_URL in by_rcpt["taro@example.com"].body()
    )
    assert by_rcpt["jane@example.com"].message["Subject"] == "You're invited to our alumni community on Slack"
    assert deliver_invitations(db, settings_for(smtp_server), options=FAST).sent == 0
    assert len(smtp_server.received) == 2
    with db.session() as session:
        found = rows(session)
    assert {r.status for r in found.values()} == {SENT}
    assert all(r.sent_at == T0 and r.sends == 1 and r.message_id for r in found.values())
    assert found["jane@example.com"].message_id == by_rcpt["jane@example.com"].message["Message-ID"]


def test_racing_workers_send_each_invitation_exactly_once(db: Database, smtp_server: SmtpServer) -> None:
    invite(db, *((f"p{n:02d}@example.com", f"Person {n}") for n in range(24)))
    settings = settings_for(smtp_server)
    start = threading.Barrier(4)
    tallies = []

    def worker(name: str) -> None:
        start.wait()
        tallies.append(deliver_invitations(db, settings, worker_id=name, options=FAST))

    threads = [threading.Thread(target=worker, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    recipients = sorted(r.rcpt_tos[0] for r in smtp_server.received)
    assert recipients == sorted(f"p{n:02d}@example.com" for n in range(24))  # all, none twice
    assert sum(t.sent for t in tallies) == 24


def test_transient_failures_are_retried_with_backoff_then_sent(db: Database, smtp_server: SmtpServer) -> None:
    freeze(T0)
    invite(db, ("busy@example.com", "Busy"))
    smtp_server.handler.replies_for_rcpt["busy@example.com"] = ["451 4.3.0 try later", "421 4.7.0 busy"]
    settings = settings_for(smtp_server)
    first = deliver_invitations(db, settings, options=FAST)
    assert (first.sent, first.retried) == (0, 1)
    assert deliver_invitations(db, settings, options=FAST).sent == 0  # not due yet: backing off
    freeze(T0 + timedelta(minutes=3))
    assert deliver_invitations(db, settings, options=FAST).retried == 1
    freeze(T0 + timedelta(minutes=10))
    assert deliver_invitations(db, settings, options=FAST).sent == 1
    with db.session() as session:
        row = rows(session)["busy@example.com"]
    assert (row.status, row.attempts, row.error) == (SENT, 2, None)
    assert [r.rcpt_tos for r in smtp_server.received] == [["busy@example.com"]]


def test_refusals_and_exhausted_retries_fail_and_a_lost_answer_is_uncertain(
    db: Database, smtp_server: SmtpServer
) -> None:
    freeze(T0)
    invite(db, ("gone@example.com", "Gone"), ("flaky@example.com", "Flaky"))
    smtp_server.handler.replies_for_rcpt["gone@example.com"] = ["550 5.1.1 no such user"]
    smtp_server.handler.replies_for_rcpt["flaky@example.com"] = ["451 later"] * 3
    options = replace(FAST, max_attempts=2, backoff_base=timedelta(seconds=1))
    settings = settings_for(smtp_server)
    deliver_invitations(db, settings, options=options)
    freeze(T0 + timedelta(minutes=1))
    deliver_invitations(db, settings, options=options)
    with db.session() as session:
        found = rows(session)
    assert (found["gone@example.com"].status, found["gone@example.com"].error) == (
        FAILED,
        "550 5.1.1 no such user",
    )
    assert (found["flaky@example.com"].status, found["flaky@example.com"].attempts) == (FAILED, 2)
    # The server takes the message but never answers: maybe delivered, so never re-sent by itself.
    invite(db, ("quiet@example.com", "Quiet"))
    smtp_server.handler.replies_for_data.append(HANG)
    assert deliver_invitations(db, settings, options=options).uncertain == 1
    freeze(T0 + timedelta(days=1))
    deliver_invitations(db, settings, options=options)
    with db.session() as session:
        assert rows(session)["quiet@example.com"].status == UNCERTAIN
    assert smtp_server.received == []


def test_resend_on_hr_request_sends_once_more_and_joining_stops_a_queued_one(
    db: Database, smtp_server: SmtpServer
) -> None:
    freeze(T0)
    jane, _joiner = invite(db, ("jane@example.com", "Jane"), ("joiner@example.com", "Joiner"))
    with db.session() as session:  # Joiner joins Slack before the job runs
        link_new_slack_user(session, slack_user_id="U0JOIN001", email="joiner@example.com")
    settings = settings_for(smtp_server)
    deliver_invitations(db, settings, options=FAST)
    assert [r.rcpt_tos for r in smtp_server.received] == [["jane@example.com"]]
    with db.session() as session:
        queue_invitations(session, actor=HR, roster_ids=[jane], resend=True)
    deliver_invitations(db, settings, options=FAST)
    deliver_invitations(db, settings, options=FAST)
    assert [r.rcpt_tos for r in smtp_server.received] == [["jane@example.com"], ["jane@example.com"]]
    first, second = (r.message["Message-ID"] for r in smtp_server.received)
    assert first != second
    with db.session() as session:
        found = rows(session)
    assert (found["jane@example.com"].status, found["jane@example.com"].sends) == (SENT, 2)
    assert found["joiner@example.com"].status == STOPPED


def test_nothing_is_sent_until_configured_and_broken_settings_keep_the_queue(
    db: Database, smtp_server: SmtpServer
) -> None:
    freeze(T0)
    invite(db, ("a@example.com", "A"), ("b@example.com", "B"))
    assert deliver_invitations(db, settings_for(smtp_server, join_url=None), options=FAST).sent == 0
    assert deliver_invitations(db, settings_for(smtp_server, smtp_host=None), options=FAST).sent == 0
    broken = deliver_invitations(db, settings_for(smtp_server, smtp_starttls=True), options=FAST)
    assert broken.sent == 0 and broken.config_error and "STARTTLS" in broken.config_error
    with db.session() as session:
        found = rows(session)
    assert {r.status for r in found.values()} == {QUEUED}
    assert {r.attempts for r in found.values()} == {0}  # a settings problem is not the rows' fault
    freeze(now() + timedelta(minutes=20))
    assert deliver_invitations(db, settings_for(smtp_server), options=FAST).sent == 2
    assert smtp_server.received and len(smtp_server.received) == 2
