"""The `/alumni-admin` listeners, called directly (see conftest): HR gets each action, anyone else a private
refusal and no change; settings are validated and saved before the ack."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from bot.blocks.admin import (
    ADMIN_VIEW,
    IMPORT_FILE,
    IMPORT_OPEN,
    IMPORT_SUBMIT,
    REPORT_NOW,
    SETTINGS_OPEN,
    SETTINGS_SUBMIT,
    export_action_id,
)
from bot.charts import PNG_SIGNATURE
from bot.i18n import t
from bot.services import Services
from bot.slack_emulator.web_api import FakeSlack
from handlers import admin
from models.audit import AuditLog
from models.program_settings import ProgramSettingsRow, get_program_settings
from tests.conftest import ALICE, BOB, HR
from tests.handlers.unit.conftest import Recorder, action_body, command_payload, run_now, submission
from tests.models.test_roster import make_roster
from tests.slack_requests import select as select_value

FILE_ID = "F0ROSTER9"
ADMIN_MODAL = {"id": "VADMIN1", "type": "modal", "callback_id": ADMIN_VIEW}


def in_admin_modal(action_id: str, value: str, *, user: str) -> dict[str, Any]:
    """A click on one of the admin modal's buttons (refusals from a modal arrive by DM)."""
    return action_body(action_id, value, user=user, view=ADMIN_MODAL)


def dm_texts(fake_slack: FakeSlack, user: str) -> list[str]:
    return [str(m.get("text") or "") for m in fake_slack.messages(user)]


def file_state(file_id: str = FILE_ID) -> dict[str, Any]:
    return {"type": "file_input", "files": [{"id": file_id, "name": "roster.csv"}]}


def test_someone_without_hr_is_told_in_the_ack_in_their_language(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    admin.on_admin(ack=ack, command=command_payload("/alumni-admin", user=BOB), services=services)
    assert ack.once == {"response_type": "ephemeral", "text": t("admin.not_hr", "ja")}
    assert fake_slack.calls_to("views.open") == []


def test_hr_gets_the_admin_modal(services: Services, ack: Recorder, fake_slack: FakeSlack) -> None:
    admin.on_admin(ack=ack, command=command_payload("/alumni-admin", user=HR), services=services)
    assert ack.once == {}
    [opened] = fake_slack.calls_to("views.open")
    assert opened.ok and opened.args["view"]["callback_id"] == ADMIN_VIEW


def test_each_admin_button_refuses_someone_without_hr_privately_and_does_nothing(
    services: Services, fake_slack: FakeSlack
) -> None:
    clicks = [
        (admin.on_import_open, IMPORT_OPEN, "import"),
        (admin.on_settings_open, SETTINGS_OPEN, "settings"),
        (admin.on_export, export_action_id("members"), "members"),
        (admin.on_report_now, REPORT_NOW, "report"),
    ]
    for listener, action_id, value in clicks:
        ack = Recorder()
        body = in_admin_modal(action_id, value, user=ALICE)
        given: dict[str, Any] = {"ack": ack, "body": body, "services": services}
        if listener in (admin.on_export, admin.on_report_now):
            given |= {"later": run_now}
        if listener is admin.on_export:
            given["action"] = body["actions"][0]
        listener(**given)
        assert ack.once == {}, action_id
    assert dm_texts(fake_slack, ALICE) == [t("admin.not_hr", "en")] * len(clicks)
    for method in ("views.push", "files.completeUploadExternal"):
        assert fake_slack.calls_to(method) == [], method
    with services.db.session() as session:
        assert session.exec(select(AuditLog)).all() == []  # no export or report was recorded


def test_hr_pushes_the_import_modal(services: Services, ack: Recorder, fake_slack: FakeSlack) -> None:
    admin.on_import_open(ack=ack, body=in_admin_modal(IMPORT_OPEN, "import", user=HR), services=services)
    assert ack.once == {}
    assert [c.args["view"]["callback_id"] for c in fake_slack.calls_to("views.push")] == [IMPORT_SUBMIT]


def test_an_import_from_someone_without_hr_is_refused_at_the_field(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    fake_slack.add_file(FILE_ID, make_roster(10).data, "roster.csv")
    body = submission(IMPORT_SUBMIT, {IMPORT_FILE: file_state()}, user=ALICE)
    admin.on_import_submit(ack=ack, body=body, view=body["view"], services=services, later=run_now)
    assert ack.once == {"response_action": "errors", "errors": {IMPORT_FILE: t("admin.not_hr", "en")}}
    assert fake_slack.calls_to("files.info") == []


def test_an_import_without_a_file_is_refused_at_the_field(services: Services, ack: Recorder) -> None:
    body = submission(IMPORT_SUBMIT, {IMPORT_FILE: {"type": "file_input", "files": []}}, user=HR)
    admin.on_import_submit(ack=ack, body=body, view=body["view"], services=services, later=run_now)
    assert ack.once == {"response_action": "errors", "errors": {IMPORT_FILE: t("errors.required", "ja")}}


def test_hrs_import_closes_the_modal_then_reports_by_dm(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    fake_slack.add_file(FILE_ID, make_roster(10).data, "名簿.csv")
    body = submission(IMPORT_SUBMIT, {IMPORT_FILE: file_state()}, user=HR)
    admin.on_import_submit(ack=ack, body=body, view=body["view"], services=services, later=run_now)
    assert ack.once == {}
    started, done = dm_texts(fake_slack, HR)
    assert started == t("admin.import.started", "ja")
    assert "取り込みが完了" in done and "全 10 行" in done


def test_a_language_not_recognised_is_imported_and_reported_by_line_in_hrs_language(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    roster = "email,name,language\nken@example.com,Ken Sato,日本語\njean@example.com,Jean Dupont,<fr>\n"
    fake_slack.add_file(FILE_ID, roster.encode(), "名簿.csv")
    body = submission(IMPORT_SUBMIT, {IMPORT_FILE: file_state()}, user=HR)
    admin.on_import_submit(ack=ack, body=body, view=body["view"], services=services, later=run_now)
    done = dm_texts(fake_slack, HR)[-1]
    assert "全 2 行" in done and "Slack 未参加: 2" in done and "不正: 0" in done
    assert t("admin.import.warning_header", "ja") in done
    reason = t("admin.import.warnings.unknown_language", "ja", value="&lt;fr&gt;")  # mrkdwn-escaped
    assert t("admin.import.warning_line", "ja", line=3, reason=reason, column="language") in done
    assert "2 行目" not in done  # 日本語 is understood


def test_an_import_of_a_vanished_file_says_so(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    body = submission(IMPORT_SUBMIT, {IMPORT_FILE: file_state("F0GONE")}, user=HR)
    admin.on_import_submit(ack=ack, body=body, view=body["view"], services=services, later=run_now)
    assert ack.once == {}
    reason = t("admin.errors.roster_file_missing", "ja")
    assert dm_texts(fake_slack, HR)[-1] == t("admin.import.failed", "ja", reason=reason)


def test_hrs_export_is_a_csv_in_their_dm(services: Services, ack: Recorder, fake_slack: FakeSlack) -> None:
    body = in_admin_modal(export_action_id("members"), "members", user=HR)
    admin.on_export(ack=ack, body=body, action=body["actions"][0], services=services, later=run_now)
    assert ack.once == {}
    [complete] = fake_slack.calls_to("files.completeUploadExternal")
    assert complete.args["channel_id"] == "D" + HR
    assert fake_slack.uploaded_files[complete.args["files"][0]["id"]]["name"].startswith("alumni-members-")


def test_hrs_report_now_posts_the_figures_and_both_charts_in_their_dm(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    admin.on_report_now(
        ack=ack, body=in_admin_modal(REPORT_NOW, "report", user=HR), services=services, later=run_now
    )
    assert ack.once == {}
    [report] = fake_slack.calls_to("chat.postMessage")
    assert report.args["channel"] == HR and report.args["blocks"]
    completes = fake_slack.calls_to("files.completeUploadExternal")
    assert [c.args["thread_ts"] for c in completes] == [report.response["ts"]] * 2
    uploaded = [fake_slack.uploaded_files[c.args["files"][0]["id"]] for c in completes]
    assert [u["name"].split("-")[1] for u in uploaded] == ["report", "funnel"]  # members, hiring funnel
    assert all(u["bytes"].startswith(PNG_SIGNATURE) for u in uploaded)


def test_hr_gets_the_settings_form_prefilled_with_what_is_in_force(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    admin.on_settings_open(
        ack=ack, body=in_admin_modal(SETTINGS_OPEN, "settings", user=HR), services=services
    )
    assert ack.once == {}
    [pushed] = fake_slack.calls_to("views.push")
    assert pushed.ok and pushed.args["view"]["callback_id"] == SETTINGS_SUBMIT
    shown = {b["block_id"]: b["element"] for b in pushed.args["view"]["blocks"] if b["type"] == "input"}
    defaults = services.settings.program_defaults()
    assert shown["retention_days"]["initial_value"] == str(defaults.retention_days)


def settings_values(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "digest_day": select_value("fri"),
        "digest_time": "8:30",
        "retention_days": "180",
    }
    return values | changes


def test_settings_from_someone_without_hr_are_refused_and_nothing_is_saved(
    services: Services, ack: Recorder
) -> None:
    body = submission(SETTINGS_SUBMIT, settings_values(), user=ALICE)
    admin.on_settings_submit(ack=ack, body=body, view=body["view"], services=services, later=run_now)
    assert ack.once == {"response_action": "errors", "errors": {"digest_day": t("admin.not_hr", "en")}}
    with services.db.session() as session:
        assert session.get(ProgramSettingsRow, 1) is None


def test_bad_settings_get_field_errors_and_nothing_is_saved(services: Services, ack: Recorder) -> None:
    body = submission(SETTINGS_SUBMIT, settings_values(digest_time="25:00", retention_days="-3"), user=HR)
    admin.on_settings_submit(ack=ack, body=body, view=body["view"], services=services, later=run_now)
    answer = ack.once
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"digest_time", "retention_days"}
    with services.db.session() as session:
        assert session.get(ProgramSettingsRow, 1) is None


def test_good_settings_are_saved_before_the_ack_and_the_admin_modal_underneath_is_refreshed(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    admin.on_admin(ack=Recorder(), command=command_payload("/alumni-admin", user=HR), services=services)
    admin_view_id = fake_slack.calls_to("views.open")[0].response["view"]["id"]
    body = submission(SETTINGS_SUBMIT, settings_values(), user=HR)
    body["view"]["previous_view_id"] = admin_view_id
    saved: list[str] = []

    def later(work: Any) -> None:
        with services.db.session() as session:
            saved.append(
                get_program_settings(session, defaults=services.settings.program_defaults()).digest_day
            )
        work()

    admin.on_settings_submit(ack=ack, body=body, view=body["view"], services=services, later=later)
    assert ack.once == {} and saved == ["fri"]  # saved when the follow-up starts
    [updated] = fake_slack.calls_to("views.update")
    assert updated.ok and updated.args["view_id"] == admin_view_id
    assert updated.args["view"]["callback_id"] == ADMIN_VIEW
