"""`/opportunities`: browse and search, post through a modal, announcements that stay current.

Every listener is a module-level function named in `FEATURE` (see `bot.kit`). A decision (a post saved, an
interest recorded, a post closed or extended) is made before the ack, so clicks are decided in arrival order;
the clicker's own answer follows right after the ack; the announcement refresh, DMs to others and Home
publishes run `later`, on the bounded pool.

Public for jobs, the playground and other features:
- `announce(services, opportunity_id)`: post a new opportunity in ALUMNI_CHANNEL and confirm to its poster.
- `refresh_announcement(services, opportunity_id)`: re-render the channel announcement in place
  (`chat.update`) after any change to the post.
- `open_post_modal(services, trigger_id, user_id)`: open the post modal (for other entry points).
- Extra announcement buttons: `bot.blocks.opportunities.add_announcement_buttons(provider)`.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from slack_bolt import Ack, Respond
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.blocks.common import BlockDict
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
from bot.kit import (
    Feature,
    Later,
    action,
    command,
    local_today,
    publish_home,
    shortcut,
    tell_clicker,
    user_zone,
    view,
)
from bot.listeners import own_dm_message, parse_id, user_id_of
from bot.mrkdwn import date_token, escape
from bot.profiles import notify_rehire_matches, slack_facts
from bot.serial import newest_render_wins
from bot.services import Services
from jobs import opportunities as opportunity_jobs
from models import opportunity as opps
from models.actors import Actor
from models.errors import DomainError, ValidationFailed
from models.member import ensure_member

log = logging.getLogger(__name__)

HELP_WORDS = {"help", "ヘルプ", "?"}
POST_WORDS = {"post", "new", "投稿"}
MINE_WORDS = {"mine", "my", "自分"}
MINE_LIMIT = 40
QUERY_LIMIT = 200


# -- public: announcements and the post modal --------------------------------------------------------


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
        opportunity = _post_announcement(services, opportunity, channel)
    tr = services.translator(opportunity.poster_id)
    try:
        services.client.chat_postMessage(
            channel=opportunity.poster_id, **posted_confirmation(opportunity, tr, channel=channel)
        )
    except SlackApiError as exc:
        log.warning("could not confirm a post to its poster", extra={"error": exc.response.get("error")})
    publish_home(services, opportunity.poster_id)


def _post_announcement(services: Services, opportunity: opps.Opportunity, channel: str) -> opps.Opportunity:
    """Post the announcement in `channel` and save where it is (with its permalink when Slack gives one).

    Returns the post as saved; unchanged when Slack refused (logged: the post itself stands).
    """
    assert opportunity.id is not None
    message = announcement_message(opportunity, services.workspace_translator, zone=services.settings.zone)
    try:
        posted = services.client.chat_postMessage(
            channel=channel, unfurl_links=False, unfurl_media=False, **message
        )
    except SlackApiError as exc:
        log.error("could not announce an opportunity", extra={"error": exc.response.get("error")})
        return opportunity
    permalink: str | None = None
    try:
        permalink = services.client.chat_getPermalink(
            channel=str(posted["channel"]), message_ts=str(posted["ts"])
        ).get("permalink")
    except SlackApiError:
        log.warning("no permalink for an announcement")
    with services.db.session() as session:
        return opps.set_announcement(
            session,
            opportunity_id=opportunity.id,
            channel_id=str(posted["channel"]),
            message_ts=str(posted["ts"]),
            permalink=permalink,
        )


def open_post_modal(services: Services, trigger_id: str, user_id: str) -> None:
    """Open the post modal; the `rehire` option is offered only to HR."""
    actor = services.actor(user_id)
    tr = services.translator(user_id)
    today = local_today(services, user_id)
    services.client.views_open(trigger_id=trigger_id, view=post_modal(tr, is_hr=actor.is_hr, today=today))


# -- helpers -----------------------------------------------------------------------------------------


def _value(body: dict[str, Any]) -> str:
    clicked = (body.get("actions") or [{}])[0]
    return str(clicked.get("value") or "")


def _browse(services: Services, user_id: str, state: BrowseState) -> dict[str, Any]:
    """One page of search results as an ephemeral answer (text, blocks): one session, no Web API call."""
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


def _mine(services: Services, user_id: str) -> dict[str, Any]:
    """The caller's posts with their status, as an ephemeral answer (text, blocks)."""
    with services.db.session() as session:
        mine = opps.posts_of(session, user_id=user_id, limit=MINE_LIMIT)
    return mine_message(mine, services.translator(user_id), zone=services.settings.zone)


def _filtered_state(clicked: dict[str, Any]) -> BrowseState:
    """The browse state a filter menu's choice asks for (back to the first page)."""
    block_id = str(clicked.get("block_id") or "")
    state = BrowseState.decode(block_id.removeprefix(BROWSE_BLOCK_PREFIX))
    selected = (clicked.get("selected_option") or {}).get("value")
    chosen = None if selected in (None, ALL) else str(selected)
    if clicked.get("action_id") == ACTION_FILTER_KIND:
        state = state.with_(kind=chosen, offset=0)
    else:
        state = state.with_(work_style=chosen, offset=0)
    return BrowseState.decode(state.encode())  # drop values that are not real kinds or styles


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
    """A refusal as `response_action: errors`: at its field when the modal has it, else at the title."""
    block_ids = input_block_ids(view)
    if isinstance(exc, ValidationFailed):
        return field_errors(exc, tr, block_ids=block_ids or None)
    target = exc.field if exc.field and (not block_ids or exc.field in block_ids) else None
    if target is None:
        target = "title" if "title" in block_ids or not block_ids else sorted(block_ids)[0]
    return {target: error_message(exc, tr)}


def _save_post(services: Services, user_id: str, draft: opps.Draft, editing: int | None) -> opps.Opportunity:
    """Save a new post (or the edit of post `editing`) as `user_id`, in one unit of work."""
    actor = services.actor(user_id)
    zone = user_zone(services, user_id)
    with services.db.session() as session:
        ensure_member(session, slack_user_id=user_id, **slack_facts(services, user_id))
        if editing is not None:
            return opps.update_opportunity(
                session, actor=actor, opportunity_id=editing, draft=draft, zone=zone
            )
        return opps.post_opportunity(session, actor=actor, draft=draft, zone=zone)


def _after_post(services: Services, user_id: str, saved: opps.Opportunity, *, created: bool) -> None:
    """What follows a saved post: the announcement (new) or its refresh (edit), HR's matches, Home tabs."""
    assert saved.id is not None
    if not created:
        refresh_announcement(services, saved.id)
        publish_home(services, user_id, saved.poster_id)
        return
    announce(services, saved.id)
    if saved.kind == opps.KIND_REHIRE:
        # HR gets a private list of members open to return; the members are never told.
        notify_rehire_matches(services, hr_user_id=user_id, title=saved.title, skills=saved.skill_list)


def _record_interest(
    services: Services, user_id: str, opportunity_id: int
) -> tuple[opps.InterestResult, opps.ProfileSummary | None]:
    """Record `user_id`'s interest; with the profile summary the poster may see when it is new."""
    with services.db.session() as session:
        result = opps.record_interest(session, actor=services.actor(user_id), opportunity_id=opportunity_id)
        if not result.created:
            return result, None
        poster = services.actor(result.opportunity.poster_id)
        return result, opps.shareable_profile(session, user_id=user_id, viewer=poster)


def _after_interest(
    services: Services, user_id: str, opportunity: opps.Opportunity, profile: opps.ProfileSummary | None
) -> None:
    """What follows new interest: the poster's DM and the announcement's interest count."""
    poster_tr = services.translator(opportunity.poster_id)
    try:
        services.client.chat_postMessage(
            channel=opportunity.poster_id,
            **interest_dm(opportunity, poster_tr, user_id=user_id, profile=profile),
        )
    except SlackApiError as exc:
        log.warning("could not tell a poster about interest", extra={"error": exc.response.get("error")})
    refresh_announcement(services, opportunity.id or 0)


def _managed_or_refuse(services: Services, body: dict[str, Any]) -> tuple[opps.Opportunity, Actor] | None:
    """The post when the clicker is its poster or HR; otherwise a private refusal and None."""
    user_id = user_id_of(body)
    opportunity_id = parse_id(_value(body))
    if opportunity_id is None:
        return None
    tr = services.translator(user_id)
    actor = services.actor(user_id)
    try:
        with services.db.session() as session:
            opportunity = opps.get_opportunity(session, opportunity_id)
    except DomainError as exc:
        tell_clicker(services, body, error_message(exc, tr))
        return None
    if not opps.can_manage(actor, opportunity):
        tell_clicker(services, body, tr("opportunities.errors.poster_only"))
        return None
    return opportunity, actor


class _PostChange(Protocol):
    """A domain operation on one post by an actor (`opps.close_opportunity`, `opps.extend_opportunity`)."""

    def __call__(self, session: Session, *, actor: Actor, opportunity_id: int) -> opps.Opportunity: ...


def _decide_change(
    ack: Ack, services: Services, body: dict[str, Any], change: _PostChange
) -> tuple[int, opps.Opportunity] | None:
    """Apply `change` as the clicker to the post the button names, in one unit of work, then ack.

    Returns the post id and the changed post; None when the value is no post id (forged: no answer) or when
    the domain refused (the clicker is told why, privately, after the ack).
    """
    user_id = user_id_of(body)
    opportunity_id = parse_id(_value(body))
    if opportunity_id is None:
        ack()
        return None
    try:
        with services.db.session() as session:
            changed = change(session, actor=services.actor(user_id), opportunity_id=opportunity_id)
    except DomainError as exc:
        ack()
        tell_clicker(services, body, error_message(exc, services.translator(user_id)))
        return None
    ack()
    return opportunity_id, changed


def _after_change(services: Services, opportunity_id: int, *user_ids: str) -> None:
    """What follows a changed post: the announcement in place, then the Home tabs that list it."""
    refresh_announcement(services, opportunity_id)
    publish_home(services, *user_ids)


def _replace_reminder(services: Services, body: dict[str, Any], message: str) -> None:
    """Replace the reminder DM the poster clicked in (never a message a payload points elsewhere)."""
    clicked = own_dm_message(services.client, body)
    if clicked is None:
        return
    channel, ts = clicked
    try:
        services.client.chat_update(channel=channel, ts=ts, **notice(message))
    except SlackApiError as exc:
        log.warning("could not update a reminder", extra={"error": exc.response.get("error")})


# -- App Home ----------------------------------------------------------------------------------------


def home_section(services: Services, user_id: str, tr: Translator) -> list[BlockDict]:
    """Opportunities for you (newest open, rehire first) and My posts."""
    with services.db.session() as session:
        for_you = opps.newest_open(session, limit=5, exclude_poster=user_id)
        mine = opps.posts_of(session, user_id=user_id, limit=5)
    return home_blocks(for_you, mine, tr)


# -- listeners ---------------------------------------------------------------------------------------


def on_command(ack: Ack, command: dict[str, Any], services: Services) -> None:
    """`/opportunities [help | post | mine | words]`: help, the post modal, my posts, or a search."""
    user_id = str(command.get("user_id") or "")
    raw = (command.get("text") or "").strip()
    word = raw.split(" ", 1)[0].lower()
    if word in HELP_WORDS:
        ack(response_type="ephemeral", text=services.translator(user_id)("opportunities.help"))
    elif word in POST_WORDS and raw.lower() == word:
        ack()
        open_post_modal(services, str(command.get("trigger_id")), user_id)
    elif word in MINE_WORDS and raw.lower() == word:
        ack(response_type="ephemeral", **_mine(services, user_id))
    else:
        ack(response_type="ephemeral", **_browse(services, user_id, BrowseState(query=raw[:QUERY_LIMIT])))


def on_shortcut(ack: Ack, body: dict[str, Any], services: Services) -> None:
    """The global "Post an opportunity" shortcut: the post modal."""
    ack()
    open_post_modal(services, str(body.get("trigger_id")), user_id_of(body))


def on_open_post(ack: Ack, body: dict[str, Any], services: Services) -> None:
    """The "Post" button (browse answer, Home tab): the post modal."""
    ack()
    open_post_modal(services, str(body.get("trigger_id")), user_id_of(body))


def on_page(ack: Ack, body: dict[str, Any], respond: Respond, services: Services) -> None:
    """ "Next" / "Previous": the page the button names, replacing the ephemeral answer."""
    ack()
    state = BrowseState.decode(_value(body))
    respond(replace_original=True, response_type="ephemeral", **_browse(services, user_id_of(body), state))


def on_filter(ack: Ack, body: dict[str, Any], respond: Respond, services: Services) -> None:
    """A kind or work-style filter: the first filtered page, replacing the ephemeral answer."""
    ack()
    state = _filtered_state((body.get("actions") or [{}])[0])
    respond(replace_original=True, response_type="ephemeral", **_browse(services, user_id_of(body), state))


def on_post_submitted(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services, later: Later
) -> None:
    """Save the post (or the edit) before the ack: field errors stay in the modal; announcing follows."""
    user_id = user_id_of(body)
    tr = services.translator(user_id)
    metadata = str(view.get("private_metadata") or "").strip()
    editing = parse_id(metadata)
    if metadata and editing is None:  # a forged or broken edit: never turn it into a new post
        ack(response_action="errors", errors={"title": tr("errors.not_found")})
        return
    try:
        saved = _save_post(services, user_id, _draft(state_values(view)), editing)
    except DomainError as exc:
        ack(response_action="errors", errors=_domain_errors(exc, tr, view))
        return
    ack()
    later(lambda: _after_post(services, user_id, saved, created=editing is None))


def on_interested(ack: Ack, body: dict[str, Any], services: Services, later: Later) -> None:
    """ "I'm interested": recorded before the ack; the clicker is told; the poster's DM follows."""
    user_id = user_id_of(body)
    opportunity_id = parse_id(_value(body))
    if opportunity_id is None:
        ack()
        return
    tr = services.translator(user_id)
    try:
        result, profile = _record_interest(services, user_id, opportunity_id)
    except DomainError as exc:
        ack()
        tell_clicker(services, body, error_message(exc, tr))
        return
    ack()
    title = escape(result.opportunity.title)
    if not result.created:
        tell_clicker(services, body, tr("opportunities.interest.already", title=title))
        return
    tell_clicker(services, body, tr("opportunities.interest.passed_on", title=title))
    later(lambda: _after_interest(services, user_id, result.opportunity, profile))


def on_edit(ack: Ack, body: dict[str, Any], services: Services) -> None:
    """ "Edit" on an announcement: the post modal, prefilled, for the poster or HR."""
    ack()
    found = _managed_or_refuse(services, body)
    if found is None:
        return
    opportunity, actor = found
    user_id = user_id_of(body)
    zone = user_zone(services, user_id)
    modal = post_modal(
        services.translator(user_id),
        is_hr=actor.is_hr,
        today=local_today(services, user_id),
        draft=opps.Draft.of(opportunity, zone),
        opportunity_id=opportunity.id,
    )
    services.client.views_open(trigger_id=str(body.get("trigger_id")), view=modal)


def on_fill(ack: Ack, body: dict[str, Any], services: Services) -> None:
    """ "Mark filled" on an announcement: the filled modal, for the poster or HR, while the post is open."""
    ack()
    found = _managed_or_refuse(services, body)
    if found is None:
        return
    opportunity, _ = found
    tr = services.translator(user_id_of(body))
    if not opportunity.is_open:
        tell_clicker(services, body, tr("opportunities.errors.not_open"))
        return
    services.client.views_open(trigger_id=str(body.get("trigger_id")), view=filled_modal(opportunity, tr))


def on_filled_submitted(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services, later: Later
) -> None:
    """Mark the post filled before the ack (refusals at the field); the announcement and Home follow."""
    user_id = user_id_of(body)
    tr = services.translator(user_id)
    opportunity_id = parse_id(str(view.get("private_metadata") or ""))
    if opportunity_id is None:
        ack(response_action="errors", errors={FILLED_BY_BLOCK: tr("errors.not_found")})
        return
    filled_by = state_values(view).get(FILLED_BY_BLOCK)
    try:
        with services.db.session() as session:
            filled = opps.mark_filled(
                session,
                actor=services.actor(user_id),
                opportunity_id=opportunity_id,
                filled_by_user_id=str(filled_by) if filled_by else None,
            )
    except DomainError as exc:
        ack(response_action="errors", errors={FILLED_BY_BLOCK: error_message(exc, tr)})
        return
    ack()
    later(lambda: _after_change(services, opportunity_id, filled.poster_id, user_id))


def on_close(ack: Ack, body: dict[str, Any], services: Services, later: Later) -> None:
    """ "Close" on an announcement: closed before the ack; the clicker is told; the announcement follows."""
    changed = _decide_change(ack, services, body, opps.close_opportunity)
    if changed is None:
        return
    opportunity_id, closed = changed
    tr = services.translator(user_id_of(body))
    tell_clicker(services, body, tr("opportunities.closed", title=escape(closed.title)))
    later(lambda: _after_change(services, opportunity_id, closed.poster_id))


def on_remind_extend(ack: Ack, body: dict[str, Any], services: Services, later: Later) -> None:
    """ "Extend 30 days" in the expiry reminder: extended before the ack; the reminder says until when."""
    changed = _decide_change(ack, services, body, opps.extend_opportunity)
    if changed is None:
        return
    opportunity_id, extended = changed
    user_id = user_id_of(body)
    until = extended.expires_at
    fallback = until.astimezone(user_zone(services, user_id)).strftime("%Y-%m-%d")
    day = date_token(until, fallback=fallback, fmt="{date_short_pretty}")
    tr = services.translator(user_id)
    _replace_reminder(services, body, tr("opportunities.extended", title=escape(extended.title), date=day))
    later(lambda: _after_change(services, opportunity_id, extended.poster_id))


def on_remind_close(ack: Ack, body: dict[str, Any], services: Services, later: Later) -> None:
    """ "Close" in the expiry reminder: closed before the ack; the reminder says so."""
    changed = _decide_change(ack, services, body, opps.close_opportunity)
    if changed is None:
        return
    opportunity_id, closed = changed
    tr = services.translator(user_id_of(body))
    _replace_reminder(services, body, tr("opportunities.closed", title=escape(closed.title)))
    later(lambda: _after_change(services, opportunity_id, closed.poster_id))


FEATURE = Feature(
    name="opportunities",
    jobs=tuple(opportunity_jobs.SCHEDULED_JOBS),
    digest=opportunity_jobs.digest_section,
    digest_order=opportunity_jobs.DIGEST_ORDER,
    listeners=(
        command(
            COMMAND,
            on_command,
            description_key="opportunities.command_description",
            usage_hint_key="opportunities.usage_hint",
        ),
        shortcut(
            SHORTCUT_POST,
            on_shortcut,
            name_key="opportunities.shortcut_name",
            description_key="opportunities.shortcut_description",
        ),
        action(ACTION_OPEN_POST, on_open_post),
        action(ACTION_NEXT, on_page),
        action(ACTION_PREVIOUS, on_page),
        action(ACTION_FILTER_KIND, on_filter),
        action(ACTION_FILTER_STYLE, on_filter),
        view(VIEW_POST, on_post_submitted),
        action(ACTION_INTERESTED, on_interested),
        action(ACTION_EDIT, on_edit),
        action(ACTION_FILL, on_fill),
        view(VIEW_FILLED, on_filled_submitted),
        action(ACTION_CLOSE, on_close),
        action(ACTION_REMIND_EXTEND, on_remind_extend),
        action(ACTION_REMIND_CLOSE, on_remind_close),
    ),
    home=home_section,
    home_order=20,  # after check-ins (10), before referrals (30) and events (40)
    scopes=opportunity_jobs.SCOPES,
)
