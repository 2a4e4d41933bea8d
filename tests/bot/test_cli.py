"""`alumni-bot run` as a user starts it: refuses without credentials, serves HTTP with them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bot.slack_emulator.web_api import FakeSlack
from tests.conftest import ALICE, SIGNING_SECRET
from tests.slack_requests import SlackSender


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ALUMNI_", "DATABASE_URL"))}
    env.update(extra)
    return env


def test_run_without_credentials_exits_with_help(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SLACK_BOT_TOKEN" in result.stderr and "SLACK_SIGNING_SECRET" in result.stderr
    assert "OAuth & Permissions" in result.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_run_http_serves_healthz_and_a_signed_command(tmp_path: Path) -> None:
    fake = FakeSlack()
    fake.start()
    fake.add_user(ALICE, name="alice", real_name="Alice", locale="en-US")
    port = _free_port()
    env = _env(
        tmp_path,
        SLACK_BOT_TOKEN="xoxb-fake",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake.api_url,
        DATABASE_URL=f"sqlite:///{tmp_path / 'alumni.db'}",
        WEB_CONCURRENCY="1",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--http", "--port", str(port), "--no-scheduler"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    assert json.loads(response.read())["ok"] is True
                    break
            except OSError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "the server did not come up"
                time.sleep(0.2)
        sender = SlackSender(f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET)
        answer = sender.command("/alumni", "help", user=ALICE)
        assert answer.status == 200 and "/opportunities" in answer.json["text"]
        assert sender.command("/alumni", "help", user=ALICE, sign=False).status == 401
    finally:
        process.terminate()
        process.wait(timeout=20)
        fake.stop()
    assert process.returncode == 0, "SIGTERM should shut down cleanly"


def test_dotenv_settings_reach_the_jobs_too(tmp_path: Path) -> None:
    """A value in `.env` (not only in the environment) changes what a job does: an empty week's digest."""

    def dry_run() -> str:
        result = subprocess.run(
            [sys.executable, "-m", "bot.cli", "jobs", "run", "digest", "--dry-run"],
            cwd=tmp_path,
            env=_env(tmp_path, LANG="C.UTF-8"),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    settings = f"DATABASE_URL=sqlite:///{tmp_path / 'a.db'}\nALUMNI_CHANNEL=C0123\nALUMNI_LANGUAGE=en\n"
    (tmp_path / ".env").write_text(settings)
    assert "C0123" not in dry_run()
    (tmp_path / ".env").write_text(settings + "ALUMNI_DIGEST_POST_EMPTY=true\n")
    assert "C0123" in dry_run()
