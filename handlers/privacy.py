"""`/alumni privacy` (consent, download my data, delete my data) and `/alumni feedback` (ideas and complaints
to HR, named or anonymous; HR replies and marks them addressed). Both arrive through `/alumni` subcommands.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack
from slack_sdk.errors import SlackApiError

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
from bot.kit import hr_clicker
from bot.listeners import is_slack_response_url, parse_id, user_id_of
from bot.mrkdwn import escape
from bot.registry import Registry
from bot.services import Services
from bot.slack_files import upload_file
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
    MessageRef,
    erase_member,
    export_json,
    record_consent,
    withdraw_consent,
)
from models.timeutil import now

log = logging.getLogger(__name__)

HOME_ORDER = 90


_user = user_id_of


def _answer(
    svc: Services, body: dict[str, Any], user_id: str, text: str, blocks: list[dict[str, Any]] | None = None
) -> None:
    """Answer a button: ephemerally through the response URL when there is one (messages), else by DM (Home)."""
    response_url = body.get("response_url")
    try:
        if response_url and is_slack_response_url(str(response_url), svc.settings.slack_api_url):
            from slack_sdk.webhook import WebhookClient

            WebhookClient(str(response_url), timeout=5).send(
                text=text, blocks=blocks, response_type="ephemeral", replace_original=True
            )
        else:
            svc.client.chat_postMessage(channel=user_id, text=text, blocks=blocks)
    except Exception:  # the action itself is saved; failing to answer must not look like a failure
        log.warning("could not answer a privacy button", exc_info=True)


def _refresh_home(svc: Services, user_id: str) -> None:
    try:
        from bot.kit import publish_home

        publish_home(svc, user_id)
    except SlackApiError:
        log.info("home not refreshed")


def _answer_consent(
    svc: Services, body: dict[str, Any], user_id: str, tr: Translator, key: str, member: Member
) -> None:
    """Answer a consent button with `key` and the member's privacy overview, then refresh their Home."""
    _answer(svc, body, user_id, tr(key), privacy_blocks(member, tr))
    _refresh_home(svc, user_id)


# ---------------------------------------------------------------------------------------------- /alumni privacy


def on_privacy(svc: Services, ack: Ack, command: dict[str, Any], rest: str) -> None:
    user_id = _user(command)
    tr = svc.translator(user_id)
    with svc.db.session() as session:
        member = get_member(session, slack_user_id=user_id)
    ack(response_type="ephemeral", text=tr("privacy.what_we_hold"), blocks=privacy_blocks(member, tr))


def on_feedback(svc: Services, ack: Ack, command: dict[str, Any], rest: str) -> None:
    ack()
    svc.client.views_open(
        trigger_id=command["trigger_id"], view=feedback_modal(svc.translator(_user(command)))
    )


ALUMNI_SUBCOMMANDS = {
    "privacy": on_privacy,
    "プライバシー": on_privacy,
    "feedback": on_feedback,
    "意見": on_feedback,
}


def home_section(services: Services, user_id: str, tr: Translator) -> list[dict[str, Any]]:
    with services.db.session() as session:
        member = get_member(session, slack_user_id=user_id)
    return privacy_blocks(member, tr, home=True)


def apply_message_refs(svc: Services, refs: list[MessageRef]) -> None:
    """Delete or neutralise the Slack messages that stood for erased rows (best effort, logged)."""
    tr = svc.workspace_translator
    for ref in refs:
        try:
            if ref.action == MESSAGE_DELETE:
                svc.client.chat_delete(channel=ref.channel, ts=ref.ts)
            else:
                svc.client.chat_update(
                    channel=ref.channel,
                    ts=ref.ts,
                    text=tr("privacy.removed_notice"),
                    blocks=removed_notice_blocks(tr),
                )
        except SlackApiError as exc:
            log.warning(
                "could not %s an erased member's message",
                ref.action,
                extra={"error": exc.response.get("error")},
            )


def erase_and_clean_up(svc: Services, *, actor_id: str, slack_user_id: str) -> None:
    with svc.db.session() as session:
        result = erase_member(session, actor=svc.actor(actor_id), slack_user_id=slack_user_id)
    apply_message_refs(svc, result.messages)
    svc.people.forget(slack_user_id)


# ---------------------------------------------------------------------------------------------- feedback to HR


def _post_feedback_to_hr(svc: Services, item: Feedback) -> None:
    channel = svc.settings.alumni_hr_channel
    if not channel:
        log.warning("ALUMNI_HR_CHANNEL is not set; feedback stays in the database only")
        return
    tr = svc.workspace_translator
    if item.hr_channel and item.hr_ts:
        svc.client.chat_update(
            channel=item.hr_channel,
            ts=item.hr_ts,
            text=tr("feedback.hr_notification"),
            blocks=feedback_hr_blocks(item, tr),
        )
        return
    posted = svc.client.chat_postMessage(
        channel=channel, text=tr("feedback.hr_notification"), blocks=feedback_hr_blocks(item, tr)
    )
    assert item.id is not None
    with svc.db.session() as session:
        set_hr_message(session, feedback_id=item.id, channel=str(posted["channel"]), ts=str(posted["ts"]))


MAX_ID = 2**31 - 1  # feedback.id is an INTEGER column


def _feedback_id(value: Any) -> int | None:
    """A feedback ID from a button value or private_metadata; None unless a plausible row ID."""
    return parse_id(str(value or "").strip(), MAX_ID)


def register(registry: Registry) -> None:
    registry.scopes("files:write", "channels:history")

    @registry.action(CONSENT)
    def on_consent(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        svc = registry.services
        user_id = _user(body)
        tr = svc.translator(user_id)
        with svc.db.session() as session:
            member = record_consent(
                session, actor=svc.actor(user_id), display_name=svc.people.get(user_id).name
            )
        _answer_consent(svc, body, user_id, tr, "privacy.consent_thanks", member)

    @registry.action(WITHDRAW)
    def on_withdraw(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        svc = registry.services
        user_id = _user(body)
        tr = svc.translator(user_id)
        try:
            with svc.db.session() as session:
                member = withdraw_consent(session, slack_user_id=user_id)
        except DomainError as exc:
            _answer(svc, body, user_id, error_message(exc, tr))
            return
        _answer_consent(svc, body, user_id, tr, "privacy.withdrawn", member)

    @registry.action(DOWNLOAD)
    def on_download(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        svc = registry.services
        user_id = _user(body)
        tr = svc.translator(user_id)
        with svc.db.session() as session:
            data = export_json(session, slack_user_id=user_id)
        upload_file(
            svc.client,
            recipient=user_id,
            content=data,
            filename=f"alumni-my-data-{now():%Y%m%d}.json",
            title=tr("privacy.download_title"),
            initial_comment=tr("privacy.download_done"),
        )

    @registry.action(DELETE_OPEN)
    def on_delete_open(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        svc = registry.services
        svc.client.views_open(trigger_id=body["trigger_id"], view=delete_modal(svc.translator(_user(body))))

    @registry.view(DELETE_CONFIRM)
    def on_delete_confirm(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        svc = registry.services
        user_id = _user(body)
        tr = svc.translator(user_id)
        confirmed = state_values(view).get(CONFIRM_BLOCK)
        # Only the checkbox counts (a list of values); a forged text "yes…" must not erase anyone.
        if not isinstance(confirmed, list) or "yes" not in confirmed:
            ack(response_action="errors", errors={CONFIRM_BLOCK: tr("privacy.delete_confirm_required")})
            return
        ack()
        # The requester is the member: nobody can erase someone else through this view.
        erase_and_clean_up(svc, actor_id=user_id, slack_user_id=user_id)
        svc.client.chat_postMessage(channel=user_id, text=tr("privacy.deleted"))
        _refresh_home(svc, user_id)

    @registry.view(FEEDBACK_SUBMIT)
    def on_feedback_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        svc = registry.services
        user_id = _user(body)
        tr = svc.translator(user_id)
        values = state_values(view)
        anonymous = "yes" in (values.get("anonymous") or [])
        try:
            with svc.db.session() as session:
                item = submit_feedback(
                    session,
                    actor=svc.actor(user_id),
                    text=str(values.get("text") or ""),
                    kind=str(values.get("kind") or ""),
                    anonymous=anonymous,
                    display_name=svc.people.get(user_id).name,
                )
        except ValidationFailed as exc:
            ack(response_action="errors", errors=field_errors(exc, tr, block_ids=input_block_ids(view)))
            return
        ack()
        _post_feedback_to_hr(svc, item)
        svc.client.chat_postMessage(
            channel=user_id, text=tr("feedback.thanks_anonymous" if anonymous else "feedback.thanks")
        )

    @registry.action(FEEDBACK_REPLY_OPEN)
    def on_reply_open(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        svc = registry.services
        user_id = hr_clicker(svc, body)
        if user_id is None:
            return
        feedback_id = _feedback_id(action.get("value"))
        tr = svc.translator(user_id)
        try:
            if feedback_id is None:
                raise NotFound("not_found")
            with svc.db.session() as session:
                item = get_feedback(session, feedback_id)
        except DomainError as exc:
            svc.client.chat_postMessage(channel=user_id, text=error_message(exc, tr))
            return
        svc.client.views_open(
            trigger_id=body["trigger_id"], view=feedback_reply_modal(item, svc.translator(user_id))
        )

    @registry.view(FEEDBACK_REPLY_SUBMIT)
    def on_reply_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        svc = registry.services
        user_id = _user(body)
        tr = svc.translator(user_id)
        if not svc.actor(user_id).is_hr:
            ack(response_action="errors", errors={"reply": tr("admin.not_hr")})
            return
        feedback_id = _feedback_id(view.get("private_metadata"))
        values = state_values(view)
        if feedback_id is None:
            ack(response_action="errors", errors={"reply": tr("errors.not_found")})
            return
        try:
            with svc.db.session() as session:
                item = reply_to_feedback(
                    session,
                    actor=svc.actor(user_id),
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
        if item.change_note and item.status != ADDRESSED:
            # The rule is in the modal; say it once more where HR will notice: this note waits.
            svc.client.chat_postMessage(channel=user_id, text=tr("feedback.note_not_published"))
        if item.reply and values.get("reply"):
            sender_tr = svc.translator(item.sender_user_id)
            svc.client.chat_postMessage(
                channel=item.sender_user_id,
                text=sender_tr(
                    "feedback.reply_dm", original=escape(item.text[:500]), reply=escape(item.reply)
                ),
            )
        _post_feedback_to_hr(svc, item)

    @registry.action(FEEDBACK_ADDRESSED)
    def on_addressed(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        svc = registry.services
        user_id = hr_clicker(svc, body)
        if user_id is None:
            return
        feedback_id = _feedback_id(action.get("value"))
        try:
            if feedback_id is None:
                raise NotFound("not_found")
            with svc.db.session() as session:
                item = mark_addressed(session, actor=svc.actor(user_id), feedback_id=feedback_id)
        except DomainError as exc:
            svc.client.chat_postMessage(channel=user_id, text=error_message(exc, svc.translator(user_id)))
            return
        _post_feedback_to_hr(svc, item)
