"""Block Kit for events: the announcement, lists, modals, reminders and feedback. Pure: no I/O.

Every user-written string (title, description, place, comments) goes through `escape` before it is rendered
in mrkdwn; header blocks are plain text and need no escaping.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.blocks.common import (
    BlockDict,
    actions,
    button,
    context,
    divider,
    header,
    mrkdwn_text,
    plain,
    section,
)
from bot.i18n import Translator
from bot.ics import IcsEvent, utc_stamp
from bot.mrkdwn import date_token, escape, link, truncate, user_mention
from models.event import GOING, MAYBE, NOT_GOING, WAITLIST, Counts, Event, FeedbackSummary

# IDs Slack sends back.
RSVP_GOING = "events_rsvp_going"
RSVP_MAYBE = "events_rsvp_maybe"
RSVP_NOT_GOING = "events_rsvp_not_going"
RSVP_ACTIONS = {RSVP_GOING: GOING, RSVP_MAYBE: MAYBE, RSVP_NOT_GOING: NOT_GOING}
ACTION_CALENDAR = "events_calendar"
ACTION_ICS = "events_ics"
ACTION_NEW = "events_new"
ACTION_EDIT = "events_edit"
ACTION_CANCEL = "events_cancel"
ACTION_ATTENDANCE = "events_attendance"
ACTION_FEEDBACK_SUMMARY = "events_feedback_summary"
ACTION_RATE = "events_rate"
ACTION_COMMENT = "events_comment"
VIEW_CREATE = "events_create"
VIEW_EDIT = "events_edit_save"
VIEW_ATTENDANCE = "events_attendance_save"
VIEW_COMMENT = "events_comment_save"
# Input block IDs are the domain field names (bot.forms convention).
FIELD_TITLE = "title"
FIELD_DESCRIPTION = "description"
FIELD_STARTS_AT = "starts_at"
FIELD_ENDS_AT = "ends_at"
FIELD_PLACE = "place"
FIELD_ONLINE_URL = "online_url"
FIELD_CAPACITY = "capacity"
FIELD_ATTENDED = "attended"
FIELD_COMMENT = "comment"

_SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
GOOGLE_CALENDAR = "https://calendar.google.com/calendar/render"
BUTTON_URL_LIMIT = 3000
ATTENDANCE_OPTIONS_LIMIT = 100

ANSWER_KEYS = {
    GOING: "events.answer.going",
    MAYBE: "events.answer.maybe",
    NOT_GOING: "events.answer.not_going",
    WAITLIST: "events.answer.waitlist",
}


def _event_zone(name: str, workspace_tz: str) -> ZoneInfo:
    """The zone stored on the event (the organiser's when they created it); an unknown one falls back to the
    workspace zone (ALUMNI_TIMEZONE), as `bot.kit.user_zone` does for a person, not to UTC. Not the kit's
    helper: this is an event's zone, not a viewer's, and a pure builder has no services to ask."""
    for candidate in (name, workspace_tz):
        try:
            return ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")  # only when ALUMNI_TIMEZONE itself is broken, which start-up refuses


def fallback_time(instant: datetime, tz: str, *, workspace_tz: str) -> str:
    """Plain text for clients that cannot render date tokens: the organiser's local time with its zone."""
    return instant.astimezone(_event_zone(tz, workspace_tz)).strftime("%Y-%m-%d %H:%M %Z")


def when(event: Event, *, workspace_tz: str) -> str:
    """Start and end as date tokens (each viewer sees their own time zone)."""
    start = date_token(
        event.starts_at, fallback=fallback_time(event.starts_at, event.tz, workspace_tz=workspace_tz)
    )
    short_end = event.ends_at - event.starts_at < timedelta(hours=12)
    end = date_token(
        event.ends_at,
        fallback=fallback_time(event.ends_at, event.tz, workspace_tz=workspace_tz),
        fmt="{time}" if short_end else "{date_short_pretty} {time}",
    )
    return f"{start} – {end}"


def where(event: Event, tr: Translator) -> str:
    """Place and/or online link, escaped."""
    parts = []
    if event.place:
        parts.append(escape(event.place))
    if event.online_url:
        parts.append(link(event.online_url, tr("events.announce.online_label")))
    return " · ".join(parts) or tr("events.announce.tbd")


def location_text(event: Event) -> str:
    """Plain location for calendars."""
    return " ".join(p for p in (event.place, event.online_url) if p)


def google_calendar_url(event: Event) -> str:
    """A Google Calendar template link, URL-encoded and within Slack's 3000-character button URL limit."""
    base: dict[str, str] = {
        "action": "TEMPLATE",
        "text": event.title,
        "dates": f"{utc_stamp(event.starts_at)}/{utc_stamp(event.ends_at)}",
    }
    location = location_text(event)
    if location:
        base["location"] = location

    def build(details: str) -> str:
        params = dict(base)
        if details:
            params["details"] = details
        return f"{GOOGLE_CALENDAR}?{urlencode(params, quote_via=quote)}"

    url = build(event.description)
    if len(url) <= BUTTON_URL_LIMIT:
        return url
    # The longest shortened description that fits (URL-encoded Japanese takes 9 characters per character).
    low, high = 0, len(event.description)
    while low < high:
        middle = (low + high + 1) // 2
        if len(build(truncate(event.description, middle))) <= BUTTON_URL_LIMIT:
            low = middle
        else:
            high = middle - 1
    return build(truncate(event.description, low))[:BUTTON_URL_LIMIT]


def ics_event(event: Event, *, stamp: datetime) -> IcsEvent:
    return IcsEvent(
        uid=f"event-{event.id}@alumni-bot",
        title=event.title,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        stamp=stamp.astimezone(UTC),
        description=event.description,
        location=event.place,
        url=event.online_url,
        sequence=event.sequence,
        cancelled=event.is_cancelled,
    )


def ics_filename(event: Event) -> str:
    return f"event-{event.id}.ics"


def organizer_label(event: Event) -> str:
    """A mention of the organiser; an erased organiser's pseudonym is shown as (escaped) text."""
    if _SLACK_USER_ID.fullmatch(event.organizer):
        return user_mention(event.organizer)
    return escape(event.organizer)


def counts_line(event: Event, counts: Counts, tr: Translator) -> str:
    if event.capacity is not None:
        line = tr(
            "events.announce.counts_capped",
            going=counts.going,
            capacity=event.capacity,
            maybe=counts.maybe,
            not_going=counts.not_going,
        )
    else:
        line = tr(
            "events.announce.counts", going=counts.going, maybe=counts.maybe, not_going=counts.not_going
        )
    if counts.waitlist:
        line += " · " + tr("events.announce.waitlist", waitlist=counts.waitlist)
    return line


def rsvp_buttons(event: Event, tr: Translator, *, answer: str | None = None) -> list[BlockDict]:
    """Going / Maybe / Can't go; the member's current answer is highlighted."""
    value = str(event.id)
    current = GOING if answer == WAITLIST else answer
    return [
        button(
            tr("events.button.going"), RSVP_GOING, value=value, style="primary" if current == GOING else None
        ),
        button(tr("events.button.maybe"), RSVP_MAYBE, value=value),
        button(
            tr("events.button.not_going"),
            RSVP_NOT_GOING,
            value=value,
            style="danger" if current == NOT_GOING else None,
        ),
    ]


def calendar_buttons(event: Event, tr: Translator) -> list[BlockDict]:
    return [
        button(
            tr("events.button.calendar"), ACTION_CALENDAR, value=str(event.id), url=google_calendar_url(event)
        ),
        button(tr("events.button.ics"), ACTION_ICS, value=str(event.id)),
    ]


def _details(event: Event, tr: Translator, *, workspace_tz: str) -> list[BlockDict]:
    blocks: list[BlockDict] = []
    if event.description:
        blocks.append(section(escape(event.description)))
    blocks.append(
        section(
            f"{tr('events.announce.when_label')}\n{when(event, workspace_tz=workspace_tz)}\n"
            f"{tr('events.announce.where_label')}\n{where(event, tr)}"
        )
    )
    return blocks


def announcement(event: Event, counts: Counts, tr: Translator, *, workspace_tz: str) -> dict[str, Any]:
    """The channel announcement (`text` + `blocks`), also used for every in-place update."""
    if event.is_cancelled:
        blocks: list[BlockDict] = [
            header(tr("events.announce.cancelled_header", title=event.title)),
            section(tr("events.announce.cancelled")),
            context(escape(fallback_time(event.starts_at, event.tz, workspace_tz=workspace_tz))),
        ]
        return {
            "text": tr("events.announce.cancelled_text", title=escape(event.title)),
            "blocks": blocks,
        }
    blocks = [
        context(tr("events.announce.new")),
        header(event.title),
        *_details(event, tr, workspace_tz=workspace_tz),
    ]
    blocks.append(context(counts_line(event, counts, tr)))
    if event.capacity is not None and counts.going >= event.capacity:
        blocks.append(context(tr("events.announce.full")))
    blocks.append(
        actions(*rsvp_buttons(event, tr), *calendar_buttons(event, tr), block_id=f"event_{event.id}")
    )
    blocks.append(context(tr("events.list.organizer", organizer=organizer_label(event))))
    return {"text": tr("events.announce.text", title=escape(event.title)), "blocks": blocks}


def _manage_buttons(event: Event, tr: Translator, *, started: bool) -> list[BlockDict]:
    value = str(event.id)
    if started:
        return [
            button(tr("events.button.attendance"), ACTION_ATTENDANCE, value=value),
            button(tr("events.button.feedback"), ACTION_FEEDBACK_SUMMARY, value=value),
        ]
    cancel = button(tr("events.button.cancel"), ACTION_CANCEL, value=value, style="danger")
    # Cancelling tells everyone going; Slack asks "are you sure?" before it sends the click.
    cancel["confirm"] = {
        "title": plain(tr("events.confirm.cancel_title"), 100),
        "text": mrkdwn_text(tr("events.confirm.cancel_text"), 300),
        "confirm": plain(tr("events.confirm.cancel_yes"), 30),
        "deny": plain(tr("events.confirm.cancel_no"), 30),
        "style": "danger",
    }
    return [button(tr("events.button.edit"), ACTION_EDIT, value=value), cancel]


def event_list(
    events: Sequence[Event],
    counts: dict[int, Counts],
    answers: dict[int, str],
    tr: Translator,
    *,
    manageable: set[int],
    now: datetime,
    workspace_tz: str,
) -> dict[str, Any]:
    """`/events`: upcoming events with the caller's answer (ephemeral). At most 9 events (50 blocks)."""
    blocks: list[BlockDict] = [header(tr("events.list.title"))]
    if not events:
        blocks.append(section(tr("events.list.empty")))
    for event in events[:9]:
        assert event.id is not None
        answer = answers.get(event.id)
        mine = (
            tr("events.list.your_answer", answer=tr(ANSWER_KEYS[answer]))
            if answer
            else tr("events.list.no_answer")
        )
        blocks.append(divider())
        blocks.append(
            section(f"*{escape(event.title)}*\n{when(event, workspace_tz=workspace_tz)}\n{where(event, tr)}")
        )
        blocks.append(context(counts_line(event, counts.get(event.id, Counts()), tr), mine))
        buttons = rsvp_buttons(event, tr, answer=answer) + calendar_buttons(event, tr)
        if event.id in manageable:
            buttons += _manage_buttons(event, tr, started=event.has_started(now))
        blocks.append(actions(*buttons, block_id=f"event_{event.id}"))
    text = tr("events.list.title")
    return {"text": text, "blocks": blocks}


def summary_blocks(summary: FeedbackSummary, tr: Translator, *, comments: int = 5) -> list[BlockDict]:
    """Average, count and the latest comments (escaped)."""
    if summary.attended is None:  # nobody marked attendance: say so rather than count Going as attended
        people = tr("events.home.going_unmarked", going=summary.going)
    else:
        people = tr("events.home.attended", attended=summary.attended)
    if summary.average is None:
        line = tr("events.home.no_feedback", people=people)
    else:
        line = tr(
            "events.home.feedback_line", average=f"{summary.average:.1f}", count=summary.count, people=people
        )
    blocks: list[BlockDict] = [context(line)]
    shown = summary.comments[-comments:]
    if shown:
        quoted = "\n".join(
            tr("events.home.comment_line", comment=escape(truncate(c, 500)).replace("\n", "\n> "))
            for c in shown
        )
        blocks.append(section(quoted))
    return blocks


def past_list(
    events: Sequence[Event],
    summaries: dict[int, FeedbackSummary],
    tr: Translator,
    *,
    days: int,
    workspace_tz: str,
) -> dict[str, Any]:
    """`/events past`: recent events; with ratings and comments for those the caller manages."""
    blocks: list[BlockDict] = [header(tr("events.list.past_title"))]
    if not events:
        blocks.append(section(tr("events.list.past_empty", days=days)))
    for event in events[:8]:
        assert event.id is not None
        title = f"~{escape(event.title)}~" if event.is_cancelled else f"*{escape(event.title)}*"
        blocks.append(divider())
        blocks.append(section(f"{title}\n{when(event, workspace_tz=workspace_tz)}"))
        summary = summaries.get(event.id)
        if summary is not None and not event.is_cancelled:
            blocks.extend(summary_blocks(summary, tr))
            blocks.append(
                actions(button(tr("events.button.attendance"), ACTION_ATTENDANCE, value=str(event.id)))
            )
    return {"text": tr("events.list.past_title"), "blocks": blocks}


# ------------------------------------------------------------------------------------------- modals


def _text_input(
    block_id: str,
    label: str,
    *,
    initial: str = "",
    max_length: int | None = None,
    multiline: bool = False,
    optional: bool = False,
    hint: str | None = None,
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": block_id, "multiline": multiline}
    if initial:
        element["initial_value"] = initial
    if max_length:
        element["max_length"] = max_length
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint}
    return block


def _datetime_input(
    block_id: str, label: str, *, initial: datetime | None, hint: str | None = None
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "datetimepicker", "action_id": block_id}
    if initial is not None:
        element["initial_date_time"] = int(initial.timestamp())
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": element,
    }
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint}
    return block


def event_modal(tr: Translator, *, tz: str, event: Event | None = None, metadata: str = "") -> dict[str, Any]:
    """The create / edit modal. Block IDs are the domain fields, so domain errors land on the right input."""
    from models.event import DESCRIPTION_MAX, PLACE_MAX, TITLE_MAX

    capacity: dict[str, Any] = {
        "type": "number_input",
        "action_id": FIELD_CAPACITY,
        "is_decimal_allowed": False,
        "min_value": "1",
    }
    if event is not None and event.capacity is not None:
        capacity["initial_value"] = str(event.capacity)
    url_element: dict[str, Any] = {"type": "url_text_input", "action_id": FIELD_ONLINE_URL}
    if event is not None and event.online_url:
        url_element["initial_value"] = event.online_url
    blocks: list[dict[str, Any]] = [
        _text_input(
            FIELD_TITLE,
            tr("events.modal.title_label"),
            initial=event.title if event else "",
            max_length=TITLE_MAX,
        ),
        _text_input(
            FIELD_DESCRIPTION,
            tr("events.modal.description_label"),
            initial=event.description if event else "",
            max_length=DESCRIPTION_MAX,
            multiline=True,
            optional=True,
        ),
        _datetime_input(
            FIELD_STARTS_AT,
            tr("events.modal.starts_at_label"),
            initial=event.starts_at if event else None,
            hint=tr("events.modal.time_hint", tz=tz),
        ),
        _datetime_input(
            FIELD_ENDS_AT, tr("events.modal.ends_at_label"), initial=event.ends_at if event else None
        ),
        _text_input(
            FIELD_PLACE,
            tr("events.modal.place_label"),
            initial=event.place if event else "",
            max_length=PLACE_MAX,
            optional=True,
            hint=tr("events.modal.place_hint"),
        ),
        {
            "type": "input",
            "block_id": FIELD_ONLINE_URL,
            "label": {"type": "plain_text", "text": tr("events.modal.online_url_label")},
            "element": url_element,
            "optional": True,
        },
        {
            "type": "input",
            "block_id": FIELD_CAPACITY,
            "label": {"type": "plain_text", "text": tr("events.modal.capacity_label")},
            "element": capacity,
            "optional": True,
            "hint": {"type": "plain_text", "text": tr("events.modal.capacity_hint")},
        },
    ]
    editing = event is not None
    return {
        "type": "modal",
        "callback_id": VIEW_EDIT if editing else VIEW_CREATE,
        "title": {
            "type": "plain_text",
            "text": truncate(tr("events.modal.edit_title" if editing else "events.modal.new_title"), 24),
        },
        "submit": {
            "type": "plain_text",
            "text": truncate(tr("events.modal.save" if editing else "events.modal.submit"), 24),
        },
        "close": {"type": "plain_text", "text": truncate(tr("common.cancel"), 24)},
        "private_metadata": metadata,
        "blocks": blocks,
    }


def attendance_modal(
    event: Event, going: Sequence[tuple[str, str]], tr: Translator, *, marked: set[str] | None
) -> dict[str, Any]:
    """Pick attendees from the going list (user ID, display name); everyone is preselected until marked."""
    blocks: list[dict[str, Any]] = []
    if not going:
        blocks.append(section(tr("events.modal.attendance_empty", title=escape(event.title))))
        return {
            "type": "modal",
            "callback_id": VIEW_ATTENDANCE,
            "title": {"type": "plain_text", "text": truncate(tr("events.modal.attendance_title"), 24)},
            "close": {"type": "plain_text", "text": truncate(tr("common.close"), 24)},
            "private_metadata": json.dumps({"event_id": event.id}),
            "blocks": blocks,
        }
    options = [
        {"text": {"type": "plain_text", "text": truncate(name or user_id, 75)}, "value": user_id}
        for user_id, name in going[:ATTENDANCE_OPTIONS_LIMIT]
    ]
    chosen = [o for o in options if marked is None or o["value"] in marked]
    element: dict[str, Any] = {"type": "multi_static_select", "action_id": FIELD_ATTENDED, "options": options}
    if chosen:
        element["initial_options"] = chosen
    blocks.append(section(tr("events.modal.attendance_intro", title=escape(event.title))))
    blocks.append(
        {
            "type": "input",
            "block_id": FIELD_ATTENDED,
            "label": {"type": "plain_text", "text": tr("events.modal.attendance_label")},
            "element": element,
            "optional": True,
        }
    )
    return {
        "type": "modal",
        "callback_id": VIEW_ATTENDANCE,
        "title": {"type": "plain_text", "text": truncate(tr("events.modal.attendance_title"), 24)},
        "submit": {"type": "plain_text", "text": truncate(tr("common.save"), 24)},
        "close": {"type": "plain_text", "text": truncate(tr("common.cancel"), 24)},
        "private_metadata": json.dumps({"event_id": event.id}),
        "blocks": blocks,
    }


def comment_modal(event: Event, tr: Translator, *, metadata: str) -> dict[str, Any]:
    from models.event import COMMENT_MAX

    return {
        "type": "modal",
        "callback_id": VIEW_COMMENT,
        "title": {"type": "plain_text", "text": truncate(tr("events.modal.comment_title"), 24)},
        "submit": {"type": "plain_text", "text": truncate(tr("common.submit"), 24)},
        "close": {"type": "plain_text", "text": truncate(tr("common.cancel"), 24)},
        "private_metadata": metadata,
        "blocks": [
            section(tr("events.modal.comment_intro", title=escape(event.title))),
            _text_input(
                FIELD_COMMENT, tr("events.modal.comment_label"), max_length=COMMENT_MAX, multiline=True
            ),
        ],
    }


def feedback_modal(
    event: Event, summary: FeedbackSummary, tr: Translator, *, workspace_tz: str
) -> dict[str, Any]:
    """What the organiser and HR see: average and comments (a modal has room for 100 blocks)."""
    blocks = [
        section(f"*{escape(event.title)}*\n{when(event, workspace_tz=workspace_tz)}"),
        *summary_blocks(summary, tr, comments=40),
    ]
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": truncate(tr("events.modal.feedback_title"), 24)},
        "close": {"type": "plain_text", "text": truncate(tr("common.close"), 24)},
        "blocks": blocks,
    }


def thanks_modal(message: str, tr: Translator) -> dict[str, Any]:
    """Replaces a submitted modal with a short thank-you (`message` is already escaped mrkdwn)."""
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": truncate(tr("events.modal.comment_title"), 24)},
        "close": {"type": "plain_text", "text": truncate(tr("common.close"), 24)},
        "blocks": [section(message)],
    }


# ------------------------------------------------------------------------------------------- DMs


def _dm(text: str, blocks: Sequence[BlockDict]) -> dict[str, Any]:
    return {"text": text, "blocks": list(blocks)}


def promoted_dm(event: Event, tr: Translator, *, workspace_tz: str) -> dict[str, Any]:
    return _dm(
        tr("events.msg.promoted_text", title=escape(event.title)),
        [
            section(
                tr(
                    "events.msg.promoted",
                    title=escape(event.title),
                    when=when(event, workspace_tz=workspace_tz),
                )
            ),
            actions(
                button(tr("events.button.not_going"), RSVP_NOT_GOING, value=str(event.id)),
                *calendar_buttons(event, tr),
            ),
        ],
    )


def time_changed_dm(event: Event, tr: Translator, *, workspace_tz: str) -> dict[str, Any]:
    return _dm(
        tr("events.msg.time_changed_text", title=escape(event.title)),
        [
            section(
                tr(
                    "events.msg.time_changed",
                    title=escape(event.title),
                    when=when(event, workspace_tz=workspace_tz),
                )
            ),
            actions(
                button(tr("events.button.not_going"), RSVP_NOT_GOING, value=str(event.id)),
                *calendar_buttons(event, tr),
            ),
        ],
    )


def cancelled_dm(event: Event, tr: Translator, *, workspace_tz: str) -> dict[str, Any]:
    return _dm(
        tr("events.msg.cancelled_dm_text", title=escape(event.title)),
        [
            section(
                tr(
                    "events.msg.cancelled_dm",
                    title=escape(event.title),
                    when=when(event, workspace_tz=workspace_tz),
                )
            )
        ],
    )


def reminder_dm(event: Event, tr: Translator, *, workspace_tz: str) -> dict[str, Any]:
    """The 24 h / 1 h reminder to a member who is going."""
    return _dm(
        tr("events.reminder.text", title=escape(event.title)),
        [
            section(
                tr(
                    "events.reminder.body",
                    title=escape(event.title),
                    when=when(event, workspace_tz=workspace_tz),
                )
            ),
            context(where(event, tr)),
            actions(
                button(tr("events.button.not_going"), RSVP_NOT_GOING, value=str(event.id)),
                *calendar_buttons(event, tr),
            ),
        ],
    )


def day_message(event: Event, counts: Counts, tr: Translator, *, workspace_tz: str) -> dict[str, Any]:
    """The channel reminder on the morning of the event day."""
    return _dm(
        tr("events.reminder.day_text", title=escape(event.title)),
        [
            section(
                tr(
                    "events.reminder.day_body",
                    title=escape(event.title),
                    when=when(event, workspace_tz=workspace_tz),
                )
            ),
            context(where(event, tr), counts_line(event, counts, tr)),
            actions(*rsvp_buttons(event, tr), *calendar_buttons(event, tr), block_id=f"event_{event.id}"),
        ],
    )


def attendance_prompt(event: Event, tr: Translator) -> dict[str, Any]:
    """To the organiser when the event ends."""
    return _dm(
        tr("events.reminder.attendance_text", title=escape(event.title)),
        [
            section(tr("events.reminder.attendance_body", title=escape(event.title))),
            actions(
                button(
                    tr("events.button.attendance"), ACTION_ATTENDANCE, value=str(event.id), style="primary"
                ),
                button(tr("events.button.feedback"), ACTION_FEEDBACK_SUMMARY, value=str(event.id)),
            ),
        ],
    )


def feedback_request(event: Event, tr: Translator) -> dict[str, Any]:
    """The follow-up DM to an attendee: 1–5 buttons and a comment button."""
    value = str(event.id)
    ratings = [button(str(n), ACTION_RATE + f"_{n}", value=f"{value}:{n}") for n in range(1, 6)]
    return _dm(
        tr("events.reminder.feedback_text", title=escape(event.title)),
        [
            section(tr("events.reminder.feedback_body", title=escape(event.title))),
            actions(*ratings, block_id=f"rate_{value}"),
            actions(button(tr("events.button.comment"), ACTION_COMMENT, value=value)),
        ],
    )


def feedback_thanks(event: Event, rating: int, tr: Translator) -> dict[str, Any]:
    return _dm(
        tr("events.msg.feedback_thanks", title=escape(event.title), rating=rating),
        [
            section(tr("events.msg.feedback_thanks", title=escape(event.title), rating=rating)),
            actions(button(tr("events.button.comment"), ACTION_COMMENT, value=str(event.id))),
        ],
    )


# ------------------------------------------------------------------------------------------- Home, digest


@dataclass(frozen=True)
class HomeItem:
    event: Event
    answer: str | None
    counts: Counts
    manageable: bool


def home_blocks(
    items: Sequence[HomeItem],
    past: Sequence[tuple[Event, FeedbackSummary]],
    tr: Translator,
    *,
    can_create: bool,
    now: datetime,
    workspace_tz: str,
) -> list[BlockDict]:
    """App Home "My events": what I'm going to or organise, and feedback on what I organised."""
    head: list[BlockDict] = [header(tr("events.home.title"))]
    if can_create:
        head = [
            header(tr("events.home.title")),
            actions(button(tr("events.button.new"), ACTION_NEW, value="new", style="primary")),
        ]
    blocks = list(head)
    if not items:
        blocks.append(context(tr("events.home.empty")))
    for item in items[:5]:
        event = item.event
        notes = [counts_line(event, item.counts, tr)]
        if item.answer:
            notes.append(tr("events.list.your_answer", answer=tr(ANSWER_KEYS[item.answer])))
        if item.answer is None:  # listed without an answer: an event they organise
            notes.append(tr("events.home.organizer_badge"))
        blocks.append(
            section(f"*{escape(event.title)}*\n{when(event, workspace_tz=workspace_tz)}\n{where(event, tr)}")
        )
        blocks.append(context(*notes))
        buttons = rsvp_buttons(event, tr, answer=item.answer)
        if item.manageable:
            buttons += _manage_buttons(event, tr, started=event.has_started(now))
        blocks.append(actions(*buttons, block_id=f"home_event_{event.id}"))
    if past:
        blocks.append(section(tr("events.home.past_title")))
        for event, summary in past[:3]:
            blocks.append(section(f"*{escape(event.title)}*\n{when(event, workspace_tz=workspace_tz)}"))
            blocks.extend(summary_blocks(summary, tr, comments=2))
            blocks.append(
                actions(
                    button(tr("events.button.attendance"), ACTION_ATTENDANCE, value=str(event.id)),
                    button(tr("events.button.feedback"), ACTION_FEEDBACK_SUMMARY, value=str(event.id)),
                    block_id=f"home_past_{event.id}",
                )
            )
    return blocks


def digest_line(event: Event, counts: Counts, tr: Translator, *, workspace_tz: str) -> str:
    start = date_token(
        event.starts_at, fallback=fallback_time(event.starts_at, event.tz, workspace_tz=workspace_tz)
    )
    if event.capacity is not None:
        return tr(
            "events.digest.line_capped",
            title=escape(event.title),
            when=start,
            going=counts.going,
            capacity=event.capacity,
        )
    return tr("events.digest.line", title=escape(event.title), when=start, going=counts.going)
