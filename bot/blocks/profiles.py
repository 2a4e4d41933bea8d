"""Block Kit for profiles: the profile / check-in modal, profile cards and the one-paragraph summary.

Pure functions: a `Member` (or form input) and a `Translator` in, blocks out. Every user-written value is
escaped with `bot.mrkdwn.escape` before it lands in mrkdwn.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from bot.blocks.common import BlockDict, context, section
from bot.i18n import Translator
from bot.mrkdwn import escape, is_user_id, link, truncate, user_mention
from models.member import AVAILABILITY_FLAGS, VISIBILITIES, VISIBILITY_HR, Member
from models.profile import (
    CONSENT_VERSION,
    LONG_TEXT_MAX,
    MIN_YEAR,
    SHORT_FIELDS,
    SHORT_TEXT_MAX,
    SKILLS_MAX,
    ProfileInput,
)

# IDs Slack sends back.
PROFILE_CALLBACK = "profile_edit"
CHECKIN_CALLBACK = "checkin_submit"
PROFILE_OPEN_ACTION = "profile_open"
CHECKIN_OPEN_ACTION = "checkin_open"
WHATS_NEW = "whats_new"
SHARE = "share"
SHARE_VALUE = "share"
# The consent checkbox in the check-in modal; its option's value is the consent text's version.
CONSENT = "consent"
# Input block IDs are the domain field names (bot.forms convention).
FIELD_BLOCKS = (
    "former_department",
    "former_role",
    "joined_year",
    "left_year",
    "current_company",
    "current_role",
    "location",
    "skills",
    "interests",
    "availability",
    "available_until",
    "visibility",
)

Blocks = list[BlockDict]


def _plain(text: str, limit: int = 75) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, limit), "emoji": True}


def _input(
    block_id: str,
    label: str,
    element: dict[str, Any],
    *,
    hint: str | None = None,
    optional: bool = True,
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": _plain(label, 2000),
        "element": {"action_id": block_id, **element},
        "optional": optional,
    }
    if hint:
        block["hint"] = _plain(hint, 2000)
    return block


def _text_element(
    initial: str, *, max_length: int, multiline: bool = False, placeholder: str | None = None
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "multiline": multiline, "max_length": max_length}
    if initial:
        element["initial_value"] = initial[:max_length]
    if placeholder:
        element["placeholder"] = _plain(placeholder, 150)
    return element


def _year_element(initial: str, current_year: int) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "number_input",
        "is_decimal_allowed": False,
        "min_value": str(MIN_YEAR),
        "max_value": str(current_year),
    }
    if initial.isdigit():
        element["initial_value"] = initial
    return element


def flag_label(flag: str, tr: Translator) -> str:
    return tr(f"profiles.flags.{flag}")


def flag_short(flag: str, tr: Translator) -> str:
    return tr(f"profiles.flags_short.{flag}")


def profile_modal(
    tr: Translator,
    data: ProfileInput,
    *,
    checkin: bool,
    consented: bool,
    current_year: int,
    checkin_extra: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The profile modal, or (with `checkin`) the check-in modal: the same form prefilled with the current
    profile, plus "what's new", "share with the community" and `checkin_extra` (other features' boxes, such
    as joining reconnect intros)."""
    blocks: list[dict[str, Any]] = []
    if checkin:
        blocks.append(
            _input(
                WHATS_NEW,
                tr("checkins.modal.whats_new"),
                _text_element(
                    "",
                    max_length=LONG_TEXT_MAX,
                    multiline=True,
                    placeholder=tr("checkins.modal.whats_new_placeholder"),
                ),
            )
        )
        if not consented:
            # Consent where people check in: the welcome message's own text and version, as an optional box
            # (ticking it records consent like the "I agree" button; the Home tab button stays).
            blocks.append(section(tr("onboarding.welcome.data")))
            consent_option = {
                "text": _plain(tr("onboarding.consent_button")),
                "value": CONSENT_VERSION,
                "description": _plain(tr("checkins.modal.consent_description")),
            }
            blocks.append(
                _input(
                    CONSENT, tr("checkins.modal.consent"), {"type": "checkboxes", "options": [consent_option]}
                )
            )
        share_option = {
            "text": _plain(tr("checkins.modal.share_option")),
            "value": SHARE_VALUE,
            "description": _plain(
                tr(
                    "checkins.modal.share_description"
                    if consented
                    else "checkins.modal.share_description_consent"
                )
            ),
        }
        blocks.append(
            _input(SHARE, tr("checkins.modal.share"), {"type": "checkboxes", "options": [share_option]})
        )
        blocks.extend(checkin_extra)
        blocks.append({"type": "divider"})
    blocks.append(context(tr("profiles.modal.intro")))
    if not consented and not checkin:
        blocks.append(context(tr("profiles.modal.not_consented")))
    for name in ("former_department", "former_role"):
        blocks.append(
            _input(
                name,
                tr(f"profiles.fields.{name}"),
                _text_element(getattr(data, name), max_length=SHORT_TEXT_MAX),
            )
        )
    blocks.append(
        _input(
            "joined_year", tr("profiles.fields.joined_year"), _year_element(data.joined_year, current_year)
        )
    )
    blocks.append(
        _input("left_year", tr("profiles.fields.left_year"), _year_element(data.left_year, current_year))
    )
    for name in ("current_company", "current_role", "location"):
        blocks.append(
            _input(
                name,
                tr(f"profiles.fields.{name}"),
                _text_element(getattr(data, name), max_length=SHORT_TEXT_MAX),
            )
        )
    blocks.append(
        _input(
            "skills",
            tr("profiles.fields.skills"),
            _text_element(
                data.skills, max_length=SKILLS_MAX, placeholder=tr("profiles.fields.skills_placeholder")
            ),
            hint=tr("profiles.fields.skills_hint"),
        )
    )
    blocks.append(
        _input(
            "interests",
            tr("profiles.fields.interests"),
            _text_element(data.interests, max_length=LONG_TEXT_MAX, multiline=True),
        )
    )
    options = [{"text": _plain(flag_label(flag, tr)), "value": flag} for flag in AVAILABILITY_FLAGS]
    availability: dict[str, Any] = {"type": "checkboxes", "options": options}
    chosen = [o for o in options if o["value"] in set(data.availability)]
    if chosen:
        availability["initial_options"] = chosen
    blocks.append(_input("availability", tr("profiles.fields.availability"), availability))
    until: dict[str, Any] = {"type": "datepicker"}
    if data.available_until:
        until["initial_date"] = data.available_until
    blocks.append(
        _input(
            "available_until",
            tr("profiles.fields.available_until"),
            until,
            hint=tr("profiles.fields.available_until_hint"),
        )
    )
    visibility_options = [
        {"text": _plain(tr(f"profiles.visibility.{value}")), "value": value} for value in VISIBILITIES
    ]
    current = next((o for o in visibility_options if o["value"] == data.visibility), visibility_options[0])
    blocks.append(
        _input(
            "visibility",
            tr("profiles.fields.visibility"),
            {"type": "radio_buttons", "options": visibility_options, "initial_option": current},
            optional=False,
        )
    )
    return {
        "type": "modal",
        "callback_id": CHECKIN_CALLBACK if checkin else PROFILE_CALLBACK,
        "title": _plain(tr("checkins.modal.title" if checkin else "profiles.modal.title"), 24),
        "submit": _plain(tr("checkins.modal.submit" if checkin else "profiles.modal.submit"), 24),
        "close": _plain(tr("common.cancel"), 24),
        "blocks": blocks,
    }


def done_view(tr: Translator, *, title_key: str, text: str) -> dict[str, Any]:
    """What the modal turns into after a successful submission."""
    return {
        "type": "modal",
        "title": _plain(tr(title_key), 24),
        "close": _plain(tr("common.close"), 24),
        "blocks": [section(text)],
    }


# -- showing a profile -----------------------------------------------------------------------------


def message_url(team_id: str, user_id: str) -> str:
    """A deep link that opens a DM with the user in the Slack client."""
    return f"slack://user?team={team_id}&id={user_id}"


def message_link(team_id: str | None, user_id: str | None, tr: Translator) -> str:
    """The "Message" link of a card: a slack:// deep link when the team is known, else a mention
    (clicking it opens the profile with its Message button). '' for members not in Slack."""
    if not is_user_id(user_id):
        return ""
    if team_id and team_id.isalnum():
        return link(message_url(team_id, user_id), tr("profiles.card.message"))
    return user_mention(user_id)


def availability_text(member: Member, tr: Translator, *, today: date) -> str:
    """ "Open to: rehire, mentoring (until 2027-03-31)" or '' when nothing is in force."""
    flags = member.availability(today=today)
    if not flags:
        return ""
    text = tr("profiles.card.open_to", flags=", ".join(flag_short(f, tr) for f in flags))
    if member.available_until is not None:
        text += " " + tr("profiles.card.until", date=member.available_until.isoformat())
    return text


def _years(member: Member, tr: Translator) -> str:
    if member.joined_year and member.left_year:
        return tr("profiles.card.years", joined=member.joined_year, left=member.left_year)
    if member.left_year:
        return tr("profiles.card.left_only", left=member.left_year)
    if member.joined_year:
        return tr("profiles.card.joined_only", joined=member.joined_year)
    return ""


def name_of(member: Member) -> str:
    """The member's name for mrkdwn (escaped), or a mention the bot built from their user ID."""
    if member.display_name:
        return escape(member.display_name)
    if is_user_id(member.slack_user_id):
        return user_mention(member.slack_user_id)
    return "—"


def profile_lines(member: Member, tr: Translator, *, today: date, interests_limit: int = 300) -> list[str]:
    """The profile as mrkdwn lines (without the name), user text escaped."""
    lines: list[str] = []
    if member.current_role and member.current_company:
        lines.append(
            tr(
                "profiles.card.current",
                role=escape(member.current_role),
                company=escape(member.current_company),
            )
        )
    elif member.current_role or member.current_company:
        lines.append(escape(member.current_role or member.current_company))
    former = " / ".join(escape(v) for v in (member.former_role, member.former_department) if v)
    years = _years(member, tr)
    if former or years:
        lines.append(tr("profiles.card.former", former=former or tr("common.none"), years=years).rstrip(" ·"))
    if member.location:
        lines.append(tr("profiles.card.location", location=escape(member.location)))
    if member.skills:
        lines.append(tr("profiles.card.skills", skills=escape(", ".join(member.skill_list()))))
    open_to = availability_text(member, tr, today=today)
    if open_to:
        lines.append(open_to)
    if member.interests and interests_limit > 0:
        lines.append(
            tr("profiles.card.interests", interests=escape(truncate(member.interests, interests_limit)))
        )
    return lines


def profile_summary(member: Member, tr: Translator, *, today: date) -> str:
    """A compact mrkdwn summary of a profile (name first), for DMs such as "X is interested in …".

    The caller decides whether the reader may see this member (`models.profile.can_view`)."""
    lines = [f"*{name_of(member)}*", *profile_lines(member, tr, today=today, interests_limit=200)]
    return "\n".join(lines)


def profile_card(
    member: Member,
    tr: Translator,
    *,
    team_id: str | None,
    today: date,
    viewer_is_hr: bool = False,
) -> Blocks:
    """One directory result: name and Message link, the profile, and (for HR) visibility badges."""
    head = f"*{name_of(member)}*"
    contact = message_link(team_id, member.slack_user_id, tr)
    if contact:
        head += "  " + contact
    blocks: Blocks = [section("\n".join([head, *profile_lines(member, tr, today=today)]))]
    if viewer_is_hr:
        badges = []
        if member.visibility == VISIBILITY_HR:
            badges.append(tr("profiles.card.badge_hr_only"))
        if not member.has_consented:
            badges.append(tr("profiles.card.badge_not_consented"))
        if badges:
            blocks.append(context(" · ".join(badges)))
    return blocks


def own_profile_text(member: Member | None, tr: Translator, *, today: date) -> str:
    """The member's own profile for their Home tab."""
    if member is None or (member.profile_edited_at is None and not (member.skills or member.current_company)):
        return tr("profiles.home.empty")
    lines = profile_lines(member, tr, today=today)
    if member.visibility == VISIBILITY_HR:
        lines.append(tr("profiles.home.hr_only"))
    return "\n".join(lines) if lines else tr("profiles.home.empty")


def input_from_state(values: dict[str, Any]) -> ProfileInput:
    """Form input from `bot.forms.state_values` of the profile or check-in modal."""

    def text(key: str) -> str:
        value = values.get(key)
        return value if isinstance(value, str) else ""

    flags = values.get("availability")
    until = values.get("available_until")
    visibility = values.get("visibility")
    return ProfileInput(
        **{name: text(name) for name in SHORT_FIELDS},
        joined_year=text("joined_year"),
        left_year=text("left_year"),
        skills=text("skills"),
        interests=text("interests"),
        availability=[str(f) for f in flags] if isinstance(flags, list) else [],
        available_until=until if isinstance(until, str) and until else None,
        visibility=visibility if isinstance(visibility, str) else None,
    )
