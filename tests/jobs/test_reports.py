"""The monthly report job queues last month's report and chart for the HR channel (once per month); the chart
goes through Slack's external upload flow; the "you said, we did" digest section; the retention job."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.charts import PNG_SIGNATURE
from bot.i18n import Translator
from bot.slack_files import OUTBOX_FILES_KEY, split_files
from jobs.base import DigestContext
from jobs.delivery import deliver_due
from jobs.reports import REPORT_JOB, digest_section
from jobs.retention import RETENTION_JOB
from jobs.runner import run_job
from models.actors import Actor
from models.feedback import Feedback, mark_addressed, reply_to_feedback, submit_feedback
from models.member import Member
from models.outbox import OUTBOX_UPDATE_KEY, OutboxMessage
from models.referral import Referral
from models.timeutil import freeze
from tests.conftest import ALICE, BOB, HR, HR_CHANNEL, BotHarness

FIRST_OF_NOVEMBER_9AM_JST = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)


def test_monthly_report_is_queued_once_for_the_hr_channel_with_its_chart(bot: BotHarness) -> None:
    with bot.db.session() as session:
        session.add(
            Member(slack_user_id=ALICE, display_name="a", consented_at=datetime(2026, 10, 5, tzinfo=UTC))
        )
    result = run_job(bot.services, REPORT_JOB, at=FIRST_OF_NOVEMBER_9AM_JST)
    assert result.claimed and result.period == "2026-11" and len(result.queued) == 1
    again = run_job(bot.services, REPORT_JOB, at=FIRST_OF_NOVEMBER_9AM_JST + timedelta(minutes=5))
    assert not again.claimed
    with bot.db.session() as session:
        row = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "monthly_report")).one()
    assert (row.recipient, row.period) == (HR_CHANNEL, "2026-10")
    message = row.message()
    assert "2026-10" in message["text"] and message["blocks"]
    chart = base64.b64decode(message[OUTBOX_FILES_KEY][0]["content_b64"])
    assert chart.startswith(PNG_SIGNATURE)
    funnel = base64.b64decode(message[OUTBOX_FILES_KEY][1]["content_b64"])
    assert funnel.startswith(PNG_SIGNATURE) and funnel != chart
    assert "採用ファネル" in json.dumps(message["blocks"], ensure_ascii=False)
    assert "メンバー数 (同意済み)" in json.dumps(message["blocks"], ensure_ascii=False)  # ALUMNI_LANGUAGE=ja


def test_delivered_report_has_its_png_chart_uploaded_through_the_external_upload_flow(
    bot: BotHarness,
) -> None:
    run_job(bot.services, REPORT_JOB, at=FIRST_OF_NOVEMBER_9AM_JST)
    deliver_due(bot.services)
    posted = bot.fake.wait_for("chat.postMessage", lambda c: c.args.get("channel") == HR_CHANNEL)[0]
    assert OUTBOX_FILES_KEY not in posted.args and "2026-10" in posted.args["text"]
    complete = bot.fake.wait_for("files.completeUploadExternal")[0]
    get_url = bot.fake.calls_to("files.getUploadURLExternal")[0]
    entry = bot.fake.uploaded_files[complete.args["files"][0]["id"]]
    assert get_url.args["filename"] == "alumni-report-2026-10.png"
    assert int(get_url.args["length"]) == len(entry["bytes"])
    assert entry["bytes"].startswith(PNG_SIGNATURE) and entry["completed"]
    assert (entry["channel_id"], entry["thread_ts"]) == (HR_CHANNEL, posted.response["ts"])
    # The second chart (the hiring funnel) follows in the same thread.
    bot.fake.wait_for("files.completeUploadExternal", count=2)
    filenames = [c.args["filename"] for c in bot.fake.calls_to("files.getUploadURLExternal")]
    assert filenames == ["alumni-report-2026-10.png", "alumni-funnel-2026-10.png"]
    deliver_due(bot.services)  # nothing is posted or uploaded twice
    assert len(bot.fake.calls_to("files.completeUploadExternal")) == 2
    assert len([c for c in bot.fake.calls_to("chat.postMessage") if c.args.get("channel") == HR_CHANNEL]) == 1


def test_split_files_gives_chat_arguments_and_files() -> None:
    args, files = split_files(
        {"text": "t", OUTBOX_FILES_KEY: [{"filename": "a.png", "title": "a", "content_b64": ""}]}
    )
    assert args == {"text": "t"} and files[0]["filename"] == "a.png"


MONDAY_DIGEST = datetime(2026, 10, 5, 0, 0, tzinfo=UTC)  # Monday 09:00 in Tokyo


def _digest_texts(bot: BotHarness) -> list[str]:
    with bot.db.session() as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "digest")).all()
        return [json.dumps(row.message()["blocks"], ensure_ascii=False) for row in rows]


def test_you_said_we_did_publishes_every_addressed_note_once_in_the_next_digest(bot: BotHarness) -> None:
    hr = Actor(HR, is_hr=True)
    freeze(MONDAY_DIGEST - timedelta(days=3))
    with bot.db.session() as session:
        first = submit_feedback(session, actor=Actor(BOB), text="evenings <b>", kind="idea", anonymous=True)
        reply_to_feedback(
            session,
            actor=hr,
            feedback_id=first.id or 0,
            reply="ok",
            change_note="Evening meetups <!here>",
            addressed=True,
        )
        waiting = submit_feedback(session, actor=Actor(ALICE), text="study", kind="idea", anonymous=False)
        reply_to_feedback(  # a note without "addressed": not published yet
            session,
            actor=hr,
            feedback_id=waiting.id or 0,
            reply="noted",
            change_note="Study sessions",
            addressed=False,
        )
        waiting_id = waiting.id or 0
    freeze(None)
    assert run_job(bot.services, "digest", at=MONDAY_DIGEST).claimed
    [week1] = _digest_texts(bot)
    assert "Evening meetups &lt;!here&gt;" in week1 and "Study sessions" not in week1

    # Marked addressed after that digest (and after the quarter's first one): it goes into the next digest.
    freeze(MONDAY_DIGEST + timedelta(days=2))
    with bot.db.session() as session:
        mark_addressed(session, actor=hr, feedback_id=waiting_id)
    freeze(None)
    run_job(bot.services, "digest", at=MONDAY_DIGEST + timedelta(days=7))
    week2 = [t for t in _digest_texts(bot) if t != week1]
    assert len(week2) == 1 and "Study sessions" in week2[0] and "Evening meetups" not in week2[0]

    # Nothing new: neither note is shown a second time.
    run_job(bot.services, "digest", at=MONDAY_DIGEST + timedelta(days=14))
    texts = _digest_texts(bot)
    assert sum("Evening meetups" in t for t in texts) == 1 and sum("Study sessions" in t for t in texts) == 1


def test_a_dry_run_digest_publishes_nothing(bot: BotHarness) -> None:
    with bot.db.session() as session:
        item = submit_feedback(session, actor=Actor(BOB), text="x", kind="idea", anonymous=True)
        reply_to_feedback(
            session,
            actor=Actor(HR, is_hr=True),
            feedback_id=item.id or 0,
            reply="",
            change_note="Done",
            addressed=True,
        )
    dry = run_job(bot.services, "digest", at=MONDAY_DIGEST, dry_run=True)
    assert "Done" in json.dumps(dry.queued, ensure_ascii=False)
    with bot.db.session() as session:
        assert session.exec(select(Feedback)).one().published_at is None
        tr = Translator("en")
        section = digest_section(
            DigestContext(session, bot.services, MONDAY_DIGEST - timedelta(days=7), MONDAY_DIGEST, tr)
        )
        assert section is not None and section.lines == ["• Done"] and section.title == "You said, we did"


def test_retention_job_purges_old_candidate_data_and_queues_the_hr_message_update(bot: BotHarness) -> None:
    posted_ts = str(
        bot.services.client.chat_postMessage(channel=HR_CHANNEL, text="Referral: Old Candidate")["ts"]
    )
    with bot.db.session() as session:
        old = datetime(2025, 1, 1, tzinfo=UTC)
        session.add(
            Referral(
                referrer_id=ALICE,
                candidate_name="Old Candidate",
                candidate_email="old@cand.example",
                consent_at=old,
                status="hired",
                updated_at=old,
                hr_channel=HR_CHANNEL,
                hr_ts=posted_ts,
                duplicate_key="general:old@cand.example",
            )
        )
    result = run_job(bot.services, RETENTION_JOB, at=datetime(2026, 11, 2, tzinfo=UTC))
    assert result.claimed and len(result.queued) == 1
    with bot.db.session() as session:
        referral = session.exec(select(Referral)).one()
        assert referral.candidate_email is None and "Old Candidate" not in referral.candidate_name
        row = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "retention_redact")).one()
    assert row.recipient == HR_CHANNEL and row.message()[OUTBOX_UPDATE_KEY] == posted_ts
    deliver_due(bot.services)
    message = next(m for m in bot.fake.messages(HR_CHANNEL) if m["ts"] == posted_ts)
    assert "Old Candidate" not in json.dumps(message, ensure_ascii=False) and "保存期間" in message["text"]


def _october_intros_and_news(bot: BotHarness) -> None:
    """October 2026 in Asia/Tokyo (ALUMNI_TIMEZONE) is [2026-09-30 15:00 UTC, 2026-10-31 15:00 UTC)."""
    from models.intro import Pairing, record_meeting_answer, record_round, round_groups
    from models.news import NewsPost

    users = ["U0REP0001", "U0REP0002", "U0REP0003", "U0REP0004", "U0REP0005"]
    with bot.db.session() as session:
        members = [
            Member(slack_user_id=u, display_name=u, consented_at=datetime(2026, 9, 1, tzinfo=UTC))
            for u in users
        ]
        session.add_all(members)
        session.flush()
        a, b, c, d, e = (int(m.id or 0) for m in members)
        rounds = [
            # 1 October 00:30 in Tokyo: October's first round.
            ("2026-W40", datetime(2026, 9, 30, 15, 30, tzinfo=UTC), [Pairing((a, b)), Pairing((c, d, e))]),
            ("2026-W44", datetime(2026, 10, 26, 1, 0, tzinfo=UTC), [Pairing((a, c))]),
            # 1 November 00:30 in Tokyo: November's, not October's.
            ("2026-W45", datetime(2026, 10, 31, 15, 30, tzinfo=UTC), [Pairing((b, d))]),
        ]
        groups: list[int] = []
        for period, at, pairings in rounds:
            made = record_round(session, period=period, scheduled_for=at, pairings=pairings)
            assert made is not None and made.id is not None
            groups += [int(v.group.id or 0) for v in round_groups(session, round_id=made.id)]
        answers = [(users[0], 0, True), (users[1], 0, False), (users[2], 1, False), (users[3], 1, False)]
        answers.append((users[1], 3, True))  # November's group
        for user, group, met in answers:
            record_meeting_answer(session, actor=Actor(user), group_id=groups[group], met=met)
        news = [
            ("Quarterly results & outlook", datetime(2026, 10, 20, tzinfo=UTC), 7, 2),
            ("New office", datetime(2026, 9, 30, 16, 0, tzinfo=UTC), 1, 0),
            ("September town hall", datetime(2026, 9, 30, 14, 0, tzinfo=UTC), 50, 50),
            ("November kick-off", datetime(2026, 10, 31, 15, 0, tzinfo=UTC), 100, 100),
        ]
        for title, at, reactions, replies in news:
            session.add(
                NewsPost(
                    author_id=HR, title=title, body="b", created_at=at, reactions=reactions, replies=replies
                )
            )


def test_the_report_counts_octobers_intros_and_news_reach_in_ja_and_en(bot: BotHarness) -> None:
    from bot.reporting import render_report
    from models.report import Month

    _october_intros_and_news(bot)
    run_job(bot.services, REPORT_JOB, at=FIRST_OF_NOVEMBER_9AM_JST)
    with bot.db.session() as session:
        row = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "monthly_report")).one()
    blocks = json.dumps(row.message()["blocks"], ensure_ascii=False)
    ja = Translator("ja")  # ALUMNI_LANGUAGE
    # Two rounds (the 1 November one is November's), three groups of 2+3+2; per group: someone met (A and B
    # answered yes and no), only "no" (C, D), nobody answered (the last round's pair).
    intros = ja("intros.report.line", rounds=2, groups=3, members=7, yes=1, no=1, unanswered=1)
    assert intros in blocks
    assert ja("news.report_total", posts=2, reactions=8, replies=2) in blocks
    # The posts, most reactions and replies first; a title is escaped in mrkdwn.
    first = ja("news.report_line", title="Quarterly results &amp; outlook", reactions=7, replies=2)
    second = ja("news.report_line", title="New office", reactions=1, replies=0)
    assert blocks.index(first) < blocks.index(second)
    assert "town hall" not in blocks and "kick-off" not in blocks
    en = Translator("en")
    with bot.db.session() as session:
        rendered = render_report(
            session,
            month=Month(2026, 10),
            zone=bot.services.settings.zone,
            tr=en,
            defaults=bot.services.settings.program_defaults(),
        )
    assert en("intros.report.line", rounds=2, groups=3, members=7, yes=1, no=1, unanswered=1) in rendered.text
    assert en("news.report_total", posts=2, reactions=8, replies=2) in rendered.text
    assert en("admin.engagement.title") in json.dumps(rendered.blocks)
