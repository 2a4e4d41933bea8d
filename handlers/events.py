"""`/events`: list, RSVP, organise (create, edit, cancel), attendance and feedback; App Home "My events".

Every organiser action re-checks permissions on the server (the domain raises `PermissionDenied`), so a
forged button click or view submission from a member changes nothing.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from slack_bolt import Ack, Respond
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from sqlmodel import Session

from bot.blocks import events as ui
from bot.forms import error_message, field_errors, input_block_ids, state_values, text
from bot.i18n import Translator
from bot.ics import build_ics
from bot.listeners import channel_id_of, dm_channel_of, own_dm_message, parse_id, user_id_of
from bot.mrkdwn import escape
from bot.registry import Registry
from bot.services import Services
from models import event as ev
from models.errors import DomainError, PermissionDenied, ValidationFailed
from models.timeutil import now

log = logging.getLogger(__name__)

COMMAND = "/events"
HOME_ORDER = 40
PAST_DAYS = 30
HELP_WORDS = {"help", "ヘルプ"}
NEW_WORDS = {"new", "create", "作成", "新規"}
PAST_WORDS = {"past", "過去"}
RATE_ACTION = re.compile(r"^events_rate_[1-5]$")
ANNOUNCEMENT_RETRIES = 3

_T = TypeVar("_T")


# ------------------------------------------------------------------------------------------- helpers


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


_user = user_id_of


def _event_id(value: Any) -> int | None:
    """The event id a button value carries (`<id>` or `<id>:<rating>`); None unless a plausible id."""
    return parse_id(str(value).split(":")[0], ev.MAX_ID)


def _metadata_event_id(view: dict[str, Any]) -> int | None:
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except json.JSONDecodeError:
        return None
    return _event_id(data.get("event_id")) if isinstance(data, dict) else None


def _tell(
    svc: Services, body: dict[str, Any], user: str, message: str, respond: Respond | None = None
) -> None:
    """An answer only the clicker sees: ephemeral where they clicked, or a DM from a modal or App Home."""
    try:
        if respond is not None and body.get("response_url"):
            respond(text=message, response_type="ephemeral", replace_original=False)
            return
        channel = channel_id_of(body)
        if channel and _dict(body.get("container")).get("type") != "view":
            svc.client.chat_postEphemeral(channel=channel, user=user, text=message)
        else:
            svc.client.chat_postMessage(channel=user, text=message)
    except SlackApiError as exc:
        log.warning("could not answer the user", extra={"error": exc.response.get("error")})


def _for_event(
    svc: Services,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: Respond,
    work: Callable[[Session, int], _T],
) -> tuple[int, _T] | None:
    """Run `work(session, event_id)` for the event a button names, in one unit of work.

    Returns the event id and what `work` returned; None after telling the clicker privately why not (a value
    that is no event id, or a `DomainError` from `work`: not found, not allowed...).
    """
    user = _user(body)
    tr = svc.translator(user)
    event_id = _event_id(action.get("value"))
    try:
        if event_id is None:
            raise DomainError("not_found")
        with svc.db.session() as session:
            return event_id, work(session, event_id)
    except DomainError as exc:
        _tell(svc, body, user, error_message(exc, tr), respond)
        return None


def _save_for_event(
    svc: Services,
    ack: Ack,
    view: dict[str, Any],
    tr: Translator,
    work: Callable[[Session, int], _T],
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
            raise DomainError("not_found")
        if problems:
            raise ValidationFailed({f: (k, {}) for f, k in problems.items()})
        with svc.db.session() as session:
            return event_id, work(session, event_id)
    except DomainError as exc:
        ack(response_action="errors", errors=_view_errors(exc, tr, view, problems, default_field))
        return None


def _tapped_at(action: dict[str, Any]) -> datetime | None:
    """When the member tapped: the action's `action_ts` (Slack's clock), None when absent or unreadable."""
    try:
        return datetime.fromtimestamp(float(str(action.get("action_ts"))), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _get_event(session: Session, event_id: int) -> ev.Event:
    return ev.get_event(session, event_id=event_id)


def _dm(svc: Services, user_id: str, build: Callable[[Translator], dict[str, Any]]) -> bool:
    """Send one DM in the recipient's language; failures are logged, never raised."""
    try:
        svc.client.chat_postMessage(channel=user_id, **build(svc.translator(user_id)))
        return True
    except SlackApiError as exc:
        log.warning("event DM failed", extra={"error": exc.response.get("error")})
        return False


def refresh_announcement(svc: Services, event_id: int) -> None:
    """Update the announcement in place from the current state.

    Concurrent clicks can finish out of order; after each update we check the RSVP sequence number and
    render again if someone changed the event meanwhile, so the last update always shows the latest state.
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


def _publish_home(svc: Services, user_id: str) -> None:
    from bot.kit import publish_home

    try:
        publish_home(svc, user_id)
    except SlackApiError as exc:
        log.warning("home publish failed", extra={"error": exc.response.get("error")})


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


# ------------------------------------------------------------------------------------------- reads


def _list_message(svc: Services, user_id: str, tr: Translator) -> dict[str, Any]:
    actor = svc.actor(user_id)
    with svc.db.session() as session:
        events = ev.upcoming_events(session, limit=9)
        ids = [e.id for e in events if e.id is not None]
        counts = ev.rsvp_counts(session, event_ids=ids)
        answers = ev.answers_of(session, user_id=user_id, event_ids=ids)
    manageable = {e.id for e in events if e.id is not None and ev.can_manage(actor, e)}
    return ui.event_list(
        events, counts, answers, tr, manageable=manageable, now=now(), workspace_tz=svc.settings.timezone
    )


def _past_message(svc: Services, user_id: str, tr: Translator) -> dict[str, Any]:
    actor = svc.actor(user_id)
    with svc.db.session() as session:
        events = ev.past_events(session, actor=actor, since=now() - timedelta(days=PAST_DAYS), limit=8)
        summaries = {
            e.id: ev.feedback_summary(session, actor=actor, event_id=e.id)
            for e in events
            if e.id is not None and ev.can_manage(actor, e)
        }
    return ui.past_list(events, summaries, tr, days=PAST_DAYS, workspace_tz=svc.settings.timezone)


def home_section(services: Services, user_id: str, tr: Translator) -> list[Block]:
    """App Home "My events"."""
    actor = services.actor(user_id)
    with services.db.session() as session:
        pairs = ev.my_events(session, user_id=user_id, limit=5)
        ids = [e.id for e, _ in pairs if e.id is not None]
        counts = ev.rsvp_counts(session, event_ids=ids)
        items = [
            ui.HomeItem(e, answer, counts.get(e.id or 0, ev.Counts()), ev.can_manage(actor, e))
            for e, answer in pairs
        ]
        mine = [
            e
            for e in ev.past_events(
                session, actor=actor, since=now() - timedelta(days=PAST_DAYS), limit=3, managed_only=True
            )
            if e.organizer == user_id and not e.is_cancelled
        ]
        past = [
            (e, ev.feedback_summary(session, actor=actor, event_id=e.id)) for e in mine if e.id is not None
        ]
    return ui.home_blocks(
        items, past, tr, can_create=actor.can_organize, now=now(), workspace_tz=services.settings.timezone
    )


# ------------------------------------------------------------------------------------------- register


def register(registry: Registry) -> None:
    registry.scopes("files:write")  # the .ics file goes to the clicker's DM

    def open_new_modal(svc: Services, user: str, trigger_id: str) -> None:
        tz = svc.people.get(user).tz
        svc.client.views_open(trigger_id=trigger_id, view=ui.event_modal(svc.translator(user), tz=tz))

    @registry.command(
        COMMAND, description_key="events.command_description", usage_hint_key="events.usage_hint"
    )
    def on_events(ack: Ack, command: dict[str, Any]) -> None:
        svc = registry.services
        user = str(command.get("user_id"))
        tr = svc.translator(user)
        raw = (command.get("text") or "").strip()
        word = raw.split(" ")[0].lower() if raw else ""
        if word in HELP_WORDS:
            ack(response_type="ephemeral", text=tr("events.help"))
        elif word in NEW_WORDS:
            if not svc.actor(user).can_organize:
                ack(response_type="ephemeral", text=tr("events.msg.not_organizer"))
                return
            ack()
            open_new_modal(svc, user, str(command.get("trigger_id")))
        elif word in PAST_WORDS:
            ack(response_type="ephemeral", **_past_message(svc, user, tr))
        elif word == "":
            ack(response_type="ephemeral", **_list_message(svc, user, tr))
        else:
            ack(
                response_type="ephemeral",
                text=tr("common.unknown_subcommand", text=escape(raw[:50]), command=COMMAND),
            )

    @registry.action(ui.ACTION_NEW)
    def on_new(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        svc = registry.services
        user = _user(body)
        if not svc.actor(user).can_organize:
            _tell(svc, body, user, svc.translator(user)("events.msg.not_organizer"))
            return
        open_new_modal(svc, user, str(body.get("trigger_id")))

    @registry.view(ui.VIEW_CREATE)
    def on_create(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        svc = registry.services
        user = _user(body)
        tr = svc.translator(user)
        actor = svc.actor(user)
        person = svc.people.get(user)
        data, problems = _form(state_values(view), person.tz)
        try:
            if not actor.can_organize:
                raise PermissionDenied("not_allowed")
            if problems:
                raise ValidationFailed({f: (k, {}) for f, k in problems.items()})
            with svc.db.session() as session:
                event = ev.create_event(
                    session, actor=actor, data=data, display_name=person.name, locale=person.language
                )
                assert event.id is not None
                event_id = event.id
        except DomainError as exc:
            ack(response_action="errors", errors=_view_errors(exc, tr, view, problems, ui.FIELD_TITLE))
            return
        ack()
        registry.after_ack(body, lambda: _announce_new(svc, user, event, event_id))

    def _announce_new(svc: Services, user: str, event: ev.Event, event_id: int) -> None:
        """After a created event's ack: the announcement, the organiser's DM and Home."""
        channel = svc.settings.alumni_channel
        if not channel:
            _dm(svc, user, lambda t: {"text": t("events.msg.created_no_channel", title=escape(event.title))})
            return
        with svc.db.session() as session:
            counts = ev.rsvp_counts(session, event_ids=[event_id])[event_id]
        try:
            posted = svc.client.chat_postMessage(
                channel=channel,
                **ui.announcement(
                    event, counts, svc.workspace_translator, workspace_tz=svc.settings.timezone
                ),
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "unknown")
            log.warning("event announcement failed", extra={"error": error})
            _dm(
                svc,
                user,
                lambda t: {
                    "text": t("events.msg.announce_failed", title=escape(event.title), error=escape(error))
                },
            )
            return
        with svc.db.session() as session:
            ev.set_announcement(
                session, event_id=event_id, channel=str(posted["channel"]), ts=str(posted["ts"])
            )
        _dm(
            svc,
            user,
            lambda t: {"text": t("events.msg.created", title=escape(event.title), channel=f"<#{channel}>")},
        )
        _publish_home(svc, user)

    def on_rsvp(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        # The seat is decided before the ack (in arrival order); everything the member sees follows it.
        svc = registry.services
        user = _user(body)
        tr = svc.translator(user)
        event_id = _event_id(action.get("value"))
        answer = ui.RSVP_ACTIONS.get(str(action.get("action_id")))
        if event_id is None or answer is None:
            ack()
            registry.after_ack(body, lambda: _tell(svc, body, user, tr("errors.not_found"), respond))
            return
        person = svc.people.get(user)
        try:
            with svc.db.session() as session:
                outcome = ev.rsvp(
                    session,
                    actor=svc.actor(user),
                    event_id=event_id,
                    answer=answer,
                    display_name=person.name,
                    locale=person.language,
                    tz=person.tz,
                    tapped_at=_tapped_at(action),
                )
                position = 0
                if outcome.answer == ev.WAITLIST:
                    waitlist = ev.user_ids_with_answer(session, event_id=event_id, answers=[ev.WAITLIST])
                    position = waitlist.index(user) + 1 if user in waitlist else len(waitlist)
        except DomainError as exc:
            refusal = error_message(exc, tr)  # `exc` is unbound once the except block ends
            ack()
            registry.after_ack(body, lambda: _tell(svc, body, user, refusal, respond))
            return
        ack()
        # The clicker's own answer goes at once (one call); the rest waits its turn in the bounded pool,
        # where other members' Home publishes would otherwise delay it (benchmarks.load, RSVP at c=32).
        _answer_rsvp(svc, body, respond, outcome, position)
        if outcome.changed:
            registry.after_ack(body, lambda: _after_rsvp(svc, user, event_id, outcome))

    def _answer_rsvp(
        svc: Services, body: dict[str, Any], respond: Respond, outcome: ev.RsvpOutcome, position: int
    ) -> None:
        """Tell the clicker what their tap did."""
        user = _user(body)
        tr = svc.translator(user)
        title = outcome.event.title
        answer_text = tr(ui.ANSWER_KEYS[outcome.answer])
        container = _dict(body.get("container"))
        if container.get("is_ephemeral") and body.get("response_url"):
            respond(replace_original=True, response_type="ephemeral", **_list_message(svc, user, tr))
        elif outcome.answer == ev.WAITLIST and outcome.changed:
            _tell(
                svc, body, user, tr("events.msg.waitlisted", title=escape(title), position=position), respond
            )
        elif container.get("type") != "view":
            key = "events.msg.rsvp_saved" if outcome.changed else "events.msg.rsvp_unchanged"
            _tell(svc, body, user, tr(key, answer=answer_text, title=escape(title)), respond)

    def _after_rsvp(svc: Services, user: str, event_id: int, outcome: ev.RsvpOutcome) -> None:
        """What follows a changed RSVP: the announcement, promoted members, Home tabs."""
        refresh_announcement(svc, event_id)
        for promoted in outcome.promoted:
            _dm(svc, promoted, lambda t: ui.promoted_dm(outcome.event, t, workspace_tz=svc.settings.timezone))
            _publish_home(svc, promoted)
        _publish_home(svc, user)

    for action_id in ui.RSVP_ACTIONS:
        registry.action(action_id)(on_rsvp)

    @registry.action(ui.ACTION_CALENDAR)
    def on_calendar(ack: Ack) -> None:
        ack()  # a link button: Slack opens the URL, we only acknowledge

    @registry.action(ui.ACTION_ICS)
    def on_ics(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        svc = registry.services
        user = _user(body)
        tr = svc.translator(user)
        found = _for_event(svc, body, action, respond, _get_event)
        if found is None:
            return
        _, event = found
        content = build_ics(ui.ics_event(event, stamp=now()))
        dm = dm_channel_of(svc.client, user)
        if dm is None:
            _tell(svc, body, user, tr("events.msg.ics_failed"), respond)
            return
        try:
            svc.client.files_upload_v2(
                channel=dm,
                content=content,
                filename=ui.ics_filename(event),
                title=event.title,
                initial_comment=tr("events.msg.ics_comment", title=escape(event.title)),
            )
        except SlackApiError as exc:
            log.warning("ics upload failed", extra={"error": exc.response.get("error")})
            _tell(svc, body, user, tr("events.msg.ics_failed"), respond)
            return
        if _dict(body.get("container")).get("type") != "view":
            _tell(svc, body, user, tr("events.msg.ics_sent", title=escape(event.title)), respond)

    def _managed_event(body: dict[str, Any], action: dict[str, Any], respond: Respond) -> ev.Event | None:
        """The event of an organiser button, or None after telling a non-organiser (or on a bad value)."""
        svc = registry.services

        def managed(session: Session, event_id: int) -> ev.Event:
            event = ev.get_event(session, event_id=event_id)
            if not ev.can_manage(svc.actor(_user(body)), event):
                raise PermissionDenied("not_allowed")
            return event

        found = _for_event(svc, body, action, respond, managed)
        return None if found is None else found[1]

    @registry.action(ui.ACTION_EDIT)
    def on_edit(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        svc = registry.services
        event = _managed_event(body, action, respond)
        if event is None:
            return
        user = _user(body)
        tr = svc.translator(user)
        if event.is_cancelled or event.has_started():
            key = "events.errors.cancelled" if event.is_cancelled else "events.errors.already_started"
            _tell(svc, body, user, tr(key), respond)
            return
        view = ui.event_modal(
            tr, tz=svc.people.get(user).tz, event=event, metadata=json.dumps({"event_id": event.id})
        )
        svc.client.views_open(trigger_id=str(body.get("trigger_id")), view=view)

    @registry.view(ui.VIEW_EDIT)
    def on_edit_save(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        svc = registry.services
        user = _user(body)
        tr = svc.translator(user)
        data, problems = _form(state_values(view), svc.people.get(user).tz)
        saved = _save_for_event(
            svc,
            ack,
            view,
            tr,
            lambda session, event_id: ev.update_event(
                session, actor=svc.actor(user), event_id=event_id, data=data
            ),
            default_field=ui.FIELD_TITLE,
            problems=problems,
        )
        if saved is None:
            return
        event_id, change = saved
        ack()
        registry.after_ack(body, lambda: _after_edit(svc, user, event_id, change))

    def _after_edit(svc: Services, user: str, event_id: int, change: ev.EventChange) -> None:
        """After a saved edit's ack: the announcement, DMs to those affected, the organiser's DM and Home."""
        refresh_announcement(svc, event_id)
        for recipient in change.notify:
            _dm(
                svc,
                recipient,
                lambda t: ui.time_changed_dm(change.event, t, workspace_tz=svc.settings.timezone),
            )
        for promoted in change.promoted:
            _dm(svc, promoted, lambda t: ui.promoted_dm(change.event, t, workspace_tz=svc.settings.timezone))
        _dm(svc, user, lambda t: {"text": t("events.msg.updated", title=escape(change.event.title))})
        _publish_home(svc, user)

    @registry.action(ui.ACTION_CANCEL)
    def on_cancel(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        svc = registry.services
        user = _user(body)
        tr = svc.translator(user)
        found = _for_event(
            svc,
            body,
            action,
            respond,
            lambda session, event_id: ev.cancel_event(session, actor=svc.actor(user), event_id=event_id),
        )
        if found is None:
            return
        event_id, result = found
        title = escape(result.event.title)
        if result.already_cancelled:
            _tell(svc, body, user, tr("events.msg.already_cancelled", title=title), respond)
            return
        refresh_announcement(svc, event_id)
        for recipient in result.notify:
            _dm(
                svc, recipient, lambda t: ui.cancelled_dm(result.event, t, workspace_tz=svc.settings.timezone)
            )
        _tell(
            svc, body, user, tr("events.msg.cancelled_done", title=title, count=len(result.notify)), respond
        )
        _publish_home(svc, user)

    @registry.action(ui.ACTION_ATTENDANCE)
    def on_attendance(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        svc = registry.services
        event = _managed_event(body, action, respond)
        if event is None or event.id is None:
            return
        user = _user(body)
        tr = svc.translator(user)
        if not event.has_started() or event.is_cancelled:
            key = "events.errors.cancelled" if event.is_cancelled else "events.errors.not_started"
            _tell(svc, body, user, tr(key), respond)
            return
        with svc.db.session() as session:
            going = ev.members_with_answer(session, event_id=event.id, answers=[ev.GOING])
            marked = (
                {str(m.slack_user_id) for m in ev.attendees(session, event_id=event.id)}
                if event.attendance_marked_at
                else None
            )
        options = [(str(m.slack_user_id), m.display_name) for m in going]
        svc.client.views_open(
            trigger_id=str(body.get("trigger_id")),
            view=ui.attendance_modal(event, options, tr, marked=marked),
        )

    @registry.view(ui.VIEW_ATTENDANCE)
    def on_attendance_save(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        svc = registry.services
        user = _user(body)
        tr = svc.translator(user)
        chosen = state_values(view).get(ui.FIELD_ATTENDED) or []

        def mark(session: Session, event_id: int) -> tuple[int, str]:
            count = ev.mark_attendance(
                session, actor=svc.actor(user), event_id=event_id, attended=[str(c) for c in chosen]
            )
            return count, ev.get_event(session, event_id=event_id).title

        saved = _save_for_event(svc, ack, view, tr, mark, default_field=ui.FIELD_ATTENDED)
        if saved is None:
            return
        _, (count, title) = saved
        ack()
        _dm(svc, user, lambda t: {"text": t("events.msg.attendance_saved", count=count, title=escape(title))})

    @registry.action(ui.ACTION_FEEDBACK_SUMMARY)
    def on_feedback_summary(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        svc = registry.services
        user = _user(body)
        tr = svc.translator(user)

        def summarise(session: Session, event_id: int) -> tuple[ev.FeedbackSummary, ev.Event]:
            summary = ev.feedback_summary(session, actor=svc.actor(user), event_id=event_id)
            return summary, ev.get_event(session, event_id=event_id)

        found = _for_event(svc, body, action, respond, summarise)
        if found is None:
            return
        _, (summary, event) = found
        svc.client.views_open(
            trigger_id=str(body.get("trigger_id")),
            view=ui.feedback_modal(event, summary, tr, workspace_tz=svc.settings.timezone),
        )

    @registry.action(RATE_ACTION)
    def on_rate(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        svc = registry.services
        user = _user(body)
        tr = svc.translator(user)
        value = str(action.get("value") or "")
        try:
            rating = int(value.split(":")[1])
        except (IndexError, ValueError):
            rating = 0

        def rate(session: Session, event_id: int) -> ev.Event:
            ev.record_feedback(session, actor=svc.actor(user), event_id=event_id, rating=rating)
            return ev.get_event(session, event_id=event_id)

        found = _for_event(svc, body, action, respond, rate)
        if found is None:
            return
        _, event = found
        message = ui.feedback_thanks(event, rating, tr)
        try:
            if body.get("response_url"):
                respond(replace_original=True, **message)
            elif (clicked := own_dm_message(svc.client, body)) is not None:  # the feedback request DM only
                svc.client.chat_update(channel=clicked[0], ts=clicked[1], **message)
        except SlackApiError as exc:
            log.warning("feedback thanks failed", extra={"error": exc.response.get("error")})

    @registry.action(ui.ACTION_COMMENT)
    def on_comment(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        svc = registry.services
        user = _user(body)
        tr = svc.translator(user)

        def attended(session: Session, event_id: int) -> ev.Event:
            event = ev.get_event(session, event_id=event_id)
            if not any(m.slack_user_id == user for m in ev.attendees(session, event_id=event_id)):
                raise PermissionDenied("events.errors.not_attendee")
            return event

        found = _for_event(svc, body, action, respond, attended)
        if found is None:
            return
        event_id, event = found
        view = ui.comment_modal(event, tr, metadata=json.dumps({"event_id": event_id}))
        svc.client.views_open(trigger_id=str(body.get("trigger_id")), view=view)

    @registry.view(ui.VIEW_COMMENT)
    def on_comment_save(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        svc = registry.services
        user = _user(body)
        tr = svc.translator(user)
        comment = text(state_values(view), ui.FIELD_COMMENT)

        def save_comment(session: Session, event_id: int) -> str:
            ev.record_feedback(session, actor=svc.actor(user), event_id=event_id, comment=comment)
            return ev.get_event(session, event_id=event_id).title

        saved = _save_for_event(svc, ack, view, tr, save_comment, default_field=ui.FIELD_COMMENT)
        if saved is None:
            return
        _, title = saved
        ack(
            response_action="update",
            view=ui.thanks_modal(tr("events.msg.comment_thanks", title=escape(title)), tr),
        )
