"""Settings: environment parsing and the helpful start-up refusal."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, Settings


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
