"""Block Kit for reconnect intros, as plain dicts: the group DM introduction, the "did you meet?" follow-up,
the settings modal and the Home section.

One message per group. When the members read different languages the message carries each language in
turn (the members' languages in the order they were paired), so everyone reads it in their own; the
suggested times are Slack date tokens, which every viewer sees in their own time zone. User text is escaped
(`bot.blocks.profiles.profile_lines` escapes every profile field).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.blocks.common import input_block
from bot.blocks.profiles import name_of, profile_lines
from bot.i18n import LANGUAGES, Translator
from bot.mrkdwn import date_token, is_user_id, truncate, user_mention
from models.intro import CADENCES, WANTS, IntroPreference
from models.member import Member

# IDs Slack sends back.
PREFS_CALLBACK = "intros_prefs"
PREFS_OPEN_ACTION = "intros_prefs_open"
PAUSE_ACTION = "intros_pause"
RESUME_ACTION = "intros_resume"
FOLLOW_UP_BLOCK = "intros_follow_up"
MET_YES_ACTION = "intros_met_yes"  # value: the group id
MET_NO_ACTION = "intros_met_no"  # value: the group id
# Input block IDs (and their action IDs) are the domain field names (bot.forms convention).
OPTED_IN_BLOCK = "opted_in"
OPTED_IN_VALUE = "on"
CADENCE_BLOCK = "cadence_weeks"
WANTS_BLOCK = "wants"
PAUSED_UNTIL_BLOCK = "paused_until"
PAUSE_WEEKS = 4  # the Home tab's "Pause for 4 weeks"

# Suggested meeting times: local working hours on weekdays, within the next week.
WORK_HOURS = range(10, 18)
SUGGESTED_TIMES = 3
SECTION_LIMIT = 3000

Blocks = list[dict[str, Any]]


def _plain(text: str, limit: int = 75) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, limit), "emoji": True}


def _section(mrkdwn: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(mrkdwn, SECTION_LIMIT)}}


def _context(mrkdwn: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(mrkdwn, 2000)}]}


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {"type": "button", "text": _plain(text), "action_id": action_id, "value": value}
    if style:
        button["style"] = style
    return button


def zone_of(name: str | None, default: ZoneInfo) -> ZoneInfo:
    """A member's time zone (`default` when unknown or invalid)."""
    if not name:
        return default
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return default


def languages_of(members: Sequence[Member], *, default: str) -> list[str]:
    """The languages the group reads, each once, in the order of the members (`default` when unknown)."""
    from bot.i18n import language_of

    found: list[str] = []
    for member in members:
        language = language_of(member.locale, default)
        if language not in found:
            found.append(language)
    return found or [default if default in LANGUAGES else LANGUAGES[0]]


def suggested_times(
    zones: Sequence[ZoneInfo], *, after: datetime, count: int = SUGGESTED_TIMES
) -> list[datetime]:
    """Up to `count` hours in the week after `after`, on different days, when every member is inside local
    working hours on a weekday; when no hour suits all, those that suit the most (none when only one
    member's day would be covered). Earliest first."""
    start = after.replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    scored: list[tuple[int, datetime]] = []
    for step in range(7 * 24):
        instant = start + timedelta(hours=step)
        fits = 0
        for zone in zones:
            local = instant.astimezone(zone)
            if local.weekday() < 5 and local.hour in WORK_HOURS:
                fits += 1
        scored.append((fits, instant))
    best = max((fits for fits, _ in scored), default=0)
    if best < min(2, len(zones)):
        return []
    chosen: list[datetime] = []
    days: set[str] = set()
    for fits, instant in scored:
        day = instant.date().isoformat()
        if fits == best and day not in days:
            chosen.append(instant)
            days.add(day)
        if len(chosen) >= count:
            break
    return chosen


def _intro_part(
    tr: Translator,
    members: Sequence[Member],
    *,
    overlap: str,
    times: Sequence[datetime],
    today: Any,
    someone_left: bool,
) -> Blocks:
    blocks: Blocks = [_section(tr("intros.intro.title"))]
    for member in members:
        head = f"*{name_of(member)}*"
        if is_user_id(member.slack_user_id):
            head += f" ({user_mention(member.slack_user_id)})"
        blocks.append(
            _section("\n".join([head, *profile_lines(member, tr, today=today, interests_limit=200)]))
        )
    if someone_left:
        blocks.append(_context(tr("intros.intro.member_left")))
    if overlap in WANTS:
        blocks.append(_context(tr(f"intros.intro.shared_{overlap}")))
    if times:
        lines = [tr("intros.intro.times_title")]
        lines += ["• " + date_token(t, fallback=f"{t:%Y-%m-%d %H:%M} UTC") for t in times]
        blocks.append(_section("\n".join(lines)))
    else:
        blocks.append(_section(tr("intros.intro.times_none")))
    blocks.append(_context(tr("intros.intro.footer")))
    return blocks


def intro_message(
    members: Sequence[Member],
    *,
    overlap: str,
    at: datetime,
    default_language: str,
    default_zone: ZoneInfo,
    someone_left: bool = False,
) -> dict[str, Any]:
    """The group DM introducing `members` to each other (chat.postMessage arguments).

    `someone_left`: the intro is redrawn after a member of the group erased their data; it shows the others
    and says that one of them has left (suggested times are worked out for the members who remain)."""
    languages = languages_of(members, default=default_language)
    times = suggested_times([zone_of(m.tz, default_zone) for m in members], after=at)
    blocks: Blocks = []
    texts: list[str] = []
    for index, language in enumerate(languages):
        tr = Translator(language)
        if index:
            blocks.append({"type": "divider"})
        blocks += _intro_part(
            tr, members, overlap=overlap, times=times, today=at.date(), someone_left=someone_left
        )
        texts.append(tr("intros.intro.text"))
    return {"text": " / ".join(texts), "blocks": blocks}


def follow_up_message(members: Sequence[Member], *, group_id: int, default_language: str) -> dict[str, Any]:
    """ "Did you meet?" in the group DM: the question in each member's language and one row of buttons
    (`MET_YES_ACTION`, `MET_NO_ACTION`, value: the group id) in block `FOLLOW_UP_BLOCK`."""
    translators = [Translator(lang) for lang in languages_of(members, default=default_language)]
    blocks: Blocks = [_section(tr("intros.follow_up.question")) for tr in translators]
    yes = " / ".join(tr("intros.follow_up.yes") for tr in translators)
    no = " / ".join(tr("intros.follow_up.no") for tr in translators)
    blocks.append(
        {
            "type": "actions",
            "block_id": FOLLOW_UP_BLOCK,
            "elements": [
                _button(yes, MET_YES_ACTION, str(group_id), style="primary"),
                _button(no, MET_NO_ACTION, str(group_id)),
            ],
        }
    )
    return {"text": " / ".join(tr("intros.follow_up.text") for tr in translators), "blocks": blocks}


def answer_note(tr: Translator, *, met: bool) -> str:
    """What the member who answered sees (an ephemeral message)."""
    return tr("intros.follow_up.thanks_yes" if met else "intros.follow_up.thanks_no")


def _option(text: str, value: str, description: str | None = None) -> dict[str, Any]:
    option: dict[str, Any] = {"text": _plain(text), "value": value}
    if description:
        option["description"] = _plain(description)
    return option


def _day(instant: datetime) -> str:
    # The pause ends at 00:00 UTC after its last day; the member picked that last day.
    return (instant - timedelta(seconds=1)).date().isoformat()


def preferences_modal(tr: Translator, pref: IntroPreference | None, *, at: datetime) -> dict[str, Any]:
    """The settings modal (callback `PREFS_CALLBACK`), prefilled from `pref`. Block IDs: `OPTED_IN_BLOCK`,
    `CADENCE_BLOCK`, `WANTS_BLOCK`, `PAUSED_UNTIL_BLOCK` (the field keys of `ValidationFailed`)."""
    opt_in = _option(
        tr("intros.prefs.opted_in_option"), OPTED_IN_VALUE, tr("intros.prefs.opted_in_description")
    )
    opt_in_element: dict[str, Any] = {"type": "checkboxes", "action_id": OPTED_IN_BLOCK, "options": [opt_in]}
    if pref is None or pref.opted_in:
        opt_in_element["initial_options"] = [opt_in]  # opening the modal means they want to join
    cadences = [_option(tr(f"intros.prefs.cadence_{weeks}"), str(weeks)) for weeks in CADENCES]
    current = pref.cadence_weeks if pref is not None else CADENCES[0]
    cadence_element = {
        "type": "radio_buttons",
        "action_id": CADENCE_BLOCK,
        "options": cadences,
        "initial_option": next((o for o in cadences if o["value"] == str(current)), cadences[0]),
    }
    wants = [_option(tr(f"intros.wants.{tag}"), tag) for tag in WANTS]
    wants_element: dict[str, Any] = {"type": "checkboxes", "action_id": WANTS_BLOCK, "options": wants}
    chosen = set(pref.want_list()) if pref is not None else set()
    if chosen:
        wants_element["initial_options"] = [o for o in wants if o["value"] in chosen]
    pause_element: dict[str, Any] = {"type": "datepicker", "action_id": PAUSED_UNTIL_BLOCK}
    if pref is not None and pref.is_paused(at) and pref.paused_until is not None:
        pause_element["initial_date"] = _day(pref.paused_until)
    return {
        "type": "modal",
        "callback_id": PREFS_CALLBACK,
        "title": _plain(tr("intros.prefs.title"), 24),
        "submit": _plain(tr("intros.prefs.submit"), 24),
        "close": _plain(tr("common.cancel"), 24),
        "blocks": [
            input_block(OPTED_IN_BLOCK, tr("intros.prefs.opted_in"), opt_in_element, optional=True),
            input_block(CADENCE_BLOCK, tr("intros.prefs.cadence"), cadence_element),
            input_block(
                WANTS_BLOCK,
                tr("intros.prefs.wants"),
                wants_element,
                optional=True,
                hint=tr("intros.prefs.wants_hint"),
            ),
            input_block(
                PAUSED_UNTIL_BLOCK,
                tr("intros.prefs.paused_until"),
                pause_element,
                optional=True,
                hint=tr("intros.prefs.paused_until_hint"),
            ),
        ],
    }


def preferences_from_state(values: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments for `models.intro.set_intro_preferences` from `bot.forms.state_values` of the modal."""
    opted = values.get(OPTED_IN_BLOCK)
    wants = values.get(WANTS_BLOCK)
    cadence = values.get(CADENCE_BLOCK)
    until = values.get(PAUSED_UNTIL_BLOCK)
    return {
        "opted_in": isinstance(opted, list) and OPTED_IN_VALUE in opted,
        "cadence_weeks": cadence if isinstance(cadence, str) else None,
        "wants": [str(w) for w in wants] if isinstance(wants, list) else [],
        "paused_until": until if isinstance(until, str) and until else None,
    }


def checkin_block(tr: Translator, pref: IntroPreference | None) -> dict[str, Any]:
    """The check-in modal's optional "Join reconnect intros" box, ticked when the member is opted in now.
    Its block ID is `OPTED_IN_BLOCK`, the field the intros model names in its errors (consent needed)."""
    option = _option(tr("intros.checkin.option"), OPTED_IN_VALUE, tr("intros.checkin.option_description"))
    element: dict[str, Any] = {"type": "checkboxes", "action_id": OPTED_IN_BLOCK, "options": [option]}
    if pref is not None and pref.opted_in:
        element["initial_options"] = [option]
    return input_block(
        OPTED_IN_BLOCK, tr("intros.checkin.label"), element, optional=True, hint=tr("intros.checkin.hint")
    )


def checkin_choice(values: dict[str, Any]) -> bool | None:
    """Whether the check-in modal's intros box is ticked (`bot.forms.state_values`); None when the modal
    had no such box (one opened before it existed): then intros stay as they are."""
    if OPTED_IN_BLOCK not in values:
        return None
    chosen = values[OPTED_IN_BLOCK]
    return isinstance(chosen, list) and OPTED_IN_VALUE in chosen


def home_blocks(tr: Translator, pref: IntroPreference | None, *, at: datetime) -> Blocks:
    """The member's Home section: on (cadence, wants) / paused until / off, and the matching buttons."""
    settings = _button(tr("intros.home.settings"), PREFS_OPEN_ACTION, "home")
    if pref is None or not pref.opted_in:
        status = tr("intros.home.off")
        buttons = [_button(tr("intros.home.join"), PREFS_OPEN_ACTION, "home", style="primary")]
    elif pref.is_paused(at) and pref.paused_until is not None:
        status = tr("intros.home.paused", date=_day(pref.paused_until))
        buttons = [_button(tr("intros.home.resume"), RESUME_ACTION, "home"), settings]
    else:
        wants = ", ".join(tr(f"intros.wants.{w}") for w in pref.want_list()) or tr("intros.home.anyone")
        status = tr("intros.home.on", weeks=pref.cadence_weeks, wants=wants)
        buttons = [
            settings,
            _button(tr("intros.home.pause", weeks=PAUSE_WEEKS), PAUSE_ACTION, str(PAUSE_WEEKS)),
        ]
    return [
        _section(tr("intros.home.title")),
        _context(status),
        {"type": "actions", "block_id": "intros_home", "elements": buttons},
    ]
