"""`alumni-bot import`, `export` and `report` as an HR operator runs them (the real CLI entry point, fake Slack)."""

from __future__ import annotations

import io
import os
import pty
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from slack_sdk import WebClient

from bot.charts import PNG_SIGNATURE
from bot.cli import main
from bot.slack_emulator.web_api import FakeSlack
from bot.slack_files import slack_accounts_by_email
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
    assert "[#" not in first.stderr and "users.list" not in first.stderr  # not a terminal: no progress
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
    written = sorted(p.name for p in tmp_path.glob("*.png"))
    assert len(written) == 2 and "chart.png" in written  # the members chart, and the funnel chart beside it
    assert all((tmp_path / name).read_bytes().startswith(PNG_SIGNATURE) for name in written)

    bad = run("report", "--month", "October")
    assert bad.returncode == 2 and "YYYY-MM" in bad.stderr


class _Terminal(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_slow_steps_show_progress_on_a_terminal(
    tmp_path: Path, fake: FakeSlack, run: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    fixture = make_roster(200)
    for email, account in fixture.accounts.items():
        fake.add_user(account.user_id, name=account.user_id.lower(), real_name=account.name, email=email)
    roster = tmp_path / "roster.csv"
    roster.write_bytes(fixture.data)
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)

    assert run("import", str(roster)).returncode == 0
    assert run("export", "members", "--out", str(tmp_path / "m.csv")).returncode == 0
    assert run("report", "--month", "2026-10", "--chart", str(tmp_path / "c.png")).returncode == 0

    shown = terminal.getvalue()
    assert re.search(
        r"Reading Slack users \(users\.list\)… 1 page\(s\), \d+ users with an email \(\d+\.\d s\)\n", shown
    )
    assert "Importing 180 rows [##############################] 180/180\n" in shown
    assert re.search(r"Exporting members… \(\d+\.\d s\)\n", shown)
    assert re.search(r"Building the report for 2026-10… \(\d+\.\d s\)\n", shown)


def test_users_list_paging_reports_each_page(fake: FakeSlack) -> None:
    for n in range(5):
        fake.add_user(f"U0PAGE00{n}", name=f"p{n}", real_name=f"P {n}", email=f"p{n}@example.com")
    pages: list[tuple[int, int]] = []
    client = WebClient(token="xoxb-fake", base_url=fake.api_url)

    accounts = slack_accounts_by_email(client, page_size=2, on_page=lambda p, n: pages.append((p, n)))

    assert len(accounts) == 5
    assert [p for p, _ in pages] == list(range(1, len(pages) + 1)) and len(pages) >= 3
    assert pages[-1][1] == 5


@pytest.mark.slow
def test_progress_goes_to_a_real_terminal_and_not_to_a_pipe(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ALUMNI_", "DATABASE_URL"))}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'alumni.db'}", ALUMNI_LANGUAGE="en")
    command = [sys.executable, "-m", "bot.cli", "export", "events", "--out", str(tmp_path / "e.csv")]

    piped = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert piped.returncode == 0, piped.stderr
    assert "Exporting" not in piped.stderr

    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=terminal)
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the terminal closed: the process exited
                break
            if not chunk:
                break
            shown += chunk
        assert process.wait(timeout=120) == 0
    finally:
        os.close(controller)
    assert re.search(rb"Exporting events\xe2\x80\xa6 \(\d+\.\d s\)\r?\n", shown), shown
