"""The monthly report rendered for Slack and the terminal, with its chart (shared by the job, the admin view
and `alumni-bot report`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.blocks.admin import report_blocks, report_text
from bot.charts import chart_language, members_chart
from bot.i18n import Translator
from models.program_settings import ProgramSettings
from models.report import Month, MonthlyReport, monthly_report

CHART_FILENAME = "alumni-report-{month}.png"


@dataclass
class RenderedReport:
    report: MonthlyReport
    text: str
    blocks: list[dict[str, Any]]
    chart_png: bytes
    chart_filename: str
    chart_title: str


def render_report(
    session: Session, *, month: Month, zone: ZoneInfo, tr: Translator, defaults: ProgramSettings
) -> RenderedReport:
    """The report for `month`; `defaults` is `Settings.program_defaults()` (for the goals HR set)."""
    report = monthly_report(session, month=month, zone=zone, defaults=defaults)
    chart_tr = Translator(chart_language(tr.language))
    title = chart_tr("admin.chart.title", month=str(month))
    png = members_chart(
        [(str(m), members, active) for m, members, active in report.series],
        title=title,
        members_label=chart_tr("admin.chart.members"),
        active_label=chart_tr("admin.chart.active"),
    )
    return RenderedReport(
        report=report,
        text=report_text(report, tr),
        blocks=report_blocks(report, tr),
        chart_png=png,
        chart_filename=CHART_FILENAME.format(month=month),
        chart_title=title,
    )
