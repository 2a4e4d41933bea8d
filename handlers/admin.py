"""`/alumni-admin` (HR only): program figures, roster import, CSV exports, the report on demand, settings.

Every listener checks the HR role on the server (buttons are visible to whoever sees the view, and a payload
can be forged); a refused request changes nothing and gets a polite private answer (`bot.kit.hr_clicker`).
Settings are validated and saved before the ack; the import, exports and the report (Slack downloads and
uploads) run after it through `later`, and their results arrive in HR's DM.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack
from slack_sdk.errors import SlackApiError

from bot.blocks.admin import (
    EXPORT,
    IMPORT_FILE,
    IMPORT_OPEN,
    IMPORT_SUBMIT,
    REPORT_NOW,
    SETTINGS_FIELDS,
    SETTINGS_OPEN,
    SETTINGS_SUBMIT,
    admin_view,
    export_kind,
    import_modal,
    import_result_text,
    settings_modal,
)
from bot.forms import error_message, field_errors, input_block_ids, state_values
from bot.i18n import Translator
from bot.kit import Feature, Later, action, command, hr_clicker, view
from bot.listeners import user_id_of
from bot.reporting import render_report
from bot.services import Services
from bot.slack_files import FileTooLarge, download_file, slack_accounts_by_email, upload_file
from jobs import reports as report_jobs
from models.audit import record
from models.errors import DomainError, ValidationFailed
from models.export import available_kinds, export_csv
from models.program_settings import get_program_settings, update_program_settings
from models.report import Month, figures, last_complete_month
from models.roster import import_roster, parse_roster
from models.timeutil import now

log = logging.getLogger(__name__)

COMMAND = "/alumni-admin"
SCOPES = ("files:read", "files:write", "users:read.email")


# -- the public API other code (and later steps) call ------------------------------------------------


def build_admin_view(svc: Services, tr: Translator) -> dict[str, Any]:
    """The admin modal: this month's figures so far (against last month), every HR action, the settings."""
    zone = svc.settings.zone
    month = Month.containing(now(), zone)
    with svc.db.session() as session:
        current = figures(session, month, zone)
        previous = figures(session, month.previous(), zone)
        settings = get_program_settings(session, defaults=svc.settings.program_defaults())
    return admin_view(current, previous, settings, available_kinds(), tr)


def run_import(svc: Services, *, user_id: str, file_id: str) -> None:
    """Fetch the shared CSV, import it and DM the report to the HR person who submitted it."""
    tr = svc.translator(user_id)
    actor = svc.actor(user_id)
    try:
        filename, data = download_file(svc.client, file_id)
        parsed = parse_roster(data)
        accounts = slack_accounts_by_email(svc.client)
        with svc.db.session() as session:
            report = import_roster(session, actor=actor, parsed=parsed, slack_accounts=accounts)
        text = import_result_text(report, tr, filename=filename)
    except DomainError as exc:
        text = tr("admin.import.failed", reason=error_message(exc, tr))
    except FileTooLarge:
        text = tr("admin.import.failed", reason=tr("admin.errors.roster_too_big", max=20))
    except (SlackApiError, OSError, ValueError) as exc:
        # The file was deleted between upload and submit, the ID is forged, or the download failed.
        log.info("roster file not readable: %s", type(exc).__name__)
        text = tr("admin.import.failed", reason=tr("admin.errors.roster_file_missing"))
    svc.client.chat_postMessage(channel=user_id, text=text)


def send_export(svc: Services, *, user_id: str, kind: str) -> None:
    """Upload the `kind` CSV export to `user_id`'s DM (the model refuses anyone but HR, and says why)."""
    tr = svc.translator(user_id)
    try:
        with svc.db.session() as session:
            data, count = export_csv(session, actor=svc.actor(user_id), kind=kind, zone=svc.settings.zone)
    except DomainError as exc:
        svc.client.chat_postMessage(channel=user_id, text=error_message(exc, tr))
        return
    upload_file(
        svc.client,
        recipient=user_id,
        content=data,
        # The day in the workspace zone (HR's day), not the server's.
        filename=f"alumni-{kind}-{now().astimezone(svc.settings.zone).date().isoformat()}.csv",
        title=tr(f"admin.export.kinds.{kind}"),
        initial_comment=tr("admin.export.done", kind=tr(f"admin.export.kinds.{kind}"), count=count),
    )


def send_report(
    svc: Services, *, actor_id: str, recipient: str, tr: Translator, month: Month | None = None
) -> None:
    """Post the report for `month` (default: the last complete month) to `recipient`, with every chart the
    monthly job uploads (members and activity, the hiring funnel) in its thread."""
    zone = svc.settings.zone
    month = month or last_complete_month(now(), zone)
    with svc.db.session() as session:
        rendered = render_report(
            session, month=month, zone=zone, tr=tr, defaults=svc.settings.program_defaults()
        )
        record(session, actor=actor_id, action="admin.report", target=str(month), recipient=recipient)
    posted = svc.client.chat_postMessage(channel=recipient, text=rendered.text[:3000], blocks=rendered.blocks)
    for chart in rendered.charts():
        upload_file(
            svc.client,
            recipient=str(posted["channel"]),
            content=chart.png,
            filename=chart.filename,
            title=chart.title,
            thread_ts=str(posted["ts"]),
        )


# -- listeners ---------------------------------------------------------------------------------------


def on_admin(ack: Ack, command: dict[str, Any], services: Services) -> None:
    """`/alumni-admin`: the admin modal for HR; anyone else is told privately, in the ack, that it is HR's."""
    user_id = user_id_of(command)
    tr = services.translator(user_id)
    if not services.roles.is_hr(user_id):
        ack(response_type="ephemeral", text=tr("admin.not_hr"))
        return
    ack()
    services.client.views_open(trigger_id=command["trigger_id"], view=build_admin_view(services, tr))


def on_import_open(ack: Ack, body: dict[str, Any], services: Services) -> None:
    """The admin modal's "Import roster": the import modal on top of it."""
    ack()
    user_id = hr_clicker(services, body)
    if user_id is None:
        return
    services.client.views_push(trigger_id=body["trigger_id"], view=import_modal(services.translator(user_id)))


def on_import_submit(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services, later: Later
) -> None:
    """A roster CSV submitted: checked before the ack; the download and import run after it (the report is a DM)."""
    user_id = user_id_of(body)
    tr = services.translator(user_id)
    if not services.roles.is_hr(user_id):
        ack(response_action="errors", errors={IMPORT_FILE: tr("admin.not_hr")})
        return
    files = state_values(view).get(IMPORT_FILE) or []
    file_id = str(files[0].get("id") or "") if files and isinstance(files[0], dict) else ""
    if not file_id:
        ack(response_action="errors", errors={IMPORT_FILE: tr("errors.required")})
        return
    ack()
    later(lambda: _import_in_background(services, user_id=user_id, file_id=file_id))


def _import_in_background(services: Services, *, user_id: str, file_id: str) -> None:
    services.client.chat_postMessage(
        channel=user_id, text=services.translator(user_id)("admin.import.started")
    )
    run_import(services, user_id=user_id, file_id=file_id)


def on_export(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], services: Services, later: Later
) -> None:
    """An export button: the CSV of its kind in HR's DM, after the ack."""
    ack()
    kind = export_kind(str(action.get("action_id") or ""))
    later(lambda: _for_hr(services, body, lambda user_id: send_export(services, user_id=user_id, kind=kind)))


def on_report_now(ack: Ack, body: dict[str, Any], services: Services, later: Later) -> None:
    """ "Send the report now": last month's report and chart in HR's DM, after the ack."""
    ack()
    later(lambda: _for_hr(services, body, lambda user_id: _report_to(services, user_id)))


def _report_to(services: Services, user_id: str) -> None:
    send_report(services, actor_id=user_id, recipient=user_id, tr=services.translator(user_id))


def _for_hr(services: Services, body: dict[str, Any], work: Callable[[str], None]) -> None:
    """Run `work(user_id)` for an HR clicker; anyone else gets the kit's private refusal instead."""
    user_id = hr_clicker(services, body)
    if user_id is not None:
        work(user_id)


def on_settings_open(ack: Ack, body: dict[str, Any], services: Services) -> None:
    """The admin modal's "Settings": the settings form on top of it, prefilled with what is in force."""
    ack()
    user_id = hr_clicker(services, body)
    if user_id is None:
        return
    # Pre-filled with the effective values (environment, then HR's saved ones), not built-in defaults.
    with services.db.session() as session:
        settings = get_program_settings(session, defaults=services.settings.program_defaults())
    services.client.views_push(
        trigger_id=body["trigger_id"], view=settings_modal(settings, services.translator(user_id))
    )


def on_settings_submit(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], services: Services, later: Later
) -> None:
    """Settings are validated and saved before the ack; the admin modal underneath is refreshed after it."""
    user_id = user_id_of(body)
    tr = services.translator(user_id)
    if not services.roles.is_hr(user_id):
        ack(response_action="errors", errors={SETTINGS_FIELDS[0]: tr("admin.not_hr")})
        return
    values = state_values(view)
    changes = {name: values.get(name) for name in SETTINGS_FIELDS if name in values}
    try:
        with services.db.session() as session:
            update_program_settings(
                session,
                actor=services.actor(user_id),
                changes=changes,
                defaults=services.settings.program_defaults(),
            )
    except ValidationFailed as exc:
        ack(response_action="errors", errors=field_errors(exc, tr, block_ids=input_block_ids(view)))
        return
    ack()
    previous = str((body.get("view") or {}).get("previous_view_id") or "")
    if previous:
        later(lambda: _refresh_admin_view(services, previous, tr))


def _refresh_admin_view(services: Services, view_id: str, tr: Translator) -> None:
    try:
        services.client.views_update(view_id=view_id, view=build_admin_view(services, tr))
    except SlackApiError:
        log.info("admin view no longer open")


FEATURE = Feature(
    name="admin",
    jobs=tuple(report_jobs.SCHEDULED_JOBS),
    digest=report_jobs.digest_section,
    digest_order=report_jobs.DIGEST_ORDER,
    listeners=(
        command(
            COMMAND, on_admin, description_key="admin.command_description", usage_hint_key="admin.usage_hint"
        ),
        action(IMPORT_OPEN, on_import_open),
        view(IMPORT_SUBMIT, on_import_submit),
        action(EXPORT, on_export),
        action(REPORT_NOW, on_report_now),
        action(SETTINGS_OPEN, on_settings_open),
        view(SETTINGS_SUBMIT, on_settings_submit),
    ),
    scopes=SCOPES,
)
