"""Alumni stories: `/alumni story` (ストーリー) and the Home button open the draft modal (HR chooses who the
story is about; a member drafts only about themselves); a saved draft goes to its subject for approval by DM.
Only the subject approves (which publishes it), edits from the request, declines or withdraws; every refusal
is decided on the server (`models.story`), since buttons and payloads can be forged."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack

from bot.blocks.common import BlockDict
from bot.blocks.stories import (
    APPROVE,
    BODY_BLOCK,
    DECLINE,
    DRAFT_SUBMIT,
    EDIT,
    EDIT_SUBMIT,
    NEW_DRAFT,
    SUBJECT_BLOCK,
    TITLE_BLOCK,
    WITHDRAW,
    approval_request_message,
    draft_modal,
    home_section,
    parse_story_button,
)
from bot.forms import error_message, field_errors, input_block_ids, state_values
from bot.forms import text as form_text
from bot.i18n import Translator
from bot.kit import Feature, Later, action, publish_home, tell_clicker, view
from bot.listeners import user_id_of
from bot.mrkdwn import escape, user_mention
from bot.services import Services
from jobs import stories as story_jobs
from models.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from models.story import (
    AWAITING_APPROVAL,
    ERR_STALE_VERSION,
    Story,
    approve_story,
    decline_story,
    draft_story,
    edit_story,
    get_story,
    request_approval,
    stories_involving,
)

log = logging.getLogger(__name__)

STORY_WORDS = ("story", "ストーリー")


def stories_home(services: Services, user_id: str, tr: Translator) -> list[BlockDict]:
    """Stories about the member (approve, edit, decline or withdraw them) and "Tell your story"."""
    with services.db.session() as session:
        about_me = [s for s in stories_involving(session, user_id) if s.subject_id == user_id]
    return home_section(tr, about_me=about_me)


def _refusal(exc: DomainError, tr: Translator) -> str:
    """What a refused click or submission tells the user (never more than the model said)."""
    if isinstance(exc, PermissionDenied):
        return tr("errors.not_allowed")
    if isinstance(exc, NotFound):
        return tr("errors.not_found")
    return error_message(exc, tr)


def _open_draft(services: Services, user_id: str, trigger_id: str) -> None:
    modal = draft_modal(services.translator(user_id), choose_subject=services.actor(user_id).is_hr)
    services.client.views_open(trigger_id=trigger_id, view=modal)


def on_story_subcommand(services: Services, ack: Ack, command: dict[str, Any], rest: str) -> None:
    """`/alumni story`: open the draft modal."""
    ack()
    _open_draft(services, str(command.get("user_id") or ""), str(command.get("trigger_id") or ""))


def on_new_draft(ack: Ack, body: dict[str, Any], services: Services) -> None:
    """The Home tab's "Tell your story": open the draft modal."""
    ack()
    _open_draft(services, user_id_of(body), str(body.get("trigger_id") or ""))


def _send_for_approval(services: Services, story: Story, *, told: str) -> None:
    """DM the subject the exact text to approve (in their language), tell `told`, refresh both Homes."""
    message = approval_request_message(story, services.translator(story.subject_id))
    services.client.chat_postMessage(channel=story.subject_id, **message)
    tr = services.translator(told)
    text = tr("stories.sent_for_approval", subject=user_mention(story.subject_id), version=story.version)
    services.client.chat_postMessage(channel=told, text=text)
    publish_home(services, story.subject_id, told)


def _errors_at(view: dict[str, Any], field: str, message: str) -> dict[str, str]:
    blocks = input_block_ids(view)
    return {field if field in blocks or not blocks else sorted(blocks)[0]: message}


def on_draft_submit(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services, later: Later
) -> None:
    """Save the draft and send it for approval in one transaction before the ack; DM the subject after."""
    user_id = user_id_of(body)
    tr = services.translator(user_id)
    values = state_values(view)
    actor = services.actor(user_id)
    # A member's modal has no subject field: their story is about themselves. A forged subject is refused by
    # `draft_story` (only HR drafts about someone else).
    subject = values.get(SUBJECT_BLOCK) if SUBJECT_BLOCK in values else user_id
    try:
        with services.db.session() as session:
            story = draft_story(
                session,
                actor=actor,
                subject_id=str(subject or ""),
                title=form_text(values, TITLE_BLOCK),
                body=form_text(values, BODY_BLOCK),
            )
            story = request_approval(session, actor=actor, story_id=int(story.id or 0))
    except ValidationFailed as exc:
        ack(response_action="errors", errors=field_errors(exc, tr, block_ids=input_block_ids(view)))
        return
    except DomainError as exc:
        log.warning("stories: draft refused", extra={"user": user_id, "code": exc.code})
        ack(response_action="errors", errors=_errors_at(view, SUBJECT_BLOCK, _refusal(exc, tr)))
        return
    ack()
    later(lambda: _send_for_approval(services, story, told=user_id))


def _story_of(services: Services, user_id: str, value: Any) -> Story | str:
    """The story a button names when `user_id` is its subject; otherwise why not (translated)."""
    tr = services.translator(user_id)
    parsed = parse_story_button(value)
    if parsed is None:
        return tr("errors.invalid")
    with services.db.session() as session:
        try:
            story = get_story(session, parsed[0])
        except NotFound:
            return tr("errors.not_found")
    if story.subject_id != user_id:
        log.warning("stories: click by someone else refused", extra={"user": user_id, "story_id": story.id})
        return tr("errors.not_allowed")
    return story


def on_edit(ack: Ack, body: dict[str, Any], action: dict[str, Any], services: Services) -> None:
    """The approval request's "Edit" (the subject only): open the edit modal with the current text."""
    user_id = user_id_of(body)
    found = _story_of(services, user_id, action.get("value"))
    ack()
    if isinstance(found, str):
        tell_clicker(services, body, found)
        return
    modal = draft_modal(services.translator(user_id), story=found)
    services.client.views_open(trigger_id=str(body.get("trigger_id") or ""), view=modal)


def on_edit_submit(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services, later: Later
) -> None:
    """Save an edit before the ack (a new version: the subject must approve it again); DM them after."""
    user_id = user_id_of(body)
    tr = services.translator(user_id)
    values = state_values(view)
    parsed = parse_story_button(view.get("private_metadata"))
    try:
        if parsed is None:
            raise DomainError("invalid", field=TITLE_BLOCK)
        with services.db.session() as session:
            current = get_story(session, parsed[0], for_update=True)
            if current.version != parsed[1]:  # someone changed it since the modal opened
                raise DomainError(ERR_STALE_VERSION, version=current.version)
            story = edit_story(
                session,
                actor=services.actor(user_id),
                story_id=parsed[0],
                title=form_text(values, TITLE_BLOCK),
                body=form_text(values, BODY_BLOCK),
            )
            changed = story.version != parsed[1]
    except ValidationFailed as exc:
        ack(response_action="errors", errors=field_errors(exc, tr, block_ids=input_block_ids(view)))
        return
    except DomainError as exc:
        log.warning("stories: edit refused", extra={"user": user_id, "code": exc.code})
        ack(response_action="errors", errors=_errors_at(view, TITLE_BLOCK, _refusal(exc, tr)))
        return
    ack()
    if changed and story.status == AWAITING_APPROVAL:
        later(lambda: _send_for_approval(services, story, told=user_id))


def _approve_and_publish(services: Services, user_id: str, story_id: int, version: int) -> str:
    """Record the subject's approval and publish on the author's behalf (they asked for it by sending the
    draft); without a channel the story stays approved. Returns what to tell the subject."""
    tr = services.translator(user_id)
    with services.db.session() as session:
        approve_story(session, actor=services.actor(user_id), story_id=story_id, version=version)
        story = get_story(session, story_id)
        text = tr("stories.approved", version=version, title=escape(story.title))
        try:
            story_jobs.publish(
                session,
                actor=services.actor(story.author_id),
                story_id=story_id,
                settings=services.settings,
            )
        except DomainError as exc:  # only the missing channel: it is checked before anything is written
            return f"{text}\n{error_message(exc, tr)}"
    return text


# What the subject's button does to their story: returns what to tell them (raises DomainError to refuse).
SubjectDecision = Callable[[Services, str, Story, int], str]


def _answer_subject(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    services: Services,
    later: Later,
    decide: SubjectDecision,
) -> None:
    """The one shape of the subject's buttons: check who clicked and which version, decide before the ack,
    tell the clicker, then refresh both Home tabs after the ack."""
    user_id = user_id_of(body)
    tr = services.translator(user_id)
    found = _story_of(services, user_id, action.get("value"))
    parsed = parse_story_button(action.get("value"))
    if isinstance(found, Story) and parsed is not None:
        try:
            answer = decide(services, user_id, found, parsed[1])
        except DomainError as exc:
            answer = _refusal(exc, tr)
    else:
        answer = found if isinstance(found, str) else tr("errors.invalid")
    ack()
    tell_clicker(services, body, answer)
    if isinstance(found, Story):
        later(lambda: publish_home(services, found.subject_id, found.author_id))


def _approve(services: Services, user_id: str, story: Story, version: int) -> str:
    return _approve_and_publish(services, user_id, int(story.id or 0), version)


def _decline(services: Services, user_id: str, story: Story, _version: int) -> str:
    with services.db.session() as session:
        decline_story(session, actor=services.actor(user_id), story_id=int(story.id or 0))
    return services.translator(user_id)("stories.declined", title=escape(story.title))


def _withdraw(services: Services, user_id: str, story: Story, _version: int) -> str:
    with services.db.session() as session:
        story_jobs.withdraw(
            session, actor=services.actor(user_id), story_id=int(story.id or 0), settings=services.settings
        )
    return services.translator(user_id)("stories.withdrawn", title=escape(story.title))


def on_approve(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], services: Services, later: Later
) -> None:
    """The subject approves the version they read; it is published at once (decided before the ack)."""
    _answer_subject(ack, body, action, services, later, _approve)


def on_decline(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], services: Services, later: Later
) -> None:
    """The subject declines the story (it is never published)."""
    _answer_subject(ack, body, action, services, later, _decline)


def on_withdraw(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], services: Services, later: Later
) -> None:
    """The subject withdraws their story; every posted copy is replaced through the outbox."""
    _answer_subject(ack, body, action, services, later, _withdraw)


FEATURE = Feature(
    name="stories",
    listeners=(
        action(NEW_DRAFT, on_new_draft),
        view(DRAFT_SUBMIT, on_draft_submit),
        action(EDIT, on_edit),
        view(EDIT_SUBMIT, on_edit_submit),
        action(APPROVE, on_approve),
        action(DECLINE, on_decline),
        action(WITHDRAW, on_withdraw),
    ),
    home=stories_home,
    home_order=45,
    subcommands={word: on_story_subcommand for word in STORY_WORDS},
    jobs=tuple(story_jobs.SCHEDULED_JOBS),
    digest=story_jobs.digest_section,
    digest_order=story_jobs.DIGEST_ORDER,
    scopes=story_jobs.SCOPES,
)
