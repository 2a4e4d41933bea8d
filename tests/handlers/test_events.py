"""Events through signed requests and the fake Slack, on SQLite and PostgreSQL: create, announce, RSVP with
capacity and waitlist, edit, cancel, .ics, attendance and feedback, `/events`, App Home; plus the pure
builders (.ics, Google Calendar link)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.blocks import events as ui
from bot.blocks.admin import figure_lines
from bot.i18n import Translator, t
from bot.ics import IcsEvent, build_ics, fold
from bot.slack_emulator.web_api import Call
from models import event as ev
from models.actors import Actor
from models.report import Month, figures
from models.timeutil import freeze, now
from tests.conftest import ALICE, ALUMNI_CHANNEL, BOB, CAROL, HR, ORGANIZER, BotHarness

ORG = Actor(ORGANIZER, is_organizer=True)


def _picker(instant: datetime) -> dict[str, Any]:
    return {"type": "datetimepicker", "selected_date_time": int(instant.timestamp())}


def _form(**over: Any) -> dict[str, Any]:
    start = over.pop("start", now() + timedelta(days=3))
    end = over.pop("end", start + timedelta(hours=2))
    values: dict[str, Any] = {
        "title": "Python 勉強会",
        "description": "Type hints & more",
        "starts_at": _picker(start),
        "ends_at": _picker(end),
        "place": "Tokyo office, 5F",
        "online_url": {"type": "url_text_input", "value": "https://meet.example/abc"},
        "capacity": {"type": "number_input", "value": "2"},
    }
    values.update(over)
    return values


def _events(bot: BotHarness) -> list[ev.Event]:
    with bot.db.session() as session:
        return list(session.exec(select(ev.Event)))


def _announcement(bot: BotHarness) -> dict[str, Any]:
    messages = bot.fake.messages(ALUMNI_CHANNEL)
    assert len(messages) == 1, "exactly one announcement, updated in place"
    return messages[0]


def _blocks_text(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks"), ensure_ascii=False)


def _mrkdwn(node: Any) -> list[str]:
    """Every string Slack renders as mrkdwn in a message: its top-level text and mrkdwn text objects."""
    out: list[str] = [node["text"]] if isinstance(node, dict) and isinstance(node.get("text"), str) else []

    def walk(item: Any) -> None:
        if isinstance(item, dict):
            if item.get("type") == "mrkdwn":
                out.append(item["text"])
            for value in item.values():
                walk(value)
        elif isinstance(item, list):
            for value in item:
                walk(value)

    walk(node.get("blocks") if isinstance(node, dict) else node)
    return out


def _counts(going: int, maybe: int = 0, not_going: int = 0, capacity: int | None = 2) -> str:
    if capacity is None:
        return t("events.announce.counts", "ja", going=going, maybe=maybe, not_going=not_going)
    return t(
        "events.announce.counts_capped",
        "ja",
        going=going,
        capacity=capacity,
        maybe=maybe,
        not_going=not_going,
    )


def _create(bot: BotHarness, **over: Any) -> ev.Event:
    answer = bot.sender.view_submission(ui.VIEW_CREATE, _form(**over), user=ORGANIZER)
    assert answer.status == 200 and not answer.text, answer.text
    bot.fake.wait_for("chat.postMessage", lambda c: c.args.get("channel") == ALUMNI_CHANNEL)
    # The announcement's ts is stored right after posting.
    bot.fake.wait_for("chat.postMessage", lambda c: c.args.get("channel") == ORGANIZER)
    (event,) = _events(bot)
    assert event.message_ts
    return event


def _click(bot: BotHarness, action_id: str, value: str, *, user: str) -> None:
    answer = bot.sender.block_action(
        action_id, value, user=user, channel=ALUMNI_CHANNEL, message=_announcement(bot)
    )
    assert answer.status == 200


def _click_dm(bot: BotHarness, action_id: str, value: str, *, user: str) -> None:
    """A click on a button in the bot's DM with `user` (such as the feedback question)."""
    ts = bot.fake.add_message(user, text="How was it?", user="UBOT")
    answer = bot.sender.block_action(
        action_id, value, user=user, channel=f"D{user}", message={"ts": ts, "text": "", "blocks": []}
    )
    assert answer.status == 200


def _ephemerals(bot: BotHarness, user: str) -> list[Call]:
    return [c for c in bot.fake.calls_to("chat.postEphemeral") if c.args.get("user") == user]


def _dms(bot: BotHarness, user: str) -> list[dict[str, Any]]:
    return bot.fake.messages(user)


# ------------------------------------------------------------------------------------------- must show


def test_organiser_creates_members_rsvp_capacity_waitlist_and_promotion(bot: BotHarness) -> None:
    # The organiser opens the modal with /events new; it explains the organiser's time zone.
    assert bot.sender.command("/events", "new", user=ORGANIZER).status == 200
    modal = bot.fake.wait_for("views.open")[0].args["view"]
    assert modal["callback_id"] == ui.VIEW_CREATE
    assert {b["block_id"] for b in modal["blocks"]} >= {"title", "starts_at", "ends_at", "capacity"}
    assert "Asia/Tokyo" in json.dumps(modal)

    event = _create(bot)
    assert event.organizer == ORGANIZER and event.capacity == 2 and event.tz == "Asia/Tokyo"
    message = _announcement(bot)
    text = _blocks_text(message)
    assert f"<!date^{int(event.starts_at.timestamp())}^" in text  # every viewer sees local time
    assert "calendar.google.com/calendar/render?action=TEMPLATE" in text
    assert _counts(0) in text
    action_ids = {e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]}
    assert action_ids >= {ui.RSVP_GOING, ui.RSVP_MAYBE, ui.RSVP_NOT_GOING, ui.ACTION_CALENDAR, ui.ACTION_ICS}
    organiser_dm = _dms(bot, ORGANIZER)[-1]["text"]
    assert f"<#{ALUMNI_CHANNEL}>" in organiser_dm

    value = str(event.id)
    _click(bot, ui.RSVP_GOING, value, user=ALICE)
    bot.fake.wait_for("chat.update", count=1)
    _click(bot, ui.RSVP_GOING, value, user=ALICE)  # a second click changes nothing
    bot.fake.wait_for("chat.postEphemeral", lambda c: c.args.get("user") == ALICE, count=2)
    assert _counts(1) in _blocks_text(_announcement(bot))
    assert "already" in _ephemerals(bot, ALICE)[-1].args["text"]

    _click(bot, ui.RSVP_GOING, value, user=BOB)
    bot.fake.wait_for("chat.update", count=2)
    _click(bot, ui.RSVP_GOING, value, user=CAROL)  # full: the third goes to the waitlist
    waitlisted = bot.fake.wait_for("chat.postEphemeral", lambda c: c.args.get("user") == CAROL)[0]
    assert "waitlist" in waitlisted.args["text"] and "number 1" in waitlisted.args["text"]
    bot.fake.wait_for("chat.update", count=3)
    text = _blocks_text(_announcement(bot))
    assert _counts(2) in text and t("events.announce.waitlist", "ja", waitlist=1) in text

    _click(bot, ui.RSVP_NOT_GOING, value, user=ALICE)  # a place opens up: Carol moves up and is told
    bot.fake.wait_for("chat.postMessage", lambda c: c.args.get("channel") == CAROL)
    bot.fake.wait_for("chat.update", count=4)
    assert "you are now *going*" in _dms(bot, CAROL)[-1]["blocks"][0]["text"]["text"]
    text = _blocks_text(_announcement(bot))
    assert _counts(2, not_going=1) in text and t("events.announce.waitlist", "ja", waitlist=1) not in text
    with bot.db.session() as session:
        assert ev.user_ids_with_answer(session, event_id=event.id or 0, answers=[ev.GOING]) == [BOB, CAROL]
    bot.settle()  # a repost would be after-ack work
    assert len(bot.fake.messages(ALUMNI_CHANNEL)) == 1  # updated in place, never reposted


def test_simultaneous_clicks_never_exceed_capacity_and_the_announcement_ends_up_right(
    bot: BotHarness,
) -> None:
    event = _create(bot, capacity={"type": "number_input", "value": "1"})
    message = _announcement(bot)
    clicks = [(ALICE, ui.RSVP_GOING), (ALICE, ui.RSVP_GOING), (BOB, ui.RSVP_GOING), (CAROL, ui.RSVP_GOING)]
    barrier = threading.Barrier(len(clicks))

    def click(user: str, action_id: str) -> None:
        barrier.wait(timeout=10)
        bot.sender.block_action(action_id, str(event.id), user=user, channel=ALUMNI_CHANNEL, message=message)

    threads = [threading.Thread(target=click, args=pair) for pair in clicks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    bot.fake.wait_for("chat.postEphemeral", count=len(clicks), timeout=15)
    with bot.db.session() as session:
        counts = ev.rsvp_counts(session, event_ids=[event.id or 0])[event.id or 0]
    assert counts == ev.Counts(going=1, waitlist=2)  # Alice's double click counted once
    expected = _counts(1, capacity=1)
    waitlist = t("events.announce.waitlist", "ja", waitlist=2)
    # Once every listener (and its follow-up work) has finished, every update has landed, and "newest render
    # wins" means the last one shows the final state.
    assert bot.listeners is not None and bot.listeners.wait_idle(timeout=30)
    final = _blocks_text(_announcement(bot))
    assert expected in final and waitlist in final


def test_non_organiser_cannot_create_edit_or_cancel_even_with_forged_payloads(bot: BotHarness) -> None:
    answer = bot.sender.command("/events", "new", user=ALICE)
    assert answer.json["response_type"] == "ephemeral"
    assert answer.json["text"] == t("events.msg.not_organizer", "en")
    forged = bot.sender.view_submission(ui.VIEW_CREATE, _form(), user=ALICE)
    assert forged.json["response_action"] == "errors"
    assert t("errors.not_allowed", "en") in json.dumps(forged.json)
    assert _events(bot) == []
    assert bot.fake.calls_to("views.open") == []

    event = _create(bot)
    before = event.model_dump()
    value = str(event.id)
    # Edit: the button is refused, and so is a forged submission of the edit modal.
    _click(bot, ui.ACTION_EDIT, value, user=ALICE)
    bot.fake.wait_for("chat.postEphemeral", lambda c: c.args.get("user") == ALICE)
    later = now() + timedelta(days=10)
    metadata = json.dumps({"event_id": event.id})
    forged = bot.sender.view_submission(
        ui.VIEW_EDIT, _form(title="Hijacked", start=later), user=ALICE, private_metadata=metadata
    )
    assert forged.json["response_action"] == "errors"
    # Cancel: refused. Another organiser (not HR, not this event's organiser) is refused too.
    _click(bot, ui.ACTION_CANCEL, value, user=ALICE)
    bot.fake.wait_for("chat.postEphemeral", lambda c: c.args.get("user") == ALICE, count=2)
    _click(bot, ui.ACTION_ATTENDANCE, value, user=CAROL)
    _click(bot, ui.ACTION_FEEDBACK_SUMMARY, value, user=CAROL)
    bot.fake.wait_for("chat.postEphemeral", lambda c: c.args.get("user") == CAROL, count=2)
    bot.settle()  # every refused click's after-ack work has ended: nothing else may follow
    for call in _ephemerals(bot, ALICE) + _ephemerals(bot, CAROL):
        assert call.args["text"] == t("errors.not_allowed", "en")
    (after,) = _events(bot)
    assert after.model_dump() == before
    assert bot.fake.calls_to("chat.update") == []
    assert [
        c for c in bot.fake.calls_to("views.open") if c.args["view"].get("callback_id") == ui.VIEW_EDIT
    ] == []


def test_modal_errors_per_field_and_nothing_stored(bot: BotHarness) -> None:
    start = now() + timedelta(days=2)
    cases: list[tuple[dict[str, Any], dict[str, str]]] = [
        ({"title": ""}, {"title": t("errors.required", "en")}),
        ({"title": "x" * 101}, {"title": t("errors.too_long", "en", max=100)}),
        (
            {"start": start, "end": start - timedelta(hours=1)},
            {"ends_at": t("events.errors.end_before_start", "en")},
        ),
        ({"start": now() - timedelta(hours=1)}, {"starts_at": t("events.errors.start_past", "en")}),
        (
            {"online_url": {"type": "url_text_input", "value": "javascript:alert(1)"}},
            {"online_url": t("errors.invalid_url", "en")},
        ),
        (
            {"capacity": {"type": "number_input", "value": "0"}},
            {"capacity": t("events.errors.capacity_min", "en")},
        ),
        (
            {"capacity": {"type": "number_input", "value": "two"}},
            {"capacity": t("events.errors.capacity_number", "en")},
        ),
        ({"description": "d" * 2001}, {"description": t("errors.too_long", "en", max=2000)}),
    ]
    # The organiser's Slack locale is en-US: the errors are in English.
    for over, expected in cases:
        answer = bot.sender.view_submission(ui.VIEW_CREATE, _form(**over), user=ORGANIZER)
        assert answer.json["response_action"] == "errors", over
        assert answer.json["errors"] == expected, over
    assert _events(bot) == []
    bot.settle()  # an announcement would be after-ack work
    assert bot.fake.messages(ALUMNI_CHANNEL) == []


def test_user_text_is_escaped_everywhere(bot: BotHarness) -> None:
    event = _create(
        bot,
        title="<!channel> party",
        description="<https://evil.example|bank> & <@U0HOSTILE>",
        place="<!here> room",
    )
    message = _announcement(bot)
    rendered = "\n".join(_mrkdwn(message))
    assert "<!channel> party" in json.dumps(
        message, ensure_ascii=False
    )  # the plain-text header shows it as typed
    for raw in ("<!channel>", "<https://evil.example|bank>", "<@U0HOSTILE>", "<!here>"):
        assert raw not in rendered
    assert "&lt;https://evil.example|bank&gt; &amp; &lt;@U0HOSTILE&gt;" in rendered
    answer = bot.sender.command("/events", "", user=ALICE)
    assert "<!channel>" not in answer.text and "&lt;!channel&gt; party" in answer.text
    _click(bot, ui.RSVP_GOING, str(event.id), user=ALICE)
    ephemeral = bot.fake.wait_for("chat.postEphemeral", lambda c: c.args.get("user") == ALICE)[0]
    assert "<!channel>" not in ephemeral.args["text"]


def test_events_lists_upcoming_privately_with_my_answer(bot: BotHarness) -> None:
    empty = bot.sender.command("/events", "", user=BOB)
    assert empty.json["response_type"] == "ephemeral"
    assert t("events.list.empty", "ja") in json.dumps(empty.json, ensure_ascii=False)
    event = _create(bot)
    _click(bot, ui.RSVP_MAYBE, str(event.id), user=BOB)
    bot.fake.wait_for("chat.update")
    answer = bot.sender.command("/events", "", user=BOB)
    assert answer.json["response_type"] == "ephemeral"
    text = json.dumps(answer.json, ensure_ascii=False)
    assert t("events.list.your_answer", "ja", answer=t("events.answer.maybe", "ja")) in text
    assert ui.ACTION_EDIT not in text  # members get no organiser buttons
    # Answering from the private list replaces the list with the new answer.
    listing = bot.sender.command("/events", "", user=BOB).json
    answer = bot.sender.block_action(
        ui.RSVP_GOING,
        str(event.id),
        user=BOB,
        channel=ALUMNI_CHANNEL,
        message={"ts": "1700000000.000900", "text": listing["text"], "blocks": listing["blocks"]},
        response_url=bot.fake.response_url("list"),
        container={
            "type": "message",
            "message_ts": "1700000000.000900",
            "channel_id": ALUMNI_CHANNEL,
            "is_ephemeral": True,
        },
    )
    assert answer.status == 200
    bot.fake.wait_for("response_url", lambda c: c.key == "list")
    (replaced,) = bot.fake.responses("list")
    assert replaced["replace_original"] is True
    going = t("events.list.your_answer", "ja", answer=t("events.answer.going", "ja"))
    assert going in json.dumps(replaced, ensure_ascii=False)
    bot.fake.wait_for("chat.update", count=2)
    organiser_view = json.dumps(bot.sender.command("/events", "", user=ORGANIZER).json)
    assert ui.ACTION_EDIT in organiser_view and ui.ACTION_CANCEL in organiser_view
    assert (
        t("events.help", "en").split("\n")[0]
        in bot.sender.command("/events", "help", user=ALICE).json["text"]
    )
    unknown = bot.sender.command("/events", "<!channel>", user=ALICE).json["text"]
    assert "&lt;!channel&gt;" in unknown


def test_edit_time_tells_everyone_going_and_cancel_tells_going_and_waitlisted(bot: BotHarness) -> None:
    event = _create(bot, capacity={"type": "number_input", "value": "1"})
    value = str(event.id)
    _click(bot, ui.RSVP_GOING, value, user=ALICE)
    bot.fake.wait_for("chat.update", count=1)
    _click(bot, ui.RSVP_GOING, value, user=BOB)  # waitlisted
    bot.fake.wait_for("chat.update", count=2)

    _click(bot, ui.ACTION_EDIT, value, user=ORGANIZER)
    edit = bot.fake.wait_for("views.open")[0].args["view"]
    assert edit["callback_id"] == ui.VIEW_EDIT
    new_start = event.starts_at + timedelta(days=1)
    answer = bot.sender.view_submission(
        ui.VIEW_EDIT,
        _form(start=new_start, capacity={"type": "number_input", "value": "1"}),
        user=ORGANIZER,
        private_metadata=edit["private_metadata"],
    )
    assert answer.status == 200 and not answer.text
    bot.fake.wait_for("chat.postMessage", lambda c: c.args.get("channel") == ALICE)
    assert str(int(new_start.timestamp())) in json.dumps(_dms(bot, ALICE)[-1])
    bot.fake.wait_for("chat.update", count=3)
    assert f"<!date^{int(new_start.timestamp())}^" in _blocks_text(_announcement(bot))
    bot.settle()  # the edit's DMs are after-ack work: all sent before asserting Bob got none
    assert _dms(bot, BOB) == []  # waitlisted members are not told of a time change

    _click(bot, ui.ACTION_CANCEL, value, user=HR)  # HR may cancel any event
    bot.fake.wait_for("chat.postMessage", lambda c: c.args.get("channel") == BOB)
    bot.fake.wait_for("chat.postMessage", lambda c: c.args.get("channel") == ALICE, count=2)
    assert "開催中止" in _dms(bot, BOB)[-1]["blocks"][0]["text"]["text"]
    bot.fake.wait_for("chat.update", count=4)
    cancelled = _announcement(bot)
    assert t("events.announce.cancelled", "ja") in _blocks_text(cancelled)
    assert all(b["type"] != "actions" for b in cancelled["blocks"])  # no RSVP buttons any more
    done = bot.fake.wait_for("chat.postEphemeral", lambda c: c.args.get("user") == HR)[0]
    assert "2" in done.args["text"]
    # A late click on an old button is refused politely.
    _click(bot, ui.RSVP_GOING, value, user=CAROL)
    late = bot.fake.wait_for("chat.postEphemeral", lambda c: c.args.get("user") == CAROL)[0]
    assert late.args["text"] == t("events.errors.cancelled", "en")
    # Cancelling twice tells nobody again.
    _click(bot, ui.ACTION_CANCEL, value, user=ORGANIZER)
    bot.fake.wait_for("chat.postEphemeral", lambda c: c.args.get("user") == ORGANIZER)
    bot.settle()  # the second cancel's after-ack work has ended: no second DM may follow
    assert len(_dms(bot, BOB)) == 1


def test_ics_file_goes_to_the_clickers_dm(bot: BotHarness) -> None:
    event = _create(bot)
    _click(bot, ui.ACTION_ICS, str(event.id), user=CAROL)
    complete = bot.fake.wait_for("files.completeUploadExternal")[0]
    assert complete.args["channel_id"] == f"D{CAROL}"
    bot.settle()  # the upload is after-ack work: count it once it has ended
    (upload,) = bot.fake.calls_to("files.getUploadURLExternal")
    assert upload.args["filename"] == f"event-{event.id}.ics"
    content = next(f for f in bot.fake.uploaded_files.values() if f["completed"])["bytes"]
    assert content.startswith(b"BEGIN:VCALENDAR\r\n")
    assert f"DTSTART:{event.starts_at.strftime('%Y%m%dT%H%M%SZ')}".encode() in content
    assert "SUMMARY:Python 勉強会".encode() in content
    sent = bot.fake.wait_for("chat.postEphemeral", lambda c: c.args.get("user") == CAROL)[0]
    assert "direct message" in sent.args["text"]
    assert (
        bot.sender.block_action(ui.ACTION_CALENDAR, str(event.id), user=CAROL, channel=ALUMNI_CHANNEL).status
        == 200
    )


def test_attendance_feedback_and_summary_for_organiser(bot: BotHarness) -> None:
    event = _create(bot, capacity={"type": "number_input", "value": "5"})
    value = str(event.id)
    for count, user in enumerate((ALICE, BOB, CAROL), start=1):
        _click(bot, ui.RSVP_GOING, value, user=user)
        bot.fake.wait_for("chat.update", count=count)
    freeze(event.ends_at + timedelta(minutes=5))
    _click(bot, ui.ACTION_ATTENDANCE, value, user=ORGANIZER)
    modal = bot.fake.wait_for("views.open")[0].args["view"]
    options = [o["value"] for o in modal["blocks"][1]["element"]["options"]]
    assert options == [ALICE, BOB, CAROL]
    chosen = {"type": "multi_static_select", "selected_options": [{"value": ALICE}, {"value": BOB}]}
    forged = bot.sender.view_submission(
        ui.VIEW_ATTENDANCE, {"attended": chosen}, user=ALICE, private_metadata=modal["private_metadata"]
    )
    assert forged.json["response_action"] == "errors"
    stranger = {"type": "multi_static_select", "selected_options": [{"value": HR}]}
    answer = bot.sender.view_submission(
        ui.VIEW_ATTENDANCE, {"attended": stranger}, user=ORGANIZER, private_metadata=modal["private_metadata"]
    )
    assert answer.json["errors"] == {"attended": t("events.errors.not_on_going_list", "en")}
    answer = bot.sender.view_submission(
        ui.VIEW_ATTENDANCE, {"attended": chosen}, user=ORGANIZER, private_metadata=modal["private_metadata"]
    )
    assert answer.status == 200 and not answer.text

    # Alice rates 4 from her feedback DM and comments; Carol (did not attend) is refused.
    _click_dm(bot, f"{ui.ACTION_RATE}_4", f"{value}:4", user=ALICE)
    bot.fake.wait_for("chat.update", lambda c: "4/5" in json.dumps(c.args, ensure_ascii=False))
    _click_dm(bot, f"{ui.ACTION_RATE}_2", f"{value}:2", user=BOB)
    bot.fake.wait_for("chat.update", lambda c: "2/5" in json.dumps(c.args, ensure_ascii=False))
    _click_dm(bot, f"{ui.ACTION_RATE}_5", f"{value}:5", user=CAROL)
    refused = t("events.errors.not_attendee", "en")
    bot.fake.wait_for(
        "chat.postEphemeral", lambda c: c.args.get("user") == CAROL and c.args["text"] == refused
    )
    _click_dm(bot, f"{ui.ACTION_RATE}_5", f"{value}:9", user=BOB)  # forged value
    out_of_range = t("events.errors.rating_range", "ja")
    bot.fake.wait_for(
        "chat.postEphemeral", lambda c: c.args.get("user") == BOB and c.args["text"] == out_of_range
    )
    metadata = json.dumps({"event_id": event.id})
    thanks = bot.sender.view_submission(
        ui.VIEW_COMMENT, {"comment": "Great <!channel> talk"}, user=ALICE, private_metadata=metadata
    )
    assert thanks.json["response_action"] == "update"

    _click(bot, ui.ACTION_FEEDBACK_SUMMARY, value, user=ORGANIZER)
    summary = bot.fake.wait_for("views.open", count=2)[-1].args["view"]
    text = json.dumps(summary, ensure_ascii=False)
    assert "*3.0*/5" in text and "2 attended" in text
    assert "Great &lt;!channel&gt; talk" in text
    past = bot.sender.command("/events", "past", user=HR)  # HR sees it too, in Japanese
    assert "平均 *3.0*/5" in json.dumps(past.json, ensure_ascii=False)


def test_unmarked_attendance_is_not_counted_as_attended_anywhere(bot: BotHarness) -> None:
    """Two said Going, nobody marked attendance: the organiser's summary and the monthly report agree."""
    event = _create(bot, capacity={"type": "number_input", "value": "5"})
    value = str(event.id)
    for count, user in enumerate((ALICE, BOB), start=1):
        _click(bot, ui.RSVP_GOING, value, user=user)
        bot.fake.wait_for("chat.update", count=count)
    freeze(event.ends_at + timedelta(minutes=5))
    _click(bot, ui.ACTION_FEEDBACK_SUMMARY, value, user=ORGANIZER)
    summary = json.dumps(bot.fake.wait_for("views.open")[0].args["view"], ensure_ascii=False)
    assert "2 said Going, attendance not marked" in summary and "attended" not in summary.replace(
        "not marked", ""
    )
    past = json.dumps(bot.sender.command("/events", "past", user=HR).json, ensure_ascii=False)  # HR, Japanese
    assert "参加予定 2 名（出席は未記録）" in past and "出席 2 名" not in past
    zone = bot.settings.zone
    with bot.db.session() as session:
        month = figures(session, Month.containing(event.starts_at, zone), zone)
    assert (month.events_held, month.event_attendance, month.events_unmarked) == (1, 0, 1)
    lines = dict(figure_lines(month, month, Translator("en")))
    assert lines["Event attendance"].endswith("(events without attendance marked: 1)")


def test_app_home_shows_my_events(bot: BotHarness) -> None:
    event = _create(bot)
    _click(bot, ui.RSVP_GOING, str(event.id), user=ALICE)
    bot.sender.event({"type": "app_home_opened", "user": ALICE, "tab": "home"})  # she opens the tab
    home = bot.fake.wait_for("views.publish", lambda c: c.args["user_id"] == ALICE)[-1].args["view"]
    text = json.dumps(home, ensure_ascii=False)
    assert t("events.home.title", "en") in text and "Python 勉強会" in text
    assert t("events.list.your_answer", "en", answer=t("events.answer.going", "en")) in text
    bot.sender.event({"type": "app_home_opened", "user": ORGANIZER, "tab": "home"})
    organiser = bot.fake.wait_for("views.publish", lambda c: c.args["user_id"] == ORGANIZER)[-1].args["view"]
    organiser_text = json.dumps(organiser)
    assert ui.ACTION_NEW in organiser_text and ui.ACTION_EDIT in organiser_text


# ------------------------------------------------------------------------------------------- pure builders


def test_ics_escapes_folds_and_uses_utc() -> None:
    start = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
    data = build_ics(
        IcsEvent(
            uid="event-7@alumni-bot",
            title="勉強会; Python, typing",
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            stamp=start,
            description="line one\nline two " + "長" * 60,
        )
    )
    text = data.decode("utf-8")
    assert "DTSTART:20261203T093000Z\r\n" in text and "DTEND:20261203T113000Z\r\n" in text
    assert "SUMMARY:勉強会\\; Python\\, typing\r\n" in text
    assert "line one\\nline two" in text
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    assert "".join(text.split("\r\n ")).count("長") == 60  # unfolding restores the text
    assert fold("short") == "short"


def test_google_calendar_link_is_encoded_and_short_enough() -> None:
    start = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
    event = ev.Event(
        id=1,
        title="勉強会 & <b>",
        description="説明" * 1000,
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        place="Tokyo",
        organizer=ORGANIZER,
    )
    url = ui.google_calendar_url(event)
    assert len(url) <= 3000
    query = parse_qs(urlsplit(url).query)
    assert query["action"] == ["TEMPLATE"]
    assert query["text"] == ["勉強会 & <b>"]
    assert query["dates"] == ["20261203T093000Z/20261203T103000Z"]
    assert query["location"] == ["Tokyo"]
    assert query["details"][0].startswith("説明")
    assert " " not in url and "<" not in url


def test_an_erased_organiser_shows_as_their_pseudonym() -> None:
    start = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
    event = ev.Event(id=3, title="t", starts_at=start, ends_at=start, organizer="former-member-<!here>")
    assert ui.organizer_label(event) == "former-member-&lt;!here&gt;"
    event.organizer = ORGANIZER
    assert ui.organizer_label(event) == f"<@{ORGANIZER}>"
    message = ui.announcement(event, ev.Counts(), Translator("en"), workspace_tz="Asia/Tokyo")
    assert f"<@{ORGANIZER}>" in json.dumps(message)


def test_an_event_with_an_unknown_zone_falls_back_to_the_workspace_zone_not_utc(bot: BotHarness) -> None:
    event = _create(bot)
    with bot.db.session() as session:  # a stored zone this server's tz database does not know
        stored = session.get(ev.Event, event.id)
        assert stored is not None
        stored.tz = "Atlantis/Capital"
    local = event.starts_at.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%Y-%m-%d %H:%M JST")
    listed = json.dumps(bot.sender.command("/events", "", user=ALICE).json, ensure_ascii=False)
    assert f"|{local}>" in listed and " UTC>" not in listed  # the plain-text fallback of the date token
    with bot.db.session() as session:
        stored = ev.get_event(session, event_id=event.id or 0)
    line = ui.digest_line(stored, ev.Counts(), Translator("en"), workspace_tz=bot.settings.timezone)
    assert f"|{local}>" in line


def test_an_announcement_slack_refuses_is_explained_to_the_organiser(bot: BotHarness) -> None:
    bot.fake.fail("chat.postMessage", error="not_in_channel")
    answer = bot.sender.view_submission(ui.VIEW_CREATE, _form(), user=ORGANIZER)
    assert answer.status == 200 and not answer.text
    bot.fake.wait_for("chat.postMessage", lambda c: c.args.get("channel") == ORGANIZER)
    assert "not_in_channel" in _dms(bot, ORGANIZER)[-1]["text"]
    (event,) = _events(bot)
    assert event.message_ts is None
