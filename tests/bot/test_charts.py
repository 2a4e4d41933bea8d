"""The report chart is a real PNG of the right size, with Japanese labels only when a Japanese font exists."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

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


def test_web_worker_does_not_import_matplotlib(tmp_path: Path) -> None:
    """matplotlib (~57 MiB per process) loads only when a chart is drawn, not in every web worker."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ALUMNI_", "DATABASE_URL"))}
    env.update(
        SLACK_BOT_TOKEN="xoxb-fake",
        SLACK_SIGNING_SECRET="secret",
        DATABASE_URL=f"sqlite:///{tmp_path / 'alumni.db'}",
    )
    probe = (
        "import sys\n"
        "from bot.cli import make_http_application\n"
        "make_http_application()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
