"""The invitations feature's listeners, called directly (see conftest). Sending itself is covered end to end
(tests/handlers/test_invitations.py) and by the job's tests; here `later` records the work instead."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlmodel import delete, select

from bot.blocks.invitations import FUNNEL_EXPORT, INVITE_ALL, PAGE_NEXT, invite_action_id, resend_action_id
from bot.services import Services
from bot.slack_emulator.web_api import FakeSlack
from handlers import invitations
from models.invitation import QUEUED, Invitation
from models.roster import RosterRecord
from tests.conftest import ALICE, HR
from tests.handlers.unit.conftest import Recorder, action_body, command_payload, run_now


def _ready(services: Services) -> Services:
    settings = replace(
        services.settings,
        smtp_host="127.0.0.1",
        smtp_from="alumni@example.com",
        join_url="https://join.slack.com/t/x/shared_invite/zt-1",
    )
    return replace(services, settings=settings)


def _roster(services: Services, *names: str) -> list[int]:
    with services.db.session() as session:
        records = [RosterRecord(email=f"p{n}@example.com", name=name) for n, name in enumerate(names)]
        session.add_all(records)
        session.flush()
        return [int(r.id or 0) for r in records]


def _rows(services: Services) -> list[Invitation]:
    with services.db.session() as session:
        return list(session.exec(select(Invitation)))


def _ephemeral(fake_slack: FakeSlack, user: str) -> list[str]:
    return [c.args["text"] for c in fake_slack.calls_to("chat.postEphemeral") if c.args.get("user") == user]


def _click(action_id: str, value: str, user: str) -> tuple[dict[str, Any], dict[str, Any]]:
    body = action_body(action_id, value, user=user)
    return body, body["actions"][0]


def test_the_subcommand_answers_hr_with_the_list_and_anyone_else_with_a_refusal(services: Services) -> None:
    _roster(services, "山田太郎")
    hr, member = Recorder(), Recorder()
    invitations.on_invitations_subcommand(services, hr, command_payload("/alumni", "招待", user=HR), "")
    invitations.on_invitations_subcommand(
        services, member, command_payload("/alumni", "招待", user=ALICE), ""
    )
    assert hr.once["response_type"] == "ephemeral" and "山田太郎" in str(hr.once["blocks"])
    assert member.once == {"response_type": "ephemeral", "text": services.translator(ALICE)("admin.not_hr")}


def test_an_invite_is_queued_before_the_ack_and_the_sending_is_left_for_later(
    services: Services, fake_slack: FakeSlack
) -> None:
    services = _ready(services)
    (taro,) = _roster(services, "山田太郎")
    ack, work = Recorder(), []
    body, action = _click(invite_action_id(taro), str(taro), HR)
    invitations.on_invite(ack=ack, body=body, action=action, services=services, later=work.append)
    assert ack.once == {}
    assert [(r.roster_record_id, r.status, r.language) for r in _rows(services)] == [(taro, QUEUED, "ja")]
    assert len(work) == 1  # the delivery, after the ack
    assert _ephemeral(fake_slack, HR) == ["招待の送信待ち: 1 件、再送: 0 件。"]


def test_invitations_without_a_roster_language_or_a_japanese_name_use_the_workspace_language(
    services: Services,
) -> None:
    services = _ready(services)
    (jane,) = _roster(services, "Jane Doe")
    for workspace_language in ("ja", "en"):
        with services.db.session() as session:
            session.exec(delete(Invitation))
        configured = replace(services, settings=replace(services.settings, language=workspace_language))
        body, action = _click(invite_action_id(jane), str(jane), HR)
        invitations.on_invite(
            ack=Recorder(), body=body, action=action, services=configured, later=lambda _: None
        )
        assert [r.language for r in _rows(services)] == [workspace_language]


def test_a_member_clicking_invite_resend_or_invite_all_changes_nothing(
    services: Services, fake_slack: FakeSlack
) -> None:
    services = _ready(services)
    (taro,) = _roster(services, "Taro")
    work: list[Any] = []
    for action_id in (invite_action_id(taro), resend_action_id(taro)):
        body, action = _click(action_id, str(taro), ALICE)
        invitations.on_invite(ack=Recorder(), body=body, action=action, services=services, later=work.append)
    body, _ = _click(INVITE_ALL, "1", ALICE)
    invitations.on_invite_all(ack=Recorder(), body=body, services=services, later=work.append)
    assert _rows(services) == [] and work == []
    assert _ephemeral(fake_slack, ALICE) == [services.translator(ALICE)("admin.not_hr")] * 3


def test_without_smtp_settings_hr_is_told_and_nothing_is_queued(
    services: Services, fake_slack: FakeSlack
) -> None:
    (taro,) = _roster(services, "Taro")
    body, action = _click(invite_action_id(taro), str(taro), HR)
    invitations.on_invite(ack=Recorder(), body=body, action=action, services=services, later=run_now)
    assert _rows(services) == []
    assert _ephemeral(fake_slack, HR) == [services.translator(HR)("invitations.view.not_configured")]


def test_paging_and_the_export_are_hr_only(services: Services, fake_slack: FakeSlack) -> None:
    _roster(services, *(f"Person {n:02d}" for n in range(25)))
    for user in (ALICE, HR):
        body, action = _click(PAGE_NEXT, "20", user)
        invitations.on_page(ack=Recorder(), body=body, action=action, services=services)
        body, action = _click(FUNNEL_EXPORT, "not-a-month", user)
        invitations.on_funnel_export(
            ack=Recorder(), body=body, action=action, services=services, later=run_now
        )
    assert _ephemeral(fake_slack, ALICE) == [services.translator(ALICE)("admin.not_hr")] * 2
    page = [c for c in fake_slack.calls_to("chat.postEphemeral") if c.args.get("user") == HR]
    assert (
        len(page) == 1
        and "Person 24" in str(page[0].args["blocks"])
        and "Person 00" not in str(page[0].args["blocks"])
    )
    assert len([c for c in fake_slack.calls_to("files.completeUploadExternal") if c.ok]) == 1
