"""Typed settings, read once from the environment and `.env`.

Every variable of the README's configuration table lives here and is documented in `.env.example`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

DEFAULT_API_URL = "https://slack.com/api/"
DEFAULT_DATABASE_URL = "sqlite:///alumni.db"
DEFAULT_TEST_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

# Where each credential comes from, so a newcomer knows exactly which page of the app settings to open.
_CREDENTIAL_HELP = {
    "SLACK_BOT_TOKEN": "api.slack.com/apps → your app → OAuth & Permissions → Bot User OAuth Token (xoxb-…)",
    "SLACK_SIGNING_SECRET": "api.slack.com/apps → your app → Basic Information → App Credentials → Signing Secret",
    "SLACK_APP_TOKEN": "api.slack.com/apps → your app → Basic Information → App-Level Tokens "
    "(scope connections:write, xapp-…)",
}
_PLACEHOLDERS = {"", "xoxb-your-bot-token", "your-signing-secret", "xapp-your-app-token", "changeme"}


class ConfigError(Exception):
    """Settings that cannot work; the message says what to set and where to find it."""


def _split_ids(raw: str | None) -> frozenset[str]:
    return frozenset(part.strip() for part in (raw or "").replace(";", ",").split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    """The app's configuration. Build it with `Settings.from_env()`; tests build it directly."""

    slack_bot_token: str = ""
    slack_signing_secret: str = ""
    slack_app_token: str | None = None
    slack_api_url: str = DEFAULT_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    alumni_channel: str | None = None
    alumni_hr_channel: str | None = None
    hr_users: frozenset[str] = field(default_factory=frozenset)
    hr_usergroup: str | None = None
    organizer_users: frozenset[str] = field(default_factory=frozenset)
    timezone: str = "Asia/Tokyo"
    language: str = "ja"
    port: int = 3000
    test_database_url: str = DEFAULT_TEST_DATABASE_URL
    welcome_on_team_join: bool = True
    metrics_port: int = 9464

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, dotenv_path: str | None = ".env"
    ) -> Settings:
        """Read the environment, falling back to `.env` for variables the environment does not set."""
        values: dict[str, str] = {}
        if dotenv_path and os.path.exists(dotenv_path):
            values.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
        values.update(os.environ if environ is None else environ)

        def get(name: str, default: str | None = None) -> str | None:
            value = values.get(name)
            return value.strip() if value is not None and value.strip() != "" else default

        try:
            port = int(get("PORT", "3000") or "3000")
        except ValueError as exc:
            raise ConfigError(f"PORT must be a number, got {get('PORT')!r}.") from exc
        try:
            metrics_port = int(get("METRICS_PORT", "9464") or "9464")
        except ValueError as exc:
            raise ConfigError(f"METRICS_PORT must be a number, got {get('METRICS_PORT')!r}.") from exc
        settings = cls(
            slack_bot_token=get("SLACK_BOT_TOKEN", "") or "",
            slack_signing_secret=get("SLACK_SIGNING_SECRET", "") or "",
            slack_app_token=get("SLACK_APP_TOKEN"),
            slack_api_url=get("SLACK_API_URL", DEFAULT_API_URL) or DEFAULT_API_URL,
            database_url=get("DATABASE_URL", DEFAULT_DATABASE_URL) or DEFAULT_DATABASE_URL,
            alumni_channel=get("ALUMNI_CHANNEL"),
            alumni_hr_channel=get("ALUMNI_HR_CHANNEL"),
            hr_users=_split_ids(get("ALUMNI_HR_USERS")),
            hr_usergroup=get("ALUMNI_HR_USERGROUP"),
            organizer_users=_split_ids(get("ALUMNI_ORGANIZER_USERS")),
            timezone=get("ALUMNI_TIMEZONE", "Asia/Tokyo") or "Asia/Tokyo",
            language=(get("ALUMNI_LANGUAGE", "ja") or "ja").lower()[:2],
            port=port,
            test_database_url=get("TEST_DATABASE_URL", DEFAULT_TEST_DATABASE_URL)
            or DEFAULT_TEST_DATABASE_URL,
            welcome_on_team_join=(get("ALUMNI_WELCOME_ON_TEAM_JOIN", "true") or "true").lower()
            not in {"0", "false", "no", "off"},
            metrics_port=metrics_port,
        )
        settings.check_values()
        return settings

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def check_values(self) -> None:
        """Reject values that can never work (unknown time zone or language)."""
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(
                f"ALUMNI_TIMEZONE={self.timezone!r} is not a known time zone; use an IANA name like Asia/Tokyo."
            ) from exc
        if self.language not in {"ja", "en"}:
            raise ConfigError(f"ALUMNI_LANGUAGE={self.language!r} is not supported; use ja or en.")

    def require_credentials(self, *, socket_mode: bool | None = None) -> None:
        """Stop start-up with a helpful message when a credential is missing or still a placeholder."""
        needed = ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"]
        if self.socket_mode if socket_mode is None else socket_mode:
            needed.append("SLACK_APP_TOKEN")
        current = {
            "SLACK_BOT_TOKEN": self.slack_bot_token,
            "SLACK_SIGNING_SECRET": self.slack_signing_secret,
            "SLACK_APP_TOKEN": self.slack_app_token or "",
        }
        missing = [name for name in needed if current[name].strip() in _PLACEHOLDERS]
        if missing:
            lines = [f"  {name}: {_CREDENTIAL_HELP[name]}" for name in missing]
            raise ConfigError(
                "alumni-bot cannot start: set these in the environment or in .env (see .env.example):\n"
                + "\n".join(lines)
                + "\nCreate the app from manifest.yml first (README → 'Create the Slack app')."
            )
        if not self.slack_bot_token.startswith("xoxb-"):
            raise ConfigError(
                "SLACK_BOT_TOKEN must be a bot token starting with xoxb-: "
                + _CREDENTIAL_HELP["SLACK_BOT_TOKEN"]
            )
