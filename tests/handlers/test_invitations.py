"""`/alumni invitations` end to end through signed requests, with a real local SMTP server (aiosmtpd), on
SQLite and PostgreSQL: HR invites (in ja and en) and each person gets one email in their language; a member
cannot send invitations, whatever the payload says; forged ids change nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import select

from bot.blocks.invitations import (
    FUNNEL_EXPORT,
    INVITE_ALL,
    PAGE_NEXT,
    invite_action_id,
    resend_action_id,
)
from bot.slack_emulator.blockkit import violations
from bot.slack_emulator.web_api import FakeSlack
from models.db import Database
from models.invitation import SENT, Invitation
from models.roster import RosterRecord
from tests.conftest import ALICE, ALUMNI_CHANNEL, HR, BotHarness, _serve
from tests.smtp_server import SmtpServer, running_smtp_server

EN_HR = "U0HR00002"
JOIN_URL = "https://join.slack.com/t/example-alumni/shared_invite/zt-abc123"


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with running_smtp_server() as server:
        yield server


@pytest.fixture
def mail_bot(fake_slack: FakeSlack, db: Database, smtp_server: SmtpServer) -> Iterator[BotHarness]:
    fake_slack.add_user(EN_HR, name="kenji.hr", real_name="Kenji HR", locale="en-US")
    yield from _serve(
        fake_slack,
        db,
        hr_users=frozenset({HR, EN_HR}),
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        smtp_starttls=False,
        smtp_from="Alumni team <alumni@example.com>",
        join_url=JOIN_URL,
    )


def add_roster(
    bot: BotHarness, *people: tuple[str, str], languages: dict[str, str] | None = None
) -> list[int]:
    """Roster rows (email, name) of people not in Slack; `languages` by email, as HR's file may give them."""
    with bot.db.session() as session:
        records = [
            RosterRecord(email=email, name=name, department="Sales", language=(languages or {}).get(email))
            for email, name in people
        ]
        session.add_all(records)
        session.flush()
        return [int(r.id or 0) for r in records]


def invitations(bot: BotHarness) -> dict[str, Invitation]:
    with bot.db.session() as session:
        return {i.email: i for i in session.exec(select(Invitation))}


def click(bot: BotHarness, action_id: str, value: str, *, user: str, **kwargs: Any) -> None:
    """A button in HR's ephemeral list in #alumni."""
    bot.sender.block_action(action_id, value, user=user, channel=ALUMNI_CHANNEL, **kwargs)


def ephemerals(bot: BotHarness, user: str) -> list[str]:
    return [c.args["text"] for c in bot.fake.calls_to("chat.postEphemeral") if c.args.get("user") == user]


def action_ids(blocks: list[dict[str, Any]]) -> list[str]:
    found = [b["accessory"]["action_id"] for b in blocks if "accessory" in b]
    found += [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    return found


def test_hr_in_japanese_lists_invites_one_person_once_and_the_email_arrives_in_japanese(
    mail_bot: BotHarness, smtp_server: SmtpServer
) -> None:
    bot = mail_bot
    taro, jane = add_roster(bot, ("taro@example.com", "山田太郎"), ("jane@example.com", "Jane <b>Doe</b>"))
    answer = bot.sender.command("/alumni", "招待", user=HR)
    body = answer.json
    assert body["response_type"] == "ephemeral" and body["text"] == "まだ Slack にいない人"
    assert violations("message", body["blocks"]) == []
    shown = json.dumps(body["blocks"], ensure_ascii=False)
    assert "山田太郎" in shown and "Jane &lt;b&gt;Doe&lt;/b&gt;" in shown and "<b>" not in shown
    assert {invite_action_id(taro), invite_action_id(jane), INVITE_ALL, FUNNEL_EXPORT} <= set(
        action_ids(body["blocks"])
    )

    click(bot, invite_action_id(taro), str(taro), user=HR)
    assert bot.listeners.wait_idle()
    assert ephemerals(bot, HR) == ["招待の送信待ち: 1 件、再送: 0 件。"]
    assert [r.rcpt_tos for r in smtp_server.received] == [["taro@example.com"]]
    assert "山田太郎 様" in smtp_server.received[0].body() and JOIN_URL in smtp_server.received[0].body()
    assert invitations(bot)["taro@example.com"].status == SENT
    assert "jane@example.com" not in invitations(bot)

    click(bot, invite_action_id(taro), str(taro), user=HR)  # a second click: nobody twice
    assert bot.listeners.wait_idle()
    assert ephemerals(bot, HR)[-1] == "招待の送信待ち: 0 件、再送: 0 件。 対象外: 招待済み 1 件。"
    assert len(smtp_server.received) == 1

    click(bot, resend_action_id(taro), str(taro), user=HR)  # HR's explicit resend
    assert bot.listeners.wait_idle()
    assert ephemerals(bot, HR)[-1] == "招待の送信待ち: 0 件、再送: 1 件。"
    assert [r.rcpt_tos for r in smtp_server.received] == [["taro@example.com"]] * 2
    assert invitations(bot)["taro@example.com"].sends == 2


def test_hr_in_english_invites_everyone_not_invited_yet_each_in_their_language(
    mail_bot: BotHarness, smtp_server: SmtpServer
) -> None:
    bot = mail_bot
    add_roster(
        bot,
        ("taro@example.com", "山田太郎"),
        ("jane@example.com", "Jane Doe"),
        ("ken@example.com", "Ken Sato"),
        ("mia@example.com", "Mia Ito"),
        languages={"jane@example.com": "en", "ken@example.com": "ja"},
    )
    body = bot.sender.command("/alumni", "invitations", user=EN_HR).json
    assert body["text"] == "Not in Slack yet" and "Invite all 4" in json.dumps(body["blocks"])
    click(bot, INVITE_ALL, "4", user=EN_HR)
    assert bot.listeners.wait_idle()
    assert ephemerals(bot, EN_HR) == ["Invitations queued: 4, resent: 0."]
    by_rcpt = {r.rcpt_tos[0]: r for r in smtp_server.received}
    subjects = {rcpt: r.message["Subject"] for rcpt, r in by_rcpt.items()}
    english, japanese = (
        "You're invited to our alumni community on Slack",
        "アルムナイ Slack コミュニティへのご招待",
    )
    assert subjects == {
        "jane@example.com": english,  # the roster's language, not HR's
        "ken@example.com": japanese,  # the roster's language, though his name is in Latin letters
        "taro@example.com": japanese,  # no roster language: a name in Japanese script
        "mia@example.com": japanese,  # neither: the workspace's ALUMNI_LANGUAGE
    }
    assert "山田太郎 様" in by_rcpt["taro@example.com"].body()

    click(bot, INVITE_ALL, "4", user=EN_HR)  # nobody is left to invite
    assert bot.listeners.wait_idle()
    assert ephemerals(bot, EN_HR)[-1] == "Invitations queued: 0, resent: 0."
    assert len(smtp_server.received) == 4
    after = json.dumps(bot.sender.command("/alumni", "invitations", user=EN_HR).json["blocks"])
    assert "Invite all" not in after and "Resend" in after


def test_a_member_cannot_list_invite_resend_page_or_export_whatever_the_payload_says(
    mail_bot: BotHarness, smtp_server: SmtpServer
) -> None:
    bot = mail_bot
    (taro,) = add_roster(bot, ("taro@example.com", "山田太郎"))
    answer = bot.sender.command("/alumni", "invitations", user=ALICE).json
    assert answer["text"].startswith("Sorry, this is for the HR team only") and "blocks" not in answer
    for action_id, value in (
        (invite_action_id(taro), str(taro)),
        (resend_action_id(taro), str(taro)),
        (INVITE_ALL, "1"),
        (PAGE_NEXT, "20"),
        (FUNNEL_EXPORT, "2026-10"),
    ):
        click(bot, action_id, value, user=ALICE)
    assert bot.listeners.wait_idle()
    refusals = ephemerals(bot, ALICE)
    assert len(refusals) == 5 and all(t.startswith("Sorry, this is for the HR team only") for t in refusals)
    assert invitations(bot) == {} and smtp_server.received == []
    assert bot.fake.calls_to("files.completeUploadExternal") == []


def test_forged_or_unknown_ids_change_nothing_and_say_so(
    mail_bot: BotHarness, smtp_server: SmtpServer
) -> None:
    bot = mail_bot
    (taro,) = add_roster(bot, ("taro@example.com", "山田太郎"))
    for forged in (taro + 1000, 2**31, 10**30):
        click(bot, invite_action_id(forged), str(taro), user=EN_HR)  # the value is not trusted
    click(bot, resend_action_id(taro + 7), str(taro), user=EN_HR)
    assert bot.listeners.wait_idle()
    assert ephemerals(bot, EN_HR) == ["Invitations queued: 0, resent: 0. Skipped: not on the roster 1."] * 4
    assert invitations(bot) == {} and smtp_server.received == []


def test_hr_pages_through_the_list_and_downloads_the_funnel_csv(mail_bot: BotHarness) -> None:
    bot = mail_bot
    add_roster(bot, *((f"p{n:02d}@example.com", f"Person {n:02d}") for n in range(25)))
    first = bot.sender.command("/alumni", "invitations", user=EN_HR).json["blocks"]
    assert "Person 00" in json.dumps(first) and "Person 20" not in json.dumps(first)
    click(bot, PAGE_NEXT, "20", user=EN_HR, response_url=bot.fake.response_url("page"))
    bot.fake.wait_for("response_url")
    page = bot.fake.responses("page")[-1]
    assert page["replace_original"] is True and violations("message", page["blocks"]) == []
    shown = json.dumps(page["blocks"])
    assert "Person 20" in shown and "Person 24" in shown and "Person 00" not in shown
    click(bot, FUNNEL_EXPORT, "2026-10", user=EN_HR)
    assert bot.listeners.wait_idle()
    upload = bot.fake.wait_for("files.completeUploadExternal")[0]
    assert bot.fake.uploaded_files[upload.args["files"][0]["id"]]["name"] == "alumni-funnel-2026-10.csv"
