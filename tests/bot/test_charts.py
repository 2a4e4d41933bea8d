"""The report chart is a real PNG of the right size, with Japanese labels only when a Japanese font exists."""

from __future__ import annotations

import struct

from bot.charts import PNG_SIGNATURE, chart_language, cjk_font, members_chart


def test_chart_is_a_valid_png() -> None:
    points = [(f"2026-{m:02d}", 10 * m, 3 * m) for m in range(1, 13)]
    data = members_chart(points, title="Members and activity", members_label="Members", active_label="Active")
    assert data.startswith(PNG_SIGNATURE)
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (800, 400)
    assert data.rstrip().endswith(b"IEND\xaeB`\x82")


def test_chart_handles_empty_months() -> None:
    assert members_chart([("2026-01", 0, 0)], title="t", members_label="m", active_label="a").startswith(
        PNG_SIGNATURE
    )


def test_chart_language_falls_back_to_english_without_a_japanese_font() -> None:
    assert chart_language("en") == "en"
    assert chart_language("ja") == ("ja" if cjk_font() else "en")
