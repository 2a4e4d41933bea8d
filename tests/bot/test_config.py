"""Settings: environment parsing and the helpful start-up refusal."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, variable_names


def test_defaults_follow_design() -> None:
    settings = Settings.from_env({}, dotenv_path=None)
    assert settings.database_url == "sqlite:///alumni.db"
    assert settings.timezone == "Asia/Tokyo"
    assert settings.language == "ja"
    assert settings.port == 3000
    assert settings.slack_api_url == "https://slack.com/api/"
    assert not settings.socket_mode


def test_lists_and_overrides_are_parsed() -> None:
    settings = Settings.from_env(
        {
            "ALUMNI_HR_USERS": "U1, U2 ,,U3",
            "ALUMNI_ORGANIZER_USERS": "U9",
            "ALUMNI_LANGUAGE": "en",
            "PORT": "8080",
            "SLACK_APP_TOKEN": "xapp-1",
        },
        dotenv_path=None,
    )
    assert settings.hr_users == {"U1", "U2", "U3"}
    assert settings.organizer_users == {"U9"}
    assert settings.language == "en"
    assert settings.port == 8080
    assert settings.socket_mode


def test_dotenv_fills_what_the_environment_leaves_out(tmp_path: pytest.TempPathFactory) -> None:
    env_file = tmp_path / ".env"  # type: ignore[operator]
    env_file.write_text("ALUMNI_CHANNEL=C123\nALUMNI_LANGUAGE=en\n")
    settings = Settings.from_env({"ALUMNI_LANGUAGE": "ja"}, dotenv_path=str(env_file))
    assert settings.alumni_channel == "C123"
    assert settings.language == "ja"


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({}, ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"]),
        ({"SLACK_BOT_TOKEN": "xoxb-your-bot-token", "SLACK_SIGNING_SECRET": "s"}, ["SLACK_BOT_TOKEN"]),
        (
            {
                "SLACK_BOT_TOKEN": "xoxb-1",
                "SLACK_SIGNING_SECRET": "s",
                "SLACK_APP_TOKEN": "xapp-your-app-token",
            },
            ["SLACK_APP_TOKEN"],
        ),
    ],
)
def test_missing_or_placeholder_credentials_name_the_variable(env: dict[str, str], names: list[str]) -> None:
    settings = Settings.from_env(env, dotenv_path=None)
    with pytest.raises(ConfigError) as info:
        settings.require_credentials(socket_mode=env.get("SLACK_APP_TOKEN") is not None)
    for name in names:
        assert name in str(info.value)
    assert "api.slack.com/apps" in str(info.value)


def test_bad_timezone_and_language_are_refused() -> None:
    with pytest.raises(ConfigError, match="ALUMNI_TIMEZONE"):
        Settings.from_env({"ALUMNI_TIMEZONE": "Mars/Olympus"}, dotenv_path=None)
    with pytest.raises(ConfigError, match="ALUMNI_LANGUAGE"):
        Settings.from_env({"ALUMNI_LANGUAGE": "fr"}, dotenv_path=None)


def test_every_new_variable_is_read_and_typed() -> None:
    settings = Settings.from_env(
        {
            "WEB_CONCURRENCY": "4",
            "WEB_THREADS": "2",
            "LOG_LEVEL": "debug",
            "METRICS_PORT": "9100",
            "ALUMNI_EVENT_REMINDER_OFFSETS": "2d, 30m",
            "ALUMNI_EVENT_FEEDBACK_DELAY": "90m",
            "ALUMNI_DIGEST_POST_EMPTY": "yes",
            "ALUMNI_JOBS_EXTRA_MODULES": "a.b, c",
            "ALUMNI_WELCOME_ON_TEAM_JOIN": "off",
        },
        dotenv_path=None,
    )
    assert (settings.web_concurrency, settings.web_threads, settings.metrics_port) == (4, 2, 9100)
    assert settings.log_level == "DEBUG"
    assert settings.event_reminder_offsets == (2880, 30)
    assert settings.event_feedback_delay == timedelta(minutes=90)
    assert settings.digest_post_empty and not settings.welcome_on_team_join
    assert settings.jobs_extra_modules == ("a.b", "c")
    defaults = Settings.from_env({}, dotenv_path=None)
    assert (defaults.web_concurrency, defaults.web_threads, defaults.metrics_port) == (2, 8, 9464)
    assert defaults.log_level == "INFO" and defaults.event_reminder_offsets == (1440, 60)


BAD_VALUES = {
    "PORT": "http",
    "WEB_CONCURRENCY": "abc",
    "WEB_THREADS": "0",
    "METRICS_PORT": "70000",
    "LOG_LEVEL": "loud",
    "ALUMNI_EVENT_REMINDER_OFFSETS": "soon",
    "ALUMNI_EVENT_FEEDBACK_DELAY": "two hours",
    "ALUMNI_DIGEST_POST_EMPTY": "maybe",
    "ALUMNI_WELCOME_ON_TEAM_JOIN": "sometimes",
    "ALUMNI_TIMEZONE": "Mars/Olympus",
    "ALUMNI_LANGUAGE": "fr",
    "ALUMNI_CHANNEL": "#alumni",
    "ALUMNI_HR_CHANNEL": "hr-alumni",
}


def test_env_offsets_have_the_bounds_of_hrs_form() -> None:
    """Otherwise the settings form, pre-filled with them, could not be saved unchanged."""
    for raw in ("6h,5h,4h,3h,2h,1h", "31d"):
        with pytest.raises(ConfigError, match="ALUMNI_EVENT_REMINDER_OFFSETS"):
            Settings.from_env({"ALUMNI_EVENT_REMINDER_OFFSETS": raw}, dotenv_path=None)
    assert Settings.from_env({"ALUMNI_EVENT_REMINDER_OFFSETS": "30d,5h,4h,3h,2h"}, dotenv_path=None)


@pytest.mark.parametrize(("name", "value"), BAD_VALUES.items())
def test_a_bad_value_of_any_variable_stops_the_cli_with_one_line(
    tmp_path: Path, name: str, value: str
) -> None:
    """Through the real command line: one line naming the variable and what it expects, no traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ALUMNI_", "DATABASE_URL"))}
    env.update(
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET="secret",
        SLACK_API_URL="http://127.0.0.1:9/api/",  # nothing listens: the command must stop before Slack
        DATABASE_URL=f"sqlite:///{tmp_path / 'alumni.db'}",
        **{name: value},
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run", "--http", "--no-scheduler"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith(f"{name}=") and repr(value)[1:-1] in lines[0]


# `os.environ` / `getenv` outside bot/config.py would be a second source of settings (issue 12, defect 4).
_ENVIRONMENT_READERS_ALLOWED = {"bot/config.py"}


def test_only_the_settings_object_reads_the_environment() -> None:
    root = Path(__file__).resolve().parents[2]
    readers = sorted(
        str(path.relative_to(root))
        for folder in ("bot", "handlers", "jobs", "models")
        for path in (root / folder).rglob("*.py")
        if re.search(r"os\.environ|getenv", path.read_text(encoding="utf-8"))
    )
    assert set(readers) <= _ENVIRONMENT_READERS_ALLOWED, readers


def _documented(text: str, pattern: str) -> set[str]:
    return {
        name
        for match in re.finditer(pattern, text, re.M)
        for name in re.findall(r"`([A-Z][A-Z_]+)`", match[0])
    }


def test_readmes_and_env_example_document_exactly_the_variables_settings_reads() -> None:
    root = Path(__file__).resolve().parents[2]
    expected = set(variable_names())
    env_example = (root / ".env.example").read_text(encoding="utf-8")
    assert set(re.findall(r"^#? ?([A-Z][A-Z_]+)=", env_example, re.M)) == expected
    table_row = r"^\| `[A-Z][^|]*\|"  # the first cell of a configuration table row
    assert _documented((root / "README.md").read_text(encoding="utf-8"), table_row) == expected
    assert _documented((root / "README.ja.md").read_text(encoding="utf-8"), table_row) == expected


def test_news_leaders_and_staff_channel_are_parsed_and_checked() -> None:
    settings = Settings.from_env(
        {"ALUMNI_LEADERS": "U0CEO0001, W0CTO0002;U0CFO0003", "ALUMNI_STAFF_CHANNEL": "C0STAFF01"},
        dotenv_path=None,
    )
    assert settings.leaders == {"U0CEO0001", "W0CTO0002", "U0CFO0003"}
    assert settings.alumni_staff_channel == "C0STAFF01"
    unset = Settings.from_env({}, dotenv_path=None)
    assert unset.leaders == frozenset() and unset.alumni_staff_channel is None
    # A name typed instead of an ID stops start-up rather than granting nobody or posting nowhere.
    # A channel name would post (chat.postMessage takes names) and then never update or withdraw the post
    # (chat.update takes only the ID).
    for name, value in (
        ("ALUMNI_LEADERS", "U0CEO0001,@ceo"),
        ("ALUMNI_STAFF_CHANNEL", "#staff"),
        ("ALUMNI_CHANNEL", "#alumni"),
        ("ALUMNI_HR_CHANNEL", "hr"),
    ):
        with pytest.raises(ConfigError, match=name):
            Settings.from_env({name: value}, dotenv_path=None)
