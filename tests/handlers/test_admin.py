"""`/alumni-admin` end to end: HR gets the admin view, imports the roster through a `file_input`, exports CSV,
sends the report and changes settings; nobody else reaches any admin action by command, button or forged
payload. Signed requests in, fake Slack out, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import select

from bot.app import build_registry
from bot.blocks.admin import (
    ADMIN_ACTIONS,
    ADMIN_VIEW,
    ADMIN_VIEWS,
    EXPORT,
    IMPORT_FILE,
    IMPORT_OPEN,
    IMPORT_SUBMIT,
    REPORT_NOW,
    SETTINGS_OPEN,
    SETTINGS_SUBMIT,
    export_action_id,
)
from bot.blocks.privacy import FEEDBACK_ADMIN_ACTIONS, FEEDBACK_REPLY_SUBMIT
from bot.charts import PNG_SIGNATURE
from bot.i18n import t
from bot.slack_emulator.web_api import Call, FakeSlack
from jobs.events import reminder_offsets
from models.actors import Actor
from models.audit import AuditLog
from models.db import Database
from models.export import available_kinds
from models.feedback import OPEN, Feedback, submit_feedback
from models.member import Member, get_member
from models.program_settings import ProgramSettingsRow, get_program_settings
from models.roster import RosterRecord
from models.timeutil import freeze, now
from tests.conftest import ALICE, BOB, CAROL, HR, HR_CHANNEL, BotHarness, _serve
from tests.models.test_roster import make_roster
from tests.slack_requests import select as select_value

FILE_ID = "F0ROSTER1"


def _file_state(file_id: str = FILE_ID) -> dict[str, Any]:
    return {"type": "file_input", "files": [{"id": file_id, "name": "roster.csv"}]}


def _dm_texts(bot: BotHarness, user: str) -> list[str]:
    return [str(m.get("text") or "") for m in bot.fake.messages(user)]


def _wait_dm(bot: BotHarness, user: str, pattern: str, count: int = 1, timeout: float = 60) -> list[Call]:
    return bot.fake.wait_for(
        "chat.postMessage",
        lambda c: (
            c.args.get("channel") == user and re.search(pattern, str(c.args.get("text") or "")) is not None
        ),
        count=count,
        timeout=timeout,
    )


def _add_slack_people(bot: BotHarness, accounts: dict[str, Any]) -> None:
    for email, account in accounts.items():
        bot.fake.add_user(
            account.user_id, name=f"u{account.user_id[-4:]}", real_name=account.name, email=email
        )


def _counts(text: str) -> dict[str, int]:
    numbers = re.findall(r"(\w[\w ]*?): (\d+)", text)
    return {k.strip(): int(v) for k, v in numbers}


def test_hr_gets_the_admin_view(bot: BotHarness) -> None:
    answer = bot.sender.command("/alumni-admin", user=HR)
    assert answer.status == 200
    call = bot.fake.wait_for("views.open")[0]
    view = call.args["view"]
    action_ids = {e.get("action_id") for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]}
    assert {IMPORT_OPEN, REPORT_NOW, SETTINGS_OPEN} <= action_ids
    assert {export_action_id(kind) for kind in available_kinds()} <= action_ids
    bot.sender.block_action(IMPORT_OPEN, "import", user=HR, view=call.response["view"])
    bot.sender.block_action(SETTINGS_OPEN, "settings", user=HR, view=call.response["view"])
    pushed = bot.fake.wait_for("views.push", lambda c: c.ok, count=2)
    assert {c.args["view"]["callback_id"] for c in pushed} == {IMPORT_SUBMIT, SETTINGS_SUBMIT}
    settings_view = next(c.args["view"] for c in pushed if c.args["view"]["callback_id"] == SETTINGS_SUBMIT)
    assert any(b.get("block_id") == "retention_days" for b in settings_view["blocks"])


def test_slack_accepts_the_admin_view_and_each_export_button_exports_its_own_kind(bot: BotHarness) -> None:
    """Issue 12 defect 1: four export buttons shared one action_id, so Slack refused the whole view."""
    bot.sender.command("/alumni-admin", user=HR)
    opened = bot.fake.wait_for("views.open")[0]
    assert opened.ok, opened.response  # before the fix: invalid_arguments, HR saw "something went wrong"
    view = opened.response["view"]
    export_block = next(b for b in view["blocks"] if b.get("block_id") == "export")
    buttons = export_block["elements"]
    assert len({b["action_id"] for b in buttons}) == len(buttons) == len(available_kinds())
    for button in buttons:
        assert EXPORT.match(button["action_id"]), button["action_id"]
        bot.sender.block_action(button["action_id"], button.get("value"), user=HR, view=view)
    uploads = bot.fake.wait_for("files.completeUploadExternal", count=len(buttons), timeout=30)
    names = sorted(bot.fake.uploaded_files[c.args["files"][0]["id"]]["name"] for c in uploads)
    assert [name.split("-")[1] for name in names] == sorted(available_kinds())


def test_hr_by_user_group_reaches_the_admin_view(fake_slack: FakeSlack, db: Database) -> None:
    """Issue 12 defect 2: without usergroups:read Slack answers missing_scope and HR got no rights."""
    fake_slack.usergroups["S0HRTEAM"] = [CAROL]
    serve = contextmanager(_serve)
    with serve(fake_slack, db, hr_users=frozenset(), hr_usergroup="S0HRTEAM") as harness:
        answer = harness.sender.command("/alumni-admin", user=CAROL)
        assert answer.status == 200 and not answer.text.strip(), answer.text  # no "this is for HR"
        assert harness.fake.wait_for("views.open")[0].ok
        lookups = harness.fake.calls_to("usergroups.users.list")
        assert lookups and all(c.ok for c in lookups), [c.summary() for c in lookups]


def test_roster_import_through_file_input_counts_and_reimport_changes_nothing(bot: BotHarness) -> None:
    fixture = make_roster(1000)
    fixture.accounts.pop("leaver0001@example.co.jp")  # Bob's address (below)
    _add_slack_people(bot, fixture.accounts)
    bot.fake.add_file(FILE_ID, fixture.data, "名簿.csv")
    # Bob wrote his own department before the import; his row in the roster says otherwise.
    with bot.db.session() as session:
        session.add(Member(slack_user_id=BOB, display_name="Bob", former_department="Bob's words"))
    bot.fake.add_user(
        BOB, name="bob", real_name="山田 太郎", email="leaver0001@example.co.jp", locale="ja-JP"
    )

    answer = bot.sender.view_submission(IMPORT_SUBMIT, {IMPORT_FILE: _file_state()}, user=HR)
    assert answer.status == 200 and not answer.text.strip()  # closes the modal
    done = _wait_dm(bot, HR, "取り込みが完了")[0]
    text = str(done.args["text"])
    assert "全 1000 行" in text
    assert "新規: 600" in text and "Slack 未参加: 300" in text and "不正: 100" in text and "更新: 0" in text
    assert "11 行目: メールアドレスが正しくありません (email)" in text  # line numbers and reasons
    # One paginated users.list pass; never one lookup per row.
    pages = bot.fake.calls_to("users.list")
    assert len(pages) >= 4 and all(int(c.args.get("limit", 0)) <= 200 for c in pages)
    assert bot.fake.calls_to("users.lookupByEmail") == []
    assert bot.fake.calls_to("files.info")[0].args["file"] == FILE_ID
    with bot.db.session() as session:
        bob = get_member(session, slack_user_id=BOB)
        assert bob is not None and bob.former_department == "Bob's words" and bob.joined_year == 2001
        members = len(session.exec(select(Member)).all())
        records = len(session.exec(select(RosterRecord)).all())

    bot.sender.view_submission(IMPORT_SUBMIT, {IMPORT_FILE: _file_state()}, user=HR)
    again = str(_wait_dm(bot, HR, "取り込みが完了", count=2)[1].args["text"])
    assert "新規: 0" in again and "更新: 0" in again and "変更なし: 600" in again
    with bot.db.session() as session:
        assert len(session.exec(select(Member)).all()) == members
        assert len(session.exec(select(RosterRecord)).all()) == records


def test_import_of_a_file_that_is_not_a_roster_reports_the_problem(bot: BotHarness) -> None:
    bot.fake.add_file(FILE_ID, "氏名,部署\n山田,営業\n".encode(), "wrong.csv")
    bot.sender.view_submission(IMPORT_SUBMIT, {IMPORT_FILE: _file_state()}, user=HR)
    failed = str(_wait_dm(bot, HR, "取り込めませんでした")[0].args["text"])
    assert "email" in failed
    answer = bot.sender.view_submission(
        IMPORT_SUBMIT, {IMPORT_FILE: {"type": "file_input", "files": []}}, user=HR
    )
    assert answer.json["response_action"] == "errors" and IMPORT_FILE in answer.json["errors"]


def test_export_members_is_a_utf8_bom_csv_uploaded_to_the_hr_dm(bot: BotHarness) -> None:
    with bot.db.session() as session:
        session.add(
            Member(
                slack_user_id=BOB, display_name="山田 太郎", former_department="㈱営業①", consented_at=now()
            )
        )
        session.add(Member(slack_user_id=ALICE, display_name='=HYPERLINK("http://evil")', consented_at=now()))
        session.add(Member(slack_user_id=CAROL, display_name="Never Consented"))
    bot.sender.block_action(export_action_id("members"), "members", user=HR)
    complete = bot.fake.wait_for("files.completeUploadExternal")[0]
    file_id = complete.args["files"][0]["id"]
    data = bot.fake.uploaded_files[file_id]["bytes"]
    assert data.startswith(b"\xef\xbb\xbf")
    body = data.decode("utf-8-sig")
    assert "山田 太郎" in body and "㈱営業①" in body
    assert "'=HYPERLINK" in body  # no formula runs when HR opens it in Excel
    assert "Never Consented" not in body  # like HR's screens: consented or imported members only
    assert complete.args["channel_id"] == "D" + HR
    with bot.db.session() as session:
        assert session.exec(select(AuditLog).where(AuditLog.action == "admin.export")).first() is not None


def test_report_on_demand_posts_figures_and_uploads_both_charts_like_the_monthly_report(
    bot: BotHarness,
) -> None:
    bot.sender.block_action(REPORT_NOW, "report", user=HR)
    completes = bot.fake.wait_for("files.completeUploadExternal", count=2, timeout=30)
    report = bot.fake.calls_to("chat.postMessage")[0]
    assert report.args["channel"] == HR
    entries = [bot.fake.uploaded_files[c.args["files"][0]["id"]] for c in completes]
    # The members chart and the hiring funnel, as the scheduled report uploads them, in the report's thread.
    assert [e["name"].split("-")[1] for e in entries] == ["report", "funnel"]
    assert all(e["bytes"].startswith(PNG_SIGNATURE) for e in entries)
    assert entries[0]["bytes"] != entries[1]["bytes"]
    assert {c.args["thread_ts"] for c in completes} == {report.response["ts"]}


def test_settings_are_validated_and_stored_in_the_database(bot: BotHarness) -> None:
    values = {
        "digest_day": select_value("fri"),
        "digest_time": "25:00",
        "nudge_cadence_days": "3",
        "reminder_offsets_minutes": "1440,60",
        "retention_days": "180",
        "goal_rehires": "10",
    }
    bad = bot.sender.view_submission(SETTINGS_SUBMIT, values, user=HR)
    assert set(bad.json["errors"]) == {"digest_time", "nudge_cadence_days"}
    with bot.db.session() as session:
        assert session.get(ProgramSettingsRow, 1) is None
    good = bot.sender.view_submission(
        SETTINGS_SUBMIT, {**values, "digest_time": "8:30", "nudge_cadence_days": "60"}, user=HR
    )
    assert good.status == 200 and not good.text.strip()
    with bot.db.session() as session:
        settings = get_program_settings(session, defaults=bot.settings.program_defaults())
    assert (settings.digest_day, settings.digest_time, settings.nudge_cadence_days) == ("fri", "08:30", 60)
    assert settings.reminder_offsets_minutes == (1440, 60) and settings.retention_days == 180
    assert settings.goals() == {"rehires": 10}


@pytest.fixture
def bot_with_env_offsets(fake_slack: FakeSlack, db: Database) -> Iterator[BotHarness]:
    """The operator set ALUMNI_EVENT_REMINDER_OFFSETS=3h,15m."""
    yield from _serve(fake_slack, db, event_reminder_offsets=(180, 15))


def test_saving_an_unrelated_setting_keeps_the_environments_offsets(bot_with_env_offsets: BotHarness) -> None:
    bot = bot_with_env_offsets
    bot.sender.command("/alumni-admin", user=HR)
    admin = bot.fake.wait_for("views.open")[0]
    bot.sender.block_action(SETTINGS_OPEN, "settings", user=HR, view=admin.response["view"])
    form = bot.fake.wait_for("views.push", lambda c: c.ok)[0].args["view"]
    shown = {b["block_id"]: b["element"] for b in form["blocks"] if b["type"] == "input"}
    assert shown["reminder_offsets_minutes"]["initial_value"] == "180,15"  # what is in force, not 1440,60

    # HR changes only the retention and saves the form as Slack sends it: every field with its shown value.
    values: dict[str, Any] = {
        block_id: select_value(element["initial_option"]["value"])
        if element["type"] == "static_select"
        else element.get("initial_value", "")
        for block_id, element in shown.items()
    }
    answer = bot.sender.view_submission(SETTINGS_SUBMIT, {**values, "retention_days": "400"}, user=HR)
    assert answer.status == 200 and not answer.text.strip()
    with bot.db.session() as session:
        assert reminder_offsets(session, bot.settings) == (180, 15)
        effective = get_program_settings(session, defaults=bot.settings.program_defaults())
        assert effective.retention_days == 400
        # Had the operator changed the environment later, that would apply too: nothing else was stored.
        later = replace(bot.settings, event_reminder_offsets=(120,))
        assert reminder_offsets(session, later) == (120,)


def test_export_writes_instants_in_the_workspace_zone_for_excel(bot: BotHarness) -> None:
    """Tokyo workspace; the server's clock is UTC. 09:00 UTC is 18:00 in Tokyo; 16:00 UTC is the next day."""
    joined = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    freeze(datetime(2026, 12, 3, 16, 0, tzinfo=UTC))
    with bot.db.session() as session:
        session.add(Member(slack_user_id=BOB, display_name="Bob", consented_at=joined, created_at=joined))
    bot.sender.block_action(export_action_id("members"), "members", user=HR)
    complete = bot.fake.wait_for("files.completeUploadExternal")[0]
    upload = bot.fake.uploaded_files[complete.args["files"][0]["id"]]
    assert upload["name"] == "alumni-members-2026-12-04.csv"  # HR's date in Tokyo, not the server's
    reader = csv.DictReader(io.StringIO(upload["bytes"].decode("utf-8-sig")))
    rows = list(reader)
    header = reader.fieldnames or []
    assert "created_at (Asia/Tokyo)" in header and "consented_at (Asia/Tokyo)" in header
    [row] = [r for r in rows if r["slack_user_id"] == BOB]
    assert row["created_at (Asia/Tokyo)"] == "2026-12-03 18:00"
    assert row["consented_at (Asia/Tokyo)"] == "2026-12-03 18:00"
    assert row["joined_year"] == ""  # not an instant: no zone in its header


def _state_fingerprint(bot: BotHarness) -> tuple[Any, ...]:
    with bot.db.session() as session:
        return (
            session.get(ProgramSettingsRow, 1),
            [(f.id, f.status, f.reply) for f in session.exec(select(Feedback)).all()],
            len(session.exec(select(RosterRecord)).all()),
            len(session.exec(select(AuditLog)).all()),
        )


def test_non_hr_cannot_reach_any_admin_action_by_command_button_or_forged_payload(bot: BotHarness) -> None:
    # Every admin entry point the app registers is covered below (a new one must be added here).
    registry = build_registry()
    admin_ids = {
        a
        for a in registry.actions
        if isinstance(a, str) and a.startswith(("admin_", "feedback_reply", "feedback_addressed"))
    }
    assert admin_ids == set(ADMIN_ACTIONS) | set(FEEDBACK_ADMIN_ACTIONS)
    assert EXPORT in registry.actions  # the export buttons, one action_id per kind
    admin_views = {v for v in registry.views if v.startswith("admin_") or v == FEEDBACK_REPLY_SUBMIT}
    assert admin_views == set(ADMIN_VIEWS) | {FEEDBACK_REPLY_SUBMIT}

    bot.fake.add_file(FILE_ID, make_roster(10).data, "roster.csv")
    with bot.db.session() as session:
        item = submit_feedback(
            session, actor=Actor(BOB), text="More evening events", kind="idea", anonymous=True
        )
        feedback_id = str(item.id)
    before = _state_fingerprint(bot)

    refused = bot.sender.command("/alumni-admin", user=ALICE)
    assert refused.status == 200 and refused.json["response_type"] == "ephemeral"
    assert "HR team" in refused.json["text"] and "/alumni feedback" in refused.json["text"]
    assert "人事チーム" in bot.sender.command("/alumni-admin", user=BOB).json["text"]  # in their language
    # The admin buttons live in the admin modal; the feedback buttons on the HR channel's cards.
    in_modal = [(a, a) for a in ADMIN_ACTIONS] + [(export_action_id(k), k) for k in available_kinds()]
    admin_modal = {"id": "VADMIN1", "type": "modal", "callback_id": ADMIN_VIEW}
    for action_id, value in in_modal:
        assert bot.sender.block_action(action_id, value, user=ALICE, view=admin_modal).status == 200
    for action_id in FEEDBACK_ADMIN_ACTIONS:
        answer = bot.sender.block_action(action_id, feedback_id, user=ALICE, channel=HR_CHANNEL)
        assert answer.status == 200
    forged_views = {
        IMPORT_SUBMIT: {IMPORT_FILE: _file_state()},
        SETTINGS_SUBMIT: {"digest_day": select_value("sun"), "retention_days": "30"},
        FEEDBACK_REPLY_SUBMIT: {"reply": "forged", "addressed": ["yes"]},
    }
    for callback_id, values in forged_views.items():
        answer = bot.sender.view_submission(callback_id, values, user=ALICE, private_metadata=feedback_id)
        assert answer.json["response_action"] == "errors"
    # Each refused click got a polite private answer where it happened (issue 14: `bot.kit.hr_clicker`): a DM
    # from the modal, an ephemeral message on the channel's card. Nothing else happened.
    refusal = t("admin.not_hr", "en")
    dms = bot.fake.wait_for("chat.postMessage", lambda c: c.args.get("channel") == ALICE, count=len(in_modal))
    ephemerals = bot.fake.wait_for(
        "chat.postEphemeral",
        lambda c: c.args.get("user") == ALICE and c.args.get("channel") == HR_CHANNEL,
        count=len(FEEDBACK_ADMIN_ACTIONS),
    )
    bot.settle()  # every refused click's after-ack work has ended: count exactly, nothing else follows
    dms = [c for c in bot.fake.calls_to("chat.postMessage") if c.args.get("channel") == ALICE]
    ephemerals = [
        c
        for c in bot.fake.calls_to("chat.postEphemeral")
        if c.args.get("user") == ALICE and c.args.get("channel") == HR_CHANNEL
    ]
    assert [c.args["text"] for c in dms + ephemerals] == [refusal] * (
        len(in_modal) + len(FEEDBACK_ADMIN_ACTIONS)
    )
    for method in ("views.open", "views.push", "files.info", "users.list", "files.getUploadURLExternal"):
        assert bot.fake.calls_to(method) == [], method
    assert all(c.args.get("channel") == ALICE for c in bot.fake.calls_to("chat.postMessage"))
    assert _state_fingerprint(bot) == before
    with bot.db.session() as session:
        assert session.get(Feedback, int(feedback_id)).status == OPEN  # type: ignore[union-attr]
