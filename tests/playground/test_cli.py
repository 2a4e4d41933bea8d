"""`alumni-bot playground` and the run script's choice between the playground and the bot."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from bot.playground.cli import slack_app_configured

ROOT = Path(__file__).resolve().parents[2]


def test_no_slack_app_means_the_playground(tmp_path: Path) -> None:
    missing = str(tmp_path / "no.env")
    assert not slack_app_configured({}, missing)
    assert not slack_app_configured(
        {"SLACK_BOT_TOKEN": "xoxb-your-bot-token", "SLACK_SIGNING_SECRET": " "}, missing
    )
    assert slack_app_configured({"SLACK_BOT_TOKEN": "xoxb-123-456"}, missing)
    # Half-configured still runs the bot, whose start-up message names what is missing.
    assert slack_app_configured({"SLACK_SIGNING_SECRET": "abc123"}, missing)
    dotenv = tmp_path / ".env"
    dotenv.write_text("SLACK_BOT_TOKEN=xoxb-your-bot-token\nSLACK_SIGNING_SECRET=your-signing-secret\n")
    assert not slack_app_configured({}, str(dotenv))
    dotenv.write_text("SLACK_BOT_TOKEN=xoxb-real-token\n")
    assert slack_app_configured({}, str(dotenv))


def _start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ALUMNI_", "DATABASE_URL"))}
    env["LANG"] = "en_US.UTF-8"
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "playground", "--port", "0", *args],
        cwd=tmp_path,
        env=env | {"PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        found = re.search(r"Playground running at (\S+) ", line)
        if found:
            return process, found.group(1)
    process.wait(10)
    raise AssertionError(f"the playground did not start: {process.stderr.read() if process.stderr else ''}")


@pytest.mark.slow
def test_the_playground_command_serves_demo_data_on_loopback(tmp_path: Path) -> None:
    process, url = _start(tmp_path, "--demo")
    try:
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url + "api/state", timeout=30) as response:
            state = json.loads(response.read())
        assert len(state["people"]) >= 30
        assert (tmp_path / "playground-demo.db").exists()  # its own file, never the bot's database
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    assert process.returncode == 0


@pytest.mark.slow
def test_listening_beyond_loopback_needs_host_and_warns(tmp_path: Path) -> None:
    process, url = _start(tmp_path, "--host", "0.0.0.0")
    process.send_signal(signal.SIGTERM)
    process.wait(30)
    assert url.startswith("http://0.0.0.0:")
    assert process.stderr is not None
    assert "WARNING: the playground is listening on 0.0.0.0" in process.stderr.read()
