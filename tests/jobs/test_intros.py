"""Reconnect intros, job layer against the fake Slack: the round opens one group DM per group and introduces
everyone in their own language with times as date tokens, once; a week later the group is asked "did you
meet?" once; a rerun or a second process sends nothing twice."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from bot.blocks.intros import FOLLOW_UP_BLOCK, MET_NO_ACTION, MET_YES_ACTION
from bot.blocks.privacy import CONFIRM_BLOCK, DELETE_CONFIRM
from bot.i18n import t
from bot.slack_emulator.web_api import FakeSlack
from jobs.delivery import deliver_due
from jobs.intros import FOLLOW_UP_JOB, PURPOSE_FOLLOW_UP, PURPOSE_INTRO, ROUND_JOB
from jobs.runner import run_job
from models.actors import Actor
from models.db import Database
from models.intro import IntroGroup, IntroRound, set_intro_preferences
from models.member import get_member
from models.outbox import SENT, OutboxMessage
from models.profile import ProfileInput, give_consent, update_profile
from models.timeutil import freeze
from tests.conftest import ALICE, BOB, CAROL, BotHarness
from tests.databases import PostgresFactory
from tests.jobs.test_delivery_processes import alumni_bot, process_env

MONDAY = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo (ALUMNI_TIMEZONE of the tests)
PEOPLE = {
    ALICE: ("en-US", "America/New_York"),
    BOB: ("ja-JP", "Asia/Tokyo"),
    CAROL: ("en-US", "Europe/London"),
}


def opt_in(db: Database, users: dict[str, tuple[str, str]] = PEOPLE) -> None:
    freeze(MONDAY - timedelta(days=3))
    with db.session() as session:
        for user, (locale, tz) in users.items():
            give_consent(session, actor=Actor(user), display_name=f"<b>{user}</b>", locale=locale, tz=tz)
            update_profile(session, actor=Actor(user), data=ProfileInput(former_department="Sales & <Ops>"))
            set_intro_preferences(session, actor=Actor(user), opted_in=True, wants=["department"])
    freeze(None)


def group_dm(fake: FakeSlack) -> str:
    opens = [c for c in fake.calls_to("conversations.open") if c.ok and "," in str(c.args.get("users"))]
    assert opens, "no group DM was opened"
    channels = {c.response["channel"]["id"] for c in opens}
    assert len(channels) == 1
    return channels.pop()


def test_a_round_introduces_each_group_once_in_each_language_and_follows_up_a_week_later(
    bot: BotHarness,
) -> None:
    opt_in(bot.db)
    first = run_job(bot.services, ROUND_JOB, at=MONDAY)
    assert first.claimed and len(first.queued) == 1  # three members: one group of three
    assert first.queued[0]["recipient"] == ",".join(sorted(PEOPLE))
    assert deliver_due(bot.services) == 1
    channel = group_dm(bot.fake)
    (intro,) = bot.fake.messages(channel)
    body = json.dumps(intro["blocks"], ensure_ascii=False)
    # English and Japanese members: the message carries both; the names are escaped, never markup.
    assert "Time to reconnect" in body and "再会の時間です" in body
    assert "&lt;b&gt;" in body and "<b>" not in body and "Sales &amp; &lt;Ops&gt;" in body
    assert "<!date^" in body  # suggested times in each viewer's own zone
    assert "same department" in body

    # A rerun of the week (another scheduler) sends nothing; no follow-up before a week has passed.
    again = run_job(bot.services, ROUND_JOB, at=MONDAY + timedelta(hours=1))
    assert not again.claimed and again.queued == []
    assert run_job(bot.services, FOLLOW_UP_JOB, at=MONDAY + timedelta(days=6)).queued == []
    follow = run_job(bot.services, FOLLOW_UP_JOB, at=MONDAY + timedelta(days=7, hours=1))
    assert len(follow.queued) == 1
    assert run_job(bot.services, FOLLOW_UP_JOB, at=MONDAY + timedelta(days=8, hours=1)).queued == []
    assert deliver_due(bot.services) == 1
    messages = bot.fake.messages(channel)
    assert len(messages) == 2
    (actions,) = [b for b in messages[1]["blocks"] if b.get("block_id") == FOLLOW_UP_BLOCK]
    with bot.db.session() as session:
        group = session.exec(select(IntroGroup)).one()
    assert [(e["action_id"], e["value"]) for e in actions["elements"]] == [
        (MET_YES_ACTION, str(group.id)),
        (MET_NO_ACTION, str(group.id)),
    ]
    assert "会えました" in json.dumps(actions, ensure_ascii=False) and "Yes, we met" in json.dumps(actions)

    # Next week: everyone is on a 2-week cadence, so nobody is paired; the week after, nobody they met.
    assert run_job(bot.services, ROUND_JOB, at=MONDAY + timedelta(weeks=1)).queued == []
    assert run_job(bot.services, ROUND_JOB, at=MONDAY + timedelta(weeks=2)).queued == []
    with bot.db.session() as session:
        assert len(session.exec(select(IntroGroup)).all()) == 1


def test_erasing_a_member_redraws_their_groups_intro_without_them(bot: BotHarness) -> None:
    """Alice deletes her data: the posted intro of her group of three now shows only Bob and Carol (both
    languages still, Bob reads Japanese), says that someone left, and holds nothing of hers."""
    opt_in(bot.db)
    people = {
        ALICE: ("Alice Anders", "alice-only-bonsai"),
        BOB: ("Bob Brown", "bob-only-kendo"),
        CAROL: ("Carol Chen", "carol-only-rowing"),
    }
    with bot.db.session() as session:
        for user, (name, skill) in people.items():
            update_profile(session, actor=Actor(user), data=ProfileInput(skills=skill))
            member = get_member(session, slack_user_id=user)
            assert member is not None
            member.display_name = name
            session.add(member)
    run_job(bot.services, ROUND_JOB, at=MONDAY)
    deliver_due(bot.services)
    run_job(bot.services, FOLLOW_UP_JOB, at=MONDAY + timedelta(days=7, hours=1))  # "did you meet?"
    deliver_due(bot.services)
    channel = group_dm(bot.fake)
    before, asked = bot.fake.messages(channel)
    assert all(name in json.dumps(before) and skill in json.dumps(before) for name, skill in people.values())
    assert ALICE in json.dumps(asked["metadata"])  # its outbox key lists the group

    answer = bot.sender.view_submission(DELETE_CONFIRM, {CONFIRM_BLOCK: ["yes"]}, user=ALICE)
    assert answer.status == 200
    bot.fake.wait_for(  # the member is told last, after her messages were cleaned up
        "chat.postMessage",
        lambda c: c.args.get("channel") == ALICE and c.args.get("text") == t("privacy.deleted", "en"),
    )
    after, asked_after = bot.fake.messages(channel)
    assert after["ts"] == before["ts"] and asked_after["ts"] == asked["ts"]
    assert ALICE not in json.dumps(asked_after, ensure_ascii=False)
    assert FOLLOW_UP_BLOCK in json.dumps(asked_after["blocks"])  # Bob and Carol can still answer
    body = json.dumps(after, ensure_ascii=False)  # text, blocks and metadata (the outbox key listed her)
    assert ALICE not in body and not any(text in body for text in people[ALICE])
    assert all(text in body for user in (BOB, CAROL) for text in (user, *people[user]))
    assert t("intros.intro.member_left", "en") in body and t("intros.intro.member_left", "ja") in body
    assert "Time to reconnect" in body and "再会の時間です" in body


def test_erasure_before_the_intro_goes_out_introduces_the_rest_of_the_group_without_them(
    bot: BotHarness,
) -> None:
    """Alice deletes her data after the round paired her with Bob and Carol but before the intro went out:
    Bob and Carol still get their introduction, once, in a group DM of their own, with nothing of hers and no
    "someone left" line (they never saw her); the week's rerun adds no second one."""
    opt_in(bot.db)
    assert len(run_job(bot.services, ROUND_JOB, at=MONDAY).queued) == 1
    bot.sender.view_submission(DELETE_CONFIRM, {CONFIRM_BLOCK: ["yes"]}, user=ALICE)
    bot.fake.wait_for(
        "chat.postMessage",
        lambda c: c.args.get("channel") == ALICE and c.args.get("text") == t("privacy.deleted", "en"),
    )
    assert deliver_due(bot.services) == 1
    [opened] = [c for c in bot.fake.calls_to("conversations.open") if c.ok and "," in str(c.args["users"])]
    assert sorted(str(opened.args["users"]).split(",")) == [BOB, CAROL]
    (intro,) = bot.fake.messages(group_dm(bot.fake))
    body = json.dumps(intro, ensure_ascii=False)
    assert ALICE not in body and BOB in body and CAROL in body
    assert "Time to reconnect" in body and "再会の時間です" in body
    assert t("intros.intro.member_left", "en") not in body
    assert run_job(bot.services, ROUND_JOB, at=MONDAY + timedelta(hours=1)).queued == []
    assert deliver_due(bot.services) == 0


def _erase(bot: BotHarness, user: str) -> None:
    bot.sender.view_submission(DELETE_CONFIRM, {CONFIRM_BLOCK: ["yes"]}, user=user)
    bot.fake.wait_for(
        "chat.postMessage",
        lambda c: c.args.get("channel") == user and c.args.get("text") == t("privacy.deleted", "en"),
    )


def test_erasure_before_the_follow_up_goes_out_asks_the_rest_of_the_group(bot: BotHarness) -> None:
    """The "did you meet?" was queued but not sent when Alice deleted her data: Bob and Carol are still
    asked, once, and the question names nobody but them."""
    opt_in(bot.db)
    run_job(bot.services, ROUND_JOB, at=MONDAY)
    assert deliver_due(bot.services) == 1
    assert len(run_job(bot.services, FOLLOW_UP_JOB, at=MONDAY + timedelta(days=7, hours=1)).queued) == 1
    _erase(bot, ALICE)
    assert deliver_due(bot.services) == 1
    asked = [c for c in bot.fake.calls_to("chat.postMessage") if FOLLOW_UP_BLOCK in json.dumps(c.args)]
    assert len(asked) == 1
    with bot.db.session() as session:
        row = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == PURPOSE_FOLLOW_UP)).one()
    assert row.status == SENT and sorted(row.recipient.split(",")) == [BOB, CAROL]
    assert ALICE not in json.dumps(asked[0].args)
    assert run_job(bot.services, FOLLOW_UP_JOB, at=MONDAY + timedelta(days=8, hours=1)).queued == []
    assert deliver_due(bot.services) == 0


def test_erasure_before_the_intro_of_a_pair_goes_out_sends_nothing(bot: BotHarness) -> None:
    """A pair loses Alice before its intro went out: Carol alone is introduced to nobody."""
    opt_in(bot.db, {ALICE: PEOPLE[ALICE], CAROL: PEOPLE[CAROL]})
    assert len(run_job(bot.services, ROUND_JOB, at=MONDAY).queued) == 1
    _erase(bot, ALICE)
    assert deliver_due(bot.services) == 0
    assert [c for c in bot.fake.calls_to("conversations.open") if "," in str(c.args.get("users"))] == []
    with bot.db.session() as session:
        assert session.exec(select(OutboxMessage).where(OutboxMessage.purpose == PURPOSE_INTRO)).all() == []


def test_a_group_of_one_language_reads_only_that_language(bot: BotHarness) -> None:
    opt_in(bot.db, {ALICE: PEOPLE[ALICE], CAROL: PEOPLE[CAROL]})
    run_job(bot.services, ROUND_JOB, at=MONDAY)
    deliver_due(bot.services)
    (intro,) = bot.fake.messages(group_dm(bot.fake))
    body = json.dumps(intro, ensure_ascii=False)
    assert "Time to reconnect" in body and "再会" not in body


def test_a_dry_run_pairs_and_renders_without_claiming_the_round(bot: BotHarness) -> None:
    opt_in(bot.db)
    dry = run_job(bot.services, ROUND_JOB, at=MONDAY, dry_run=True)
    assert len(dry.queued) == 1
    with bot.db.session() as session:
        assert session.exec(select(IntroRound)).all() == []
        assert session.exec(select(OutboxMessage)).all() == []


def test_the_group_dm_needs_mpim_write() -> None:
    with FakeSlack(scopes=["chat:write", "im:write"]) as fake:
        fake.add_user(ALICE, name="alice")
        fake.add_user(BOB, name="bob")
        from slack_sdk import WebClient
        from slack_sdk.errors import SlackApiError

        client = WebClient(token="xoxb-test", base_url=fake.api_url)
        assert client.conversations_open(users=ALICE)["ok"]
        with pytest.raises(SlackApiError) as err:
            client.conversations_open(users=f"{ALICE},{BOB}")
        assert err.value.response["needed"] == "mpim:write"
    with FakeSlack(scopes=["mpim:write"]) as fake:
        fake.add_user(ALICE, name="alice")
        fake.add_user(BOB, name="bob")
        client = WebClient(token="xoxb-test", base_url=fake.api_url)
        first = client.conversations_open(users=f"{ALICE},{BOB}")
        second = client.conversations_open(users=f"{BOB},{ALICE}")
        assert first["channel"]["id"] == second["channel"]["id"]  # the same group DM again
        with pytest.raises(SlackApiError) as err:
            client.conversations_open(users=",".join(f"U0{i:07d}" for i in range(9)))
        assert err.value.response["error"] == "too_many_users"


@pytest.fixture
def pg(postgres_factory: PostgresFactory) -> Iterator[Database]:
    url = postgres_factory.create()
    database = Database(url)
    yield database
    database.dispose()
    postgres_factory.drop(url)


def test_two_processes_running_the_same_round_introduce_each_group_once(pg: Database, tmp_path: Path) -> None:
    users = {f"U0RACE{i:03d}": ("ja-JP" if i % 2 else "en-US", "Asia/Tokyo") for i in range(10)}
    opt_in(pg, users)
    fake = FakeSlack().start()
    for user in users:
        fake.add_user(user, name=user.lower())
    env = process_env(fake, pg.url, ALUMNI_LANGUAGE="en", ALUMNI_TIMEZONE="Asia/Tokyo")
    command = alumni_bot("jobs", "run", ROUND_JOB, "--at", MONDAY.isoformat())
    try:
        procs = [
            subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(2)
        ]
        outputs = [proc.communicate(timeout=90) for proc in procs]
    finally:
        fake.stop()
    assert [proc.returncode for proc in procs] == [0, 0], [err.decode()[-2000:] for _, err in outputs]
    posts = [c for c in fake.calls_to("chat.postMessage") if c.ok]
    assert len(posts) == 5 and fake.accepted_post_count == 5
    assert len({c.args["channel"] for c in posts}) == 5
    with pg.session() as session:
        rows = session.exec(select(OutboxMessage)).all()
        rounds = session.exec(select(IntroRound)).all()
    assert len(rounds) == 1
    assert sorted((r.purpose, r.status) for r in rows) == [(PURPOSE_INTRO, SENT)] * 5
    assert PURPOSE_FOLLOW_UP not in {r.purpose for r in rows}
