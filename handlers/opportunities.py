"""`/opportunities`: browse and search, post through a modal, announcements that stay current.

Public for other features:
- `refresh_announcement(services, opportunity_id)`: re-render the channel announcement in place
  (`chat.update`) after any change to the post.
- `open_post_modal(services, trigger_id, user_id)`: open the post modal (for other entry points).
- Extra announcement buttons: `bot.blocks.opportunities.add_announcement_buttons(provider)`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_bolt import Ack, Respond
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from sqlmodel import Session

from bot.blocks.opportunities import (
    ACTION_CLOSE,
    ACTION_EDIT,
    ACTION_FILL,
    ACTION_FILTER_KIND,
    ACTION_FILTER_STYLE,
    ACTION_INTERESTED,
    ACTION_NEXT,
    ACTION_OPEN_POST,
    ACTION_PREVIOUS,
    ACTION_REMIND_CLOSE,
    ACTION_REMIND_EXTEND,
    ALL,
    BROWSE_BLOCK_PREFIX,
    COMMAND,
    FILLED_BY_BLOCK,
    PAGE_SIZE,
    SHORTCUT_POST,
    VIEW_FILLED,
    VIEW_POST,
    BrowseState,
    announcement_message,
    browse_message,
    filled_modal,
    home_blocks,
    interest_dm,
    mine_message,
    notice,
    post_modal,
    posted_confirmation,
)
from bot.forms import error_message, field_errors, input_block_ids, state_values, text
from bot.i18n import Translator
from bot.listeners import channel_id_of, own_dm_message, parse_id, user_id_of
from bot.mrkdwn import date_token, escape
from bot.profiles import notify_rehire_matches
from bot.registry import Registry
from bot.serial import newest_render_wins
from bot.services import Services
from models import opportunity as opps
from models.actors import Actor
from models.errors import DomainError, ValidationFailed
from models.member import ensure_member
from models.timeutil import now

log = logging.getLogger(__name__)

HOME_ORDER = 20
HELP_WORDS = {"help", "ヘルプ", "?"}
POST_WORDS = {"post", "new", "投稿"}
MINE_WORDS = {"mine", "my", "自分"}


# -- helpers -----------------------------------------------------------------------------------------


def _zone_of(services: Services, user_id: str | None) -> ZoneInfo:
    if user_id:
        try:
            return ZoneInfo(services.people.get(user_id).tz)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return services.settings.zone


_user = user_id_of


def _value(body: dict[str, Any]) -> str:
    action = (body.get("actions") or [{}])[0]
    return str(action.get("value") or "")


def _opportunity_id(raw: str) -> int | None:
    """The post id a button or modal carries; None when it is not a plausible id (forged payloads)."""
    return parse_id(raw, opps.MAX_ID)


def _tell(services: Services, body: dict[str, Any], user_id: str, text_: str) -> None:
    """A private answer to a button click: ephemeral in the channel, or a DM elsewhere."""
    channel = channel_id_of(body)
    try:
        if channel and not channel.startswith("D"):
            services.client.chat_postEphemeral(channel=channel, user=user_id, **notice(text_))
        else:
            services.client.chat_postMessage(channel=user_id, **notice(text_))
    except SlackApiError as exc:
        log.warning("could not answer privately", extra={"error": exc.response.get("error")})


class _PostChange(Protocol):
    """A domain operation on one post by an actor (`opps.close_opportunity`, `opps.extend_opportunity`)."""

    def __call__(self, session: Session, *, actor: Actor, opportunity_id: int) -> opps.Opportunity: ...


def _publish_home(services: Services, user_id: str) -> None:
    try:
        from bot.kit import publish_home

        publish_home(services, user_id)
    except Exception:  # the Home tab refreshes on next open anyway
        log.warning("could not refresh the Home tab", exc_info=True)


def refresh_announcement(services: Services, opportunity_id: int) -> bool:
    """Re-render a post's announcement in place (`chat.update`). False when it has none or Slack refused.

    The newest render wins even across processes (bot.serial): a slower refresh never leaves an older
    status or interest count showing.
    """

    def read(session: Session) -> tuple[str, str, dict[str, Any]] | None:
        opportunity = opps.get_opportunity(session, opportunity_id)
        if not opportunity.has_announcement:
            return None
        count = opps.interest_count(session, opportunity_id)
        message = announcement_message(
            opportunity, services.workspace_translator, zone=services.settings.zone, interest_count=count
        )
        return str(opportunity.channel_id), str(opportunity.message_ts), message

    def send(announcement: tuple[str, str, dict[str, Any]]) -> bool:
        channel, ts, message = announcement
        try:
            services.client.chat_update(channel=channel, ts=ts, **message)
        except SlackApiError as exc:
            log.warning("could not update an announcement", extra={"error": exc.response.get("error")})
            return False
        return True

    return newest_render_wins(services.db, opps.Opportunity, opportunity_id, read, send)


def announce(services: Services, opportunity_id: int) -> None:
    """Post a new opportunity in ALUMNI_CHANNEL, remember where, and confirm to the poster with a link."""
    with services.db.session() as session:
        opportunity = opps.get_opportunity(session, opportunity_id)
    channel = services.settings.alumni_channel
    if channel:
        message = announcement_message(
            opportunity, services.workspace_translator, zone=services.settings.zone
        )
        try:
            posted = services.client.chat_postMessage(
                channel=channel, unfurl_links=False, unfurl_media=False, **message
            )
            permalink: str | None = None
            try:
                permalink = services.client.chat_getPermalink(
                    channel=str(posted["channel"]), message_ts=str(posted["ts"])
                ).get("permalink")
            except SlackApiError:
                log.warning("no permalink for an announcement")
            with services.db.session() as session:
                opportunity = opps.set_announcement(
                    session,
                    opportunity_id=opportunity_id,
                    channel_id=str(posted["channel"]),
                    message_ts=str(posted["ts"]),
                    permalink=permalink,
                )
        except SlackApiError as exc:
            log.error("could not announce an opportunity", extra={"error": exc.response.get("error")})
    tr = services.translator(opportunity.poster_id)
    try:
        services.client.chat_postMessage(
            channel=opportunity.poster_id, **posted_confirmation(opportunity, tr, channel=channel)
        )
    except SlackApiError as exc:
        log.warning("could not confirm a post to its poster", extra={"error": exc.response.get("error")})
    _publish_home(services, opportunity.poster_id)


def open_post_modal(services: Services, trigger_id: str, user_id: str) -> None:
    """Open the post modal; the `rehire` option is offered only to HR."""
    actor = services.actor(user_id)
    tr = services.translator(user_id)
    today = now().astimezone(_zone_of(services, user_id)).date()
    services.client.views_open(trigger_id=trigger_id, view=post_modal(tr, is_hr=actor.is_hr, today=today))


def _browse(services: Services, user_id: str, state: BrowseState) -> dict[str, Any]:
    tr = services.translator(user_id)
    with services.db.session() as session:
        page = opps.search_opportunities(
            session,
            query=state.query,
            kind=state.kind,
            work_style=state.work_style,
            limit=PAGE_SIZE,
            offset=state.offset,
        )
    return browse_message(page.items, tr, state=state, has_more=page.has_more, zone=services.settings.zone)


def _draft(values: dict[str, Any]) -> opps.Draft:
    return opps.Draft(
        kind=str(values.get("kind") or ""),
        title=text(values, "title"),
        company=text(values, "company"),
        description=text(values, "description"),
        location=text(values, "location"),
        work_style=str(values.get("work_style") or ""),
        skills=text(values, "skills"),
        compensation=text(values, "compensation"),
        apply_url=text(values, "apply_url"),
        apply_contact=text(values, "apply_contact"),
        expires_on=values.get("expires_on") or None,
    )


def _domain_errors(exc: DomainError, tr: Translator, view: dict[str, Any]) -> dict[str, str]:
    block_ids = input_block_ids(view)
    if isinstance(exc, ValidationFailed):
        return field_errors(exc, tr, block_ids=block_ids or None)
    target = exc.field if exc.field and (not block_ids or exc.field in block_ids) else None
    if target is None:
        target = "title" if "title" in block_ids or not block_ids else sorted(block_ids)[0]
    return {target: error_message(exc, tr)}


# -- App Home ----------------------------------------------------------------------------------------


def home_section(services: Services, user_id: str, tr: Translator) -> list[Block]:
    """Opportunities for you (newest open, rehire first) and My posts."""
    with services.db.session() as session:
        for_you = opps.newest_open(session, limit=5, exclude_poster=user_id)
        mine = opps.posts_of(session, user_id=user_id, limit=5)
    return home_blocks(for_you, mine, tr)


# -- listeners ---------------------------------------------------------------------------------------


def register(registry: Registry) -> None:
    @registry.command(
        COMMAND,
        description_key="opportunities.command_description",
        usage_hint_key="opportunities.usage_hint",
    )
    def on_command(ack: Ack, command: dict[str, Any]) -> None:
        svc = registry.services
        user_id = str(command.get("user_id") or "")
        tr = svc.translator(user_id)
        raw = (command.get("text") or "").strip()
        word = raw.split(" ", 1)[0].lower()
        if word in HELP_WORDS:
            ack(response_type="ephemeral", text=tr("opportunities.help"))
            return
        if word in POST_WORDS and raw.lower() == word:
            ack()
            open_post_modal(svc, str(command.get("trigger_id")), user_id)
            return
        if word in MINE_WORDS and raw.lower() == word:
            with svc.db.session() as session:
                mine = opps.posts_of(session, user_id=user_id, limit=40)
            ack(response_type="ephemeral", **mine_message(mine, tr, zone=svc.settings.zone))
            return
        ack(response_type="ephemeral", **_browse(svc, user_id, BrowseState(query=raw[:200])))

    @registry.shortcut(
        SHORTCUT_POST,
        name_key="opportunities.shortcut_name",
        description_key="opportunities.shortcut_description",
    )
    def on_shortcut(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        open_post_modal(registry.services, str(body.get("trigger_id")), _user(body))

    @registry.action(ACTION_OPEN_POST)
    def on_open_post(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        open_post_modal(registry.services, str(body.get("trigger_id")), _user(body))

    def on_page(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        svc = registry.services
        state = BrowseState.decode(_value(body))
        respond(replace_original=True, response_type="ephemeral", **_browse(svc, _user(body), state))

    registry.action(ACTION_NEXT)(on_page)
    registry.action(ACTION_PREVIOUS)(on_page)

    def on_filter(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        svc = registry.services
        action = (body.get("actions") or [{}])[0]
        block_id = str(action.get("block_id") or "")
        state = BrowseState.decode(block_id.removeprefix(BROWSE_BLOCK_PREFIX))
        selected = (action.get("selected_option") or {}).get("value")
        chosen = None if selected in (None, ALL) else str(selected)
        if action.get("action_id") == ACTION_FILTER_KIND:
            state = state.with_(kind=chosen, offset=0)
        else:
            state = state.with_(work_style=chosen, offset=0)
        state = BrowseState.decode(state.encode())  # drop values that are not real kinds or styles
        respond(replace_original=True, response_type="ephemeral", **_browse(svc, _user(body), state))

    registry.action(ACTION_FILTER_KIND)(on_filter)
    registry.action(ACTION_FILTER_STYLE)(on_filter)

    @registry.view(VIEW_POST)
    def on_post_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        svc = registry.services
        user_id = _user(body)
        actor = svc.actor(user_id)
        tr = svc.translator(user_id)
        draft = _draft(state_values(view))
        metadata = str(view.get("private_metadata") or "").strip()
        editing = _opportunity_id(metadata)
        if metadata and editing is None:  # a forged or broken edit: never turn it into a new post
            ack(response_action="errors", errors={"title": tr("errors.not_found")})
            return
        zone = _zone_of(svc, user_id)
        person = svc.people.get(user_id)
        try:
            with svc.db.session() as session:
                ensure_member(
                    session,
                    slack_user_id=user_id,
                    display_name=person.name or None,
                    locale=person.language,
                    tz=person.tz,
                )
                if editing is not None:
                    saved = opps.update_opportunity(
                        session, actor=actor, opportunity_id=editing, draft=draft, zone=zone
                    )
                else:
                    saved = opps.post_opportunity(session, actor=actor, draft=draft, zone=zone)
                saved_id = saved.id
                new_rehire = editing is None and saved.kind == opps.KIND_REHIRE
                title, skills = saved.title, saved.skill_list
        except DomainError as exc:
            ack(response_action="errors", errors=_domain_errors(exc, tr, view))
            return
        ack()
        assert saved_id is not None

        def follow_up() -> None:
            if editing is None:
                announce(svc, saved_id)
                if new_rehire:
                    # HR gets a private list of members open to return; the members are never told.
                    notify_rehire_matches(svc, hr_user_id=user_id, title=title, skills=skills)
            else:
                refresh_announcement(svc, saved_id)
                _publish_home(svc, user_id)

        registry.after_ack(body, follow_up)

    @registry.action(ACTION_INTERESTED)
    def on_interested(ack: Ack, body: dict[str, Any]) -> None:
        # Decided before the ack (arrival order); the DMs and the announcement follow after it.
        svc = registry.services
        user_id = _user(body)
        tr = svc.translator(user_id)
        opportunity_id = _opportunity_id(_value(body))
        if opportunity_id is None:
            ack()
            return
        try:
            with svc.db.session() as session:
                result = opps.record_interest(
                    session, actor=svc.actor(user_id), opportunity_id=opportunity_id
                )
                poster = svc.actor(result.opportunity.poster_id)
                profile = (
                    opps.shareable_profile(session, user_id=user_id, viewer=poster)
                    if result.created
                    else None
                )
        except DomainError as exc:
            refusal = error_message(exc, tr)
            ack()
            registry.after_ack(body, lambda: _tell(svc, body, user_id, refusal))
            return
        ack()
        registry.after_ack(body, lambda: _after_interest(svc, body, result, profile))

    def _after_interest(svc: Services, body: dict[str, Any], result: Any, profile: Any) -> None:
        """What follows recorded interest: the poster's DM, the member's confirmation, the announcement."""
        user_id = _user(body)
        tr = svc.translator(user_id)
        opportunity = result.opportunity
        if not result.created:
            _tell(svc, body, user_id, tr("opportunities.interest.already", title=escape(opportunity.title)))
            return
        poster_tr = svc.translator(opportunity.poster_id)
        try:
            svc.client.chat_postMessage(
                channel=opportunity.poster_id,
                **interest_dm(opportunity, poster_tr, user_id=user_id, profile=profile),
            )
        except SlackApiError as exc:
            log.warning("could not tell a poster about interest", extra={"error": exc.response.get("error")})
        _tell(svc, body, user_id, tr("opportunities.interest.passed_on", title=escape(opportunity.title)))
        refresh_announcement(svc, opportunity.id or 0)

    def _managed_or_refuse(body: dict[str, Any]) -> tuple[opps.Opportunity, Any] | None:
        """The post when the clicker is its poster or HR; otherwise a private refusal and None."""
        svc = registry.services
        user_id = _user(body)
        tr = svc.translator(user_id)
        opportunity_id = _opportunity_id(_value(body))
        if opportunity_id is None:
            return None
        actor = svc.actor(user_id)
        try:
            with svc.db.session() as session:
                opportunity = opps.get_opportunity(session, opportunity_id)
        except DomainError as exc:
            _tell(svc, body, user_id, error_message(exc, tr))
            return None
        if not opps.can_manage(actor, opportunity):
            _tell(svc, body, user_id, tr("opportunities.errors.poster_only"))
            return None
        return opportunity, actor

    @registry.action(ACTION_EDIT)
    def on_edit(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        svc = registry.services
        found = _managed_or_refuse(body)
        if found is None:
            return
        opportunity, actor = found
        user_id = _user(body)
        zone = _zone_of(svc, user_id)
        view = post_modal(
            svc.translator(user_id),
            is_hr=actor.is_hr,
            today=now().astimezone(zone).date(),
            draft=opps.Draft.of(opportunity, zone),
            opportunity_id=opportunity.id,
        )
        svc.client.views_open(trigger_id=str(body.get("trigger_id")), view=view)

    @registry.action(ACTION_FILL)
    def on_fill(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        svc = registry.services
        found = _managed_or_refuse(body)
        if found is None:
            return
        opportunity, _ = found
        tr = svc.translator(_user(body))
        if not opportunity.is_open:
            _tell(svc, body, _user(body), tr("opportunities.errors.not_open"))
            return
        svc.client.views_open(trigger_id=str(body.get("trigger_id")), view=filled_modal(opportunity, tr))

    @registry.view(VIEW_FILLED)
    def on_filled_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        svc = registry.services
        user_id = _user(body)
        tr = svc.translator(user_id)
        opportunity_id = _opportunity_id(str(view.get("private_metadata") or ""))
        filled_by = state_values(view).get(FILLED_BY_BLOCK)
        if opportunity_id is None:
            ack(response_action="errors", errors={FILLED_BY_BLOCK: tr("errors.not_found")})
            return
        try:
            with svc.db.session() as session:
                opportunity = opps.mark_filled(
                    session,
                    actor=svc.actor(user_id),
                    opportunity_id=opportunity_id,
                    filled_by_user_id=str(filled_by) if filled_by else None,
                )
                poster = opportunity.poster_id
        except DomainError as exc:
            ack(response_action="errors", errors={FILLED_BY_BLOCK: error_message(exc, tr)})
            return
        ack()
        refresh_announcement(svc, opportunity_id)
        _publish_home(svc, poster)

    def _change_post(body: dict[str, Any], change: _PostChange) -> tuple[int, opps.Opportunity] | None:
        """Apply `change` as the clicker to the post the button names, in one unit of work.

        Returns the post id and the changed post; None when the value is no post id (forged: no answer) or
        when the domain refused (the clicker is told why, privately).
        """
        svc = registry.services
        user_id = _user(body)
        tr = svc.translator(user_id)
        opportunity_id = _opportunity_id(_value(body))
        if opportunity_id is None:
            return None
        try:
            with svc.db.session() as session:
                opportunity = change(session, actor=svc.actor(user_id), opportunity_id=opportunity_id)
        except DomainError as exc:
            _tell(svc, body, user_id, error_message(exc, tr))
            return None
        return opportunity_id, opportunity

    @registry.action(ACTION_CLOSE)
    def on_close(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        svc = registry.services
        changed = _change_post(body, opps.close_opportunity)
        if changed is None:
            return
        opportunity_id, opportunity = changed
        user_id = _user(body)
        tr = svc.translator(user_id)
        refresh_announcement(svc, opportunity_id)
        _tell(svc, body, user_id, tr("opportunities.closed", title=escape(opportunity.title)))
        _publish_home(svc, opportunity.poster_id)

    def _replace_dm(body: dict[str, Any], text_: str) -> None:
        # Only the reminder DM the poster clicked in (never a message a payload points elsewhere).
        clicked = own_dm_message(registry.services.client, body)
        if clicked is None:
            return
        channel, ts = clicked
        try:
            registry.services.client.chat_update(channel=channel, ts=ts, **notice(text_))
        except SlackApiError as exc:
            log.warning("could not update a reminder", extra={"error": exc.response.get("error")})

    @registry.action(ACTION_REMIND_EXTEND)
    def on_remind_extend(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        svc = registry.services
        changed = _change_post(body, opps.extend_opportunity)
        if changed is None:
            return
        opportunity_id, opportunity = changed
        user_id = _user(body)
        tr = svc.translator(user_id)
        until: datetime = opportunity.expires_at
        fallback = until.astimezone(_zone_of(svc, user_id)).strftime("%Y-%m-%d")
        _replace_dm(
            body,
            tr(
                "opportunities.extended",
                title=escape(opportunity.title),
                date=date_token(until, fallback=fallback, fmt="{date_short_pretty}"),
            ),
        )
        refresh_announcement(svc, opportunity_id)

    @registry.action(ACTION_REMIND_CLOSE)
    def on_remind_close(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        changed = _change_post(body, opps.close_opportunity)
        if changed is None:
            return
        opportunity_id, opportunity = changed
        tr = registry.services.translator(_user(body))
        _replace_dm(body, tr("opportunities.closed", title=escape(opportunity.title)))
        refresh_announcement(registry.services, opportunity_id)
