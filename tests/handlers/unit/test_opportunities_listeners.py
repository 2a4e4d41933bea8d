"""The opportunities listeners, called directly (see conftest): what each acks, says, saves and refuses."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from bot.blocks.opportunities import (
    ACTION_CLOSE,
    ACTION_EDIT,
    ACTION_FILL,
    ACTION_FILTER_KIND,
    ACTION_INTERESTED,
    ACTION_NEXT,
    ACTION_OPEN_POST,
    ACTION_REMIND_CLOSE,
    ACTION_REMIND_EXTEND,
    BROWSE_BLOCK_PREFIX,
    COMMAND,
    FILLED_BY_BLOCK,
    SHORTCUT_POST,
    VIEW_FILLED,
    VIEW_POST,
    BrowseState,
)
from bot.services import Services
from bot.slack_emulator.web_api import FakeSlack
from handlers import opportunities
from models import opportunity as opps
from models.timeutil import now
from tests.conftest import ALICE, ALUMNI_CHANNEL, BOB, CAROL, HR
from tests.handlers.unit.conftest import Recorder, action_body, command_payload, run_now, submission
from tests.slack_requests import select as choose


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _post(services: Services, user: str = ALICE, *, announce_it: bool = True, **fields: Any) -> int:
    """A post made through the domain (and announced in #alumni as the modal's follow-up does)."""
    values: dict[str, Any] = {"title": "Data analyst", "company": "Acme"}
    values.update(fields)
    with services.db.session() as session:
        created = opps.post_opportunity(
            session, actor=services.actor(user), draft=opps.Draft(**values), zone="Asia/Tokyo"
        )
    assert created.id is not None
    if announce_it:
        opportunities.announce(services, created.id)
    return created.id


def _get(services: Services, opportunity_id: int) -> opps.Opportunity:
    with services.db.session() as session:
        return opps.get_opportunity(session, opportunity_id)


def _click(action_id: str, value: str | None, *, user: str) -> dict[str, Any]:
    """A click on a message in #alumni (the channel the fake Slack knows)."""
    body = action_body(action_id, value, user=user)
    body["channel"] = {"id": ALUMNI_CHANNEL}
    body["container"]["channel_id"] = ALUMNI_CHANNEL
    return body


def _ephemerals(fake: FakeSlack, user: str) -> list[str]:
    return [str(c.args["text"]) for c in fake.calls_to("chat.postEphemeral") if c.args.get("user") == user]


def _form(**fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"kind": choose("job"), "title": "Backend engineer", "company": "Example KK"}
    values.update(fields)
    return values


# -- /opportunities, the shortcut and the Post button ---------------------------------------------------


def test_help_answers_privately_in_the_members_language(services: Services, ack: Recorder) -> None:
    opportunities.on_command(ack=ack, command=command_payload(COMMAND, "help", user=BOB), services=services)
    answer = ack.once
    assert answer["response_type"] == "ephemeral"
    assert answer["text"] == services.translator(BOB)("opportunities.help")
    assert answer["text"] != services.translator(ALICE)("opportunities.help")


def test_a_search_answers_in_the_ack_without_any_web_api_call(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    _post(services, ALICE, announce_it=False, title="Python engineer")
    _post(services, ALICE, announce_it=False, title="Accountant")
    services.translator(CAROL)  # the member's language, as the cache holds it after their first request
    fake_slack.reset()
    opportunities.on_command(
        ack=ack, command=command_payload(COMMAND, "python", user=CAROL), services=services
    )
    answer = ack.once
    assert answer["response_type"] == "ephemeral"
    assert "Python engineer" in _dump(answer["blocks"]) and "Accountant" not in _dump(answer["blocks"])
    assert fake_slack.calls == []


def test_mine_lists_only_my_posts(services: Services, ack: Recorder) -> None:
    _post(services, ALICE, announce_it=False, title="Alice's post")
    _post(services, CAROL, announce_it=False, title="Carol's post")
    opportunities.on_command(ack=ack, command=command_payload(COMMAND, "mine", user=ALICE), services=services)
    shown = _dump(ack.once)
    assert "Alice's post" in shown and "Carol's post" not in shown


def test_post_opens_the_modal_without_the_rehire_option_for_members(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    opportunities.on_command(ack=ack, command=command_payload(COMMAND, "post", user=ALICE), services=services)
    assert ack.once == {}
    [opened] = fake_slack.calls_to("views.open")
    modal = opened.args["view"]
    assert modal["callback_id"] == VIEW_POST
    kinds = next(b for b in modal["blocks"] if b["block_id"] == "kind")["element"]["options"]
    assert "rehire" not in [o["value"] for o in kinds]


def test_the_shortcut_and_the_post_button_open_the_modal_with_rehire_for_hr(
    services: Services, fake_slack: FakeSlack
) -> None:
    opportunities.on_shortcut(
        ack=Recorder(), body={"trigger_id": "t.1", "user": {"id": HR}}, services=services
    )
    opportunities.on_open_post(
        ack=Recorder(), body=_click(ACTION_OPEN_POST, "home", user=HR), services=services
    )
    views = [c.args["view"] for c in fake_slack.calls_to("views.open")]
    assert [v["callback_id"] for v in views] == [VIEW_POST, VIEW_POST]
    assert all('"rehire"' in _dump(v) for v in views)
    assert any(item.key == SHORTCUT_POST for item in opportunities.FEATURE.listeners)


# -- pages and filters -----------------------------------------------------------------------------------


def test_next_replaces_the_answer_with_the_next_page(
    services: Services, ack: Recorder, respond: Recorder
) -> None:
    for i in range(10):
        _post(services, ALICE, announce_it=False, title=f"Sales role {i}")
    value = BrowseState(query="sales", offset=8).encode()
    opportunities.on_page(
        ack=ack, body=_click(ACTION_NEXT, value, user=BOB), respond=respond, services=services
    )
    assert ack.once == {}
    page = respond.once
    assert page["replace_original"] is True and page["response_type"] == "ephemeral"
    shown = _dump(page["blocks"])
    assert "Sales role 1" in shown and "Sales role 0" in shown and "Sales role 9" not in shown


def test_a_filter_keeps_the_words_and_shows_only_that_kind(
    services: Services, ack: Recorder, respond: Recorder
) -> None:
    _post(services, ALICE, announce_it=False, title="Sales gig", kind="gig")
    _post(services, ALICE, announce_it=False, title="Sales job", kind="job")
    body = _click(ACTION_FILTER_KIND, None, user=BOB)
    body["actions"][0].update(
        {
            "type": "static_select",
            "block_id": BROWSE_BLOCK_PREFIX + BrowseState(query="sales").encode(),
            "selected_option": {"value": "gig"},
        }
    )
    opportunities.on_filter(ack=ack, body=body, respond=respond, services=services)
    shown = _dump(respond.once["blocks"])
    assert "Sales gig" in shown and "Sales job" not in shown


# -- the post modal ------------------------------------------------------------------------------------------


def test_a_valid_post_is_saved_before_the_ack_and_announced(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    body = submission(VIEW_POST, _form(), user=ALICE)
    opportunities.on_post_submitted(ack=ack, body=body, view=body["view"], services=services, later=run_now)
    assert ack.once == {}
    [posted] = [c for c in fake_slack.calls_to("chat.postMessage") if c.args["channel"] == ALUMNI_CHANNEL]
    assert "Backend engineer" in _dump(posted.args["blocks"])
    with services.db.session() as session:
        [saved] = opps.posts_of(session, user_id=ALICE)
    assert saved.title == "Backend engineer" and saved.message_ts == posted.response["ts"]


def test_bad_input_stays_in_the_modal_with_field_errors_and_saves_nothing(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    body = submission(VIEW_POST, _form(title="", apply_url="javascript:alert(1)"), user=ALICE)
    opportunities.on_post_submitted(ack=ack, body=body, view=body["view"], services=services, later=run_now)
    answer = ack.once
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"title", "apply_url"}
    with services.db.session() as session:
        assert opps.posts_of(session, user_id=ALICE) == []
    assert fake_slack.calls_to("chat.postMessage") == []


def test_a_member_cannot_post_a_rehire_opening_nor_edit_someone_elses_post(
    services: Services, fake_slack: FakeSlack
) -> None:
    rehire = submission(VIEW_POST, _form(kind=choose("rehire")), user=ALICE)
    ack = Recorder()
    opportunities.on_post_submitted(
        ack=ack, body=rehire, view=rehire["view"], services=services, later=run_now
    )
    assert set(ack.once["errors"]) == {"kind"}

    theirs = _post(services, CAROL)
    hijack = submission(VIEW_POST, _form(title="Hijacked"), user=ALICE, metadata=str(theirs))
    ack = Recorder()
    opportunities.on_post_submitted(
        ack=ack, body=hijack, view=hijack["view"], services=services, later=run_now
    )
    assert ack.once["response_action"] == "errors"
    assert _get(services, theirs).title == "Data analyst"

    forged = submission(VIEW_POST, _form(), user=ALICE, metadata="not-an-id")
    ack = Recorder()
    opportunities.on_post_submitted(
        ack=ack, body=forged, view=forged["view"], services=services, later=run_now
    )
    assert ack.once["response_action"] == "errors"
    with services.db.session() as session:
        assert opps.posts_of(session, user_id=ALICE) == []


def test_an_edit_by_the_poster_updates_the_announcement(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    mine = _post(services, ALICE)
    body = submission(VIEW_POST, _form(title="Senior analyst"), user=ALICE, metadata=str(mine))
    opportunities.on_post_submitted(ack=ack, body=body, view=body["view"], services=services, later=run_now)
    assert ack.once == {}
    assert _get(services, mine).title == "Senior analyst"
    [update] = fake_slack.calls_to("chat.update")
    assert "Senior analyst" in _dump(update.args["blocks"])


# -- interest ---------------------------------------------------------------------------------------------------


def test_interest_is_recorded_once_the_clicker_is_told_and_the_poster_gets_one_dm(
    services: Services, fake_slack: FakeSlack
) -> None:
    opportunity_id = _post(services, ALICE)
    for _ in range(2):
        ack = Recorder()
        body = _click(ACTION_INTERESTED, str(opportunity_id), user=CAROL)
        opportunities.on_interested(ack=ack, body=body, services=services, later=run_now)
        assert ack.once == {}
    tr = services.translator(CAROL)
    assert _ephemerals(fake_slack, CAROL) == [
        tr("opportunities.interest.passed_on", title="Data analyst"),
        tr("opportunities.interest.already", title="Data analyst"),
    ]
    dms = [c for c in fake_slack.calls_to("chat.postMessage") if c.args["channel"] == ALICE]
    assert len([c for c in dms if f"<@{CAROL}>" in c.args["text"]]) == 1
    with services.db.session() as session:
        assert opps.interest_count(session, opportunity_id) == 1


def test_interest_in_ones_own_post_is_refused_privately_and_not_recorded(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    opportunity_id = _post(services, ALICE)
    body = _click(ACTION_INTERESTED, str(opportunity_id), user=ALICE)
    opportunities.on_interested(ack=ack, body=body, services=services, later=run_now)
    assert ack.once == {}
    assert len(_ephemerals(fake_slack, ALICE)) == 1
    with services.db.session() as session:
        assert opps.interest_count(session, opportunity_id) == 0


def test_a_forged_post_id_is_acked_and_answers_nothing(services: Services, fake_slack: FakeSlack) -> None:
    for listener in (opportunities.on_interested, opportunities.on_close, opportunities.on_remind_extend):
        ack = Recorder()
        listener(ack=ack, body=_click("x", "99999999999999999999", user=HR), services=services, later=run_now)
        assert ack.once == {}
    assert fake_slack.calls_to("chat.postEphemeral") == []
    assert fake_slack.calls_to("chat.update") == []


# -- edit, fill, close ----------------------------------------------------------------------------------------


def test_edit_and_fill_are_refused_to_someone_else_and_open_nothing(
    services: Services, fake_slack: FakeSlack
) -> None:
    opportunity_id = _post(services, ALICE)
    for listener, action_id in ((opportunities.on_edit, ACTION_EDIT), (opportunities.on_fill, ACTION_FILL)):
        ack = Recorder()
        listener(ack=ack, body=_click(action_id, str(opportunity_id), user=CAROL), services=services)
        assert ack.once == {}
    refusals = _ephemerals(fake_slack, CAROL)
    assert len(refusals) == 2 and all("Only the poster or HR" in r for r in refusals)
    assert fake_slack.calls_to("views.open") == []


def test_edit_opens_the_prefilled_modal_for_the_poster(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    opportunity_id = _post(services, ALICE)
    opportunities.on_edit(
        ack=ack, body=_click(ACTION_EDIT, str(opportunity_id), user=ALICE), services=services
    )
    [opened] = fake_slack.calls_to("views.open")
    modal = opened.args["view"]
    assert modal["private_metadata"] == str(opportunity_id)
    title = next(b for b in modal["blocks"] if b["block_id"] == "title")
    assert title["element"]["initial_value"] == "Data analyst"


def test_fill_on_a_closed_post_says_it_is_no_longer_open(services: Services, fake_slack: FakeSlack) -> None:
    opportunity_id = _post(services, ALICE)
    with services.db.session() as session:
        opps.close_opportunity(session, actor=services.actor(ALICE), opportunity_id=opportunity_id)
    body = _click(ACTION_FILL, str(opportunity_id), user=HR)
    opportunities.on_fill(ack=Recorder(), body=body, services=services)
    assert fake_slack.calls_to("views.open") == []
    assert _ephemerals(fake_slack, HR) == [services.translator(HR)("opportunities.errors.not_open")]


def test_fill_opens_its_modal_and_the_submission_marks_the_post_filled(
    services: Services, fake_slack: FakeSlack
) -> None:
    opportunity_id = _post(services, ALICE)
    opportunities.on_fill(
        ack=Recorder(), body=_click(ACTION_FILL, str(opportunity_id), user=HR), services=services
    )
    [opened] = fake_slack.calls_to("views.open")
    assert opened.args["view"]["callback_id"] == VIEW_FILLED

    values = {FILLED_BY_BLOCK: {"type": "users_select", "selected_user": BOB}}
    refused = submission(VIEW_FILLED, values, user=CAROL, metadata=str(opportunity_id))
    ack = Recorder()
    opportunities.on_filled_submitted(
        ack=ack, body=refused, view=refused["view"], services=services, later=run_now
    )
    assert set(ack.once["errors"]) == {FILLED_BY_BLOCK}
    assert _get(services, opportunity_id).is_open

    done = submission(VIEW_FILLED, values, user=HR, metadata=str(opportunity_id))
    ack = Recorder()
    opportunities.on_filled_submitted(ack=ack, body=done, view=done["view"], services=services, later=run_now)
    assert ack.once == {}
    post = _get(services, opportunity_id)
    assert post.status == "filled" and post.filled_by_member_id is not None
    [update] = fake_slack.calls_to("chat.update")
    assert not any(b["type"] == "actions" for b in update.args["blocks"])


def test_close_is_refused_to_someone_else_and_done_for_the_poster(
    services: Services, fake_slack: FakeSlack
) -> None:
    opportunity_id = _post(services, ALICE)
    body = _click(ACTION_CLOSE, str(opportunity_id), user=CAROL)
    opportunities.on_close(ack=Recorder(), body=body, services=services, later=run_now)
    assert ["Only the poster or HR" in t for t in _ephemerals(fake_slack, CAROL)] == [True]
    assert _get(services, opportunity_id).is_open
    assert fake_slack.calls_to("chat.update") == []

    ack = Recorder()
    body = _click(ACTION_CLOSE, str(opportunity_id), user=ALICE)
    opportunities.on_close(ack=ack, body=body, services=services, later=run_now)
    assert ack.once == {}
    assert _get(services, opportunity_id).status == "closed"
    assert ["Data analyst" in t for t in _ephemerals(fake_slack, ALICE)] == [True]
    [update] = fake_slack.calls_to("chat.update")
    assert not any(b["type"] == "actions" for b in update.args["blocks"])
    assert [c.args["user_id"] for c in fake_slack.calls_to("views.publish")][-1:] == [ALICE]


# -- the expiry reminder -----------------------------------------------------------------------------------------


def _reminder_click(services: Services, action_id: str, opportunity_id: int, user: str) -> dict[str, Any]:
    """A click in a reminder DM the bot really sent to `user`."""
    sent = services.client.chat_postMessage(channel=user, text="reminder")
    body = action_body(action_id, str(opportunity_id), user=user)
    body["channel"] = {"id": sent["channel"]}
    body["container"] = {"type": "message", "channel_id": sent["channel"], "message_ts": sent["ts"]}
    return body


def test_extend_pushes_the_expiry_and_the_reminder_says_until_when(
    services: Services, fake_slack: FakeSlack
) -> None:
    opportunity_id = _post(services, ALICE)
    before = _get(services, opportunity_id).expires_at
    body = _reminder_click(services, ACTION_REMIND_EXTEND, opportunity_id, ALICE)
    ack = Recorder()
    opportunities.on_remind_extend(ack=ack, body=body, services=services, later=run_now)
    assert ack.once == {}
    assert _get(services, opportunity_id).expires_at == before + timedelta(days=30)
    reminder = next(
        c for c in fake_slack.calls_to("chat.update") if c.args["ts"] == body["container"]["message_ts"]
    )
    assert "Data analyst" in reminder.args["text"]


def test_close_from_the_reminder_closes_and_someone_else_cannot_extend(
    services: Services, fake_slack: FakeSlack
) -> None:
    opportunity_id = _post(services, ALICE)
    before = _get(services, opportunity_id).expires_at
    other = _click(ACTION_REMIND_EXTEND, str(opportunity_id), user=CAROL)
    opportunities.on_remind_extend(ack=Recorder(), body=other, services=services, later=run_now)
    assert ["Only the poster or HR" in t for t in _ephemerals(fake_slack, CAROL)] == [True]
    assert _get(services, opportunity_id).expires_at == before

    body = _reminder_click(services, ACTION_REMIND_CLOSE, opportunity_id, ALICE)
    opportunities.on_remind_close(ack=Recorder(), body=body, services=services, later=run_now)
    assert _get(services, opportunity_id).status == "closed"
    replaced = next(
        c for c in fake_slack.calls_to("chat.update") if c.args["ts"] == body["container"]["message_ts"]
    )
    assert "Closed" in replaced.args["text"]
    assert now() < _get(services, opportunity_id).expires_at  # closing leaves the date alone
