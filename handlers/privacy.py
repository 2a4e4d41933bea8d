"""`/alumni privacy` (consent, download my data, delete my data) and `/alumni feedback` (ideas and complaints
to HR, named or anonymous; HR replies and marks them addressed). Both arrive through `/alumni` subcommands.

Each decision (consent, withdrawal, erasure, a piece of feedback, HR's reply or "addressed") is saved before
the ack, in the request's thread; the answers that follow (the thanks, the HR channel's card, DMs, the Home
tab, cleaning up an erased member's posts) run after it through `later`.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack
from slack_sdk.errors import SlackApiError

from bot.blocks.common import BlockDict, without_images
from bot.blocks.privacy import (
    CONFIRM_BLOCK,
    CONSENT,
    DELETE_CONFIRM,
    DELETE_OPEN,
    DOWNLOAD,
    FEEDBACK_ADDRESSED,
    FEEDBACK_REPLY_OPEN,
    FEEDBACK_REPLY_SUBMIT,
    FEEDBACK_SUBMIT,
    WITHDRAW,
    delete_modal,
    feedback_hr_blocks,
    feedback_modal,
    feedback_reply_modal,
    privacy_blocks,
    removed_notice_blocks,
)
from bot.forms import error_message, field_errors, input_block_ids, state_values
from bot.i18n import Translator
from bot.kit import Feature, Later, action, hr_clicker, hr_or_refuse, publish_home, tell_clicker, view
from bot.listeners import parse_id, user_id_of
from bot.mrkdwn import escape
from bot.services import Services
from bot.slack_files import upload_file
from jobs import retention as retention_jobs
from models.errors import DomainError, NotFound, ValidationFailed
from models.feedback import (
    ADDRESSED,
    Feedback,
    get_feedback,
    mark_addressed,
    reply_to_feedback,
    set_hr_message,
    submit_feedback,
)
from models.member import Member, get_member
from models.privacy import (
    MESSAGE_DELETE,
    MESSAGE_REDRAW,
    MessageRef,
    erase_member,
    export_json,
    record_consent,
    withdraw_consent,
)
from models.timeutil import now

log = logging.getLogger(__name__)

PRIVACY_WORDS = ("privacy", "プライバシー")
FEEDBACK_WORDS = ("feedback", "意見")
SCOPES = ("files:write", "channels:history")


# -- the public API other code (and later steps) call ------------------------------------------------


def privacy_home(services: Services, user_id: str, tr: Translator) -> list[BlockDict]:
    """The Home tab's privacy section: what the bot holds, the consent state and the member's buttons."""
    with services.db.session() as session:
        member = get_member(session, slack_user_id=user_id)
    return privacy_blocks(member, tr, home=True)


def _erasure_features() -> tuple[Feature, ...]:
    from bot.features import features  # the feature list imports this module

    return tuple(f for f in features() if f.redraws or f.on_erasure is not None)


def _notice(svc: Services) -> dict[str, Any]:
    tr = svc.workspace_translator
    return {"text": tr("privacy.removed_notice"), "blocks": removed_notice_blocks(tr)}


def _replacements(svc: Services, ref: MessageRef) -> list[dict[str, Any]]:
    """What an erased member's message is updated to, in order of preference: redrawn; redrawn without its
    images (Slack may no longer fetch one, and then refuses the whole update); a neutral notice."""
    redraws = {table: r for f in _erasure_features() for table, r in f.redraws.items()}
    redraw = redraws.get(ref.table) if ref.action == MESSAGE_REDRAW else None
    message = redraw(svc, ref.key) if redraw is not None else None
    if message is None:
        return [_notice(svc)]
    # What chat.update takes of it (it has no unfurl arguments).
    redrawn: dict[str, Any] = {k: message[k] for k in ("text", "blocks", "metadata") if k in message}
    stripped = without_images(redrawn)
    return [redrawn, *([stripped] if stripped is not None else []), _notice(svc)]


def apply_message_refs(svc: Services, refs: list[MessageRef]) -> None:
    """Delete, neutralise or redraw the Slack messages that stood for erased rows (best effort, logged)."""
    for ref in refs:
        if ref.action == MESSAGE_DELETE:
            try:
                svc.client.chat_delete(channel=ref.channel, ts=ref.ts)
            except SlackApiError as exc:
                log.warning(
                    "could not delete an erased member's message", extra={"error": exc.response.get("error")}
                )
            continue
        for replacement in _replacements(svc, ref):
            try:
                svc.client.chat_update(channel=ref.channel, ts=ref.ts, **replacement)
                break
            except SlackApiError as exc:
                # Never leave the member named because Slack refused one rendering: try the next one.
                log.warning(
                    "could not %s an erased member's message",
                    ref.action,
                    extra={"error": exc.response.get("error")},
                )


def erase(svc: Services, *, actor_id: str, slack_user_id: str) -> list[MessageRef]:
    """Erase a member's data in one transaction and forget what this process cached about them.

    Returns the Slack messages that stood for erased rows (for `apply_message_refs`). The model refuses
    anyone but the member themselves or HR.
    """
    with svc.db.session() as session:
        # Each feature's step sees the member before erasure and mends, afterwards, what its outbox has
        # not sent yet (intros to their groups, news they wrote), in the same transaction.
        afterwards = [
            f.on_erasure(session, svc.settings, slack_user_id)
            for f in _erasure_features()
            if f.on_erasure is not None
        ]
        result = erase_member(
            session,
            actor=svc.actor(actor_id),
            slack_user_id=slack_user_id,
            removed_line=svc.workspace_translator("privacy.digest_line_removed"),
        )
        for step in afterwards:
            step(result.pseudonym)
    svc.people.forget(slack_user_id)
    return result.messages


def erase_and_clean_up(svc: Services, *, actor_id: str, slack_user_id: str) -> None:
    """Erase a member's data, then clean up the Slack messages that stood for it."""
    apply_message_refs(svc, erase(svc, actor_id=actor_id, slack_user_id=slack_user_id))


def send_my_data(services: Services, *, user_id: str) -> None:
    """Export everything the bot holds about `user_id` as JSON and upload it to their DM."""
    tr = services.translator(user_id)
    with services.db.session() as session:
        data = export_json(session, slack_user_id=user_id)
    upload_file(
        services.client,
        recipient=user_id,
        content=data,
        filename=f"alumni-my-data-{now():%Y%m%d}.json",
        title=tr("privacy.download_title"),
        initial_comment=tr("privacy.download_done"),
    )


def render_feedback_card(svc: Services, feedback_id: int) -> None:
    """Post a piece of feedback to the HR channel, or update its card there, from the row's current state.

    Read afresh (not from the caller's copy) so a card rendered after two quick HR changes shows both.
    """
    channel = svc.settings.alumni_hr_channel
    if not channel:
        log.warning("ALUMNI_HR_CHANNEL is not set; feedback stays in the database only")
        return
    tr = svc.workspace_translator
    with svc.db.session() as session:
        item = get_feedback(session, feedback_id)
    text, blocks = tr("feedback.hr_notification"), feedback_hr_blocks(item, tr)
    if item.hr_channel and item.hr_ts:
        svc.client.chat_update(channel=item.hr_channel, ts=item.hr_ts, text=text, blocks=blocks)
        return
    posted = svc.client.chat_postMessage(channel=channel, text=text, blocks=blocks)
    with svc.db.session() as session:
        set_hr_message(session, feedback_id=feedback_id, channel=str(posted["channel"]), ts=str(posted["ts"]))


# -- /alumni privacy, /alumni feedback ---------------------------------------------------------------


def on_privacy(services: Services, ack: Ack, command: dict[str, Any], rest: str) -> None:
    """`/alumni privacy`: what the bot holds and the member's buttons, privately in the ack."""
    user_id = user_id_of(command)
    tr = services.translator(user_id)
    with services.db.session() as session:
        member = get_member(session, slack_user_id=user_id)
    ack(response_type="ephemeral", text=tr("privacy.what_we_hold"), blocks=privacy_blocks(member, tr))


def on_feedback(services: Services, ack: Ack, command: dict[str, Any], rest: str) -> None:
    """`/alumni feedback`: open the feedback modal."""
    ack()
    tr = services.translator(user_id_of(command))
    services.client.views_open(trigger_id=command["trigger_id"], view=feedback_modal(tr))


# -- the member's privacy buttons --------------------------------------------------------------------


def _answer_consent(services: Services, body: dict[str, Any], key: str, member: Member) -> None:
    """The answer to a consent button (`key` above the privacy overview), then the member's Home tab."""
    user_id = user_id_of(body)
    tr = services.translator(user_id)
    tell_clicker(services, body, tr(key), blocks=privacy_blocks(member, tr), replace_original=True)
    publish_home(services, user_id)


def on_consent(ack: Ack, body: dict[str, Any], services: Services, later: Later) -> None:
    """Consent is recorded before the ack; the thanks and the Home tab follow."""
    user_id = user_id_of(body)
    with services.db.session() as session:
        member = record_consent(
            session, actor=services.actor(user_id), display_name=services.people.get(user_id).name
        )
    ack()
    later(lambda: _answer_consent(services, body, "privacy.consent_thanks", member))


def on_withdraw(ack: Ack, body: dict[str, Any], services: Services, later: Later) -> None:
    """Consent is withdrawn before the ack (or refused: never given); the answer and the Home tab follow."""
    user_id = user_id_of(body)
    try:
        with services.db.session() as session:
            member = withdraw_consent(session, slack_user_id=user_id)
    except DomainError as exc:
        text = error_message(exc, services.translator(user_id))
        ack()
        later(lambda: tell_clicker(services, body, text, replace_original=True))
        return
    ack()
    later(lambda: _answer_consent(services, body, "privacy.withdrawn", member))


def on_download(ack: Ack, body: dict[str, Any], services: Services, later: Later) -> None:
    """ "Download my data": a JSON file in the member's DM, after the ack (nothing to decide)."""
    ack()
    user_id = user_id_of(body)
    later(lambda: send_my_data(services, user_id=user_id))


def on_delete_open(ack: Ack, body: dict[str, Any], services: Services) -> None:
    """ "Delete my data": the confirmation modal."""
    ack()
    tr = services.translator(user_id_of(body))
    services.client.views_open(trigger_id=body["trigger_id"], view=delete_modal(tr))


def on_delete_confirm(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services, later: Later
) -> None:
    """The member's data is erased before the ack when the checkbox is ticked; Slack clean-up follows."""
    user_id = user_id_of(body)
    tr = services.translator(user_id)
    confirmed = state_values(view).get(CONFIRM_BLOCK)
    # Only the checkbox counts (a list of values); a forged text "yes…" must not erase anyone.
    if not isinstance(confirmed, list) or "yes" not in confirmed:
        ack(response_action="errors", errors={CONFIRM_BLOCK: tr("privacy.delete_confirm_required")})
        return
    # The requester is the member: nobody can erase someone else through this view.
    refs = erase(services, actor_id=user_id, slack_user_id=user_id)
    ack()
    later(lambda: _after_erasure(services, body, refs, tr("privacy.deleted")))


def _after_erasure(services: Services, body: dict[str, Any], refs: list[MessageRef], done: str) -> None:
    """Neutralise the erased member's posts, tell them (`done`, in the language read before erasure)."""
    apply_message_refs(services, refs)
    tell_clicker(services, body, done)
    publish_home(services, user_id_of(body))


# -- feedback ----------------------------------------------------------------------------------------


def on_feedback_submit(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services, later: Later
) -> None:
    """Feedback is validated and saved before the ack; the HR channel's card and the thanks follow."""
    user_id = user_id_of(body)
    tr = services.translator(user_id)
    values = state_values(view)
    anonymous = "yes" in (values.get("anonymous") or [])
    try:
        with services.db.session() as session:
            item = submit_feedback(
                session,
                actor=services.actor(user_id),
                text=str(values.get("text") or ""),
                kind=str(values.get("kind") or ""),
                anonymous=anonymous,
                display_name=services.people.get(user_id).name,
            )
    except ValidationFailed as exc:
        ack(response_action="errors", errors=field_errors(exc, tr, block_ids=input_block_ids(view)))
        return
    ack()
    thanks = tr("feedback.thanks_anonymous" if anonymous else "feedback.thanks")
    later(lambda: _deliver_feedback(services, body, _row_id(item), thanks))


def _deliver_feedback(services: Services, body: dict[str, Any], feedback_id: int, thanks: str) -> None:
    render_feedback_card(services, feedback_id)
    tell_clicker(services, body, thanks)  # last: the thanks means HR has it


def _required_feedback_id(value: Any) -> int:
    """`_feedback_id`, refusing an implausible one as a missing row."""
    feedback_id = parse_id(value)
    if feedback_id is None:
        raise NotFound("not_found")
    return feedback_id


def _row_id(item: Feedback) -> int:
    assert item.id is not None  # saved rows have one
    return item.id


def on_reply_open(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], services: Services, later: Later
) -> None:
    """HR's "Reply" on the HR channel's card: the reply modal (anyone else is refused privately)."""
    ack()
    user_id = hr_clicker(services, body)
    if user_id is None:
        return
    tr = services.translator(user_id)
    try:
        with services.db.session() as session:
            item = get_feedback(session, _required_feedback_id(action.get("value")))
    except DomainError as exc:
        text = error_message(exc, tr)
        later(lambda: tell_clicker(services, body, text))
        return
    services.client.views_open(trigger_id=body["trigger_id"], view=feedback_reply_modal(item, tr))


def on_reply_submit(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services, later: Later
) -> None:
    """HR's reply is validated and saved before the ack; the DMs and the HR card follow."""
    user_id = user_id_of(body)
    tr = services.translator(user_id)
    if not services.roles.is_hr(user_id):
        ack(response_action="errors", errors={"reply": tr("admin.not_hr")})
        return
    feedback_id = parse_id(view.get("private_metadata"))
    if feedback_id is None:
        ack(response_action="errors", errors={"reply": tr("errors.not_found")})
        return
    values = state_values(view)
    try:
        with services.db.session() as session:
            item = reply_to_feedback(
                session,
                actor=services.actor(user_id),
                feedback_id=feedback_id,
                reply=str(values.get("reply") or ""),
                change_note=str(values.get("change_note") or ""),
                addressed="yes" in (values.get("addressed") or []),
            )
    except ValidationFailed as exc:
        ack(response_action="errors", errors=field_errors(exc, tr, block_ids=input_block_ids(view)))
        return
    except DomainError as exc:
        ack(response_action="errors", errors={"reply": error_message(exc, tr)})
        return
    ack()
    later(lambda: _after_reply(services, body, item, replied=bool(values.get("reply"))))


def _after_reply(services: Services, body: dict[str, Any], item: Feedback, *, replied: bool) -> None:
    """Tell HR when their change note waits, send the sender HR's reply, and update the HR card."""
    if item.change_note and item.status != ADDRESSED:
        # The rule is in the modal; say it once more where HR will notice: this note waits.
        tell_clicker(services, body, services.translator(user_id_of(body))("feedback.note_not_published"))
    if item.reply and replied:
        sender_tr = services.translator(item.sender_user_id)
        text = sender_tr("feedback.reply_dm", original=escape(item.text[:500]), reply=escape(item.reply))
        services.client.chat_postMessage(channel=item.sender_user_id, text=text)
    render_feedback_card(services, _row_id(item))


def on_addressed(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], services: Services, later: Later
) -> None:
    """HR's "Mark addressed": saved before the ack; the HR card follows (anyone else is refused privately)."""
    user_id = hr_or_refuse(services, ack, body, later)
    if user_id is None:
        return
    try:
        with services.db.session() as session:
            item = mark_addressed(
                session, actor=services.actor(user_id), feedback_id=_required_feedback_id(action.get("value"))
            )
    except DomainError as exc:
        text = error_message(exc, services.translator(user_id))
        ack()
        later(lambda: tell_clicker(services, body, text))
        return
    ack()
    later(lambda: render_feedback_card(services, _row_id(item)))


FEATURE = Feature(
    name="privacy",
    jobs=tuple(retention_jobs.SCHEDULED_JOBS),
    listeners=(
        action(CONSENT, on_consent),
        action(WITHDRAW, on_withdraw),
        action(DOWNLOAD, on_download),
        action(DELETE_OPEN, on_delete_open),
        view(DELETE_CONFIRM, on_delete_confirm),
        view(FEEDBACK_SUBMIT, on_feedback_submit),
        action(FEEDBACK_REPLY_OPEN, on_reply_open),
        view(FEEDBACK_REPLY_SUBMIT, on_reply_submit),
        action(FEEDBACK_ADDRESSED, on_addressed),
    ),
    home=privacy_home,
    home_order=90,  # last on the Home tab
    subcommands={
        **{word: on_privacy for word in PRIVACY_WORDS},
        **{word: on_feedback for word in FEEDBACK_WORDS},
    },
    scopes=SCOPES,
)
