"""Block Kit for members' privacy (consent, download, delete) and for program feedback."""

from __future__ import annotations

from bot.blocks.common import BlockDict, actions, button, context, header, modal_title, plain, section
from bot.i18n import Translator
from bot.mrkdwn import date_token, escape, user_mention
from models.feedback import ADDRESSED, KINDS, Feedback
from models.member import Member

# IDs Slack sends back.
CONSENT = "privacy_consent"
WITHDRAW = "privacy_withdraw"
DOWNLOAD = "privacy_download"
DELETE_OPEN = "privacy_delete_open"
DELETE_CONFIRM = "privacy_delete_confirm"
CONFIRM_BLOCK = "confirm"
FEEDBACK_SUBMIT = "feedback_submit"
FEEDBACK_REPLY_OPEN = "feedback_reply_open"
FEEDBACK_REPLY_SUBMIT = "feedback_reply_submit"
FEEDBACK_ADDRESSED = "feedback_addressed"
FEEDBACK_ADMIN_ACTIONS = (FEEDBACK_REPLY_OPEN, FEEDBACK_ADDRESSED)


def privacy_blocks(member: Member | None, tr: Translator, *, home: bool = False) -> list[BlockDict]:
    """What the bot holds, the consent state, and the member's buttons (the `/alumni privacy` answer)."""
    consented = member is not None and member.consented_at is not None
    blocks: list[BlockDict] = []
    if home:
        blocks.append(header(tr("privacy.home_title")))
    blocks.append(section(tr("privacy.what_we_hold")))
    if consented and member is not None and member.consented_at is not None:
        when = date_token(
            member.consented_at, fallback=member.consented_at.strftime("%Y-%m-%d"), fmt="{date_short}"
        )
        blocks.append(
            section(tr("privacy.consent_given", when=when, version=escape(member.consent_version or "-")))
        )
        consent_button = button(tr("privacy.withdraw_button"), WITHDRAW, value="withdraw")
    else:
        blocks.append(section(tr("privacy.consent_missing")))
        consent_button = button(tr("privacy.consent_button"), CONSENT, value="consent", style="primary")
    blocks.append(
        actions(
            consent_button,
            button(tr("privacy.download_button"), DOWNLOAD, value="download"),
            button(tr("privacy.delete_button"), DELETE_OPEN, value="delete", style="danger"),
        )
    )
    return blocks


def delete_modal(tr: Translator) -> BlockDict:
    """The "delete my data" confirmation: erasing needs the checkbox ticked."""
    return {
        "type": "modal",
        "callback_id": DELETE_CONFIRM,
        "title": modal_title(tr("privacy.delete_title")),
        "submit": plain(tr("privacy.delete_submit"), 24),
        "close": plain(tr("common.cancel"), 24),
        "blocks": [
            section(tr("privacy.delete_explain")),
            {
                "type": "input",
                "block_id": CONFIRM_BLOCK,
                "label": plain(tr("privacy.delete_confirm_label"), 2000),
                "element": {
                    "type": "checkboxes",
                    "action_id": CONFIRM_BLOCK,
                    "options": [{"text": plain(tr("privacy.delete_confirm_option"), 75), "value": "yes"}],
                },
            },
        ],
    }


def removed_notice_blocks(tr: Translator) -> list[BlockDict]:
    """What an erased member's channel post becomes."""
    return [context(tr("privacy.removed_notice"))]


# ---------------------------------------------------------------------------------------------- feedback


def feedback_modal(tr: Translator) -> BlockDict:
    """`/alumni feedback`: the kind, the text and whether to send it anonymously."""
    options = [{"text": plain(tr(f"feedback.kinds.{k}"), 75), "value": k} for k in KINDS]
    return {
        "type": "modal",
        "callback_id": FEEDBACK_SUBMIT,
        "title": modal_title(tr("feedback.title")),
        "submit": plain(tr("common.submit"), 24),
        "close": plain(tr("common.cancel"), 24),
        "blocks": [
            section(tr("feedback.intro")),
            {
                "type": "input",
                "block_id": "kind",
                "label": plain(tr("feedback.kind_label"), 2000),
                "element": {
                    "type": "static_select",
                    "action_id": "kind",
                    "options": options,
                    "initial_option": options[0],
                },
            },
            {
                "type": "input",
                "block_id": "text",
                "label": plain(tr("feedback.text_label"), 2000),
                "element": {
                    "type": "plain_text_input",
                    "action_id": "text",
                    "multiline": True,
                    "max_length": 3000,
                },
            },
            {
                "type": "input",
                "block_id": "anonymous",
                "optional": True,
                "label": plain(tr("feedback.anonymous_label"), 2000),
                "element": {
                    "type": "checkboxes",
                    "action_id": "anonymous",
                    "options": [{"text": plain(tr("feedback.anonymous_option"), 75), "value": "yes"}],
                },
            },
        ],
    }


def feedback_hr_blocks(item: Feedback, tr: Translator) -> list[BlockDict]:
    """The HR channel's copy of a piece of feedback, with Reply / Mark addressed for HR."""
    sender = tr("feedback.anonymous_sender") if item.anonymous else user_mention(item.sender_user_id)
    blocks: list[BlockDict] = [
        section(
            tr(
                "feedback.hr_message",
                kind=tr(f"feedback.kinds.{item.kind}"),
                sender=sender,
                text=escape(item.text),
            )
        ),
    ]
    if item.reply:
        blocks.append(context(tr("feedback.hr_replied", text=escape(item.reply))))
    # Where the change note stands against the rule "published once, in the next digest, when addressed".
    note = escape(item.change_note)
    if item.status == ADDRESSED and not item.change_note:
        blocks.append(context(tr("feedback.hr_addressed_no_note")))
    elif item.status == ADDRESSED and item.published_at is None:
        blocks.append(context(tr("feedback.hr_addressed", note=note)))
    elif item.status == ADDRESSED:
        blocks.append(context(tr("feedback.hr_addressed_published", note=note)))
    elif item.change_note:
        blocks.append(context(tr("feedback.hr_note_waiting", note=note)))
    buttons = [button(tr("feedback.reply_button"), FEEDBACK_REPLY_OPEN, value=str(item.id))]
    if item.status != ADDRESSED:
        buttons.append(button(tr("feedback.addressed_button"), FEEDBACK_ADDRESSED, value=str(item.id)))
    blocks.append(actions(*buttons))
    return blocks


def feedback_reply_modal(item: Feedback, tr: Translator) -> BlockDict:
    """HR's reply to one piece of feedback (its id in `private_metadata`), the change note, addressed."""
    return {
        "type": "modal",
        "callback_id": FEEDBACK_REPLY_SUBMIT,
        "private_metadata": str(item.id),
        "title": modal_title(tr("feedback.reply_title")),
        "submit": plain(tr("common.submit"), 24),
        "close": plain(tr("common.cancel"), 24),
        "blocks": [
            section(escape(item.text)[:2900]),
            {
                "type": "input",
                "block_id": "reply",
                "optional": True,
                "label": plain(tr("feedback.reply_label"), 2000),
                "hint": plain(tr("feedback.reply_hint"), 2000),
                "element": {
                    "type": "plain_text_input",
                    "action_id": "reply",
                    "multiline": True,
                    "max_length": 3000,
                },
            },
            {
                "type": "input",
                "block_id": "change_note",
                "optional": True,
                "label": plain(tr("feedback.change_label"), 2000),
                "hint": plain(tr("feedback.change_hint"), 2000),
                "element": {"type": "plain_text_input", "action_id": "change_note", "max_length": 500},
            },
            {
                "type": "input",
                "block_id": "addressed",
                "optional": True,
                "label": plain(tr("feedback.addressed_label"), 2000),
                "element": {
                    "type": "checkboxes",
                    "action_id": "addressed",
                    "options": [{"text": plain(tr("feedback.addressed_option"), 75), "value": "yes"}],
                },
            },
        ],
    }
