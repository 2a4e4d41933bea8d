"""The members' part of the weekly digest, and the opt-in personal digest of matching opportunities."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot.blocks.privacy import CONFIRM_BLOCK, DELETE_CONFIRM
from bot.i18n import Translator, t
from jobs.base import DigestContext
from jobs.delivery import deliver_due
from jobs.members import PERSONAL_JOB, digest_section
from jobs.runner import run_job
from models.actors import Actor
from models.checkin import record_checkin, set_personal_digest
from models.member import VISIBILITY_HR
from models.opportunity import KIND_GIG, KIND_JOB, STATUS_FILLED, Opportunity
from models.profile import ProfileInput, give_consent, update_profile
from models.timeutil import freeze
from tests.conftest import ALICE, ALUMNI_CHANNEL, BOB, CAROL, HR, BotHarness

WEEK_START = datetime(2026, 11, 16, tzinfo=UTC)
WEEK_END = WEEK_START + timedelta(days=7)


def member(
    bot: BotHarness, user: str, *, tz: str = "Asia/Tokyo", locale: str = "en", **profile: object
) -> None:
    with bot.db.session() as session:
        update_profile(
            session, actor=Actor(user), data=ProfileInput(**profile), display_name=user, tz=tz, locale=locale
        )  # type: ignore[arg-type]
        give_consent(session, actor=Actor(user))


def test_digest_lists_new_members_and_shared_check_ins_of_the_week(bot: BotHarness) -> None:
    freeze(WEEK_START - timedelta(days=3))
    member(bot, "U0OLD0001", current_company="Old Co")
    freeze(WEEK_START + timedelta(days=2))
    member(bot, ALICE, current_company="<!here> Acme", current_role="CTO")
    member(bot, "U0HIDE001", visibility=VISIBILITY_HR)
    with bot.db.session() as session:
        record_checkin(
            session,
            actor=Actor("U0OLD0001"),
            data=ProfileInput(),
            whats_new="New job <!channel>!",
            share=True,
        )
        record_checkin(
            session,
            actor=Actor(ALICE),
            data=ProfileInput(current_company="<!here> Acme", current_role="CTO"),
            whats_new="secret",
            share=False,
        )
    with bot.db.session() as session:
        ctx = DigestContext(session, bot.services, WEEK_START, WEEK_END, Translator("en"))
        section = digest_section(ctx)
        empty = digest_section(
            DigestContext(session, bot.services, WEEK_END, WEEK_END + timedelta(days=7), Translator("ja"))
        )
    assert empty is None
    assert section is not None and section.total == 4  # two headings, one new member, one check-in
    text = "\n".join(section.lines)
    assert f"<@{ALICE}>" in text and "U0HIDE001" not in text  # HR-only profiles stay out of the channel
    assert "&lt;!here&gt; Acme" in text and "<!here>" not in text
    assert "<@U0OLD0001>: New job &lt;!channel&gt;!" in text and "secret" not in text


def test_personal_digest_sends_matching_open_opportunities_at_nine_on_monday_their_time(
    bot: BotHarness,
) -> None:
    freeze(datetime(2026, 4, 1, tzinfo=UTC))
    member(bot, ALICE, tz="America/New_York", skills="Python, SQL", availability=["gigs"])
    member(bot, BOB, tz="Asia/Tokyo", locale="ja", skills="Rust")
    member(bot, CAROL, tz="Europe/London", skills="Python")  # did not opt in
    with bot.db.session() as session:
        set_personal_digest(session, actor=Actor(ALICE), enabled=True)
        set_personal_digest(session, actor=Actor(BOB), enabled=True)
        later = datetime(2026, 5, 1, tzinfo=UTC)
        for title, kind, skills, extra in (
            ("Data <!channel> engineer", KIND_JOB, "python, dbt", {}),
            ("Logo design", KIND_GIG, "Figma", {}),
            ("Old Python job", KIND_JOB, "Python", {"expires_at": datetime(2026, 4, 10, tzinfo=UTC)}),
            ("Filled Python job", KIND_JOB, "Python", {"status": STATUS_FILLED}),
            ("Alice's own post", KIND_JOB, "Python", {"poster_id": ALICE}),
        ):
            values = {
                "kind": kind,
                "title": title,
                "skills": skills,
                "poster_id": HR,
                "expires_at": later,
                **extra,
            }
            session.add(Opportunity(**values))  # type: ignore[arg-type]
    freeze(None)
    monday_nine_new_york = datetime(2026, 4, 13, 13, tzinfo=UTC)
    queued = run_job(bot.services, PERSONAL_JOB, at=monday_nine_new_york).queued
    assert [q["recipient"] for q in queued] == [ALICE]
    assert (
        run_job(bot.services, PERSONAL_JOB, at=datetime(2026, 4, 13, 0, tzinfo=UTC)).queued == []
    )  # Bob: nothing fits
    assert (
        run_job(bot.services, PERSONAL_JOB, at=datetime(2026, 4, 14, 13, tzinfo=UTC)).queued == []
    )  # Tuesday
    assert deliver_due(bot.services) == 1
    dm = json.dumps(bot.fake.messages(ALICE)[-1]["blocks"])
    assert (
        "Data &lt;!channel&gt; engineer" in dm and "Logo design" in dm and dm.index("Data") < dm.index("Logo")
    )
    for absent in ("Old Python job", "Filled Python job", "own post", "<!channel>"):
        assert absent not in dm
    # Once a week: an extra run in the same week's hour queues nothing.
    assert run_job(bot.services, PERSONAL_JOB, at=monday_nine_new_york + timedelta(minutes=20)).queued == []


def test_the_weekly_digest_in_the_channel_carries_the_members_section(bot: BotHarness) -> None:
    freeze(datetime(2026, 11, 18, 3, tzinfo=UTC))
    member(bot, ALICE, current_company="Acme", current_role="CTO")
    with bot.db.session() as session:
        record_checkin(
            session,
            actor=Actor(ALICE),
            data=ProfileInput(current_company="Acme", current_role="CTO"),
            whats_new="Hiring <b>",
            share=True,
        )
    freeze(None)
    monday_nine_tokyo = datetime(2026, 11, 23, 0, tzinfo=UTC)
    assert run_job(bot.services, "digest", at=monday_nine_tokyo).queued
    deliver_due(bot.services)
    post = json.dumps(bot.fake.messages(ALUMNI_CHANNEL), ensure_ascii=False)
    assert "新しいメンバー" in post and "コミュニティに共有された近況" in post  # ALUMNI_LANGUAGE=ja
    assert "Hiring &lt;b&gt;" in post and f"<@{ALICE}>" in post


def _erase_through_slack(bot: BotHarness, user: str) -> None:
    """The member confirms "delete my data" in the modal; the bot tells them it is done."""
    answer = bot.sender.view_submission(DELETE_CONFIRM, {CONFIRM_BLOCK: ["yes"]}, user=user)
    assert answer.status == 200
    bot.fake.wait_for(
        "chat.postMessage",
        lambda c: c.args.get("channel") == user and c.args.get("text") == t("privacy.deleted", "en"),
    )


def _digest_with_alice_and_bob(bot: BotHarness) -> None:
    """Both share a check-in in the week of 16 November; that week's digest is built (not yet sent)."""
    freeze(datetime(2026, 11, 18, 3, tzinfo=UTC))
    for user, news in ((ALICE, "Alice joined Acme as CTO"), (BOB, "Bob opened a bakery")):
        member(bot, user, current_company="Acme" if user == ALICE else "Bakery")
        with bot.db.session() as session:
            record_checkin(session, actor=Actor(user), data=ProfileInput(), whats_new=news, share=True)
    freeze(None)
    assert run_job(bot.services, "digest", at=datetime(2026, 11, 23, 0, tzinfo=UTC)).queued


def _assert_only_bob_left(bot: BotHarness) -> None:
    digests = json.dumps(bot.fake.messages(ALUMNI_CHANNEL), ensure_ascii=False)
    assert ALICE not in digests and "Alice joined Acme" not in digests and "Acme" not in digests
    assert "Bob opened a bakery" in digests and f"<@{BOB}>" in digests
    assert t("privacy.digest_line_removed", "ja") in digests  # the digest is in ALUMNI_LANGUAGE


def test_erasure_replaces_the_members_lines_in_a_digest_already_posted(bot: BotHarness) -> None:
    _digest_with_alice_and_bob(bot)
    deliver_due(bot.services)
    (posted,) = bot.fake.messages(ALUMNI_CHANNEL)
    assert "Alice joined Acme" in json.dumps(posted, ensure_ascii=False)

    _erase_through_slack(bot, ALICE)
    deliver_due(bot.services)  # the in-place update goes through the outbox

    bot.fake.wait_for("chat.update", lambda c: c.args.get("ts") == posted["ts"])
    (updated,) = bot.fake.messages(ALUMNI_CHANNEL)
    assert updated["ts"] == posted["ts"]  # the same post, edited in place
    _assert_only_bob_left(bot)


def test_a_digest_still_waiting_goes_out_without_an_erased_members_lines(bot: BotHarness) -> None:
    _digest_with_alice_and_bob(bot)
    _erase_through_slack(bot, ALICE)
    deliver_due(bot.services)
    _assert_only_bob_left(bot)
