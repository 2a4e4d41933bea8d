"""The email invitation settings: defaults, parsing, and one-line errors for values that cannot work."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, Settings

JOIN = "https://join.slack.com/t/example-alumni/shared_invite/zt-abc123"


def read(**values: str) -> Settings:
    return Settings.from_env(values, dotenv_path=None)


def test_unset_means_no_invitations_and_the_documented_defaults() -> None:
    settings = read()
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_starttls) == (None, 587, True)
    assert not settings.email_invitations_ready


def test_a_complete_configuration_is_ready() -> None:
    settings = read(
        SMTP_HOST="smtp.example.com",
        SMTP_PORT="2525",
        SMTP_USERNAME="bot",
        SMTP_PASSWORD="secret",
        SMTP_STARTTLS="false",
        SMTP_FROM="Alumni team <alumni@example.com>",
        ALUMNI_JOIN_URL=JOIN,
    )
    assert (settings.smtp_port, settings.smtp_starttls, settings.smtp_from) == (
        2525,
        False,
        "Alumni team <alumni@example.com>",
    )
    assert settings.join_url == JOIN and settings.email_invitations_ready
    assert not read(SMTP_HOST="smtp.example.com", SMTP_FROM="a@example.com").email_invitations_ready


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"ALUMNI_JOIN_URL": "http://join.slack.com/t/x"}, "ALUMNI_JOIN_URL"),
        ({"ALUMNI_JOIN_URL": "join.slack.com/t/x"}, "ALUMNI_JOIN_URL"),
        ({"SMTP_FROM": "not an address"}, "SMTP_FROM"),
        ({"SMTP_PORT": "99999"}, "SMTP_PORT"),
        ({"SMTP_STARTTLS": "maybe"}, "SMTP_STARTTLS"),
        ({"SMTP_HOST": "smtp.example.com"}, "SMTP_FROM"),
        ({"SMTP_USERNAME": "bot"}, "SMTP_PASSWORD"),
    ],
)
def test_bad_values_stop_start_up_with_one_line_naming_the_variable(
    values: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigError) as error:
        read(**values)
    message = str(error.value)
    assert named in message and "\n" not in message
