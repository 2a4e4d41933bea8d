"""Block Kit for check-ins: the nudge DM, the community post, the Home section and nudge settings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from bot.blocks.common import BlockDict, actions, button, context, section, to_dicts
from bot.blocks.profiles import CHECKIN_OPEN_ACTION, PROFILE_OPEN_ACTION, own_profile_text, profile_lines
from bot.i18n import Translator
from bot.mrkdwn import date_token, escape, truncate, user_mention
from models.member import VISIBILITY_MEMBERS, Member

NUDGE_SNOOZE_ACTION = "nudge_snooze"
NUDGE_OFF_ACTION = "nudge_off"
NUDGE_SETTINGS_ACTION = "nudge_settings_open"
NUDGE_SETTINGS_CALLBACK = "nudge_settings"
NUDGES_BLOCK = "nudges"
DIGEST_BLOCK = "personal_digest"
NUDGES_ON, NUDGES_SNOOZE, NUDGES_OFF = "on", "snooze", "off"
DIGEST_ON = "on"
POST_TEXT_LIMIT = 500

Blocks = list[BlockDict]


def _day(instant: datetime) -> str:
    return date_token(instant, fallback=instant.strftime("%Y-%m-%d"), fmt="{date_short_pretty}")


def nudge_message(tr: Translator, *, last_contact: datetime | None, snooze_days: int) -> dict[str, Any]:
    """The check-in nudge DM: a friendly question and buttons (check in, snooze, turn off)."""
    text = (
        tr("checkins.nudge.text", last=_day(last_contact))
        if last_contact
        else tr("checkins.nudge.text_never")
    )
    blocks: Blocks = [
        section(text),
        actions(
            button(tr("checkins.buttons.checkin"), CHECKIN_OPEN_ACTION, value="nudge", style="primary"),
            button(tr("checkins.nudge.snooze", days=snooze_days), NUDGE_SNOOZE_ACTION, value="snooze"),
            button(tr("checkins.nudge.off"), NUDGE_OFF_ACTION, value="off"),
        ),
        context(tr("checkins.nudge.footer")),
    ]
    return {"text": text, "blocks": to_dicts(blocks)}


def nudge_answered(tr: Translator, *, note: str) -> dict[str, Any]:
    """The nudge DM after the member snoozed or turned nudges off (the check-in button stays)."""
    blocks: Blocks = [
        section(note),
        actions(button(tr("checkins.buttons.checkin"), CHECKIN_OPEN_ACTION, value="nudge")),
    ]
    return {"text": note, "blocks": to_dicts(blocks)}


def community_post(tr: Translator, *, user_id: str, member: Member, whats_new: str) -> dict[str, Any]:
    """The short, friendly post in the alumni channel when a member shares their check-in."""
    text = tr(
        "checkins.post.text", mention=user_mention(user_id), text=escape(truncate(whats_new, POST_TEXT_LIMIT))
    )
    blocks: Blocks = [section(text)]
    if member.current_role and member.current_company and member.visibility == VISIBILITY_MEMBERS:
        blocks.append(
            context(
                tr(
                    "profiles.card.current",
                    role=escape(member.current_role),
                    company=escape(member.current_company),
                )
            )
        )
    blocks.append(context(tr("checkins.post.footer")))
    return {"text": text, "blocks": to_dicts(blocks), "unfurl_links": False, "unfurl_media": False}


def nudge_status(member: Member | None, tr: Translator, *, at: datetime, cadence_days: int) -> str:
    if member is not None and not member.nudges_enabled:
        return tr("checkins.home.nudges_off")
    if member is not None and member.nudge_snoozed_until is not None and member.nudge_snoozed_until > at:
        return tr("checkins.home.nudges_snoozed", date=_day(member.nudge_snoozed_until))
    return tr("checkins.home.nudges_on", days=cadence_days)


def home_blocks(
    member: Member | None,
    tr: Translator,
    *,
    at: datetime,
    today: date,
    cadence_days: int,
) -> Blocks:
    """The member's Home section: profile summary, last check-in, reminders and buttons."""
    blocks: Blocks = [section(tr("checkins.home.title")), section(own_profile_text(member, tr, today=today))]
    last = member.last_checkin_at if member else None
    facts = [
        tr("checkins.home.last_checkin", date=_day(last)) if last else tr("checkins.home.never"),
        nudge_status(member, tr, at=at, cadence_days=cadence_days),
        tr("checkins.home.digest_on" if member and member.personal_digest else "checkins.home.digest_off"),
    ]
    blocks.append(context(" · ".join(facts)))
    buttons = [
        button(tr("checkins.buttons.checkin"), CHECKIN_OPEN_ACTION, value="home", style="primary"),
        button(tr("checkins.buttons.edit_profile"), PROFILE_OPEN_ACTION, value="home"),
        button(tr("checkins.buttons.nudge_settings"), NUDGE_SETTINGS_ACTION, value="home"),
    ]
    if member is None or not member.has_consented:
        # The consent button itself lives in the privacy section of the Home tab.
        blocks.append(context(tr("checkins.home.consent_needed")))
    blocks.append(actions(*buttons))
    return blocks


def settings_modal(
    tr: Translator, member: Member | None, *, at: datetime, snooze_days: int
) -> dict[str, Any]:
    """Nudge settings: on / snooze / off, and the opt-in personal digest."""
    options = [
        {"text": {"type": "plain_text", "text": tr("checkins.settings.on")}, "value": NUDGES_ON},
        {
            "text": {"type": "plain_text", "text": tr("checkins.settings.snooze", days=snooze_days)},
            "value": NUDGES_SNOOZE,
        },
        {"text": {"type": "plain_text", "text": tr("checkins.settings.off")}, "value": NUDGES_OFF},
    ]
    if member is not None and not member.nudges_enabled:
        current = options[2]
    elif member is not None and member.nudge_snoozed_until is not None and member.nudge_snoozed_until > at:
        current = options[1]
    else:
        current = options[0]
    digest_option = {
        "text": {"type": "plain_text", "text": tr("checkins.settings.digest_option")},
        "value": DIGEST_ON,
        "description": {"type": "plain_text", "text": tr("checkins.settings.digest_description")},
    }
    digest: dict[str, Any] = {"type": "checkboxes", "action_id": DIGEST_BLOCK, "options": [digest_option]}
    if member is not None and member.personal_digest:
        digest["initial_options"] = [digest_option]
    return {
        "type": "modal",
        "callback_id": NUDGE_SETTINGS_CALLBACK,
        "title": {"type": "plain_text", "text": tr("checkins.settings.title")},
        "submit": {"type": "plain_text", "text": tr("common.save")},
        "close": {"type": "plain_text", "text": tr("common.cancel")},
        "blocks": [
            {
                "type": "input",
                "block_id": NUDGES_BLOCK,
                "label": {"type": "plain_text", "text": tr("checkins.settings.nudges")},
                "element": {
                    "type": "radio_buttons",
                    "action_id": NUDGES_BLOCK,
                    "options": options,
                    "initial_option": current,
                },
            },
            {
                "type": "input",
                "block_id": DIGEST_BLOCK,
                "optional": True,
                "label": {"type": "plain_text", "text": tr("checkins.settings.digest")},
                "element": digest,
            },
        ],
    }


def checkin_summary(member: Member, tr: Translator, *, today: date) -> str:
    """The profile lines a member sees after checking in (their own data)."""
    return "\n".join(profile_lines(member, tr, today=today)) or tr("profiles.home.empty")
