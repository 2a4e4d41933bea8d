"""The events listeners, called directly (see conftest): what each decides before its ack, what the ack says,
and what the member sees after it (DMs, ephemerals, the announcement, modals). SQLite and PostgreSQL."""

from __future__ import annotations

import inspect
import json
import time
from datetime import timedelta
from typing import Any

import pytest

from bot.blocks import events as ui
from bot.i18n import t
from bot.services import Services
from bot.slack_emulator.web_api import FakeSlack
from handlers import events
from models import event as ev
from models.actors import Actor
from models.timeutil import freeze, now
from tests.conftest import ALICE, ALUMNI_CHANNEL, BOB, CAROL, HR, ORGANIZER
from tests.handlers.unit.conftest import Recorder, action_body, command_payload, run_now, submission

ORG = Actor(ORGANIZER, is_organizer=True)


# -- helpers ---------------------------------------------------------------------------------------------


def _event(services: Services, fake_slack: FakeSlack, *, capacity: int | None = None) -> int:
    """An announced event three days from now, organised by ORGANIZER (the announcement is in #alumni)."""
    data = ev.EventInput(
        title="Meetup <!channel>",
        description="",
        starts_at=now() + timedelta(days=3),
        ends_at=now() + timedelta(days=3, hours=2),
        tz="Asia/Tokyo",
        place="Tokyo",
        online_url="",
        capacity=capacity,
    )
    with services.db.session() as session:
        event_id = ev.create_event(session, actor=ORG, data=data, display_name="Oscar", locale="en").id or 0
    ts = fake_slack.add_message(ALUMNI_CHANNEL, text="Meetup", user="UBOT")
    with services.db.session() as session:
        ev.set_announcement(session, event_id=event_id, channel=ALUMNI_CHANNEL, ts=ts)
    return event_id


def _click(action_id: str, value: Any, *, user: str, tapped: float | None = None) -> dict[str, Any]:
    """A click in the announcement in #alumni, tapped now (or at `tapped`, UNIX seconds)."""
    body = action_body(action_id, None if value is None else str(value), user=user)
    body["channel"] = {"id": ALUMNI_CHANNEL}
    body["container"]["channel_id"] = ALUMNI_CHANNEL
    body["actions"][0]["action_ts"] = f"{tapped if tapped is not None else time.time():.6f}"
    return body


def _act(listener: Any, body: dict[str, Any], services: Services, **extra: Any) -> Recorder:
    """Call a block-action listener with a recording ack and what else it asks for (`later` runs at once).
    Returns the ack."""
    given = {"body": body, "action": body["actions"][0], "services": services, "later": run_now, **extra}
    ack = Recorder()
    listener(ack=ack, **{k: v for k, v in given.items() if k in inspect.signature(listener).parameters})
    return ack


def _told(fake_slack: FakeSlack, user: str) -> list[str]:
    """Ephemeral texts only `user` saw."""
    return [
        str(c.args["text"]) for c in fake_slack.calls_to("chat.postEphemeral") if c.args.get("user") == user
    ]


def _dms(fake_slack: FakeSlack, user: str) -> list[dict[str, Any]]:
    return fake_slack.messages(user)


def _answers(services: Services, event_id: int, answer: str) -> list[str]:
    with services.db.session() as session:
        return ev.user_ids_with_answer(session, event_id=event_id, answers=[answer])


def _stored(services: Services, event_id: int) -> ev.Event:
    with services.db.session() as session:
        return ev.get_event(session, event_id=event_id)


def _opened(fake_slack: FakeSlack) -> list[dict[str, Any]]:
    return [c.args["view"] for c in fake_slack.calls_to("views.open")]


def _form(**over: Any) -> dict[str, Any]:
    start = over.pop("start", now() + timedelta(days=3))
    end = over.pop("end", start + timedelta(hours=2))
    values: dict[str, Any] = {
        "title": "Python 勉強会",
        "description": "",
        "starts_at": {"type": "datetimepicker", "selected_date_time": int(start.timestamp())},
        "ends_at": {"type": "datetimepicker", "selected_date_time": int(end.timestamp())},
        "place": "Tokyo",
        "online_url": {"type": "url_text_input", "value": ""},
        "capacity": {"type": "number_input", "value": ""},
    }
    values.update(over)
    return values


def _submit(
    listener: Any,
    callback_id: str,
    values: dict[str, Any],
    services: Services,
    *,
    user: str,
    metadata: str = "",
) -> Recorder:
    """Submit a modal to a view listener with a recording ack (and `later` run at once, when it takes one)."""
    body = submission(callback_id, values, user=user, metadata=metadata)
    ack = Recorder()
    extra = {"later": run_now} if "later" in inspect.signature(listener).parameters else {}
    listener(ack=ack, body=body, view=body["view"], services=services, **extra)
    return ack


def _metadata(event_id: int) -> str:
    return json.dumps({"event_id": event_id})


def _attend(services: Services, event_id: int, *users: str) -> None:
    """Users say Going, the event ends, the organiser marks them present."""
    for user in users:
        with services.db.session() as session:
            ev.rsvp(session, actor=Actor(user), event_id=event_id, answer=ev.GOING)
    freeze(_stored(services, event_id).ends_at + timedelta(minutes=5))
    with services.db.session() as session:
        ev.mark_attendance(session, actor=ORG, event_id=event_id, attended=list(users))


# -- /events ---------------------------------------------------------------------------------------------


def test_events_lists_upcoming_privately_escaped_with_organiser_buttons_only_for_the_organiser(
    services: Services, fake_slack: FakeSlack
) -> None:
    _event(services, fake_slack)
    member, organiser = Recorder(), Recorder()
    events.on_events(ack=member, command=command_payload("/events", user=ALICE), services=services)
    events.on_events(ack=organiser, command=command_payload("/events", user=ORGANIZER), services=services)
    listing = json.dumps(member.once)
    assert member.once["response_type"] == "ephemeral"
    assert "Meetup &lt;!channel&gt;" in listing and "<!channel>" not in listing
    assert ui.ACTION_EDIT not in listing and ui.ACTION_CANCEL not in listing
    assert ui.ACTION_EDIT in json.dumps(organiser.once) and ui.ACTION_CANCEL in json.dumps(organiser.once)


def test_events_help_past_and_unknown_words_answer_in_the_ack(services: Services) -> None:
    help_, past, unknown = Recorder(), Recorder(), Recorder()
    events.on_events(ack=help_, command=command_payload("/events", "help", user=BOB), services=services)
    events.on_events(ack=past, command=command_payload("/events", "past", user=BOB), services=services)
    events.on_events(
        ack=unknown, command=command_payload("/events", "<!here>", user=ALICE), services=services
    )
    assert help_.once["text"] == t("events.help", "ja")
    assert past.once["text"] == t("events.list.past_title", "ja")
    assert "&lt;!here&gt;" in unknown.once["text"] and "<!here>" not in unknown.once["text"]


def test_events_new_opens_the_modal_for_an_organiser_and_refuses_a_member_in_the_ack(
    services: Services, fake_slack: FakeSlack
) -> None:
    refused, opened = Recorder(), Recorder()
    events.on_events(ack=refused, command=command_payload("/events", "new", user=ALICE), services=services)
    assert refused.once == {"response_type": "ephemeral", "text": t("events.msg.not_organizer", "en")}
    assert _opened(fake_slack) == []
    events.on_events(ack=opened, command=command_payload("/events", "new", user=ORGANIZER), services=services)
    assert opened.once == {}
    [modal] = _opened(fake_slack)
    assert modal["callback_id"] == ui.VIEW_CREATE and "Asia/Tokyo" in json.dumps(modal)


# -- the Home tab's "New event" ----------------------------------------------------------------------------


def test_new_event_button_opens_the_modal_for_an_organiser_only(
    services: Services, fake_slack: FakeSlack
) -> None:
    assert _act(events.on_new, _click(ui.ACTION_NEW, "new", user=ALICE), services).once == {}
    assert _told(fake_slack, ALICE) == [t("events.msg.not_organizer", "en")]
    assert _opened(fake_slack) == []
    assert _act(events.on_new, _click(ui.ACTION_NEW, "new", user=ORGANIZER), services).once == {}
    assert [v["callback_id"] for v in _opened(fake_slack)] == [ui.VIEW_CREATE]


# -- create ----------------------------------------------------------------------------------------------


def test_create_saves_before_the_ack_then_announces_and_tells_the_organiser(
    services: Services, fake_slack: FakeSlack
) -> None:
    ack = _submit(events.on_create, ui.VIEW_CREATE, _form(), services, user=ORGANIZER)
    assert ack.once == {}
    [announcement] = fake_slack.messages(ALUMNI_CHANNEL)
    assert "Python 勉強会" in json.dumps(announcement, ensure_ascii=False)
    with services.db.session() as session:
        [event] = ev.upcoming_events(session)
    assert event.message_ts == announcement["ts"]  # the announcement is kept in step from now on
    assert f"<#{ALUMNI_CHANNEL}>" in _dms(fake_slack, ORGANIZER)[-1]["text"]


@pytest.mark.parametrize(
    "user, over, field, message",
    [
        (ALICE, {}, "title", t("errors.not_allowed", "en")),  # a forged submission from a member
        (ORGANIZER, {"title": ""}, "title", t("errors.required", "en")),
        (ORGANIZER, {"capacity": {"type": "number_input", "value": "two"}}, "capacity", None),
    ],
)
def test_a_refused_create_keeps_the_modal_open_with_the_error_at_the_field_and_saves_nothing(
    services: Services,
    fake_slack: FakeSlack,
    user: str,
    over: dict[str, Any],
    field: str,
    message: str | None,
) -> None:
    ack = _submit(events.on_create, ui.VIEW_CREATE, _form(**over), services, user=user)
    assert ack.once["response_action"] == "errors"
    assert ack.once["errors"][field] == (message or t("events.errors.capacity_number", "en"))
    with services.db.session() as session:
        assert ev.upcoming_events(session) == []
    assert fake_slack.messages(ALUMNI_CHANNEL) == []


def test_an_announcement_slack_refuses_is_explained_to_the_organiser(
    services: Services, fake_slack: FakeSlack
) -> None:
    fake_slack.fail("chat.postMessage", error="not_in_channel")
    assert _submit(events.on_create, ui.VIEW_CREATE, _form(), services, user=ORGANIZER).once == {}
    assert "not_in_channel" in _dms(fake_slack, ORGANIZER)[-1]["text"]


# -- RSVP ------------------------------------------------------------------------------------------------


def test_rsvp_seats_before_the_ack_answers_the_clicker_and_refreshes_the_announcement(
    services: Services, fake_slack: FakeSlack
) -> None:
    event_id = _event(services, fake_slack, capacity=1)
    assert _act(events.on_rsvp, _click(ui.RSVP_GOING, event_id, user=ALICE), services).once == {}
    assert _answers(services, event_id, ev.GOING) == [ALICE]
    assert "going" in _told(fake_slack, ALICE)[-1].lower()
    _act(events.on_rsvp, _click(ui.RSVP_GOING, event_id, user=CAROL), services)  # full: waitlisted
    assert _answers(services, event_id, ev.WAITLIST) == [CAROL]
    assert "number 1" in _told(fake_slack, CAROL)[-1]
    announcement = json.dumps(fake_slack.messages(ALUMNI_CHANNEL)[-1], ensure_ascii=False)
    assert t("events.announce.waitlist", "ja", waitlist=1) in announcement
    # Alice frees her seat: Carol moves up and is told by DM, and her Home tab is republished. Alice tapped
    # in the channel, so her tab is not: Slack's app_home_opened rebuilds it whenever she opens it.
    _act(events.on_rsvp, _click(ui.RSVP_NOT_GOING, event_id, user=ALICE), services)
    assert _answers(services, event_id, ev.GOING) == [CAROL]
    assert "you are now *going*" in json.dumps(_dms(fake_slack, CAROL)[-1])
    assert {c.args["user_id"] for c in fake_slack.calls_to("views.publish")} == {CAROL}


def test_an_rsvp_tapped_on_the_home_tab_republishes_that_tab(
    services: Services, fake_slack: FakeSlack
) -> None:
    event_id = _event(services, fake_slack)
    body = action_body(ui.RSVP_GOING, str(event_id), user=ALICE, view={"id": "V_HOME", "type": "home"})
    body["actions"][0]["action_ts"] = f"{time.time():.6f}"
    _act(events.on_rsvp, body, services)
    assert _answers(services, event_id, ev.GOING) == [ALICE]
    published = [c for c in fake_slack.calls_to("views.publish") if c.args["user_id"] == ALICE]
    going = t("events.list.your_answer", "en", answer=t("events.answer.going", "en"))
    assert published and going in json.dumps(published[-1].args["view"], ensure_ascii=False)


def test_an_older_tap_decided_late_never_overrides_the_members_last_answer(
    services: Services, fake_slack: FakeSlack
) -> None:
    event_id = _event(services, fake_slack)
    tapped = time.time()
    _act(events.on_rsvp, _click(ui.RSVP_NOT_GOING, event_id, user=ALICE, tapped=tapped), services)
    _act(events.on_rsvp, _click(ui.RSVP_GOING, event_id, user=ALICE, tapped=tapped - 0.04), services)
    assert _answers(services, event_id, ev.NOT_GOING) == [ALICE]
    assert _answers(services, event_id, ev.GOING) == []


def test_rsvp_on_a_forged_value_or_a_cancelled_event_is_refused_privately_and_changes_nothing(
    services: Services, fake_slack: FakeSlack
) -> None:
    event_id = _event(services, fake_slack)
    assert _act(events.on_rsvp, _click(ui.RSVP_GOING, "99999999999", user=ALICE), services).once == {}
    assert _told(fake_slack, ALICE) == [t("errors.not_found", "en")]
    with services.db.session() as session:
        ev.cancel_event(session, actor=ORG, event_id=event_id)
    _act(events.on_rsvp, _click(ui.RSVP_GOING, event_id, user=BOB), services)
    assert _told(fake_slack, BOB) == [t("events.errors.cancelled", "ja")]
    assert _answers(services, event_id, ev.GOING) == []
    assert fake_slack.calls_to("chat.update") == []


def test_rsvp_from_the_private_list_replaces_the_list_with_the_new_answer(
    services: Services, fake_slack: FakeSlack
) -> None:
    event_id = _event(services, fake_slack)
    body = _click(ui.RSVP_MAYBE, event_id, user=BOB)
    body["container"]["is_ephemeral"] = True
    body["response_url"] = fake_slack.response_url("list")
    _act(events.on_rsvp, body, services)
    [replaced] = fake_slack.responses("list")
    assert replaced["replace_original"] is True
    mine = t("events.list.your_answer", "ja", answer=t("events.answer.maybe", "ja"))
    assert mine in json.dumps(replaced, ensure_ascii=False)


# -- calendar, .ics --------------------------------------------------------------------------------------


def test_the_calendar_link_button_only_acks(fake_slack: FakeSlack) -> None:
    ack = Recorder()
    before = len(fake_slack.calls)
    events.on_calendar(ack=ack)
    assert ack.once == {}
    assert len(fake_slack.calls) == before  # Slack opens the link itself; nothing is sent


def test_ics_goes_to_the_clickers_dm_after_the_ack(services: Services, fake_slack: FakeSlack) -> None:
    event_id = _event(services, fake_slack)
    assert _act(events.on_ics, _click(ui.ACTION_ICS, event_id, user=CAROL), services).once == {}
    [complete] = fake_slack.calls_to("files.completeUploadExternal")
    assert complete.args["channel_id"] == f"D{CAROL}"
    content = next(f for f in fake_slack.uploaded_files.values() if f["completed"])["bytes"]
    assert content.startswith(b"BEGIN:VCALENDAR\r\n")
    assert "direct message" in _told(fake_slack, CAROL)[-1]


def test_ics_for_a_missing_event_or_a_failed_upload_is_told_privately(
    services: Services, fake_slack: FakeSlack
) -> None:
    _act(events.on_ics, _click(ui.ACTION_ICS, 424242, user=CAROL), services)
    assert _told(fake_slack, CAROL) == [t("errors.not_found", "en")]
    event_id = _event(services, fake_slack)
    fake_slack.fail("files.getUploadURLExternal", error="not_allowed_token_type")
    _act(events.on_ics, _click(ui.ACTION_ICS, event_id, user=CAROL), services)
    assert _told(fake_slack, CAROL)[-1] == t("events.msg.ics_failed", "en")


# -- edit ------------------------------------------------------------------------------------------------


def test_edit_opens_the_prefilled_modal_for_the_organiser_and_refuses_a_member(
    services: Services, fake_slack: FakeSlack
) -> None:
    event_id = _event(services, fake_slack)
    assert _act(events.on_edit, _click(ui.ACTION_EDIT, event_id, user=ALICE), services).once == {}
    assert _told(fake_slack, ALICE) == [t("errors.not_allowed", "en")]
    assert _opened(fake_slack) == []
    _act(events.on_edit, _click(ui.ACTION_EDIT, event_id, user=ORGANIZER), services)
    [modal] = _opened(fake_slack)
    assert modal["callback_id"] == ui.VIEW_EDIT
    assert json.loads(modal["private_metadata"]) == {"event_id": event_id}
    assert "Meetup <!channel>" in json.dumps(modal)  # prefilled as typed (plain text input)


def test_edit_of_a_started_event_is_refused(services: Services, fake_slack: FakeSlack) -> None:
    event_id = _event(services, fake_slack)
    freeze(_stored(services, event_id).starts_at + timedelta(minutes=1))
    _act(events.on_edit, _click(ui.ACTION_EDIT, event_id, user=ORGANIZER), services)
    assert _told(fake_slack, ORGANIZER) == [t("events.errors.already_started", "en")]
    assert _opened(fake_slack) == []


def test_a_saved_time_change_tells_those_going_and_refreshes_the_announcement(
    services: Services, fake_slack: FakeSlack
) -> None:
    event_id = _event(services, fake_slack)
    _act(events.on_rsvp, _click(ui.RSVP_GOING, event_id, user=ALICE), services)
    updates = len(fake_slack.calls_to("chat.update"))
    new_start = now() + timedelta(days=5)
    values = _form(start=new_start, title="Meetup")
    ack = _submit(
        events.on_edit_save, ui.VIEW_EDIT, values, services, user=ORGANIZER, metadata=_metadata(event_id)
    )
    assert ack.once == {}
    assert _stored(services, event_id).starts_at == new_start.replace(microsecond=0)
    assert str(int(new_start.timestamp())) in json.dumps(_dms(fake_slack, ALICE)[-1])
    assert len(fake_slack.calls_to("chat.update")) == updates + 1
    assert "Meetup" in _dms(fake_slack, ORGANIZER)[-1]["text"]


def test_a_forged_edit_from_a_member_or_bad_metadata_changes_nothing(
    services: Services, fake_slack: FakeSlack
) -> None:
    event_id = _event(services, fake_slack)
    before = _stored(services, event_id).model_dump()
    forged = _submit(
        events.on_edit_save,
        ui.VIEW_EDIT,
        _form(title="Hijacked"),
        services,
        user=ALICE,
        metadata=_metadata(event_id),
    )
    assert forged.once["response_action"] == "errors"
    assert forged.once["errors"]["title"] == t("errors.not_allowed", "en")
    garbled = _submit(events.on_edit_save, ui.VIEW_EDIT, _form(), services, user=ORGANIZER, metadata="{oops")
    assert garbled.once["errors"]["title"] == t("errors.not_found", "en")
    assert _stored(services, event_id).model_dump() == before
    assert fake_slack.calls_to("chat.update") == []


# -- cancel ----------------------------------------------------------------------------------------------


def test_cancel_is_decided_before_the_ack_and_tells_going_and_waitlisted_once(
    services: Services, fake_slack: FakeSlack
) -> None:
    event_id = _event(services, fake_slack, capacity=1)
    _act(events.on_rsvp, _click(ui.RSVP_GOING, event_id, user=ALICE), services)
    _act(events.on_rsvp, _click(ui.RSVP_GOING, event_id, user=BOB), services)  # waitlisted
    assert _act(events.on_cancel, _click(ui.ACTION_CANCEL, event_id, user=HR), services).once == {}
    assert _stored(services, event_id).is_cancelled
    assert "開催中止" in json.dumps(_dms(fake_slack, BOB)[-1], ensure_ascii=False)
    assert len(_dms(fake_slack, ALICE)) == 1
    assert t("events.announce.cancelled", "ja") in json.dumps(
        fake_slack.messages(ALUMNI_CHANNEL)[-1], ensure_ascii=False
    )
    assert "2" in _told(fake_slack, HR)[-1]
    _act(events.on_cancel, _click(ui.ACTION_CANCEL, event_id, user=ORGANIZER), services)  # twice
    assert "already" in _told(fake_slack, ORGANIZER)[-1]
    assert len(_dms(fake_slack, BOB)) == 1 and len(_dms(fake_slack, ALICE)) == 1


def test_cancel_and_rating_are_decided_before_the_ack_whatever_happens_after_it(
    services: Services, fake_slack: FakeSlack
) -> None:
    event_id = _event(services, fake_slack)
    at_ack: list[bool] = []

    def ack(**_: Any) -> None:  # what Slack's answer would reflect: the state when the ack is given
        at_ack.append(_stored(services, event_id).is_cancelled)

    body = _click(ui.ACTION_CANCEL, event_id, user=ORGANIZER)
    events.on_cancel(ack=ack, body=body, action=body["actions"][0], services=services, later=lambda _: None)
    assert at_ack == [True]
    assert _dms(fake_slack, ORGANIZER) == [] and _told(fake_slack, ORGANIZER) == []  # follow-up not run yet

    other = _event(services, fake_slack)
    _attend(services, other, ALICE)
    rated: list[int] = []

    def rating_ack(**_: Any) -> None:
        with services.db.session() as session:
            rated.append(ev.feedback_summary(session, actor=ORG, event_id=other).count)

    body = _click(f"{ui.ACTION_RATE}_3", f"{other}:3", user=ALICE)
    events.on_rate(
        ack=rating_ack,
        body=body,
        action=body["actions"][0],
        respond=Recorder(),
        services=services,
        later=lambda _: None,
    )
    assert rated == [1]


def test_cancel_by_a_member_or_another_organiser_is_refused_and_changes_nothing(
    services: Services, fake_slack: FakeSlack
) -> None:
    event_id = _event(services, fake_slack)
    _act(events.on_rsvp, _click(ui.RSVP_GOING, event_id, user=ALICE), services)
    updates = len(fake_slack.calls_to("chat.update"))
    _act(events.on_cancel, _click(ui.ACTION_CANCEL, event_id, user=ALICE), services)
    assert _told(fake_slack, ALICE)[-1] == t("errors.not_allowed", "en")
    assert not _stored(services, event_id).is_cancelled
    assert len(fake_slack.calls_to("chat.update")) == updates
    assert _dms(fake_slack, ALICE) == []


# -- attendance ------------------------------------------------------------------------------------------


def test_attendance_opens_only_once_the_event_started_with_the_going_list(
    services: Services, fake_slack: FakeSlack
) -> None:
    event_id = _event(services, fake_slack)
    for user in (ALICE, BOB):
        _act(events.on_rsvp, _click(ui.RSVP_GOING, event_id, user=user), services)
    _act(events.on_attendance, _click(ui.ACTION_ATTENDANCE, event_id, user=ORGANIZER), services)
    assert _told(fake_slack, ORGANIZER) == [t("events.errors.not_started", "en")]
    freeze(_stored(services, event_id).ends_at + timedelta(minutes=5))
    _act(events.on_attendance, _click(ui.ACTION_ATTENDANCE, event_id, user=CAROL), services)
    assert _told(fake_slack, CAROL) == [t("errors.not_allowed", "en")]
    assert _opened(fake_slack) == []
    _act(events.on_attendance, _click(ui.ACTION_ATTENDANCE, event_id, user=ORGANIZER), services)
    [modal] = _opened(fake_slack)
    assert [o["value"] for o in modal["blocks"][1]["element"]["options"]] == [ALICE, BOB]


def test_attendance_save_refuses_strangers_and_forgers_then_saves_and_confirms_by_dm(
    services: Services, fake_slack: FakeSlack
) -> None:
    event_id = _event(services, fake_slack)
    _act(events.on_rsvp, _click(ui.RSVP_GOING, event_id, user=ALICE), services)
    freeze(_stored(services, event_id).ends_at + timedelta(minutes=5))

    def picked(*users: str) -> dict[str, Any]:
        return {
            "attended": {"type": "multi_static_select", "selected_options": [{"value": u} for u in users]}
        }

    meta = _metadata(event_id)
    stranger = _submit(
        events.on_attendance_save, ui.VIEW_ATTENDANCE, picked(HR), services, user=ORGANIZER, metadata=meta
    )
    assert stranger.once["errors"] == {"attended": t("events.errors.not_on_going_list", "en")}
    forged = _submit(
        events.on_attendance_save, ui.VIEW_ATTENDANCE, picked(ALICE), services, user=ALICE, metadata=meta
    )
    assert forged.once["response_action"] == "errors"
    assert _stored(services, event_id).attendance_marked_at is None
    saved = _submit(
        events.on_attendance_save, ui.VIEW_ATTENDANCE, picked(ALICE), services, user=ORGANIZER, metadata=meta
    )
    assert saved.once == {}
    assert _stored(services, event_id).attendance_marked_at is not None
    assert "1" in _dms(fake_slack, ORGANIZER)[-1]["text"]


# -- feedback --------------------------------------------------------------------------------------------


def test_feedback_summary_opens_for_the_organiser_and_is_refused_to_a_member(
    services: Services, fake_slack: FakeSlack
) -> None:
    event_id = _event(services, fake_slack)
    _attend(services, event_id, ALICE)
    _act(events.on_feedback_summary, _click(ui.ACTION_FEEDBACK_SUMMARY, event_id, user=ALICE), services)
    assert _told(fake_slack, ALICE) == [t("errors.not_allowed", "en")]
    assert _opened(fake_slack) == []
    _act(events.on_feedback_summary, _click(ui.ACTION_FEEDBACK_SUMMARY, event_id, user=ORGANIZER), services)
    [modal] = _opened(fake_slack)
    assert "1 attended" in json.dumps(modal)


def test_a_rating_is_saved_before_the_ack_and_the_question_becomes_a_thank_you(
    services: Services, fake_slack: FakeSlack
) -> None:
    event_id = _event(services, fake_slack)
    _attend(services, event_id, ALICE)
    respond = Recorder()
    body = _click(f"{ui.ACTION_RATE}_4", f"{event_id}:4", user=ALICE)
    body["response_url"] = fake_slack.response_url("dm")
    assert _act(events.on_rate, body, services, respond=respond).once == {}
    assert respond.once["replace_original"] is True and "4/5" in respond.once["text"]
    with services.db.session() as session:
        assert ev.feedback_summary(session, actor=ORG, event_id=event_id).average == 4


@pytest.mark.parametrize(
    "user, value, key",
    [
        (CAROL, "{id}:5", "events.errors.not_attendee"),
        (ALICE, "{id}:9", "events.errors.rating_range"),
        (ALICE, "{id}", "events.errors.rating_range"),
    ],
)
def test_a_rating_from_a_non_attendee_or_out_of_range_is_refused_and_nothing_saved(
    services: Services, fake_slack: FakeSlack, user: str, value: str, key: str
) -> None:
    event_id = _event(services, fake_slack)
    _attend(services, event_id, ALICE)
    respond = Recorder()
    _act(
        events.on_rate,
        _click(f"{ui.ACTION_RATE}_5", value.format(id=event_id), user=user),
        services,
        respond=respond,
    )
    assert _told(fake_slack, user) == [t(key, "en")]
    assert respond.calls == []
    with services.db.session() as session:
        assert ev.feedback_summary(session, actor=ORG, event_id=event_id).count == 0


def test_comment_opens_for_an_attendee_only_and_a_saved_comment_thanks_in_the_modal(
    services: Services, fake_slack: FakeSlack
) -> None:
    event_id = _event(services, fake_slack)
    _attend(services, event_id, ALICE)
    _act(events.on_comment, _click(ui.ACTION_COMMENT, event_id, user=CAROL), services)
    assert _told(fake_slack, CAROL) == [t("events.errors.not_attendee", "en")]
    assert _opened(fake_slack) == []
    _act(events.on_comment, _click(ui.ACTION_COMMENT, event_id, user=ALICE), services)
    [modal] = _opened(fake_slack)
    assert modal["callback_id"] == ui.VIEW_COMMENT
    thanks = _submit(
        events.on_comment_save,
        ui.VIEW_COMMENT,
        {"comment": "Great <!channel> talk"},
        services,
        user=ALICE,
        metadata=modal["private_metadata"],
    )
    assert thanks.once["response_action"] == "update"
    with services.db.session() as session:
        assert ev.feedback_summary(session, actor=ORG, event_id=event_id).comments == [
            "Great <!channel> talk"
        ]


def test_a_comment_from_a_non_attendee_is_refused_at_the_field_and_not_saved(
    services: Services, fake_slack: FakeSlack
) -> None:
    event_id = _event(services, fake_slack)
    _attend(services, event_id, ALICE)
    refused = _submit(
        events.on_comment_save,
        ui.VIEW_COMMENT,
        {"comment": "hi"},
        services,
        user=CAROL,
        metadata=_metadata(event_id),
    )
    assert refused.once["errors"] == {"comment": t("events.errors.not_attendee", "en")}
    with services.db.session() as session:
        assert ev.feedback_summary(session, actor=ORG, event_id=event_id).comments == []


# -- Home ------------------------------------------------------------------------------------------------


def test_the_home_section_shows_my_events_and_the_new_button_to_organisers(
    services: Services, fake_slack: FakeSlack
) -> None:
    event_id = _event(services, fake_slack)
    _act(events.on_rsvp, _click(ui.RSVP_GOING, event_id, user=ALICE), services)
    alice = json.dumps(events.home_section(services, ALICE, services.translator(ALICE)))
    organiser = json.dumps(events.home_section(services, ORGANIZER, services.translator(ORGANIZER)))
    assert "Meetup &lt;!channel&gt;" in alice and ui.ACTION_NEW not in alice
    assert ui.ACTION_NEW in organiser and ui.ACTION_EDIT in organiser
