"""Hostile input: property-based tests over every command, button and modal the bot has (issue 9).

Hypothesis generates command texts, button values and modal submissions for every form the bot registers
(each modal is the one the bot really opens, captured from the fake Slack, so new fields are fuzzed as they
appear): unicode, emoji, right-to-left marks, control characters, NUL, 10,000-character strings, Slack
control sequences (`<!channel>`, `<@U0HOSTILE>`, `<https://evil.example/x|bank>`...), SQL and LIKE
fragments, malformed or missing `state.values`, unknown `action_id`s and tampered `private_metadata`.

For every request: no 5xx; and for every form/command/action batch: no unhandled exception (no ERROR log
record, no generic "something went wrong" message sent), no hostile control sequence unescaped in anything
the bot sent (messages, ephemerals, response_url posts, modals, Home tabs, ack bodies); a submission answered
with field errors stored nothing; whatever was stored respects the columns' declared lengths.

SQLite runs the full sample, PostgreSQL a smaller one (the whole file stays well under a minute). The number
of generated cases is printed in pytest's terminal summary ("hostile input: N generated cases").
"""

from __future__ import annotations

import json
import random
import string
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import String, inspect, text

from tests.conftest import ALUMNI_CHANNEL, HR, BotHarness
from tests.drills.support import (
    HOSTILE_SEQUENCES,
    HOSTILE_USER,
    ErrorLog,
    ack_texts,
    capture_errors,
    db_snapshot,
    element_state,
    generic_errors_sent,
    input_elements,
    live_registry,
    options_of,
    outgoing_texts,
    sample_action_id,
    settle,
    snapshot_diff,
    unescaped_sequences,
)
from tests.test_authorization_matrix import MATRIX, STRANGER, USERS, Ctx, Row, capture_view, make_ctx

# ------------------------------------------------------------------------------------------------------------
# Strategies

SQL_AND_LIKE = [
    "'; DROP TABLE member; --",
    '" OR 1=1 --',
    "%",
    "_",
    "\\",
    "%' OR '1'='1",
    "%%_\\%",
    "1; SELECT pg_sleep(5)",
]
ODD = [
    "囲碁",
    "盆栽",
    "مرحبا بالعالم",  # Arabic (RTL)
    "שלום",  # Hebrew (RTL)
    "\u202egnp.exe",  # right-to-left override
    "\u200b\u200d\ufeff",  # zero-width
    "🎉👨‍👩‍👧‍👦🏳️‍🌈",
    "e\u0301\u0301\u0301",  # combining marks
    "\x00",
    "\x1b[31mred",
    "\r\n\t",
    "\u3000",  # ideographic space
    "&amp;&lt;&gt;",
    "*bold* _it_ ~s~ `code` ```block```",
    ":smile:",
    "<",
    ">",
    "&",
    "|",
]
piece = st.one_of(
    st.sampled_from(HOSTILE_SEQUENCES),
    st.sampled_from(SQL_AND_LIKE),
    st.sampled_from(ODD),
    st.text(max_size=12),
    st.text(alphabet=string.ascii_letters + string.digits + " ", max_size=12),
)
hostile_text = st.one_of(
    st.lists(piece, min_size=1, max_size=6).map("".join),
    st.sampled_from(HOSTILE_SEQUENCES),
    st.builds(
        lambda p, n: p * n,
        st.sampled_from(["A", "囲", "<!channel>", "🎉", "x "]),
        st.sampled_from([300, 2001, 3001, 10_000]),
    ),
    st.just(""),
    st.just("   "),
)
weird_ids = st.sampled_from(
    [
        "",
        "0",
        "-1",
        "1",
        "2",
        "999999999",
        "99999999999999999999",
        "1.5",
        "1e3",
        "null",
        "[]",
        "{}",
        "1:2:3",
        "U0HOSTILE",
        "<@U0HOSTILE>",
    ]
)


def value_for(element: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values Slack could carry for an element, plus values a forger could put there."""
    kind = element.get("type")
    offered = options_of(element)
    if kind in {"plain_text_input", "url_text_input", "email_text_input"}:
        return st.one_of(
            hostile_text,
            st.sampled_from(
                [
                    "https://example.com/x",
                    "a@example.com",
                    "javascript:alert(1)",
                    "https://evil.example/x|bank",
                ]
            ),
        )
    if kind == "number_input":
        return st.one_of(st.integers(-(10**12), 10**12).map(str), weird_ids, hostile_text)
    if kind in {"static_select", "radio_buttons", "external_select"}:
        return st.one_of(st.sampled_from(offered) if offered else st.nothing(), hostile_text, st.none())
    if kind in {"checkboxes", "multi_static_select", "multi_external_select"}:
        return st.one_of(
            st.lists(st.sampled_from(offered), unique=True) if offered else st.just([]),
            st.lists(hostile_text, max_size=3),
        )
    if kind == "datepicker":
        return st.one_of(
            st.dates(date(1900, 1, 1), date(2200, 12, 31)).map(date.isoformat),
            st.sampled_from(["2026-02-30", "not a date", "", "9999-99-99"]),
            st.none(),
        )
    if kind == "timepicker":
        return st.one_of(st.sampled_from(["00:00", "23:59", "25:61", "noon", ""]), st.none())
    if kind == "datetimepicker":
        return st.one_of(st.integers(-(10**11), 10**11), st.just(0), st.none())
    if kind in {"users_select", "multi_users_select"}:
        users = st.sampled_from([*USERS.values(), HOSTILE_USER, "W0NOBODY", "", "<!channel>"])
        return st.lists(users, max_size=3) if kind.startswith("multi") else st.one_of(users, st.none())
    if kind in {"conversations_select", "channels_select"}:
        return st.sampled_from([ALUMNI_CHANNEL, "C0NOPE", "", None])
    if kind == "file_input":
        return st.one_of(st.just([]), st.just([{"id": "F0NOPE", "name": "x.csv"}]), st.just([{"id": None}]))
    return hostile_text


SHAPES = ["normal"] * 8 + [
    "drop_some",
    "no_state",
    "values_not_dict",
    "element_not_dict",
    "unknown_block",
    "wrong_types",
]


# ------------------------------------------------------------------------------------------------------------
# Bookkeeping: generated cases and findings


@dataclass
class Tally:
    cases: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, n: int = 1) -> None:
        self.cases[kind] = self.cases.get(kind, 0) + n

    @property
    def total(self) -> int:
        return sum(self.cases.values())


TALLY = Tally()


class _SummaryPlugin:
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if TALLY.total:
            parts = ", ".join(f"{k} {v}" for k, v in sorted(TALLY.cases.items()))
            terminalreporter.write_line(f"hostile input: {TALLY.total} generated cases ({parts})")


@pytest.fixture(scope="module", autouse=True)
def _report_generated_cases(request: pytest.FixtureRequest) -> Iterator[None]:
    plugin = _SummaryPlugin()
    manager = request.config.pluginmanager
    if not manager.is_registered(plugin) and manager.get_plugin("hostile-input-summary") is None:
        manager.register(plugin, "hostile-input-summary")
    yield
    workeroutput = getattr(request.config, "workeroutput", None)
    if workeroutput is not None:  # under xdist the controller adds up the workers' counts and prints them
        workeroutput["hostile_cases"] = dict(TALLY.cases)


# Findings with a dedicated, clearly named test (below) are not re-reported by the fuzz.
# (IDs beyond 64-bit range are left to test_out_of_range_ids_... for the same reason.)
HUGE_ID = "99999999999999999999"
KNOWN_BUGS: dict[str, str] = {}  # batch label -> log signature of a finding tracked by its own test


@dataclass
class Batch:
    """One group of generated requests; checks what the bot did while they ran."""

    bot: BotHarness
    label: str
    errors: ErrorLog
    start: int = 0
    inputs: list[tuple[int, str]] = field(default_factory=list)  # (first call index, input summary)
    problems: list[str] = field(default_factory=list)

    def begin(self) -> None:
        self.start = len(self.bot.fake.calls)
        self.errors.clear()

    def note(self, summary: str) -> None:
        self.inputs.append((len(self.bot.fake.calls), summary[:300]))

    def check_answer(self, answer: Any, summary: str) -> None:
        if answer.status >= 500:
            self.problems.append(f"{self.label}: HTTP {answer.status} for {summary[:300]}")
        found = unescaped_sequences(ack_texts(answer.text))
        if found:
            self.problems.append(f"{self.label}: ack carried {found[:2]} for {summary[:200]}")

    def finish(self) -> list[str]:
        settle(self.bot.fake, quiet=0.2)
        self.bot.settle()  # a quiet spell is no proof: every listener's after-ack work has ended
        pieces = outgoing_texts(self.bot.fake, self.start)
        for finding in unescaped_sequences(pieces):
            self.problems.append(f"{self.label}: sent unescaped {finding}")
        generic = generic_errors_sent(self.bot.fake, self.start)
        logged = self.errors.messages()
        known = KNOWN_BUGS.get(self.label)
        if known and logged and all(known in line for line in logged):
            logged, generic = [], []
        if generic or logged:
            self.problems.append(
                f"{self.label}: unhandled errors: logged {logged[:3]}, generic error sent {len(generic)}x;"
                f" last inputs: {[s for _, s in self.inputs[-3:]]}"
            )
        return self.problems


def _max_length_violations(bot: BotHarness) -> list[str]:
    """Stored strings longer than their column's declared length (SQLite does not enforce VARCHAR(n))."""
    from sqlmodel import SQLModel

    import models.tables

    models.tables.import_all()
    out = []
    with bot.db.engine.connect() as conn:
        present = set(inspect(conn).get_table_names())
        for table in SQLModel.metadata.sorted_tables:
            if table.name not in present:
                continue
            for column in table.columns:
                if isinstance(column.type, String) and column.type.length:
                    quoted = conn.dialect.identifier_preparer.quote
                    row = conn.execute(
                        text(
                            f"SELECT COUNT(*) FROM {quoted(table.name)} WHERE LENGTH({quoted(column.name)}) > :n"
                        ),
                        {"n": column.type.length},
                    ).scalar()
                    if row:
                        out.append(
                            f"{table.name}.{column.name}: {row} value(s) over {column.type.length} chars"
                        )
    return out


# ------------------------------------------------------------------------------------------------------------
# Modal submissions


def _payload(view: dict[str, Any], user: str, state: Any, metadata: str) -> dict[str, Any]:
    submitted = {
        "id": "V" + uuid.uuid4().hex[:8].upper(),
        "type": "modal",
        "callback_id": view.get("callback_id"),
        "private_metadata": metadata,
        "blocks": view.get("blocks") or [],
        "hash": "h",
        "previous_view_id": None,
    }
    if state is not _MISSING:
        submitted["state"] = state
    return {
        "type": "view_submission",
        "team": {"id": "T1"},
        "user": {"id": user, "username": user.lower(), "team_id": "T1"},
        "api_app_id": "A1",
        "token": "legacy",
        "trigger_id": f"trigger.{uuid.uuid4().hex[:8]}",
        "view": submitted,
    }


_MISSING = object()


def _fuzz_form(
    bot: BotHarness, batch: Batch, row: Row, view: dict[str, Any], user: str, examples: int
) -> None:
    elements = input_elements(view)
    original_metadata = str(view.get("private_metadata") or "")
    tampered = st.one_of(
        st.just(original_metadata),
        st.just(original_metadata),
        hostile_text,
        st.sampled_from(
            [
                '{"event_id": 999999}',
                '{"event_id": "x"}',
                '{"referral_id": -1, "to": "hired"}',
                "99999999999999999999",
                "-1",
                "{}",
                "[]",
                "null",
                "{",
            ]
        ),
    )

    pending = [False]

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        shape = data.draw(st.sampled_from(SHAPES), label="shape")
        values: dict[str, Any] = {}
        for block_id, action_id, element in elements:
            if shape == "drop_some" and data.draw(st.booleans()):
                continue
            value = data.draw(value_for(element), label=block_id)
            if shape == "wrong_types":
                values[block_id] = {
                    action_id: {
                        "type": "plain_text_input",
                        "value": value if isinstance(value, str) else None,
                        "selected_option": "x",
                        "selected_options": "y",
                    }
                }
            else:
                values[block_id] = {action_id: element_state(element, value, use_initial=False)}
        state: Any = {"values": values}
        if shape == "no_state":
            state = _MISSING
        elif shape == "values_not_dict":
            state = {"values": data.draw(st.sampled_from(["x", [], None, 5]))}
        elif shape == "element_not_dict":
            state = {"values": {b: {a: "not a dict"} for b, a, _e in elements}}
        elif shape == "unknown_block":
            values["zz_unknown"] = {"zz": {"type": "plain_text_input", "value": data.draw(hostile_text)}}
        metadata = data.draw(tampered, label="private_metadata")
        summary = f"{row.id} shape={shape} metadata={metadata[:60]!r} values={json.dumps(values, ensure_ascii=False)[:200]}"
        # After an accepted submission its after-ack work may still be writing (a card posted to Slack, then
        # its ts stored): wait for it, so the snapshot below sees only what this submission does. Should the
        # wait time out, skip the "field errors store nothing" check for this example rather than guess.
        overlap = pending[0] and not (bot.listeners is not None and bot.listeners.wait_idle(timeout=30))
        before = db_snapshot(bot.db)
        batch.note(summary)
        answer = bot.sender.post_payload(_payload(view, user, state, metadata))
        TALLY.add("modal submissions")
        batch.check_answer(answer, summary)
        body = answer.json if answer.text.strip().startswith("{") else None
        pending[0] = not (isinstance(body, dict) and body.get("response_action") == "errors")
        if isinstance(body, dict) and body.get("response_action") == "errors" and not overlap:
            changes = snapshot_diff(before, db_snapshot(bot.db))
            if changes:
                batch.problems.append(f"{row.id}: answered field errors but stored {changes} for {summary}")
            unknown = set(body.get("errors") or {}) - {b for b, _a, _e in elements}
            if unknown:
                batch.problems.append(f"{row.id}: field errors for blocks the modal does not have: {unknown}")

    run()


def _forms(bot: BotHarness) -> tuple[list[tuple[Row, dict[str, Any], str]], list[str]]:
    """Every modal the bot can open (one per view row of the authorisation matrix), as its allowed user."""
    ctx = make_ctx(bot)
    forms, missing = [], []
    for row in MATRIX:
        if row.kind != "view":
            continue
        view, problem = capture_view(bot, ctx, row)
        if view is None:
            missing.append(problem)
            continue
        forms.append((row, view, USERS[row.opener[3]]))
    registered = set(live_registry(bot.services).views)
    covered = {row.id for row, _v, _u in forms}
    missing += [
        f"view {v}: no modal to fuzz (no MATRIX row)"
        for v in sorted(registered - covered - {r.id for r in MATRIX})
    ]
    return forms, missing


def test_modal_submissions_survive_hostile_input(bot: BotHarness) -> None:
    bot.fake.add_user(STRANGER, name="stranger", locale="en-US")
    examples = 7 if not bot.db.is_postgres else 2
    problems: list[str] = []
    with capture_errors() as errors:
        forms, missing = _forms(bot)
        assert len(forms) >= 10, missing
        for row, view, user in forms:
            batch = Batch(bot, f"modal {row.id}", errors)
            batch.begin()
            _fuzz_form(bot, batch, row, view, user, examples)
            problems += batch.finish()
    problems += _max_length_violations(bot)
    assert not missing, missing
    assert not problems, f"{len(problems)} problems:\n  " + "\n  ".join(problems[:40])


# ------------------------------------------------------------------------------------------------------------
# Command texts

SUBCOMMAND_WORDS = [
    "",
    "help",
    "post",
    "mine",
    "new",
    "past",
    "profile",
    "privacy",
    "feedback",
    "search",
    "ヘルプ",
    "投稿",
    "作成",
    "過去",
    "自分",
]


def _fuzz_command(bot: BotHarness, batch: Batch, command: str, users: list[str], examples: int) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )
    @given(word=st.sampled_from(SUBCOMMAND_WORDS), rest=hostile_text, user=st.sampled_from(users))
    def run(word: str, rest: str, user: str) -> None:
        text_ = f"{word} {rest}".strip() if word else rest
        summary = f"{command} {text_[:200]!r} as {user}"
        batch.note(summary)
        answer = bot.sender.command(
            command, text_, user=user, channel=ALUMNI_CHANNEL, response_url=bot.fake.response_url("cmd")
        )
        TALLY.add("command texts")
        batch.check_answer(answer, summary)

    run()


def test_command_texts_survive_hostile_input(bot: BotHarness) -> None:
    bot.fake.add_user(STRANGER, name="stranger", locale="en-US")
    registry = live_registry(bot.services)
    examples = 15 if not bot.db.is_postgres else 4
    problems: list[str] = []
    users = list(USERS.values())
    with capture_errors() as errors:
        for command in registry.commands:
            batch = Batch(bot, f"command {command}", errors)
            batch.begin()

            _fuzz_command(bot, batch, command, users, examples)
            problems += batch.finish()
    assert not problems, f"{len(problems)} problems:\n  " + "\n  ".join(problems[:40])


# ------------------------------------------------------------------------------------------------------------
# Buttons: every registered action_id with forged values, and action_ids nobody registered


def test_button_values_and_unknown_action_ids_survive_hostile_input(bot: BotHarness) -> None:
    bot.fake.add_user(STRANGER, name="stranger", locale="en-US")
    registry = live_registry(bot.services)
    action_ids = [sample_action_id(a) for a in registry.actions]
    unknown = [
        "unknown_action",
        "opportunities_interested_x",
        "<!channel>",
        "events_rate_9",
        "referrals.status.",
        "",
    ]
    examples = 2 if not bot.db.is_postgres else 1
    rng = random.Random(9)
    problems: list[str] = []
    ctx: Ctx = make_ctx(bot)
    numbers = [str(ctx.opp), str(ctx.event), str(ctx.past), str(ctx.referral), str(ctx.feedback)]
    with capture_errors() as errors:
        batch = Batch(bot, "buttons", errors)
        batch.begin()

        @settings(
            max_examples=len(action_ids) * examples + 10,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
        @given(
            action_id=st.sampled_from(action_ids + unknown),
            value=st.one_of(
                weird_ids,
                hostile_text,
                st.sampled_from(numbers),
                st.builds(lambda a, b: f"{a}:{b}", st.sampled_from(numbers), weird_ids),
            ),
            user=st.sampled_from(list(USERS.values())),
            in_view=st.booleans(),
            block_id=st.one_of(
                st.just("b"),
                hostile_text.map(lambda s: s[:255] or "b"),
                st.sampled_from([f"referrals.assign.{ctx.referral}", "referrals.assign.x"]),
            ),
        )
        def run(action_id: str, value: str, user: str, in_view: bool, block_id: str) -> None:
            summary = (
                f"{action_id} value={value[:80]!r} block_id={block_id[:40]!r} as {user} in_view={in_view}"
            )
            batch.note(summary)
            view = {
                "id": "V1",
                "type": "home" if rng.random() < 0.5 else "modal",
                "callback_id": "",
                "private_metadata": value[:3000],
                "state": {"values": {}},
            }
            answer = bot.sender.block_action(
                action_id,
                value[:2000],
                user=user,
                block_id=block_id,
                channel=None if in_view else ALUMNI_CHANNEL,
                view=view if in_view else None,
                response_url=bot.fake.response_url("btn"),
                action={
                    "type": "button",
                    "action_id": action_id,
                    "block_id": block_id,
                    "value": value[:2000],
                    "selected_option": {"value": value[:150]},
                    "selected_user": value[:20],
                },
            )
            TALLY.add("button clicks")
            batch.check_answer(answer, summary)

        run()
        problems += batch.finish()
    assert not problems, f"{len(problems)} problems:\n  " + "\n  ".join(problems[:40])


def test_hostile_home_and_profile_text_is_escaped_everywhere(bot: BotHarness) -> None:
    """A member whose Slack name and profile are hostile: every surface that shows them escapes them."""
    from models.member import ensure_member

    name = "<!channel> <@U0HOSTILE> <https://evil.example/x|bank>"
    bot.fake.add_user("U0EVIL001", name=name, real_name=name, locale="en-US")
    with bot.db.session() as session:
        ensure_member(session, slack_user_id="U0EVIL001", display_name=name)
    start = len(bot.fake.calls)
    bot.sender.event({"type": "app_home_opened", "user": "U0EVIL001", "tab": "home"})
    bot.fake.wait_for("views.publish")
    for command, text_ in (("/alumni", "channel"), ("/alumni", "evil"), ("/opportunities", "<!channel>")):
        answer = bot.sender.command(command, text_, user="U0EVIL001", channel=ALUMNI_CHANNEL)
        assert not unescaped_sequences(ack_texts(answer.text))
    settle(bot.fake)
    bot.settle()  # the event's and commands' after-ack work has sent all it will
    found = unescaped_sequences(outgoing_texts(bot.fake, start))
    assert not found, found
    _ = timedelta


def test_admin_import_of_a_missing_file_says_so_instead_of_a_generic_error(bot: BotHarness) -> None:
    """Regression (found by the modal fuzz, since fixed in handlers/admin.py run_import): when files.info answers `file_not_found` (the CSV was deleted
    between upload and submit, or the file ID is forged), the SlackApiError escapes run_import; HR gets the
    generic "Sorry, something went wrong" and an ERROR was logged.
    """
    from tests.test_authorization_matrix import Row as MatrixRow

    ctx = make_ctx(bot)
    row = next(r for r in MATRIX if r.id == "admin_import_submit")
    view, problem = capture_view(bot, ctx, row)
    assert view is not None, problem
    file_block = next(b for b, _a, e in input_elements(view) if e.get("type") == "file_input")
    start = len(bot.fake.calls)
    with capture_errors() as errors:
        answer = bot.sender.view_submission(
            row.id,
            {file_block: {"type": "file_input", "files": [{"id": "F0GONE001", "name": "roster.csv"}]}},
            user=HR,
            blocks=view.get("blocks"),
        )
        assert answer.status == 200
        settle(bot.fake)
        bot.settle()  # the import runs after the ack: wait for it to end, not for a quiet spell
    assert not generic_errors_sent(bot.fake, start), "HR was told 'something went wrong'"
    assert not errors.messages(), errors.messages()
    _ = MatrixRow


def test_out_of_range_ids_in_buttons_and_private_metadata_do_not_crash(bot: BotHarness) -> None:
    """Regression (found by the button/modal fuzz, since fixed with MAX_ID checks in the handlers and
    models): every handler that did `int(value)` on a button value or private_metadata let a forged ID
    beyond 64 bits ("99999999999999999999") reaches the
    database, which raises (SQLite OverflowError, PostgreSQL NumericValueOutOfRange): HTTP 500 for modal
    submissions, a logged unhandled error and the generic "something went wrong" for buttons (27 listeners).
    """
    bot.fake.add_user(STRANGER, name="stranger", locale="en-US")
    registry = live_registry(bot.services)
    ctx = make_ctx(bot)
    crashes: list[str] = []
    with capture_errors() as errors:
        for action in registry.actions:
            action_id = sample_action_id(action)
            for value in (HUGE_ID,):
                start = len(bot.fake.calls)
                errors.clear()
                answer = bot.sender.block_action(
                    action_id,
                    value,
                    user=HR,
                    channel=ALUMNI_CHANNEL,
                    response_url=bot.fake.response_url("huge"),
                )
                settle(bot.fake, quiet=0.1)
                bot.settle()  # this request's after-ack work has ended (and logged what it will)
                if answer.status >= 500 or errors.messages() or generic_errors_sent(bot.fake, start):
                    crashes.append(
                        f"button {action_id} value={value}: HTTP {answer.status} {errors.messages()[:1]}"
                    )
                    break
        for row in MATRIX:
            if row.kind != "view":
                continue
            view, _problem = capture_view(bot, ctx, row)
            if view is None:
                continue
            metadata = str(view.get("private_metadata") or "")
            tampered = [
                HUGE_ID,
                json.dumps({"event_id": HUGE_ID}),
                json.dumps({"referral_id": HUGE_ID, "to": "hired"}),
            ]
            if metadata.isdigit():
                tampered.insert(0, HUGE_ID)
            for forged in tampered:
                errors.clear()
                start = len(bot.fake.calls)
                values = {b: element_state(e, None) for b, _a, e in input_elements(view)}
                answer = bot.sender.view_submission(
                    row.id,
                    values,
                    user=USERS[row.opener[3]],
                    private_metadata=forged,
                    blocks=view.get("blocks"),
                )
                settle(bot.fake, quiet=0.1)
                bot.settle()  # this request's after-ack work has ended (and logged what it will)
                if answer.status >= 500 or errors.messages() or generic_errors_sent(bot.fake, start):
                    crashes.append(
                        f"modal {row.id} private_metadata={forged[:40]}: HTTP {answer.status} {errors.messages()[:1]}"
                    )
                    break
    assert not crashes, f"{len(crashes)} listeners crash on an out-of-range ID:\n  " + "\n  ".join(crashes)
