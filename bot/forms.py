"""Reading modal submissions and answering with per-field errors.

Convention: an input block's `block_id` is the domain field name, so a `ValidationFailed` from `models/`
maps straight onto `response_action: errors`.
"""

from __future__ import annotations

import re
from typing import Any

from bot.i18n import Translator, has
from bot.mrkdwn import strip_invisible
from models.errors import DomainError, ValidationFailed


def state_values(view: dict[str, Any]) -> dict[str, Any]:
    """Flatten `view.state.values` into {block_id: value}; tolerates missing or malformed state.

    Text inputs give a str ('' when empty), selects the selected value (or None), multi-selects and
    checkboxes a list of values, date pickers 'YYYY-MM-DD' or None, file inputs the list of file objects.
    """
    out: dict[str, Any] = {}
    state = view.get("state") if isinstance(view, dict) else None
    values = state.get("values") if isinstance(state, dict) else None
    if not isinstance(values, dict):
        return out
    for block_id, actions in values.items():
        if not isinstance(actions, dict):
            continue
        for element in actions.values():
            if isinstance(element, dict):
                out[str(block_id)] = _element_value(element)
                break
    return out


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: str) -> str:
    """Text without C0 control characters (tabs and newlines stay): PostgreSQL cannot store NUL, and no
    control character means anything in a profile, a post or a referral. Bidi controls and other invisible
    format characters go too (they can make a title read backwards, see `bot.mrkdwn.strip_invisible`)."""
    return strip_invisible(_CONTROL.sub("", value))


def _element_value(element: dict[str, Any]) -> Any:
    kind = element.get("type")
    if kind in {"plain_text_input", "url_text_input", "email_text_input", "number_input"}:
        value = element.get("value")
        return clean_text(value) if isinstance(value, str) else ""
    if kind in {"static_select", "external_select", "radio_buttons"}:
        option = element.get("selected_option")
        return option.get("value") if isinstance(option, dict) else None
    if kind in {"multi_static_select", "multi_external_select", "checkboxes"}:
        options = element.get("selected_options")
        return [o.get("value") for o in options if isinstance(o, dict)] if isinstance(options, list) else []
    if kind == "datepicker":
        return element.get("selected_date")
    if kind == "datetimepicker":
        return element.get("selected_date_time")
    if kind == "timepicker":
        return element.get("selected_time")
    if kind == "users_select":
        return element.get("selected_user")
    if kind == "multi_users_select":
        users = element.get("selected_users")
        return users if isinstance(users, list) else []
    if kind == "conversations_select":
        return element.get("selected_conversation")
    if kind == "channels_select":
        return element.get("selected_channel")
    if kind == "file_input":
        files = element.get("files")
        return files if isinstance(files, list) else []
    return element.get("value")


def text(values: dict[str, Any], key: str) -> str:
    """A text field as a stripped str ('' when missing or not text)."""
    value = values.get(key)
    return value.strip() if isinstance(value, str) else ""


def error_message(error: DomainError, tr: Translator) -> str:
    """The translated message for a domain error (feature keys first, then the shared `errors.` ones)."""
    for key in (error.code, f"errors.{error.code}"):
        if has(key):
            return tr(key, **error.params)
    return tr("errors.invalid")


def field_errors(
    error: ValidationFailed, tr: Translator, *, block_ids: set[str] | None = None
) -> dict[str, str]:
    """{block_id: message} for `ack(response_action="errors", errors=...)`.

    Errors for fields that have no block in the view go to the first input block (sorted), so the user
    still sees them: Slack refuses an error keyed by anything but an input block of the view.
    """
    out: dict[str, str] = {}
    for field, (code, params) in error.errors.items():
        message = error_message(DomainError(code, field=field, **params), tr)
        target = field if not block_ids or field in block_ids else min(block_ids)
        out[target] = (out[target] + " " + message) if target in out else message
    return out


def input_block_ids(view: dict[str, Any]) -> set[str]:
    """Block IDs of the input blocks of a view (where Slack can show a field error)."""
    return {
        str(b["block_id"])
        for b in view.get("blocks", [])
        if isinstance(b, dict) and b.get("type") == "input" and b.get("block_id")
    }
