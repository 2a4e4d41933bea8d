"""`/events`: list, RSVP, organise (create, edit, cancel), attendance and feedback; App Home "My events".

Every listener decides before its ack, in the request's thread: an RSVP takes or frees its seat, a
cancellation or a modal's save is committed, a button that opens a modal is checked. Taps are therefore
decided in the order they arrive. What follows (the announcement's refresh, DMs, Home tabs, the .ics upload,
a private answer or refusal) runs after the ack through `later`, so it never delays Slack's answer; only the
modal opens stay in the request's thread, since `views.open` needs the trigger id within 3 seconds.

Every organiser action re-checks permissions on the server (the domain raises `PermissionDenied`), so a
forged button click or view submission from a member changes nothing.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from slack_bolt import Ack, Respond
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.blocks import events as ui
from bot.blocks.common import BlockDict
from bot.forms import error_message, field_errors, input_block_ids, state_values, text
from bot.i18n import Translator
from bot.ics import build_ics
from bot.kit import (
    Feature,
    Later,
    RowWork,
    action,
    command,
    decide_then_ack,
    publish_home,
    tell_clicker,
    view,
)
from bot.listeners import dm_channel_of, in_view, own_dm_message, parse_id, user_id_of
from bot.mrkdwn import escape
from bot.services import Services
from jobs import events as event_jobs
from models import event as ev
from models.actors import Actor
from models.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from models.timeutil import now

log = logging.getLogger(__name__)

COMMAND = "/events"
PAST_DAYS = 30
HELP_WORDS = {"help", "ヘルプ"}
NEW_WORDS = {"new", "create", "作成", "新規"}
PAST_WORDS = {"past", "過去"}
RATE_ACTION = re.compile(r"^events_rate_[1-5]$")
ANNOUNCEMENT_RETRIES = 3

_T = TypeVar("_T")


# -- reading payloads ------------------------------------------------------------------------------------


def _event_id(value: Any) -> int | None:
    """The event id a button value carries (`<id>` or `<id>:<rating>`); None unless a plausible id."""
    return parse_id(str(value).split(":")[0])


def _metadata_event_id(view: Mapping[str, Any]) -> int | None:
    """The event id in a modal's `private_metadata` (`{"event_id": ...}`); None when missing or forged."""
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except json.JSONDecodeError:
        return None
    return _event_id(data.get("event_id")) if isinstance(data, dict) else None


def _tapped_at(action: Mapping[str, Any]) -> datetime | None:
    """When the member tapped: the action's `action_ts` (Slack's clock), None when absent or unreadable."""
    try:
        return datetime.fromtimestamp(float(str(action.get("action_ts"))), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _instant(value: Any) -> datetime | None:
    """A datetimepicker value (UNIX seconds, already absolute: Slack shows the picker in the user's zone)."""
    if value is None or value == "":
        return None
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _form(values: dict[str, Any], tz: str) -> tuple[ev.EventInput, dict[str, str]]:
    """The submitted fields; `problems` holds fields the form itself could not read (block_id -> catalog key)."""
    problems: dict[str, str] = {}
    capacity: int | None = None
    raw_capacity = text(values, ui.FIELD_CAPACITY)
    if raw_capacity:
        try:
            capacity = int(raw_capacity)
        except ValueError:
            problems[ui.FIELD_CAPACITY] = "events.errors.capacity_number"
    starts = _instant(values.get(ui.FIELD_STARTS_AT))
    ends = _instant(values.get(ui.FIELD_ENDS_AT))
    for name, raw, parsed in (
        (ui.FIELD_STARTS_AT, values.get(ui.FIELD_STARTS_AT), starts),
        (ui.FIELD_ENDS_AT, values.get(ui.FIELD_ENDS_AT), ends),
    ):
        if raw not in (None, "") and parsed is None:
            problems[name] = "errors.invalid_date"
    data = ev.EventInput(
        title=text(values, ui.FIELD_TITLE),
        description=text(values, ui.FIELD_DESCRIPTION),
        starts_at=starts,
        ends_at=ends,
        tz=tz,
        place=text(values, ui.FIELD_PLACE),
        online_url=text(values, ui.FIELD_ONLINE_URL),
        capacity=capacity,
    )
    return data, problems


def _view_errors(
    exc: DomainError, tr: Translator, view: dict[str, Any], extra: dict[str, str], default_field: str
) -> dict[str, str]:
    """`response_action: errors` for a refused modal: each error at its field, else at `default_field`."""
    block_ids = input_block_ids(view) or {default_field}
    if isinstance(exc, ValidationFailed):
        errors = field_errors(exc, tr, block_ids=block_ids)
    else:
        target = (
            exc.field
            if exc.field in block_ids
            else (default_field if default_field in block_ids else sorted(block_ids)[0])
        )
        errors = {target: error_message(exc, tr)}
    for field, key in extra.items():
        errors.setdefault(field if field in block_ids else default_field, tr(key))
    return errors


# -- deciding before the ack -----------------------------------------------------------------------------


def _save_for_event(
    services: Services,
    ack: Ack,
    view: dict[str, Any],
    tr: Translator,
    work: RowWork[_T],
    *,
    default_field: str,
    problems: dict[str, str] | None = None,
) -> tuple[int, _T] | None:
    """Run `work(session, event_id)` for the event a modal's `private_metadata` names, in one unit of work.

    Returns the event id and what `work` returned, leaving the acknowledgement to the caller; otherwise
    acknowledges with field errors and returns None. `problems`: fields the form itself could not read
    (block_id -> catalog key), refused before any work.
    """
    event_id = _metadata_event_id(view)
    problems = problems or {}
    try:
        if event_id is None:
            raise NotFound("not_found")
        if problems:
            raise ValidationFailed({f: (k, {}) for f, k in problems.items()})
        with services.db.session() as session:
            return event_id, work(session, event_id)
    except DomainError as exc:
        ack(response_action="errors", errors=_view_errors(exc, tr, view, problems, default_field))
        return None


def _managed_event(session: Session, event_id: int, *, actor: Actor) -> ev.Event:
    """The event, when `actor` organises it or is HR; `PermissionDenied` otherwise."""
    event = ev.get_event(session, event_id=event_id)
    if not ev.can_manage(actor, event):
        raise PermissionDenied("not_allowed")
    return event


def _editable_event(session: Session, event_id: int, *, actor: Actor) -> ev.Event:
    """A managed event that can still be edited: not cancelled, not started."""
    event = _managed_event(session, event_id, actor=actor)
    if event.is_cancelled:
        raise DomainError("events.errors.cancelled")
    if event.has_started():
        raise DomainError("events.errors.already_started")
    return event


def _attendance_form(
    session: Session, event_id: int, *, actor: Actor
) -> tuple[ev.Event, list[tuple[str, str]], set[str] | None]:
    """What the attendance modal shows: the event (started, not cancelled), the going list (user id, name)
    and who was marked present before (None until attendance was first marked)."""
    event = _managed_event(session, event_id, actor=actor)
    if event.is_cancelled:
        raise DomainError("events.errors.cancelled")
    if not event.has_started():
        raise DomainError("events.errors.not_started")
    going = ev.members_with_answer(session, event_id=event_id, answers=[ev.GOING])
    marked = (
        {str(m.slack_user_id) for m in ev.attendees(session, event_id=event_id)}
        if event.attendance_marked_at
        else None
    )
    return event, [(str(m.slack_user_id), m.display_name) for m in going], marked


def _feedback_of(session: Session, event_id: int, *, actor: Actor) -> tuple[ev.FeedbackSummary, ev.Event]:
    """The feedback summary of an event `actor` manages (the domain refuses anyone else)."""
    summary = ev.feedback_summary(session, actor=actor, event_id=event_id)
    return summary, ev.get_event(session, event_id=event_id)


def _rated_event(session: Session, event_id: int, *, actor: Actor, rating: int) -> ev.Event:
    """Record an attendee's 1-5 rating (the domain refuses non-attendees and ratings out of range)."""
    ev.record_feedback(session, actor=actor, event_id=event_id, rating=rating)
    return ev.get_event(session, event_id=event_id)


def _attended_event(session: Session, event_id: int, *, user_id: str) -> ev.Event:
    """The event, when `user_id` was marked present (only attendees may comment)."""
    event = ev.get_event(session, event_id=event_id)
    if not any(m.slack_user_id == user_id for m in ev.attendees(session, event_id=event_id)):
        raise PermissionDenied("events.errors.not_attendee")
    return event


# -- follow-up work (after the ack) ---------------------------------------------------------------------


def _dm(services: Services, user_id: str, build: Callable[[Translator], dict[str, Any]]) -> bool:
    """Send one DM in the recipient's language; failures are logged, never raised."""
    try:
        services.client.chat_postMessage(channel=user_id, **build(services.translator(user_id)))
        return True
    except SlackApiError as exc:
        log.warning("event DM failed", extra={"error": exc.response.get("error")})
        return False


def refresh_announcement(svc: Services, event_id: int) -> None:
    """Update the announcement in place from the current state.

    Concurrent clicks can finish out of order; after each update we check the event's `rsvp_seq` (bumped in
    the database by every RSVP, edit and cancellation) and render again if someone changed the event
    meanwhile, so the last update always shows the latest state, across threads and worker processes.
    """
    tr = svc.workspace_translator
    for _ in range(ANNOUNCEMENT_RETRIES):
        with svc.db.session() as session:
            event = ev.get_event(session, event_id=event_id)
            counts = ev.rsvp_counts(session, event_ids=[event_id])[event_id]
        if not event.channel or not event.message_ts:
            return
        seq = event.rsvp_seq
        try:
            svc.client.chat_update(
                channel=event.channel,
                ts=event.message_ts,
                **ui.announcement(event, counts, tr, workspace_tz=svc.settings.timezone),
            )
        except SlackApiError as exc:
            log.warning("announcement update failed", extra={"error": exc.response.get("error")})
            return
        with svc.db.session() as session:
            if ev.get_event(session, event_id=event_id).rsvp_seq == seq:
                return


def _announce_new(services: Services, user: str, event: ev.Event, event_id: int) -> None:
    """After a created event's ack: the announcement in #alumni, the organiser's DM and Home."""
    channel = services.settings.alumni_channel
    title = escape(event.title)
    if not channel:
        _dm(services, user, lambda t: {"text": t("events.msg.created_no_channel", title=title)})
        return
    with services.db.session() as session:
        counts = ev.rsvp_counts(session, event_ids=[event_id])[event_id]
    message = ui.announcement(
        event, counts, services.workspace_translator, workspace_tz=services.settings.timezone
    )
    try:
        posted = services.client.chat_postMessage(channel=channel, **message)
    except SlackApiError as exc:
        error = escape(str(exc.response.get("error") or "unknown"))
        log.warning("event announcement failed", extra={"error": error})
        _dm(services, user, lambda t: {"text": t("events.msg.announce_failed", title=title, error=error)})
        return
    with services.db.session() as session:
        ev.set_announcement(session, event_id=event_id, channel=str(posted["channel"]), ts=str(posted["ts"]))
    _dm(services, user, lambda t: {"text": t("events.msg.created", title=title, channel=f"<#{channel}>")})
    publish_home(services, user)


def _answer_rsvp(services: Services, body: dict[str, Any], outcome: ev.RsvpOutcome, position: int) -> None:
    """Tell the clicker what their tap did (a fresh list when they tapped in their private `/events` list)."""
    user = user_id_of(body)
    tr = services.translator(user)
    title = escape(outcome.event.title)
    container = body.get("container") or {}
    if container.get("is_ephemeral") and body.get("response_url"):
        listing = _list_message(services, user, tr)
        tell_clicker(services, body, listing["text"], blocks=listing["blocks"], replace_original=True)
    elif outcome.answer == ev.WAITLIST and outcome.changed:
        tell_clicker(services, body, tr("events.msg.waitlisted", title=title, position=position))
    elif not in_view(body):  # on the Home tab the refreshed tab is the answer
        key = "events.msg.rsvp_saved" if outcome.changed else "events.msg.rsvp_unchanged"
        tell_clicker(services, body, tr(key, answer=tr(ui.ANSWER_KEYS[outcome.answer]), title=title))


def _after_rsvp(
    services: Services, later: Later, user: str, event_id: int, outcome: ev.RsvpOutcome, *, on_home_tab: bool
) -> None:
    """What follows a changed RSVP: the announcement, promoted members' DMs, Home tabs.

    The clicker's Home tab is republished only when they tapped on it: Slack sends `app_home_opened` each
    time a user enters the tab, which rebuilds it (handlers/home.py), so a tap in a channel needs no publish.
    Promoted members' tabs are republished (their place changed without their tap).

    The announcement and each Home tab are coalesced (`bot.coalesce.Coalescer`): a render that has not begun
    reading yet covers this tap too, so a burst of taps on one event costs a render or two, not one each.
    """
    services.follow_ups.request(
        ("announcement", event_id), partial(refresh_announcement, services, event_id), later
    )
    if outcome.promoted:
        zone = services.settings.timezone
        event = outcome.event

        def tell_promoted() -> None:
            for promoted in outcome.promoted:
                _dm(services, promoted, lambda t: ui.promoted_dm(event, t, workspace_tz=zone))

        later(tell_promoted)
    for member in dict.fromkeys((*outcome.promoted, *([user] if on_home_tab else []))):
        services.follow_ups.request(("home", member), partial(publish_home, services, member), later)


def _after_edit(services: Services, user: str, event_id: int, change: ev.EventChange) -> None:
    """After a saved edit's ack: the announcement, DMs to those affected, the organiser's DM and Home."""
    refresh_announcement(services, event_id)
    zone = services.settings.timezone
    for recipient in change.notify:
        _dm(services, recipient, lambda t: ui.time_changed_dm(change.event, t, workspace_tz=zone))
    for promoted in change.promoted:
        _dm(services, promoted, lambda t: ui.promoted_dm(change.event, t, workspace_tz=zone))
    title = escape(change.event.title)
    _dm(services, user, lambda t: {"text": t("events.msg.updated", title=title)})
    publish_home(services, user)


def _after_cancel(services: Services, body: dict[str, Any], event_id: int, result: ev.Cancellation) -> None:
    """After a cancellation's ack: the organiser's answer, the announcement, DMs to everyone affected, Home."""
    user = user_id_of(body)
    tr = services.translator(user)
    title = escape(result.event.title)
    if result.already_cancelled:  # nobody is told twice
        tell_clicker(services, body, tr("events.msg.already_cancelled", title=title))
        return
    tell_clicker(services, body, tr("events.msg.cancelled_done", title=title, count=len(result.notify)))
    refresh_announcement(services, event_id)
    zone = services.settings.timezone
    for recipient in result.notify:
        _dm(services, recipient, lambda t: ui.cancelled_dm(result.event, t, workspace_tz=zone))
    publish_home(services, user)


def _send_ics(services: Services, body: dict[str, Any], event: ev.Event) -> None:
    """Upload the event's .ics file to the clicker's DM with the bot; tell them where it went."""
    user = user_id_of(body)
    tr = services.translator(user)
    title = escape(event.title)
    dm = dm_channel_of(services.client, user)
    if dm is None:
        tell_clicker(services, body, tr("events.msg.ics_failed"))
        return
    try:
        services.client.files_upload_v2(
            channel=dm,
            content=build_ics(ui.ics_event(event, stamp=now())),
            filename=ui.ics_filename(event),
            title=event.title,
            initial_comment=tr("events.msg.ics_comment", title=title),
        )
    except SlackApiError as exc:
        log.warning("ics upload failed", extra={"error": exc.response.get("error")})
        tell_clicker(services, body, tr("events.msg.ics_failed"))
        return
    if not in_view(body):  # from the Home tab the DM itself is enough
        tell_clicker(services, body, tr("events.msg.ics_sent", title=title))


def _thank_for_rating(
    services: Services, body: dict[str, Any], respond: Respond, event: ev.Event, rating: int
) -> None:
    """Replace the feedback question the member answered with a thank-you (and the comment button)."""
    message = ui.feedback_thanks(event, rating, services.translator(user_id_of(body)))
    try:
        if body.get("response_url"):
            respond(replace_original=True, **message)
        elif (clicked := own_dm_message(services.client, body)) is not None:  # the feedback request DM only
            services.client.chat_update(channel=clicked[0], ts=clicked[1], **message)
    except SlackApiError as exc:
        log.warning("feedback thanks failed", extra={"error": exc.response.get("error")})


# -- reads -----------------------------------------------------------------------------------------------


def _list_message(services: Services, user_id: str, tr: Translator) -> dict[str, Any]:
    """`/events`: upcoming events with the member's own answers and, on theirs, the organiser buttons."""
    actor = services.actor(user_id)
    with services.db.session() as session:
        events = ev.upcoming_events(session, limit=9)
        ids = [e.id for e in events if e.id is not None]
        counts = ev.rsvp_counts(session, event_ids=ids)
        answers = ev.answers_of(session, user_id=user_id, event_ids=ids)
    manageable = {e.id for e in events if e.id is not None and ev.can_manage(actor, e)}
    return ui.event_list(
        events, counts, answers, tr, manageable=manageable, now=now(), workspace_tz=services.settings.timezone
    )


def _past_message(services: Services, user_id: str, tr: Translator) -> dict[str, Any]:
    """`/events past`: the last 30 days; ratings and comments on the events the member manages."""
    actor = services.actor(user_id)
    with services.db.session() as session:
        events = ev.past_events(session, actor=actor, since=now() - timedelta(days=PAST_DAYS), limit=8)
        summaries = {
            e.id: ev.feedback_summary(session, actor=actor, event_id=e.id)
            for e in events
            if e.id is not None and ev.can_manage(actor, e)
        }
    return ui.past_list(events, summaries, tr, days=PAST_DAYS, workspace_tz=services.settings.timezone)


def home_section(services: Services, user_id: str, tr: Translator) -> list[BlockDict]:
    """App Home "My events": what the member is going to or organises, and feedback on what they organised."""
    actor = services.actor(user_id)
    with services.db.session() as session:
        pairs = ev.my_events(session, user_id=user_id, limit=5)
        ids = [e.id for e, _ in pairs if e.id is not None]
        counts = ev.rsvp_counts(session, event_ids=ids)
        items = [
            ui.HomeItem(e, answer, counts.get(e.id or 0, ev.Counts()), ev.can_manage(actor, e))
            for e, answer in pairs
        ]
        since = now() - timedelta(days=PAST_DAYS)
        mine = [
            e
            for e in ev.past_events(session, actor=actor, since=since, limit=3, managed_only=True)
            if e.organizer == user_id and not e.is_cancelled
        ]
        past = [
            (e, ev.feedback_summary(session, actor=actor, event_id=e.id)) for e in mine if e.id is not None
        ]
    return ui.home_blocks(
        items, past, tr, can_create=actor.can_organize, now=now(), workspace_tz=services.settings.timezone
    )


def _open_new_modal(services: Services, user: str, trigger_id: str) -> None:
    """The empty create modal; its hint names the organiser's own time zone."""
    tz = services.people.get(user).tz
    services.client.views_open(trigger_id=trigger_id, view=ui.event_modal(services.translator(user), tz=tz))


# -- listeners -------------------------------------------------------------------------------------------


def on_events(ack: Ack, command: dict[str, Any], services: Services) -> None:
    """`/events [help | new | past]`: the upcoming list (default), help, the create modal or the past list."""
    user = str(command.get("user_id") or "")
    tr = services.translator(user)
    raw = (command.get("text") or "").strip()
    word = raw.split(" ")[0].lower() if raw else ""
    if word in HELP_WORDS:
        ack(response_type="ephemeral", text=tr("events.help"))
    elif word in NEW_WORDS:
        if not services.actor(user).can_organize:
            ack(response_type="ephemeral", text=tr("events.msg.not_organizer"))
            return
        ack()
        _open_new_modal(services, user, str(command.get("trigger_id")))
    elif word in PAST_WORDS:
        ack(response_type="ephemeral", **_past_message(services, user, tr))
    elif word == "":
        ack(response_type="ephemeral", **_list_message(services, user, tr))
    else:
        unknown = tr("common.unknown_subcommand", text=escape(raw[:50]), command=COMMAND)
        ack(response_type="ephemeral", text=unknown)


def on_new(ack: Ack, body: dict[str, Any], services: Services, later: Later) -> None:
    """The Home tab's "New event": the create modal for organisers, a private refusal for anyone else."""
    user = user_id_of(body)
    allowed = services.actor(user).can_organize
    ack()
    if not allowed:
        refusal = services.translator(user)("events.msg.not_organizer")
        later(lambda: tell_clicker(services, body, refusal))
        return
    _open_new_modal(services, user, str(body.get("trigger_id")))


def on_create(ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services, later: Later) -> None:
    """The create modal: saved before the ack (field errors stay in the modal); the announcement follows."""
    user = user_id_of(body)
    tr = services.translator(user)
    actor = services.actor(user)
    person = services.people.get(user)
    data, problems = _form(state_values(view), person.tz)
    try:
        if not actor.can_organize:
            raise PermissionDenied("not_allowed")
        if problems:
            raise ValidationFailed({f: (k, {}) for f, k in problems.items()})
        with services.db.session() as session:
            event = ev.create_event(
                session, actor=actor, data=data, display_name=person.name, locale=person.language
            )
            assert event.id is not None
            event_id = event.id
    except DomainError as exc:
        ack(response_action="errors", errors=_view_errors(exc, tr, view, problems, ui.FIELD_TITLE))
        return
    ack()
    later(lambda: _announce_new(services, user, event, event_id))


def _seat(
    services: Services, user: str, event_id: int, answer: str, action: Mapping[str, Any]
) -> tuple[ev.RsvpOutcome, int]:
    """Save the member's answer (a full event waitlists Going) and their waitlist place (0: not waiting)."""
    person = services.people.get(user)
    actor = services.actor(user)  # looked up before the write lock is taken
    with services.db.write_session() as session:
        outcome = ev.rsvp(
            session,
            actor=actor,
            event_id=event_id,
            answer=answer,
            display_name=person.name,
            locale=person.language,
            tz=person.tz,
            tapped_at=_tapped_at(action),
        )
        if outcome.answer != ev.WAITLIST:
            return outcome, 0
        waitlist = ev.user_ids_with_answer(session, event_id=event_id, answers=[ev.WAITLIST])
    return outcome, (waitlist.index(user) + 1 if user in waitlist else len(waitlist))


def on_rsvp(ack: Ack, body: dict[str, Any], action: dict[str, Any], services: Services, later: Later) -> None:
    """Going / Maybe / Can't go: the seat is decided before the ack, in arrival order (a stale tap changes
    nothing); the clicker's answer follows at once, the announcement, promotions and Home tabs later."""
    user = user_id_of(body)
    tr = services.translator(user)
    event_id = _event_id(action.get("value"))
    answer = ui.RSVP_ACTIONS.get(str(action.get("action_id")))
    try:
        if event_id is None or answer is None:
            raise NotFound("not_found")
        outcome, position = _seat(services, user, event_id, answer, action)
    except DomainError as exc:
        refusal = error_message(exc, tr)  # `exc` is unbound once the except block ends
        ack()
        later(lambda: tell_clicker(services, body, refusal))
        return
    ack()
    # The clicker's own answer goes at once (one call); the rest waits its turn in the bounded pool,
    # where other members' Home publishes would otherwise delay it (benchmarks.load, RSVP at c=32).
    _answer_rsvp(services, body, outcome, position)
    if outcome.changed:
        _after_rsvp(services, later, user, event_id, outcome, on_home_tab=in_view(body))


def on_calendar(ack: Ack) -> None:
    """ "Add to Google Calendar": a link button; Slack opens the URL, we only acknowledge."""
    ack()


def on_ics(ack: Ack, body: dict[str, Any], action: dict[str, Any], services: Services, later: Later) -> None:
    """ "Download .ics": the event is looked up before the ack; the file goes to the clicker's DM after it."""
    found = decide_then_ack(
        services, ack, body, later, _event_id(action.get("value")), lambda s, i: ev.get_event(s, event_id=i)
    )
    if found is not None:
        event = found[1]
        later(lambda: _send_ics(services, body, event))


def on_edit(ack: Ack, body: dict[str, Any], action: dict[str, Any], services: Services, later: Later) -> None:
    """Organiser's "Edit": checked before the ack (theirs or HR's, not cancelled, not started); opens the
    modal prefilled."""
    user = user_id_of(body)
    work = partial(_editable_event, actor=services.actor(user))
    found = decide_then_ack(services, ack, body, later, _event_id(action.get("value")), work)
    if found is None:
        return
    event_id, event = found
    metadata = json.dumps({"event_id": event_id})
    tz = services.people.get(user).tz
    modal = ui.event_modal(services.translator(user), tz=tz, event=event, metadata=metadata)
    services.client.views_open(trigger_id=str(body.get("trigger_id")), view=modal)


def on_edit_save(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services, later: Later
) -> None:
    """The edit modal: saved before the ack; those going hear of a new time, the waitlist of a new seat."""
    user = user_id_of(body)
    tr = services.translator(user)
    data, problems = _form(state_values(view), services.people.get(user).tz)
    actor = services.actor(user)
    saved = _save_for_event(
        services,
        ack,
        view,
        tr,
        lambda session, event_id: ev.update_event(session, actor=actor, event_id=event_id, data=data),
        default_field=ui.FIELD_TITLE,
        problems=problems,
    )
    if saved is None:
        return
    event_id, change = saved
    ack()
    later(lambda: _after_edit(services, user, event_id, change))


def on_cancel(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], services: Services, later: Later
) -> None:
    """Organiser's "Cancel event" (after Slack's confirm): cancelled before the ack; everyone going or
    waitlisted is told after it, once."""
    actor = services.actor(user_id_of(body))
    found = decide_then_ack(
        services,
        ack,
        body,
        later,
        _event_id(action.get("value")),
        lambda s, i: ev.cancel_event(s, actor=actor, event_id=i),
    )
    if found is not None:
        event_id, result = found
        later(lambda: _after_cancel(services, body, event_id, result))


def on_attendance(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], services: Services, later: Later
) -> None:
    """Organiser's "Attendance": checked before the ack (theirs or HR's, started, not cancelled); opens the
    modal with the going list."""
    user = user_id_of(body)
    work = partial(_attendance_form, actor=services.actor(user))
    found = decide_then_ack(services, ack, body, later, _event_id(action.get("value")), work)
    if found is None:
        return
    event, going, marked = found[1]
    modal = ui.attendance_modal(event, going, services.translator(user), marked=marked)
    services.client.views_open(trigger_id=str(body.get("trigger_id")), view=modal)


def on_attendance_save(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services, later: Later
) -> None:
    """The attendance modal: saved before the ack (only people from the going list); a DM confirms it."""
    user = user_id_of(body)
    tr = services.translator(user)
    chosen = [str(c) for c in state_values(view).get(ui.FIELD_ATTENDED) or []]
    actor = services.actor(user)

    def mark(session: Session, event_id: int) -> tuple[int, str]:
        count = ev.mark_attendance(session, actor=actor, event_id=event_id, attended=chosen)
        return count, ev.get_event(session, event_id=event_id).title

    saved = _save_for_event(services, ack, view, tr, mark, default_field=ui.FIELD_ATTENDED)
    if saved is None:
        return
    count, title = saved[1]
    ack()
    done = {"text": tr("events.msg.attendance_saved", count=count, title=escape(title))}
    later(lambda: _dm(services, user, lambda _: done))


def on_feedback_summary(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], services: Services, later: Later
) -> None:
    """Organiser's (or HR's) "Feedback": the average and comments in a modal; refused for anyone else."""
    user = user_id_of(body)
    work = partial(_feedback_of, actor=services.actor(user))
    found = decide_then_ack(services, ack, body, later, _event_id(action.get("value")), work)
    if found is None:
        return
    summary, event = found[1]
    tr = services.translator(user)
    modal = ui.feedback_modal(event, summary, tr, workspace_tz=services.settings.timezone)
    services.client.views_open(trigger_id=str(body.get("trigger_id")), view=modal)


def on_rate(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, services: Services, later: Later
) -> None:
    """An attendee's 1-5 rating from the feedback DM: saved before the ack; the question becomes a thanks."""
    try:
        rating = int(str(action.get("value") or "").split(":")[1])
    except (IndexError, ValueError):
        rating = 0  # a forged value: the domain refuses it with "rating out of range"
    work = partial(_rated_event, actor=services.actor(user_id_of(body)), rating=rating)
    found = decide_then_ack(services, ack, body, later, _event_id(action.get("value")), work)
    if found is not None:
        event = found[1]
        later(lambda: _thank_for_rating(services, body, respond, event, rating))


def on_comment(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], services: Services, later: Later
) -> None:
    """An attendee's "Add a comment": checked before the ack (marked present); opens the comment modal."""
    user = user_id_of(body)
    found = decide_then_ack(
        services, ack, body, later, _event_id(action.get("value")), partial(_attended_event, user_id=user)
    )
    if found is None:
        return
    event_id, event = found
    modal = ui.comment_modal(event, services.translator(user), metadata=json.dumps({"event_id": event_id}))
    services.client.views_open(trigger_id=str(body.get("trigger_id")), view=modal)


def on_comment_save(ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services) -> None:
    """The comment modal: saved before the ack, which replaces the modal with a thank-you."""
    user = user_id_of(body)
    tr = services.translator(user)
    comment = text(state_values(view), ui.FIELD_COMMENT)
    actor = services.actor(user)

    def save_comment(session: Session, event_id: int) -> str:
        ev.record_feedback(session, actor=actor, event_id=event_id, comment=comment)
        return ev.get_event(session, event_id=event_id).title

    saved = _save_for_event(services, ack, view, tr, save_comment, default_field=ui.FIELD_COMMENT)
    if saved is None:
        return
    thanks = tr("events.msg.comment_thanks", title=escape(saved[1]))
    ack(response_action="update", view=ui.thanks_modal(thanks, tr))


FEATURE = Feature(
    name="events",
    jobs=tuple(event_jobs.SCHEDULED_JOBS),
    digest=event_jobs.digest_section,
    digest_order=event_jobs.DIGEST_ORDER,
    listeners=(
        command(
            COMMAND,
            on_events,
            description_key="events.command_description",
            usage_hint_key="events.usage_hint",
        ),
        action(ui.ACTION_NEW, on_new),
        view(ui.VIEW_CREATE, on_create),
        *(action(action_id, on_rsvp) for action_id in ui.RSVP_ACTIONS),
        action(ui.ACTION_CALENDAR, on_calendar),
        action(ui.ACTION_ICS, on_ics),
        action(ui.ACTION_EDIT, on_edit),
        view(ui.VIEW_EDIT, on_edit_save),
        action(ui.ACTION_CANCEL, on_cancel),
        action(ui.ACTION_ATTENDANCE, on_attendance),
        view(ui.VIEW_ATTENDANCE, on_attendance_save),
        action(ui.ACTION_FEEDBACK_SUMMARY, on_feedback_summary),
        action(RATE_ACTION, on_rate),
        action(ui.ACTION_COMMENT, on_comment),
        view(ui.VIEW_COMMENT, on_comment_save),
    ),
    home=home_section,
    home_order=40,  # after opportunities and referrals on the Home tab
    scopes=(
        *event_jobs.SCOPES,
        "files:write",
    ),  # the .ics file goes to the clicker's DM
)
