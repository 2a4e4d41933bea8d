"""The monthly report's chart: members and active members over the last 12 months, as PNG bytes.

matplotlib runs headless (the Agg backend, no display) and thread-safe enough for our use: each call builds
its own Figure object instead of using pyplot's global state. It is imported inside the functions, not at module
level: the chart is drawn once a month, and importing matplotlib costs every web worker ~57 MiB and ~0.4 s
(issue 14); `tests/bot/test_charts.py` checks that importing the web app does not load it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CJK_HINTS = (
    "Noto Sans CJK",
    "Noto Sans JP",
    "IPAexGothic",
    "IPAGothic",
    "Hiragino",
    "Yu Gothic",
    "TakaoGothic",
)


def cjk_font() -> str | None:
    """A font with Japanese glyphs installed on this machine, if any."""
    from matplotlib import font_manager

    for entry in font_manager.fontManager.ttflist:
        if any(hint in entry.name for hint in _CJK_HINTS):
            return str(entry.name)
    return None


def chart_language(language: str) -> str:
    """Japanese labels only when a Japanese font is installed (otherwise they would render as boxes)."""
    return "ja" if language == "ja" and cjk_font() else "en"


def members_chart(
    points: Sequence[tuple[str, int, int]], *, title: str, members_label: str, active_label: str
) -> bytes:
    """A line chart of members and bars of active members per month; pick labels with `chart_language`."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 4), dpi=100)
    font = cjk_font()
    if font and not (title + members_label + active_label).isascii():
        from matplotlib import rcParams

        rcParams["font.family"] = [font, "sans-serif"]
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    labels = [p[0] for p in points]
    positions = list(range(len(points)))
    axes.plot(positions, [p[1] for p in points], marker="o", label=members_label, color="#1264a3")
    axes.bar(positions, [p[2] for p in points], label=active_label, color="#2eb67d", alpha=0.6)
    axes.set_xticks(positions)
    axes.set_xticklabels(labels, rotation=45, ha="right", fontsize=8)
    axes.set_title(title)
    axes.set_ylim(bottom=0)
    axes.grid(axis="y", alpha=0.3)
    axes.legend(loc="upper left")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def survey_chart(questions: Sequence[tuple[str, Sequence[tuple[str, int]]]], *, title: str) -> bytes:
    """Horizontal bars per scale or choice question (`bot.blocks.surveys.chart_series`), one panel each."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    panels = list(questions) or [(title, [])]
    figure = Figure(figsize=(8, 1.2 + 2.2 * len(panels)), dpi=100)
    labels_text = title + "".join(q + "".join(o for o, _ in options) for q, options in panels)
    font = cjk_font()
    if font and not labels_text.isascii():
        from matplotlib import rcParams

        rcParams["font.family"] = [font, "sans-serif"]
    FigureCanvasAgg(figure)
    figure.suptitle(title)
    for index, (question, options) in enumerate(panels, start=1):
        axes = figure.add_subplot(len(panels), 1, index)
        names = [name if len(name) <= 30 else name[:29] + "…" for name, _ in options]
        positions = list(range(len(options)))
        axes.barh(positions, [count for _, count in options], color="#1264a3")
        axes.set_yticks(positions)
        axes.set_yticklabels(names, fontsize=8)
        axes.invert_yaxis()  # the first option on top, as in the question
        axes.set_title(question if len(question) <= 80 else question[:79] + "…", fontsize=9, loc="left")
        axes.set_xlim(left=0)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # counts of people: no 0.5 ticks
        axes.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def funnel_chart(months: Sequence[str], stages: Sequence[tuple[str, Sequence[int]]], *, title: str) -> bytes:
    """Grouped bars: for each month, one bar per funnel stage (`stages`: (label, a value per month))."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(9, 4), dpi=100)
    font = cjk_font()
    if font and not (title + "".join(label for label, _ in stages)).isascii():
        from matplotlib import rcParams

        rcParams["font.family"] = [font, "sans-serif"]
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    width = 0.8 / max(1, len(stages))
    colours = ("#1264a3", "#36c5f0", "#ecb22e", "#2eb67d", "#e01e5a")
    for index, (label, values) in enumerate(stages):
        positions = [m + (index - (len(stages) - 1) / 2) * width for m in range(len(months))]
        axes.bar(positions, list(values), width=width, label=label, color=colours[index % len(colours)])
    axes.set_xticks(list(range(len(months))))
    axes.set_xticklabels(list(months), rotation=45, ha="right", fontsize=8)
    axes.set_title(title)
    axes.set_ylim(bottom=0)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts of people: no 2.5 ticks
    axes.grid(axis="y", alpha=0.3)
    axes.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
