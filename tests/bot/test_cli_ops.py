"""`alumni-bot import`, `export` and `report` as an HR operator runs them (the real CLI entry point, fake Slack)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.charts import PNG_SIGNATURE
from bot.cli import main
from bot.slack_emulator.web_api import FakeSlack
from tests.models.test_roster import make_roster


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run(
    tmp_path: Path, fake: FakeSlack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Result]:
    """`alumni-bot ARGS` in this process (the argument parsing and wiring of `bot.cli.main`)."""
    for name in list(os.environ):
        if name.startswith(("SLACK_", "ALUMNI_", "DATABASE_URL")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-fake")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "secret")
    monkeypatch.setenv("SLACK_API_URL", fake.api_url)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'alumni.db'}")
    monkeypatch.setenv("ALUMNI_LANGUAGE", "en")
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str) -> Result:
        try:
            code = main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke


@pytest.fixture
def fake() -> FakeSlack:
    slack = FakeSlack()
    slack.start()
    yield slack  # type: ignore[misc]
    slack.stop()


def test_import_export_and_report_from_the_command_line(
    tmp_path: Path, fake: FakeSlack, run: Callable[..., Result]
) -> None:
    fixture = make_roster(200)
    for email, account in fixture.accounts.items():
        fake.add_user(account.user_id, name=account.user_id.lower(), real_name=account.name, email=email)
    roster = tmp_path / "roster.csv"
    roster.write_bytes(fixture.data)

    first = run("import", str(roster))
    assert first.returncode == 0, first.stderr
    assert (
        "Imported: 120" in first.stdout
        and "not in Slack yet: 60" in first.stdout
        and "invalid: 20" in first.stdout
    )
    assert "[##############################] 180/180" in first.stderr  # the progress bar's last state
    assert fake.calls_to("users.lookupByEmail") == []
    second = run("import", str(roster))
    assert "Imported: 0, updated: 0, unchanged: 120" in second.stdout

    out = tmp_path / "members.csv"
    exported = run("export", "members", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and "㈱本社" in data.decode("utf-8-sig")
    assert data.decode("utf-8-sig").count("\r\n") == 121  # header + 120 members

    chart = tmp_path / "chart.png"
    report = run("report", "--month", "2026-10", "--chart", str(chart))
    assert report.returncode == 0, report.stderr
    assert "Alumni program report: 2026-10" in report.stdout and "Members (consented)" in report.stdout
    assert chart.read_bytes().startswith(PNG_SIGNATURE)

    bad = run("report", "--month", "October")
    assert bad.returncode == 2 and "YYYY-MM" in bad.stderr
