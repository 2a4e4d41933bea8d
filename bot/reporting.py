"""The monthly report rendered for Slack and the terminal, with its charts (shared by the job, the admin view
and `alumni-bot report`): members and activity, and the hiring funnel by month."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.blocks.admin import report_blocks, report_text
from bot.blocks.invitations import funnel_blocks, funnel_text
from bot.charts import chart_language, funnel_chart, members_chart
from bot.i18n import Translator
from models.program_settings import ProgramSettings
from models.report import Month, MonthlyReport, PipelineMonth, monthly_report

CHART_FILENAME = "alumni-report-{month}.png"
FUNNEL_CHART_FILENAME = "alumni-funnel-{month}.png"


@dataclass
class RenderedReport:
    report: MonthlyReport
    text: str
    blocks: list[dict[str, Any]]
    chart_png: bytes
    chart_filename: str
    chart_title: str
    funnel_png: bytes = b""
    funnel_filename: str = ""
    funnel_title: str = ""

    def charts(self) -> list[ReportChart]:
        """Every chart the report carries, in the order they are uploaded into its thread (the scheduled
        report and "Send the report now" both upload exactly these)."""
        charts = [ReportChart(self.chart_filename, self.chart_title, self.chart_png)]
        if self.funnel_png:
            charts.append(ReportChart(self.funnel_filename, self.funnel_title, self.funnel_png))
        return charts


@dataclass(frozen=True)
class ReportChart:
    """One PNG chart of the report."""

    filename: str
    title: str
    png: bytes


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
    funnel_title = chart_tr("invitations.chart.title", month=str(month))
    funnel_png = funnel_chart(
        [str(row.month) for row in report.pipeline],
        [
            (chart_tr(f"invitations.chart.{stage}"), [getattr(row, stage) or 0 for row in report.pipeline])
            for stage in PipelineMonth.STAGES
        ],
        title=funnel_title,
    )
    text = report_text(report, tr)
    funnels = funnel_text(report.invitations, report.pipeline, tr)
    return RenderedReport(
        report=report,
        text=f"{text}\n\n{funnels}" if funnels else text,
        blocks=report_blocks(report, tr) + funnel_blocks(report.invitations, report.pipeline, tr),
        chart_png=png,
        chart_filename=CHART_FILENAME.format(month=month),
        chart_title=title,
        funnel_png=funnel_png,
        funnel_filename=FUNNEL_CHART_FILENAME.format(month=month),
        funnel_title=funnel_title,
    )
