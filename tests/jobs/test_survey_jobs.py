"""Survey jobs: the invitation DM once per recipient, one reminder before closing only to those who have not
answered, closing with a note to HR, and the "you said, we did" digest section; all through the outbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.i18n import Translator
from bot.services import Services, build_services
from bot.slack_emulator.web_api import FakeSlack
from jobs import surveys as jobs_surveys
from jobs.base import DigestContext
from jobs.delivery import deliver_due
from jobs.runner import run_job
from models import survey as sv
from models.actors import Actor
from models.db import Database
from models.member import Member
from models.outbox import OutboxMessage
from models.timeutil import freeze
from tests.conftest import ALICE, BOB, CAROL, HR, HR_CHANNEL, make_settings

HR_ACTOR = Actor(HR, is_hr=True)
T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # Tuesday 10:00 in Tokyo
CLOSES = T0 + timedelta(days=3)
LOCALES = {ALICE: "en-US", BOB: "ja-JP", CAROL: "en-US"}


@pytest.fixture
def services(fake_slack: FakeSlack, db: Database) -> Iterator[Services]:
    yield build_services(make_settings(fake_slack, db), db=db)


def _survey(services: Services, *, closes_at: datetime = CLOSES, title: str = "Pulse <!channel>") -> int:
    freeze(T0)
    with services.db.session() as session:
        for user, locale in LOCALES.items():
            session.add(Member(slack_user_id=user, display_name=user, locale=locale, consented_at=T0))
        session.flush()
        survey = sv.create_survey(
            session,
            actor=HR_ACTOR,
            draft=sv.SurveyDraft(
                title=title,
                closes_at=closes_at,
                min_group=3,
                questions=[
                    sv.QuestionDraft(sv.SCALE, "How are we doing?"),
                    sv.QuestionDraft(sv.TEXT, "Why?"),
                ],
            ),
        )
        survey_id = int(survey.id or 0)
        sv.open_survey(session, actor=HR_ACTOR, survey_id=survey_id)
    freeze(None)
    return survey_id


def _answer(services: Services, user: str, survey_id: int, at: datetime) -> None:
    freeze(at)
    with services.db.session() as session:
        questions = sv.questions_of(session, survey_id=survey_id)
        sv.submit_answers(
            session, actor=Actor(user), survey_id=survey_id, answers={int(questions[0].id or 0): "4"}
        )
    freeze(None)


def _run(services: Services, job: str, at: datetime) -> int:
    result = run_job(services, job, at=at)
    return len(result.queued) if result.claimed else -1


def _queued(services: Services, purpose: str) -> list[OutboxMessage]:
    with services.db.session() as session:
        stmt = select(OutboxMessage).where(OutboxMessage.purpose == purpose).order_by(OutboxMessage.id)
        return list(session.exec(stmt).all())


def test_each_recipient_is_invited_once_in_their_language(services: Services, fake_slack: FakeSlack) -> None:
    _survey(services)
    assert _run(services, jobs_surveys.INVITE_JOB, T0 + timedelta(minutes=5)) == 3
    assert _run(services, jobs_surveys.INVITE_JOB, T0 + timedelta(minutes=5)) == -1  # period claimed
    assert _run(services, jobs_surveys.INVITE_JOB, T0 + timedelta(minutes=10)) == 0  # already invited
    assert deliver_due(services) == 3
    alice = fake_slack.messages(ALICE)
    bob = fake_slack.messages(BOB)
    assert len(alice) == 1 and len(bob) == 1
    assert "HR would like your opinion" in json.dumps(alice[0]["blocks"])
    assert "人事からご意見をお願いします" in json.dumps(bob[0]["blocks"], ensure_ascii=False)
    # The title is escaped: it cannot ping the channel.
    assert "&lt;!channel&gt;" in json.dumps(alice[0]["blocks"]) and "<!channel>" not in json.dumps(alice)
    button = next(e for b in alice[0]["blocks"] if b["type"] == "actions" for e in b["elements"])
    assert button["action_id"] == "surveys_answer"


def test_one_reminder_a_day_before_closing_only_to_those_who_have_not_answered(
    services: Services, fake_slack: FakeSlack
) -> None:
    survey_id = _survey(services)
    _run(services, jobs_surveys.INVITE_JOB, T0 + timedelta(minutes=5))
    _answer(services, ALICE, survey_id, T0 + timedelta(hours=1))
    day_before = CLOSES - timedelta(hours=24)
    assert _run(services, jobs_surveys.REMINDER_JOB, day_before - timedelta(minutes=15)) == 0  # too early
    assert _run(services, jobs_surveys.REMINDER_JOB, day_before) == 2
    assert {m.recipient for m in _queued(services, jobs_surveys.PURPOSE_REMINDER)} == {BOB, CAROL}
    _answer(services, BOB, survey_id, day_before + timedelta(hours=1))
    for hours in (2, 12, 23):
        assert _run(services, jobs_surveys.REMINDER_JOB, day_before + timedelta(hours=hours)) == 0
    assert deliver_due(services) == 5  # three invitations, two reminders
    assert "closes" in fake_slack.messages(CAROL)[-1]["text"]
    assert len(fake_slack.messages(ALICE)) == 1


def test_someone_invited_inside_the_last_day_gets_no_reminder(services: Services) -> None:
    _survey(services, closes_at=T0 + timedelta(hours=20))
    assert _run(services, jobs_surveys.INVITE_JOB, T0 + timedelta(minutes=5)) == 3
    assert _run(services, jobs_surveys.REMINDER_JOB, T0 + timedelta(hours=1)) == 0


def test_closing_closes_once_and_tells_hr_participation_only(
    services: Services, fake_slack: FakeSlack
) -> None:
    survey_id = _survey(services)
    _run(services, jobs_surveys.INVITE_JOB, T0 + timedelta(minutes=5))
    for user in (ALICE, BOB):
        _answer(services, user, survey_id, T0 + timedelta(hours=2))
    assert _run(services, jobs_surveys.CLOSE_JOB, CLOSES - timedelta(minutes=5)) == 0
    assert _run(services, jobs_surveys.CLOSE_JOB, CLOSES) == 1
    assert _run(services, jobs_surveys.CLOSE_JOB, CLOSES + timedelta(minutes=5)) == 0
    with services.db.session() as session:
        assert sv.get_survey(session, survey_id=survey_id).status == sv.CLOSED
    # After closing: no invitation or reminder for it any more.
    assert _run(services, jobs_surveys.REMINDER_JOB, CLOSES + timedelta(minutes=15)) == 0
    deliver_due(services)
    notice = fake_slack.messages(HR_CHANNEL)[-1]
    text = json.dumps(notice["blocks"], ensure_ascii=False)
    # Two of three answered, below this survey's threshold of 3: participation, no results button.
    assert "3 人中 2 人" in text and "surveys_results" not in text


def test_the_digest_publishes_what_changed_once(services: Services) -> None:
    survey_id = _survey(services)
    for user in (ALICE, BOB, CAROL):
        _answer(services, user, survey_id, T0 + timedelta(hours=1))
    with services.db.session() as session:
        sv.close_survey(session, actor=HR_ACTOR, survey_id=survey_id)
        sv.record_survey_change(session, actor=HR_ACTOR, survey_id=survey_id, note="More <evening> meetups")

    def section() -> list[str] | None:
        with services.db.session() as session:
            ctx = DigestContext(session, services, T0, T0 + timedelta(days=7), Translator("en"))
            found = jobs_surveys.digest_section(ctx)
            return found.lines if found else None

    assert section() == ["• Pulse &lt;!channel&gt;: More &lt;evening&gt; meetups"]
    assert section() is None
