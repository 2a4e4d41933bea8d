"""The referral listeners, called directly (see conftest): what each decides before its ack and what follows."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.blocks.referrals import (
    ASSIGN_ACTION,
    ASSIGN_BLOCK_PREFIX,
    NOTE_CALLBACK,
    OPEN_ACTION,
    OPEN_FROM_OPPORTUNITY_ACTION,
    OPPORTUNITY_SELECT_ACTION,
    REFER_CALLBACK,
    SHORTCUT_CALLBACK,
    STATUS_ACTION_PREFIX,
    WITHDRAW_ACTION,
)
from bot.services import Services, build_services
from bot.slack_emulator.web_api import FakeSlack
from handlers import referrals as listeners
from models import referral as referrals
from models.actors import Actor
from models.db import Database
from models.opportunity import Draft, close_opportunity, post_opportunity
from tests.conftest import ALICE, ALUMNI_CHANNEL, BOB, CAROL, HR, HR_CHANNEL, ORGANIZER, make_settings
from tests.handlers.unit.conftest import Recorder, action_body, command_payload, run_now, submission
from tests.slack_requests import checkboxes

NAME = "Zelda Quartermaine"
EMAIL = "zelda@candidates.example"


# -- helpers ------------------------------------------------------------------------------------------


@dataclass
class AckSeeing(Recorder):
    """An `ack` that also reads the database at the moment it is called (was the decision made before?)."""

    read: Callable[[], Any] = lambda: None
    seen: list[Any] = field(default_factory=list)

    def __call__(self, text: str | None = None, **kwargs: Any) -> None:
        self.seen.append(self.read())
        super().__call__(text, **kwargs)


def _click(
    fake: FakeSlack,
    action_id: str,
    value: str | None = None,
    *,
    user: str,
    channel: str = ALUMNI_CHANNEL,
    key: str | None = None,
) -> dict[str, Any]:
    """A button clicked in a message in `channel`; with `key`, the payload carries a response URL."""
    body = action_body(action_id, value, user=user)
    body["channel"] = {"id": channel}
    body["container"] = {"type": "message", "channel_id": channel, "message_ts": "1.0"}
    if key is not None:
        body["response_url"] = fake.response_url(key)
    return body


def _assign_body(fake: FakeSlack, referral_id: int, owner: str, *, user: str, key: str) -> dict[str, Any]:
    body = _click(fake, ASSIGN_ACTION, user=user, channel=HR_CHANNEL, key=key)
    body["actions"] = [
        {
            "type": "users_select",
            "action_id": ASSIGN_ACTION,
            "block_id": f"{ASSIGN_BLOCK_PREFIX}{referral_id}",
            "selected_user": owner,
            "action_ts": "1.0",
        }
    ]
    return body


def _modal_values(
    *, opportunity_id: int | None = None, email: str = EMAIL, consent: bool = True
) -> dict[str, Any]:
    return {
        "opportunity": {
            "type": "external_select",
            "selected_option": {"value": str(opportunity_id)} if opportunity_id else None,
        },
        "candidate_name": NAME,
        "candidate_email": {"type": "email_text_input", "value": email},
        "candidate_url": {"type": "url_text_input", "value": ""},
        "relationship": "We worked together",
        "why_fit": "Ships reliable code",
        "consent": checkboxes("agreed") if consent else checkboxes(),
    }


def _submit(services: Services, ack: Recorder, *, user: str = ALICE, **values: Any) -> None:
    body = submission(REFER_CALLBACK, _modal_values(**values), user=user)
    listeners.on_submit(ack=ack, body=body, view=body["view"], services=services, later=run_now)


def _routed_referral(services: Services, *, user: str = ALICE) -> int:
    """A referral submitted through the modal and posted to the HR channel (its card's ts stored)."""
    _submit(services, Recorder(), user=user)
    with services.db.session() as session:
        [referral], _ = referrals.referrals_of(session, user)
    assert referral.hr_ts, "the HR card was not posted"
    return int(referral.id or 0)


def _count(services: Services) -> int:
    with services.db.session() as session:
        return sum(referrals.pipeline_counts(session).values())


def _opportunity(services: Services, title: str = "Backend engineer") -> int:
    with services.db.session() as session:
        opportunity = post_opportunity(session, actor=Actor(ORGANIZER), draft=Draft(kind="job", title=title))
        return int(opportunity.id or 0)


def _referral(services: Services, referral_id: int) -> referrals.Referral:
    with services.db.session() as session:
        return referrals.get_referral(session, referral_id)


def _dms_to(fake: FakeSlack, user: str) -> list[str]:
    return [c.args["text"] for c in fake.calls_to("chat.postMessage") if c.args.get("channel") == user]


def _note(
    services: Services, ack: Recorder, referral_id: int, to: str, *, user: str = HR, note: str = ""
) -> None:
    metadata = json.dumps({"referral_id": referral_id, "to": to})
    body = submission(NOTE_CALLBACK, {"note": note, "share_note": checkboxes()}, user=user, metadata=metadata)
    listeners.on_status_note(ack=ack, body=body, view=body["view"], services=services, later=run_now)


@pytest.fixture
def unconfigured(fake_slack: FakeSlack, db: Database) -> Services:
    """Services of a workspace where HR has not chosen a private referrals channel."""
    return build_services(make_settings(fake_slack, db, alumni_hr_channel=None), db=db)


# -- /refer, the shortcut and the buttons that open the modal -------------------------------------------


def test_refer_opens_the_modal_in_the_members_language(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    listeners.on_refer(ack=ack, command=command_payload("/refer", user=BOB), services=services)
    assert ack.once == {}
    [opened] = fake_slack.calls_to("views.open")
    assert opened.args["view"]["callback_id"] == REFER_CALLBACK
    assert opened.args["view"]["title"]["text"] == "知り合いを紹介"


def test_refer_help_mine_and_unknown_words_answer_in_the_ack(
    services: Services, fake_slack: FakeSlack
) -> None:
    _routed_referral(services)
    help_ack, mine_ack, other_ack, unknown_ack = Recorder(), Recorder(), Recorder(), Recorder()
    listeners.on_refer(ack=help_ack, command=command_payload("/refer", "help", user=ALICE), services=services)
    assert "/refer mine" in help_ack.once["text"]
    listeners.on_refer(ack=mine_ack, command=command_payload("/refer", "mine", user=ALICE), services=services)
    assert mine_ack.once["response_type"] == "ephemeral" and NAME in json.dumps(mine_ack.once["blocks"])
    listeners.on_refer(
        ack=other_ack, command=command_payload("/refer", "mine", user=CAROL), services=services
    )
    assert NAME not in json.dumps(other_ack.once)  # nobody sees someone else's referrals
    listeners.on_refer(
        ack=unknown_ack, command=command_payload("/refer", "<!channel>", user=ALICE), services=services
    )
    assert "&lt;!channel&gt;" in unknown_ack.once["text"] and "<!channel>" not in unknown_ack.once["text"]
    assert fake_slack.calls_to("views.open") == []


def test_without_an_hr_channel_refer_says_so_and_opens_nothing(
    unconfigured: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    listeners.on_refer(ack=ack, command=command_payload("/refer", user=ALICE), services=unconfigured)
    assert "not set up yet" in ack.once["text"]
    assert fake_slack.calls_to("views.open") == []


def test_the_shortcut_and_the_home_button_open_the_modal(services: Services, fake_slack: FakeSlack) -> None:
    shortcut_ack, home_ack = Recorder(), Recorder()
    shortcut_body = {
        "type": "shortcut",
        "callback_id": SHORTCUT_CALLBACK,
        "trigger_id": "t",
        "user": {"id": BOB},
    }
    listeners.on_shortcut(ack=shortcut_ack, body=shortcut_body, services=services)
    home_body = action_body(OPEN_ACTION, "home", user=ALICE, view={"id": "VHOME", "type": "home"})
    listeners.on_open(ack=home_ack, body=home_body, services=services)
    assert shortcut_ack.once == {} and home_ack.once == {}
    views = [c.args["view"] for c in fake_slack.calls_to("views.open")]
    assert [v["callback_id"] for v in views] == [REFER_CALLBACK, REFER_CALLBACK]
    assert all("initial_option" not in json.dumps(v) for v in views)


def test_the_home_button_without_an_hr_channel_tells_the_member_in_a_dm(
    unconfigured: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    body = action_body(OPEN_ACTION, "home", user=ALICE, view={"id": "VHOME", "type": "home"})
    listeners.on_open(ack=ack, body=body, services=unconfigured)
    assert ack.once == {}
    assert any("not set up yet" in text for text in _dms_to(fake_slack, ALICE))
    assert fake_slack.calls_to("views.open") == []


def test_refer_on_an_announcement_prefills_the_open_opportunity(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    opportunity_id = _opportunity(services, "Backend engineer")
    body = _click(fake_slack, OPEN_FROM_OPPORTUNITY_ACTION, str(opportunity_id), user=ALICE)
    listeners.on_open_from_opportunity(ack=ack, body=body, action=body["actions"][0], services=services)
    assert ack.once == {}
    [opened] = fake_slack.calls_to("views.open")
    select = next(b for b in opened.args["view"]["blocks"] if b.get("block_id") == "opportunity")["element"]
    assert select["initial_option"]["value"] == str(opportunity_id)
    assert select["initial_option"]["text"]["text"] == "Backend engineer"


@pytest.mark.parametrize("value", ["closed", "not-a-number", "99999999999"])
def test_a_closed_or_forged_opportunity_is_refused_privately(
    services: Services, ack: Recorder, fake_slack: FakeSlack, value: str
) -> None:
    opportunity_id = _opportunity(services)
    with services.db.session() as session:
        close_opportunity(session, actor=Actor(ORGANIZER), opportunity_id=opportunity_id)
    button_value = str(opportunity_id) if value == "closed" else value
    body = _click(fake_slack, OPEN_FROM_OPPORTUNITY_ACTION, button_value, user=ALICE, key="alice-open")
    listeners.on_open_from_opportunity(ack=ack, body=body, action=body["actions"][0], services=services)
    assert ack.once == {}
    [notice] = fake_slack.responses("alice-open")
    assert notice["response_type"] == "ephemeral" and "no longer open" in notice["text"]
    assert fake_slack.calls_to("views.open") == []


def test_the_opportunity_select_offers_open_opportunities_matching_the_query(
    services: Services, ack: Recorder
) -> None:
    wanted = _opportunity(services, "Platform engineer")
    _opportunity(services, "Designer")
    closed = _opportunity(services, "Platform intern")
    with services.db.session() as session:
        close_opportunity(session, actor=Actor(ORGANIZER), opportunity_id=closed)
    body = {"type": "block_suggestion", "action_id": OPPORTUNITY_SELECT_ACTION, "value": "platform"}
    listeners.on_opportunity_options(ack=ack, body=body, services=services)
    assert [o["value"] for o in ack.once["options"]] == [str(wanted)]


# -- the referral modal's submission --------------------------------------------------------------------


def test_a_submission_is_stored_before_the_ack_then_reaches_hr_and_the_referrer(
    services: Services, fake_slack: FakeSlack
) -> None:
    later: list[Any] = []
    ack = AckSeeing(read=lambda: _count(services))
    body = submission(REFER_CALLBACK, _modal_values(), user=ALICE)
    listeners.on_submit(ack=ack, body=body, view=body["view"], services=services, later=later.append)
    assert ack.once == {} and ack.seen == [1]
    with services.db.session() as session:
        [referral], total = referrals.referrals_of(session, ALICE)
    assert total == 1 and referral.status == referrals.SUBMITTED
    assert fake_slack.calls_to("chat.postMessage") == []  # nothing slow before the ack
    [work] = later
    work()
    [card] = [c for c in fake_slack.calls_to("chat.postMessage") if c.args["channel"] == HR_CHANNEL]
    assert NAME in json.dumps(card.args["blocks"], ensure_ascii=False)
    assert any("is with HR now" in text for text in _dms_to(fake_slack, ALICE))
    assert [c.args["user_id"] for c in fake_slack.calls_to("views.publish")] == [ALICE]
    assert _referral(services, int(referral.id or 0)).hr_ts == card.response["ts"]


def test_a_bad_submission_keeps_the_modal_open_with_field_errors_and_stores_nothing(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    _submit(services, ack, email="not-an-email", consent=False)
    answer = ack.once
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"candidate_email", "consent"}
    assert _count(services) == 0
    assert fake_slack.calls_to("chat.postMessage") == []


def test_a_forged_opportunity_value_is_a_field_error(services: Services, ack: Recorder) -> None:
    body = submission(REFER_CALLBACK, _modal_values(), user=ALICE)
    body["view"]["state"]["values"]["opportunity"]["opportunity"]["selected_option"] = {"value": "x1"}
    listeners.on_submit(ack=ack, body=body, view=body["view"], services=services, later=run_now)
    assert set(ack.once["errors"]) == {"opportunity"}


def test_without_an_hr_channel_a_submission_is_refused_in_the_modal(
    unconfigured: Services, ack: Recorder
) -> None:
    _submit(unconfigured, ack)
    assert "not set up yet" in ack.once["errors"]["consent"]
    with unconfigured.db.session() as session:
        assert referrals.referrals_of(session, ALICE)[1] == 0


def test_a_second_member_referring_the_same_candidate_is_refused_and_hr_hears_it(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    rid = _routed_referral(services, user=BOB)
    ts = _referral(services, rid).hr_ts
    _submit(services, ack, user=ALICE, email=EMAIL.upper())
    error = ack.once["errors"]["candidate_email"]
    assert "already referred" in error and BOB not in error
    with services.db.session() as session:
        assert [c.to_status for c in referrals.history(session, rid)] == ["submitted", "vouched"]
    [update] = [c for c in fake_slack.calls_to("chat.update") if c.args["ts"] == ts]
    assert f"<@{ALICE}>" in json.dumps(update.args["blocks"])
    assert [c for c in fake_slack.calls_to("chat.postMessage") if c.args.get("thread_ts") == ts]
    assert _dms_to(fake_slack, ALICE) == []  # the second member learns nothing more than the refusal


# -- HR's status buttons and the note modal -------------------------------------------------------------


def test_hr_status_button_opens_the_note_modal(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    rid = _routed_referral(services)
    body = _click(
        fake_slack, STATUS_ACTION_PREFIX + "interviewing", f"{rid}:interviewing", user=HR, channel=HR_CHANNEL
    )
    listeners.on_status_button(ack=ack, body=body, action=body["actions"][0], services=services)
    assert ack.once == {}
    [opened] = fake_slack.calls_to("views.open")
    assert opened.args["view"]["callback_id"] == NOTE_CALLBACK
    assert json.loads(opened.args["view"]["private_metadata"]) == {"referral_id": rid, "to": "interviewing"}


@pytest.mark.parametrize(
    ("user", "value", "expected"),
    [
        (CAROL, "{rid}:hired", "Only HR"),
        (HR, "{rid}:teleported", "人事"),  # not a status: HR (ja) hears it is invalid
        (HR, "abc:hired", "人事"),
    ],
)
def test_a_status_button_refusal_is_private_and_opens_nothing(
    services: Services, ack: Recorder, fake_slack: FakeSlack, user: str, value: str, expected: str
) -> None:
    rid = _routed_referral(services)
    body = _click(
        fake_slack,
        STATUS_ACTION_PREFIX + "hired",
        value.format(rid=rid),
        user=user,
        channel=HR_CHANNEL,
        key="refused",
    )
    listeners.on_status_button(ack=ack, body=body, action=body["actions"][0], services=services)
    assert ack.once == {}
    [refusal] = fake_slack.responses("refused")
    assert refusal["response_type"] == "ephemeral"
    if expected == "Only HR":
        assert expected in refusal["text"]
    else:
        assert refusal["text"] == services.translator(HR)("errors.invalid")
    assert fake_slack.calls_to("views.open") == []
    assert _referral(services, rid).status == referrals.SUBMITTED


def test_hr_status_change_is_stored_before_the_ack_then_the_card_and_the_referrer_follow(
    services: Services, fake_slack: FakeSlack
) -> None:
    rid = _routed_referral(services)
    later: list[Any] = []
    ack = AckSeeing(read=lambda: _referral(services, rid).status)
    metadata = json.dumps({"referral_id": rid, "to": "interviewing"})
    body = submission(
        NOTE_CALLBACK, {"note": "Strong call", "share_note": checkboxes()}, user=HR, metadata=metadata
    )
    listeners.on_status_note(ack=ack, body=body, view=body["view"], services=services, later=later.append)
    assert ack.once == {} and ack.seen == [referrals.INTERVIEWING]
    updates_before = len(fake_slack.calls_to("chat.update"))
    [work] = later
    work()
    assert len(fake_slack.calls_to("chat.update")) == updates_before + 1
    dm = _dms_to(fake_slack, ALICE)[-1]
    assert "now interviewing" in dm and "Strong call" not in dm  # the note was not shared
    assert {c.args["user_id"] for c in fake_slack.calls_to("views.publish")} >= {ALICE, HR}


def test_a_forged_note_submission_by_a_member_is_a_field_error_and_changes_nothing(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    rid = _routed_referral(services)
    updates = len(fake_slack.calls_to("chat.update"))
    _note(services, ack, rid, "hired", user=CAROL)
    assert "Only HR" in ack.once["errors"]["note"]
    assert _referral(services, rid).status == referrals.SUBMITTED
    assert len(fake_slack.calls_to("chat.update")) == updates


def test_tampered_note_metadata_and_a_move_to_the_same_status_are_field_errors(
    services: Services, fake_slack: FakeSlack
) -> None:
    rid = _routed_referral(services)
    tampered, same = Recorder(), Recorder()
    body = submission(NOTE_CALLBACK, {"note": "", "share_note": checkboxes()}, user=HR, metadata="{not json")
    listeners.on_status_note(ack=tampered, body=body, view=body["view"], services=services, later=run_now)
    assert tampered.once["response_action"] == "errors" and set(tampered.once["errors"]) == {"note"}
    _note(services, same, rid, "submitted")
    assert same.once["response_action"] == "errors"
    with services.db.session() as session:
        assert len(referrals.history(session, rid)) == 1


# -- the owner select -----------------------------------------------------------------------------------


SECOND_HR = "U0HR00002"


@pytest.fixture
def two_hr(fake_slack: FakeSlack, db: Database) -> Services:
    fake_slack.add_user(SECOND_HR, name="kenji.hr", real_name="Kenji HR", locale="en-US")
    return build_services(make_settings(fake_slack, db, hr_users=frozenset({HR, SECOND_HR})), db=db)


def test_hr_assigns_an_owner_who_hears_about_it(two_hr: Services, fake_slack: FakeSlack) -> None:
    rid = _routed_referral(two_hr)
    later: list[Any] = []
    ack = AckSeeing(read=lambda: _referral(two_hr, rid).owner_id)
    body = _assign_body(fake_slack, rid, SECOND_HR, user=HR, key="assigned")
    listeners.on_assign(ack=ack, body=body, action=body["actions"][0], services=two_hr, later=later.append)
    assert ack.once == {} and ack.seen == [SECOND_HR]  # decided before the ack
    [told] = fake_slack.responses("assigned")
    assert f"<@{SECOND_HR}>" in told["text"]
    [work] = later
    work()
    assert any(f"referral #{rid}" in text for text in _dms_to(fake_slack, SECOND_HR))
    update = fake_slack.calls_to("chat.update")[-1]
    assert f'"initial_user": "{SECOND_HR}"' in json.dumps(update.args["blocks"])


def test_a_non_hr_owner_is_refused_and_the_select_goes_back(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    rid = _routed_referral(services)
    body = _assign_body(fake_slack, rid, CAROL, user=HR, key="bad-owner")
    listeners.on_assign(ack=ack, body=body, action=body["actions"][0], services=services, later=run_now)
    assert ack.once == {}
    assert "人事のメンバー" in fake_slack.responses("bad-owner")[0]["text"]
    assert _referral(services, rid).owner_id is None
    assert fake_slack.calls_to("chat.update")  # the card is rendered again, with no owner selected
    assert "initial_user" not in json.dumps(fake_slack.calls_to("chat.update")[-1].args["blocks"])


def test_a_member_cannot_assign_an_owner(services: Services, ack: Recorder, fake_slack: FakeSlack) -> None:
    rid = _routed_referral(services)
    updates = len(fake_slack.calls_to("chat.update"))
    body = _assign_body(fake_slack, rid, CAROL, user=CAROL, key="carol-assign")
    listeners.on_assign(ack=ack, body=body, action=body["actions"][0], services=services, later=run_now)
    assert "Only HR" in fake_slack.responses("carol-assign")[0]["text"]
    assert _referral(services, rid).owner_id is None
    assert len(fake_slack.calls_to("chat.update")) == updates


def test_an_assignment_naming_no_referral_is_refused(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    body = _assign_body(fake_slack, 1, HR, user=HR, key="forged-block")
    body["actions"][0]["block_id"] = "referrals.assign.x"
    listeners.on_assign(ack=ack, body=body, action=body["actions"][0], services=services, later=run_now)
    assert fake_slack.responses("forged-block")[0]["text"] == services.translator(HR)("errors.invalid")


# -- withdrawal -----------------------------------------------------------------------------------------


def test_the_referrer_withdraws_before_the_ack_and_hr_sees_it(
    services: Services, fake_slack: FakeSlack
) -> None:
    rid = _routed_referral(services)
    ts = _referral(services, rid).hr_ts
    later: list[Any] = []
    ack = AckSeeing(read=lambda: _referral(services, rid).status)
    body = _click(fake_slack, WITHDRAW_ACTION, str(rid), user=ALICE)
    listeners.on_withdraw(
        ack=ack, body=body, action=body["actions"][0], services=services, later=later.append
    )
    assert ack.once == {} and ack.seen == [referrals.WITHDRAWN]
    [work] = later
    work()
    assert "You withdrew your referral" in _dms_to(fake_slack, ALICE)[-1]
    assert STATUS_ACTION_PREFIX not in json.dumps(fake_slack.calls_to("chat.update")[-1].args["blocks"])
    assert [c for c in fake_slack.calls_to("chat.postMessage") if c.args.get("thread_ts") == ts]


@pytest.mark.parametrize(("user", "value"), [(CAROL, "{rid}"), (HR, "{rid}"), (ALICE, "0"), (ALICE, "x")])
def test_only_the_referrer_withdraws_and_a_refusal_is_private(
    services: Services, ack: Recorder, fake_slack: FakeSlack, user: str, value: str
) -> None:
    rid = _routed_referral(services)
    body = _click(fake_slack, WITHDRAW_ACTION, value.format(rid=rid), user=user, key="withdraw")
    listeners.on_withdraw(ack=ack, body=body, action=body["actions"][0], services=services, later=run_now)
    assert ack.once == {}
    [refusal] = fake_slack.responses("withdraw")
    key = "referrals.not_allowed_withdraw" if value == "{rid}" else "errors.invalid"
    assert refusal["text"] == services.translator(user)(key)
    assert _referral(services, rid).status == referrals.SUBMITTED


def test_a_referral_in_interviews_can_no_longer_be_withdrawn(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    rid = _routed_referral(services)
    _note(services, Recorder(), rid, "interviewing")
    body = _click(fake_slack, WITHDRAW_ACTION, str(rid), user=ALICE, key="late")
    listeners.on_withdraw(ack=ack, body=body, action=body["actions"][0], services=services, later=run_now)
    text = fake_slack.responses("late")[0]["text"]
    assert "can no longer be withdrawn" in text and "Interviewing" in text
    assert _referral(services, rid).status == referrals.INTERVIEWING
