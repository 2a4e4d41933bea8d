"""Block Kit for HR: the admin view, the import and settings modals, import results, the monthly report."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from bot.blocks.common import (
    SECTION_LIMIT,
    BlockDict,
    actions,
    button,
    context,
    divider,
    header,
    modal_title,
    plain,
    section,
)
from bot.blocks.news import reach_line
from bot.i18n import Translator
from bot.mrkdwn import escape, truncate
from models.program_settings import WEEKDAYS, ProgramSettings, settings_as_form
from models.report import Figures, MonthlyReport
from models.roster import ImportReport

# IDs Slack sends back.
ADMIN_VIEW = "admin_home"
IMPORT_OPEN = "admin_import_open"
IMPORT_SUBMIT = "admin_import_submit"
IMPORT_FILE = "file"
# One button per export kind, each with its own action_id: Slack refuses (views.open invalid_arguments) a
# block whose elements share an action_id ("unique among all other action_ids in the containing block").
EXPORT_PREFIX = "admin_export_"
EXPORT = re.compile(r"^admin_export_[a-z_]+$")
REPORT_NOW = "admin_report_now"
SETTINGS_OPEN = "admin_settings_open"
SETTINGS_SUBMIT = "admin_settings_submit"
SETTINGS_FIELDS = (
    "digest_day",
    "digest_time",
    "nudge_cadence_days",
    "reminder_offsets_minutes",
    "retention_days",
    "goal_members",
    "goal_hires",
    "goal_rehires",
    "goal_events",
)
ADMIN_ACTIONS = (IMPORT_OPEN, REPORT_NOW, SETTINGS_OPEN)  # and every export_action_id(kind)
ADMIN_VIEWS = (IMPORT_SUBMIT, SETTINGS_SUBMIT)
MAX_INVALID_LINES = 30
NEWS_LINES = 5  # news posts listed by name in the report (the totals count them all)


def export_action_id(kind: str) -> str:
    """The action_id of the button exporting `kind` (matches `EXPORT`)."""
    return EXPORT_PREFIX + kind


def export_kind(action_id: str) -> str:
    """The export kind an export button's action_id names."""
    return action_id.removeprefix(EXPORT_PREFIX)


def _num(value: int | float | None, tr: Translator) -> str:
    if value is None:
        return tr("common.none")
    return f"{value:,}" if isinstance(value, int) else f"{value:.2f}"


def _delta(current: int | float | None, previous: int | float | None) -> str:
    if current is None or previous is None:
        return ""
    diff = current - previous
    if isinstance(diff, float):
        diff = round(diff, 2)
    if diff > 0:
        return f" (▲{diff})"
    if diff < 0:
        return f" (▼{-diff})"
    return " (±0)"


def _breakdown(values: dict[str, int] | None, tr: Translator, prefix: str) -> str:
    if values is None:
        return tr("common.none")
    if not values:
        return "0"
    return ", ".join(
        f"{tr(f'{prefix}.{k}') if _has(f'{prefix}.{k}') else escape(k)} {v}"
        for k, v in sorted(values.items())
    )


def _has(key: str) -> bool:
    from bot.i18n import has

    return has(key)


def figure_lines(current: Figures, previous: Figures, tr: Translator) -> list[tuple[str, str]]:
    """(label, value with the change from the previous month) for every figure."""
    rows: list[tuple[str, Any, Any]] = [
        ("members", current.members, previous.members),
        ("new_members", current.new_members, previous.new_members),
        ("active_members", current.active_members, previous.active_members),
        ("checkins", current.checkins, previous.checkins),
        ("opportunities", current.opportunities, previous.opportunities),
        ("interest_clicks", current.interest_clicks, previous.interest_clicks),
        ("referrals", current.referrals, previous.referrals),
        ("hires", current.hires, previous.hires),
        ("rehires", current.rehires, previous.rehires),
        ("events_held", current.events_held, previous.events_held),
        ("event_attendance", current.event_attendance, previous.event_attendance),
        ("rating_average", current.rating_average, previous.rating_average),
        ("feedback", current.feedback, previous.feedback),
    ]
    out = [(tr(f"admin.figures.{name}"), _num(cur, tr) + _delta(cur, prev)) for name, cur, prev in rows]
    if current.ratings_count is not None and current.rating_average is not None:
        label, value = out[11]
        out[11] = (label, value + " " + tr("admin.figures.ratings_count", count=current.ratings_count))
    if current.events_unmarked:  # attendance counts marked RSVPs only: say when some events were never marked
        label, value = out[10]
        out[10] = (
            label,
            value + " " + tr("admin.figures.attendance_unmarked", events=current.events_unmarked),
        )
    return out


def engagement_lines(report: MonthlyReport, tr: Translator) -> list[str]:
    """The intros and news reach lines of the report (mrkdwn, titles escaped); empty when neither feature
    is part of this build. The posts with the most reactions and replies first, at most `NEWS_LINES`."""
    lines: list[str] = []
    if (intros := report.intros) is not None:
        lines.append(
            tr(
                "intros.report.line",
                rounds=intros.rounds,
                groups=intros.groups,
                members=intros.members_paired,
                yes=intros.met_yes,
                no=intros.met_no,
                unanswered=intros.unanswered,
            )
        )
    if (news := report.news) is not None:
        lines.append(
            tr("news.report_total", posts=len(news.posts), reactions=news.reactions, replies=news.replies)
        )
        ranked = sorted(news.posts, key=lambda p: (-(p.reactions + p.replies), p.created_at, p.id))
        lines += [
            reach_line(p.title, tr, reactions=p.reactions, replies=p.replies) for p in ranked[:NEWS_LINES]
        ]
        if len(ranked) > NEWS_LINES:
            lines.append(tr("common.more", count=len(ranked) - NEWS_LINES))
    return lines


def report_blocks(report: MonthlyReport, tr: Translator) -> list[BlockDict]:
    """The monthly report as a message (well under 50 blocks)."""
    lines = figure_lines(report.current, report.previous, tr)
    fields = [f"*{label}*\n{value}" for label, value in lines]
    blocks: list[BlockDict] = [
        header(tr("admin.report.title", month=str(report.month))),
        context(tr("admin.report.compared", previous=str(report.previous.month))),
    ]
    for start in range(0, len(fields), 10):
        blocks.append(
            {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields[start : start + 10]]}
        )
    blocks.append(
        section(
            f"*{tr('admin.figures.opportunities_by_kind')}*: "
            + _breakdown(report.current.opportunities_by_kind, tr, "admin.kinds")
            + f"\n*{tr('admin.figures.referrals_by_status')}*: "
            + _breakdown(report.current.referrals_by_status, tr, "admin.statuses")
        )
    )
    if report.goals:
        blocks.append(divider())
        goal_lines = [
            tr(
                f"admin.goals.{g.name}",
                target=g.target,
                actual=g.actual,
                percent=round(100 * g.actual / g.target) if g.target else 0,
                year=report.month.year,
            )
            for g in report.goals
        ]
        blocks.append(section(f"*{tr('admin.goals.title')}*\n" + "\n".join(goal_lines)))
    else:
        blocks.append(context(tr("admin.goals.none")))
    blocks.append(context(tr("admin.report.definitions")))
    engagement = engagement_lines(report, tr)
    if engagement:
        blocks.append(divider())
        text = f"*{tr('admin.engagement.title')}*\n" + "\n".join(engagement)
        blocks.append(section(truncate(text, SECTION_LIMIT)))
        blocks.append(context(tr("admin.engagement.definitions")))
    return blocks


def report_text(report: MonthlyReport, tr: Translator) -> str:
    """The report as plain text (the CLI and the notification text)."""
    lines = [
        tr("admin.report.title", month=str(report.month)),
        tr("admin.report.compared", previous=str(report.previous.month)),
        "",
    ]
    width = max(len(label) for label, _ in figure_lines(report.current, report.previous, tr))
    for label, value in figure_lines(report.current, report.previous, tr):
        lines.append(f"  {label.ljust(width)}  {value}")
    lines.append(
        f"  {tr('admin.figures.opportunities_by_kind')}: "
        + _breakdown(report.current.opportunities_by_kind, tr, "admin.kinds")
    )
    lines.append(
        f"  {tr('admin.figures.referrals_by_status')}: "
        + _breakdown(report.current.referrals_by_status, tr, "admin.statuses")
    )
    if report.goals:
        lines.append("")
        lines.append(tr("admin.goals.title"))
        for g in report.goals:
            lines.append(
                "  "
                + tr(
                    f"admin.goals.{g.name}",
                    target=g.target,
                    actual=g.actual,
                    percent=round(100 * g.actual / g.target) if g.target else 0,
                    year=report.month.year,
                )
            )
    engagement = engagement_lines(report, tr)
    if engagement:
        lines += ["", tr("admin.engagement.title")] + ["  " + line for line in engagement]
    return "\n".join(lines)


def admin_view(
    figures: Figures, previous: Figures, settings: ProgramSettings, export_kinds: list[str], tr: Translator
) -> BlockDict:
    """The modal `/alumni-admin` opens: this month's figures so far and every HR action."""
    lines = figure_lines(figures, previous, tr)[:6]
    blocks: list[BlockDict] = [
        section(tr("admin.view.intro", month=str(figures.month))),
        {
            "type": "section",
            "fields": [{"type": "mrkdwn", "text": f"*{label}*\n{value}"} for label, value in lines],
        },
        divider(),
        section(tr("admin.view.import_help")),
        actions(button(tr("admin.view.import_button"), IMPORT_OPEN, value="import", style="primary")),
        divider(),
        section(tr("admin.view.export_help")),
    ]
    if export_kinds:
        blocks.append(
            actions(
                *(button(tr(f"admin.export.kinds.{k}"), export_action_id(k), value=k) for k in export_kinds),
                block_id="export",
            )
        )
    blocks += [
        divider(),
        section(tr("admin.view.report_help")),
        actions(button(tr("admin.view.report_button"), REPORT_NOW, value="report")),
        divider(),
        section(
            tr(
                "admin.view.settings_summary",
                day=tr(f"admin.weekdays.{settings.digest_day}"),
                time=settings.digest_time,
                cadence=settings.nudge_cadence_days,
                retention=settings.retention_days,
            )
        ),
        actions(button(tr("admin.view.settings_button"), SETTINGS_OPEN, value="settings")),
    ]
    return {
        "type": "modal",
        "callback_id": ADMIN_VIEW,
        "title": modal_title(tr("admin.view.title")),
        "close": plain(tr("common.close"), 24),
        "blocks": blocks,
    }


def import_modal(tr: Translator) -> BlockDict:
    """The roster import: one CSV through a `file_input`."""
    return {
        "type": "modal",
        "callback_id": IMPORT_SUBMIT,
        "title": modal_title(tr("admin.import.title")),
        "submit": plain(tr("admin.import.submit"), 24),
        "close": plain(tr("common.cancel"), 24),
        "blocks": [
            section(tr("admin.import.help")),
            {
                "type": "input",
                "block_id": IMPORT_FILE,
                "label": plain(tr("admin.import.file_label"), 2000),
                "element": {
                    "type": "file_input",
                    "action_id": IMPORT_FILE,
                    "filetypes": ["csv"],
                    "max_files": 1,
                },
            },
        ],
    }


def _text_input(block_id: str, label: str, value: str, hint: str | None = None) -> BlockDict:
    block: BlockDict = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, 2000),
        "optional": True,
        "element": {
            "type": "plain_text_input",
            "action_id": block_id,
            "initial_value": value,
            "max_length": 100,
        },
    }
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def settings_modal(settings: ProgramSettings, tr: Translator) -> BlockDict:
    """The program settings form, prefilled with the effective values."""
    values = settings_as_form(settings)
    day_options = [{"text": plain(tr(f"admin.weekdays.{d}"), 75), "value": d} for d in WEEKDAYS]
    blocks: list[BlockDict] = [
        {
            "type": "input",
            "block_id": "digest_day",
            "label": plain(tr("admin.settings.digest_day"), 2000),
            "element": {
                "type": "static_select",
                "action_id": "digest_day",
                "options": day_options,
                "initial_option": next(o for o in day_options if o["value"] == settings.digest_day),
            },
        }
    ]
    for name in SETTINGS_FIELDS[1:]:
        blocks.append(
            _text_input(name, tr(f"admin.settings.{name}"), values[name], tr(f"admin.settings.hints.{name}"))
        )
    return {
        "type": "modal",
        "callback_id": SETTINGS_SUBMIT,
        "title": modal_title(tr("admin.settings.title")),
        "submit": plain(tr("common.save"), 24),
        "close": plain(tr("common.cancel"), 24),
        "blocks": blocks,
    }


def import_result_text(report: ImportReport, tr: Translator, *, filename: str) -> str:
    """The import report HR receives: the counts, the first invalid lines with their reasons, then the first
    rows imported with a warning (a value left out)."""

    def invalid(row: Any) -> str:
        reason = tr(f"admin.import.reasons.{row.reason}")
        return tr("admin.import.invalid_line", line=row.line, reason=reason, column=row.column or "-")

    def warned(row: Any) -> str:
        reason = tr(f"admin.import.warnings.{row.reason}", value=escape(row.value))
        return tr("admin.import.warning_line", line=row.line, reason=reason, column=row.column)

    return "\n".join(
        [
            tr("admin.import.done", file=escape(filename), **report.counts()),
            *_first_lines(tr, "admin.import.invalid_header", report.invalid, invalid),
            *_first_lines(tr, "admin.import.warning_header", report.warnings, warned),
        ]
    )


def _first_lines(
    tr: Translator, header_key: str, rows: Sequence[Any], line: Callable[[Any], str]
) -> list[str]:
    """A header, the first `MAX_INVALID_LINES` rows as lines and how many more; nothing when there are none."""
    if not rows:
        return []
    shown = [line(row) for row in rows[:MAX_INVALID_LINES]]
    more = len(rows) - len(shown)
    return [tr(header_key), *shown, *([tr("common.more", count=more)] if more else [])]
