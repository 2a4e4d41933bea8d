"""Shared checks for the drills, the hostile-input, signature and authorisation tests.

- `db_snapshot(db)`: a digest of every table's rows, to assert that a request wrote nothing.
- `bot_texts(...)` / `unescaped_sequences(...)`: every piece of mrkdwn the bot sent, scanned for Slack
  control sequences that came from user input.
- `ErrorLog`: captures log records of unhandled listener errors (bot.app's report_error, Bolt).
- `registry_of_harness(bot)`: the live registry of the app under test.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import inspect, text

from bot.i18n import t
from bot.registry import Registry
from bot.slack_emulator.web_api import FakeSlack
from models.db import Database

# Tables whose rows may legitimately change on a refused request (an audit trail of refusals is fine).
VOLATILE_TABLES = frozenset({"alembic_version", "audit_log", "auditlog"})

# Control sequences the hostile inputs carry. Any of these reaching Slack unescaped is an injection.
HOSTILE_USER = "U0HOSTILE"
HOSTILE_SEQUENCES = (
    "<!channel>",
    "<!here>",
    "<!everyone>",
    f"<@{HOSTILE_USER}>",
    "<#C0HOSTILE>",
    "<!subteam^S0HOSTILE>",
    "<https://evil.example/x|bank>",
    "<mailto:evil@evil.example|mail>",
)


def table_names(db: Database) -> list[str]:
    with db.engine.connect() as conn:
        return sorted(inspect(conn).get_table_names())


def db_snapshot(db: Database, *, ignore: Iterable[str] = VOLATILE_TABLES) -> dict[str, tuple[int, str]]:
    """{table: (row count, digest of the sorted rows)} for every table in the database."""
    skip = set(ignore)
    out: dict[str, tuple[int, str]] = {}
    with db.engine.connect() as conn:
        names = sorted(inspect(conn).get_table_names())
        for name in names:
            if name in skip or name.startswith(("sqlite_", "alembic")):
                continue
            quoted = conn.dialect.identifier_preparer.quote(name)
            rows = conn.execute(text(f"SELECT * FROM {quoted}")).all()
            lines = sorted(repr(tuple(r)) for r in rows)
            out[name] = (len(rows), hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16])
    return out


def snapshot_diff(before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]]) -> list[str]:
    """Human-readable changes between two snapshots (empty when nothing changed)."""
    changes = []
    for name in sorted(set(before) | set(after)):
        if before.get(name) != after.get(name):
            b, a = before.get(name, (0, "-")), after.get(name, (0, "-"))
            changes.append(
                f"{name}: {b[0]} rows -> {a[0]} rows" + (" (contents changed)" if b[0] == a[0] else "")
            )
    return changes


# ------------------------------------------------------------------------------------------------
# What the bot sent


def _mrkdwn_in(node: Any, out: list[str], *, top_text_is_mrkdwn: bool) -> None:
    if isinstance(node, dict):
        kind = node.get("type")
        if kind == "mrkdwn" and isinstance(node.get("text"), str):
            out.append(node["text"])
        for key, value in node.items():
            if key == "text" and isinstance(value, str) and kind is None and top_text_is_mrkdwn:
                out.append(value)
            elif isinstance(value, (dict, list)):
                _mrkdwn_in(value, out, top_text_is_mrkdwn=False)
    elif isinstance(node, list):
        for item in node:
            _mrkdwn_in(item, out, top_text_is_mrkdwn=False)


def rendered_texts(message: dict[str, Any]) -> list[str]:
    """The mrkdwn-rendered strings of a message/view/ack body: top-level text and mrkdwn text objects.

    plain_text objects are skipped: Slack shows them literally (no mentions, no links).
    """
    out: list[str] = []
    if isinstance(message.get("text"), str):
        out.append(message["text"])
    for key in ("blocks", "attachments", "view"):
        if key in message:
            value = message[key]
            if isinstance(value, str):
                try:
                    value = json.loads(value)
                except ValueError:
                    continue
            _mrkdwn_in(value, out, top_text_is_mrkdwn=False)
    return out


OUTGOING_METHODS = (
    "chat.postMessage",
    "chat.postEphemeral",
    "chat.update",
    "chat.scheduleMessage",
    "views.open",
    "views.push",
    "views.update",
    "views.publish",
    "response_url",
)


def outgoing_texts(fake: FakeSlack, start: int = 0) -> list[tuple[str, str]]:
    """(method, text) for every rendered string the bot sent to the fake since call index `start`."""
    with fake._lock:
        calls = list(fake.calls[start:])
    out = []
    for call in calls:
        if call.method in OUTGOING_METHODS:
            for piece in rendered_texts(call.args):
                out.append((call.method, piece))
    return out


def unescaped_sequences(pieces: Iterable[tuple[str, str]], extra: Iterable[str] = ()) -> list[str]:
    """Every hostile control sequence found verbatim in what the bot rendered."""
    found = []
    needles = (*HOSTILE_SEQUENCES, *extra)
    for method, piece in pieces:
        for needle in needles:
            if needle in piece:
                found.append(f"{method}: {needle!r} in {piece[:200]!r}")
    return found


def generic_error_texts() -> set[str]:
    """The translated 'something went wrong' messages report_error sends after an unhandled exception."""
    return {t("common.error_generic", lang) for lang in ("en", "ja")}


def generic_errors_sent(fake: FakeSlack, start: int = 0) -> list[str]:
    generic = generic_error_texts()
    return [f"{m}: {p[:120]}" for m, p in outgoing_texts(fake, start) if p in generic]


def ack_texts(answer_text: str) -> list[tuple[str, str]]:
    """Rendered strings of an HTTP ack body (JSON), as ('ack', text) pairs."""
    if not answer_text:
        return []
    try:
        body = json.loads(answer_text)
    except ValueError:
        return [("ack", answer_text)]
    if not isinstance(body, dict):
        return []
    pieces = [("ack", p) for p in rendered_texts(body)]
    errors = body.get("errors")
    if isinstance(errors, dict):
        pieces += [("ack.errors", str(v)) for v in errors.values()]
    return pieces


# ------------------------------------------------------------------------------------------------
# Logs


class ErrorLog(logging.Handler):
    """Collects ERROR records (unhandled listener errors) from every logger while installed."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []
        self._lock2 = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self._lock2:
            self.records.append(record)

    def messages(self) -> list[str]:
        with self._lock2:
            out = []
            for r in self.records:
                line = f"{r.name}: {r.getMessage()}"
                if r.exc_info and r.exc_info[1] is not None:
                    line += f" [{type(r.exc_info[1]).__name__}: {str(r.exc_info[1])[:200]}]"
                out.append(line)
            return out

    def clear(self) -> None:
        with self._lock2:
            self.records.clear()


@contextmanager
def capture_errors() -> Iterator[ErrorLog]:
    handler = ErrorLog()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


# ------------------------------------------------------------------------------------------------
# Registry


def live_registry(services: Any) -> Registry:
    """A registry listing what the app under test registers (same handler modules, no Bolt app)."""
    from bot.app import build_registry

    return build_registry(None, services)


def action_ids(registry: Registry) -> list[str]:
    """Registered action IDs; a regex registration is listed by its pattern text."""
    return [a if isinstance(a, str) else a.pattern for a in registry.actions]


def sample_action_id(action: str | re.Pattern[str]) -> str:
    """A concrete action_id a registration matches (a regex gets a plausible sample)."""
    if isinstance(action, str):
        return action
    pattern = action.pattern.strip("^$")
    sample = re.sub(r"\(\?P<\w+>[^)]*\)|\([^)]*\)|\\d\+|\\d\*|\.\+|\.\*|\[[^\]]*\][+*]?", "1", pattern)
    sample = sample.replace("\\", "")
    if not action.fullmatch(sample) and not action.match(sample):
        for candidate in (f"{sample}1", pattern.replace(".*", "x").replace(".+", "x")):
            if action.match(candidate):
                return candidate
    return sample


def settle(fake: FakeSlack, *, quiet: float = 0.15, timeout: float = 5.0) -> None:
    """Wait until the fake has seen no new call for `quiet` seconds (background listener work done)."""
    deadline = time.monotonic() + timeout
    last = len(fake.calls)
    last_change = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.02)
        n = len(fake.calls)
        if n != last:
            last, last_change = n, time.monotonic()
        elif time.monotonic() - last_change >= quiet:
            return


# ------------------------------------------------------------------------------------------------
# Modals: turn a view the bot opened into the state Slack would submit


def input_elements(view: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(block_id, action_id, element) of every input block of a view."""
    out = []
    for block in view.get("blocks") or []:
        if (
            isinstance(block, dict)
            and block.get("type") == "input"
            and isinstance(block.get("element"), dict)
        ):
            element = block["element"]
            out.append(
                (str(block.get("block_id")), str(element.get("action_id") or block.get("block_id")), element)
            )
    return out


def element_state(element: dict[str, Any], value: Any = None, *, use_initial: bool = True) -> dict[str, Any]:
    """The `state.values` entry Slack sends for an element holding `value` (or its initial value)."""
    kind = element.get("type")
    state: dict[str, Any] = {"type": kind}
    if kind in {"plain_text_input", "url_text_input", "email_text_input", "number_input"}:
        state["value"] = (
            value if value is not None else (element.get("initial_value") if use_initial else None)
        )
    elif kind in {"static_select", "external_select", "radio_buttons"}:
        if value is not None:
            state["selected_option"] = {
                "value": value,
                "text": {"type": "plain_text", "text": str(value)[:75]},
            }
        else:
            state["selected_option"] = element.get("initial_option") if use_initial else None
    elif kind in {"multi_static_select", "multi_external_select", "checkboxes"}:
        if value is not None:
            state["selected_options"] = [{"value": v} for v in value]
        else:
            state["selected_options"] = list(element.get("initial_options") or []) if use_initial else []
    elif kind == "datepicker":
        state["selected_date"] = (
            value if value is not None else (element.get("initial_date") if use_initial else None)
        )
    elif kind == "timepicker":
        state["selected_time"] = (
            value if value is not None else (element.get("initial_time") if use_initial else None)
        )
    elif kind == "datetimepicker":
        state["selected_date_time"] = (
            value if value is not None else (element.get("initial_date_time") if use_initial else None)
        )
    elif kind == "users_select":
        state["selected_user"] = (
            value if value is not None else (element.get("initial_user") if use_initial else None)
        )
    elif kind == "multi_users_select":
        state["selected_users"] = value if value is not None else list(element.get("initial_users") or [])
    elif kind in {"conversations_select", "channels_select"}:
        key = "selected_conversation" if kind == "conversations_select" else "selected_channel"
        state[key] = value
    elif kind == "file_input":
        state["files"] = value or []
    else:
        state["value"] = value
    return state


def options_of(element: dict[str, Any]) -> list[str]:
    """The option values a select/checkboxes/radio element offers."""
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    return [str(o.get("value")) for o in options if isinstance(o, dict) and o.get("value") is not None]


def state_from_view(view: dict[str, Any], values: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """`state.values` for a submission of `view`: initial values, overridden by `values` {block_id: value}."""
    values = values or {}
    state: dict[str, dict[str, Any]] = {}
    for block_id, action_id, element in input_elements(view):
        state[block_id] = {action_id: element_state(element, values.get(block_id))}
    return state
