"""Typed settings, read once from the environment and `.env`.

Every variable the app reads lives here, and only here (a test keeps `os.environ` out of the rest of the
code); each is documented in `.env.example` and README's configuration table. A bad value of any variable
stops start-up with one line naming the variable and what it expects (`ConfigError`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from email.utils import formataddr, parseaddr
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

if TYPE_CHECKING:
    from models.program_settings import ProgramSettings

T = TypeVar("T")

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
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _log_level(raw: str) -> str:
    if raw.upper() not in _LOG_LEVELS:
        raise ValueError(raw)
    return raw.upper()


class ConfigError(Exception):
    """Settings that cannot work; the message says what to set and where to find it."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
_DURATION = re.compile(r"^(\d+)\s*([dhm]?)$")
_UNIT_MINUTES = {"d": 1440, "h": 60, "m": 1, "": 1}
DEFAULT_REMINDER_OFFSETS = (1440, 60)


def parse_duration_minutes(raw: str) -> int:
    """`90`, `90m`, `3h`, `2d` → minutes. Raises ValueError otherwise."""
    match = _DURATION.match(raw.strip().lower())
    if not match:
        raise ValueError(raw)
    return int(match.group(1)) * _UNIT_MINUTES[match.group(2)]


def parse_offsets(raw: str) -> tuple[int, ...]:
    """A comma-separated list of durations → distinct positive minutes, largest first."""
    offsets = {parse_duration_minutes(part) for part in raw.split(",") if part.strip()}
    if not offsets or min(offsets) <= 0:
        raise ValueError(raw)
    return tuple(sorted(offsets, reverse=True))


def _reminder_offsets(raw: str) -> tuple[int, ...]:
    """`parse_offsets` within the bounds HR's settings form enforces, so that the form, pre-filled with the
    environment's value, can always be saved unchanged."""
    from models.program_settings import MAX_OFFSET_MINUTES, MAX_OFFSETS

    offsets = parse_offsets(raw)
    if len(offsets) > MAX_OFFSETS or max(offsets) > MAX_OFFSET_MINUTES:
        raise ValueError(raw)
    return offsets


def _https_url(raw: str) -> str:
    """An absolute https URL with a host (the workspace's invite link goes into emails as is)."""
    parts = urlsplit(raw)
    if parts.scheme != "https" or not parts.netloc or any(c.isspace() for c in raw):
        raise ValueError(raw)
    return raw


def _email_address(raw: str) -> str:
    """`alumni@example.com` or `Alumni team <alumni@example.com>` (what goes into an email's From)."""
    name, address = parseaddr(raw)
    if not _EMAIL.match(address) or any(c in raw for c in "\r\n"):
        raise ValueError(raw)
    return formataddr((name, address)) if name else address


def _split_ids(raw: str | None) -> frozenset[str]:
    return frozenset(part.strip() for part in (raw or "").replace(";", ",").split(",") if part.strip())


_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,31}$")
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,31}$")
_CHANNEL_ID_HINT = "a channel ID like C0123456789 (channel details → About → Channel ID)"


def _user_ids(raw: str) -> frozenset[str]:
    """Comma-separated Slack user IDs (U…/W…); anything else is refused, so a name or an @handle typed by
    mistake stops start-up instead of silently granting nobody."""
    ids = _split_ids(raw)
    if any(not _USER_ID.match(i) for i in ids):
        raise ValueError(raw)
    return ids


def _channel_id(raw: str) -> str:
    """A channel ID (C…, or G… for older private channels): messages are posted by ID, never by name."""
    if not _CHANNEL_ID.match(raw):
        raise ValueError(raw)
    return raw


def _split_modules(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


class _Reader:
    """Reads one variable at a time; a bad value of ANY variable raises the same one-line `ConfigError`
    naming the variable, the value and what is expected (no traceback at start-up)."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = values
        self.asked: set[str] = set()  # every variable read (see `variable_names`)

    def text(self, name: str, default: str | None = None) -> str | None:
        self.asked.add(name)
        value = self.values.get(name)
        return value.strip() if value is not None and value.strip() != "" else default

    def parsed(self, name: str, default: T, parse: Callable[[str], T], expected: str) -> T:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            return parse(raw)
        except ValueError:
            raise ConfigError(f"{name}={raw!r} is not valid: expected {expected}.") from None

    def number(self, name: str, default: int, *, low: int, high: int) -> int:
        def parse(raw: str) -> int:
            value = int(raw)
            if not low <= value <= high:
                raise ValueError(raw)
            return value

        return self.parsed(name, default, parse, f"a whole number from {low} to {high}")

    def flag(self, name: str, default: bool) -> bool:
        def parse(raw: str) -> bool:
            if raw.lower() in _TRUE | _FALSE:
                return raw.lower() in _TRUE
            raise ValueError(raw)

        return self.parsed(name, default, parse, "true or false")


@dataclass(frozen=True)
class Settings:
    """The app's configuration: every environment variable the app reads is a field here (and nothing
    else reads the environment). Build it with `Settings.from_env()`; tests build it directly."""

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
    # Who may post company news besides HR; where approved alumni stories are shared with current staff.
    leaders: frozenset[str] = field(default_factory=frozenset)
    alumni_staff_channel: str | None = None
    timezone: str = "Asia/Tokyo"
    language: str = "ja"
    port: int = 3000
    test_database_url: str = DEFAULT_TEST_DATABASE_URL
    welcome_on_team_join: bool = True
    # Scheduled work (HR's settings in /alumni-admin go over the first two, see `program_defaults`).
    event_reminder_offsets: tuple[int, ...] = DEFAULT_REMINDER_OFFSETS  # minutes before the start
    event_feedback_delay_minutes: int = 120  # after the end
    digest_post_empty: bool = False
    jobs_extra_modules: tuple[str, ...] = ()
    # Processes.
    web_concurrency: int = 2  # HTTP server processes (bot/web.py)
    web_threads: int = 8  # threads running the app in each
    log_level: str = "INFO"
    metrics_port: int = 9464  # `jobs serve` metrics and health
    # Email invitations to leavers not in Slack yet (bot/mailer.py, jobs/invitations.py).
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = True
    smtp_from: str | None = None  # also the reply address people write to to opt out
    join_url: str | None = None  # the workspace's invite link (https)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, dotenv_path: str | None = ".env"
    ) -> Settings:
        """Read the environment, falling back to `.env` for variables the environment does not set."""
        settings = cls._read(_Reader(environment_values(environ, dotenv_path=dotenv_path)))
        settings.check_values()
        return settings

    @classmethod
    def _read(cls, env: _Reader) -> Settings:
        get = env.text

        return cls(
            slack_bot_token=get("SLACK_BOT_TOKEN", "") or "",
            slack_signing_secret=get("SLACK_SIGNING_SECRET", "") or "",
            slack_app_token=get("SLACK_APP_TOKEN"),
            slack_api_url=get("SLACK_API_URL", DEFAULT_API_URL) or DEFAULT_API_URL,
            database_url=get("DATABASE_URL", DEFAULT_DATABASE_URL) or DEFAULT_DATABASE_URL,
            # IDs, not names: Slack posts to "#alumni" but edits (chat.update) and reads only by ID, so a
            # name would post and then never update or withdraw what it posted.
            alumni_channel=env.parsed("ALUMNI_CHANNEL", None, _channel_id, _CHANNEL_ID_HINT),
            alumni_hr_channel=env.parsed("ALUMNI_HR_CHANNEL", None, _channel_id, _CHANNEL_ID_HINT),
            hr_users=_split_ids(get("ALUMNI_HR_USERS")),
            hr_usergroup=get("ALUMNI_HR_USERGROUP"),
            organizer_users=_split_ids(get("ALUMNI_ORGANIZER_USERS")),
            leaders=env.parsed(
                "ALUMNI_LEADERS",
                frozenset(),
                _user_ids,
                "Slack member IDs like U0123456789, separated by commas",
            ),
            alumni_staff_channel=env.parsed(
                "ALUMNI_STAFF_CHANNEL",
                None,
                _channel_id,
                _CHANNEL_ID_HINT,
            ),
            timezone=get("ALUMNI_TIMEZONE", "Asia/Tokyo") or "Asia/Tokyo",
            language=(get("ALUMNI_LANGUAGE", "ja") or "ja").lower()[:2],
            port=env.number("PORT", 3000, low=1, high=65535),
            test_database_url=get("TEST_DATABASE_URL", DEFAULT_TEST_DATABASE_URL)
            or DEFAULT_TEST_DATABASE_URL,
            welcome_on_team_join=env.flag("ALUMNI_WELCOME_ON_TEAM_JOIN", True),
            event_reminder_offsets=env.parsed(
                "ALUMNI_EVENT_REMINDER_OFFSETS",
                DEFAULT_REMINDER_OFFSETS,
                _reminder_offsets,
                "up to 5 positive durations of at most 30d, separated by commas, like 24h,1h or 2d,3h,30m",
            ),
            event_feedback_delay_minutes=env.parsed(
                "ALUMNI_EVENT_FEEDBACK_DELAY",
                120,
                parse_duration_minutes,
                "a duration like 2h, 90m or 1d",
            ),
            digest_post_empty=env.flag("ALUMNI_DIGEST_POST_EMPTY", False),
            jobs_extra_modules=_split_modules(get("ALUMNI_JOBS_EXTRA_MODULES", "") or ""),
            web_concurrency=env.number("WEB_CONCURRENCY", 2, low=1, high=64),
            web_threads=env.number("WEB_THREADS", 8, low=1, high=256),
            log_level=env.parsed("LOG_LEVEL", "INFO", _log_level, "DEBUG, INFO, WARNING, ERROR or CRITICAL"),
            metrics_port=env.number("METRICS_PORT", 9464, low=1, high=65535),
            smtp_host=get("SMTP_HOST"),
            smtp_port=env.number("SMTP_PORT", 587, low=1, high=65535),
            smtp_username=get("SMTP_USERNAME"),
            smtp_password=get("SMTP_PASSWORD"),
            smtp_starttls=env.flag("SMTP_STARTTLS", True),
            smtp_from=env.parsed(
                "SMTP_FROM", None, _email_address, "an email address like alumni@example.com"
            ),
            join_url=env.parsed(
                "ALUMNI_JOIN_URL", None, _https_url, "an https link like https://join.slack.com/t/…"
            ),
        )

    def program_defaults(self) -> ProgramSettings:
        """The program settings as the environment sets them; HR's saved values go over these in
        `models.program_settings.get_program_settings` (the one place database overrides are applied)."""
        from models.program_settings import DEFAULTS

        return replace(DEFAULTS, reminder_offsets_minutes=self.event_reminder_offsets)

    @property
    def event_feedback_delay(self) -> timedelta:
        return timedelta(minutes=self.event_feedback_delay_minutes)

    @property
    def email_invitations_ready(self) -> bool:
        """True when invitations can be sent: an SMTP server, a sender and the join link are set."""
        return bool(self.smtp_host and self.smtp_from and self.join_url)

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
        if self.smtp_host and not self.smtp_from:
            raise ConfigError("SMTP_HOST is set but SMTP_FROM is not: set the address invitations come from.")
        if bool(self.smtp_username) != bool(self.smtp_password):
            raise ConfigError("SMTP_USERNAME and SMTP_PASSWORD go together: set both, or neither.")

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


def variable_names() -> list[str]:
    """Every environment variable `Settings` reads (tests keep README and `.env.example` in step with it)."""
    reader = _Reader({})
    Settings._read(reader)
    return sorted(reader.asked)


def hand_to_library(name: str, value: str) -> None:
    """Set an environment variable that a library reads itself (not one of our settings), for this process
    and the processes it starts. Kept here so that bot/config.py stays the one place touching the
    environment."""
    os.environ[name] = value


def handed_to_library(name: str) -> str | None:
    """The value `hand_to_library` gave `name` in this process or in the process that started it (a server's
    spawned workers inherit the environment, not module globals)."""
    return os.environ.get(name) or None


def environment_values(
    environ: Mapping[str, str] | None = None, *, dotenv_path: str | None = ".env"
) -> dict[str, str]:
    """The raw variables: `.env`, then the environment over it (the environment wins). `Settings.from_env`
    parses these; `alumni-bot playground` only asks whether Slack credentials are filled in at all."""
    values: dict[str, str] = {}
    if dotenv_path and os.path.exists(dotenv_path):
        values.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
    values.update(os.environ if environ is None else environ)
    return values
