"""Member: an alumnus in the Slack workspace, with the profile they keep and their consent."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Index, Text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from models.textnorm import normalize
from models.timeutil import now
from models.types import UTCDateTime

VISIBILITY_MEMBERS = "members"
VISIBILITY_HR = "hr"
VISIBILITIES = (VISIBILITY_MEMBERS, VISIBILITY_HR)

SOURCE_SLACK = "slack"
SOURCE_IMPORT = "roster"  # rows HR imported from the roster (models/roster.py SOURCE_ROSTER)

# The availability flags, in display order: flag name -> Member column.
AVAILABILITY_FLAGS: dict[str, str] = {
    "rehire": "open_to_rehire",
    "gigs": "open_to_gigs",
    "collaboration": "open_to_collaboration",
    "mentoring": "open_to_mentoring",
    "speaking": "open_to_speaking",
}


class Member(SQLModel, table=True):
    """One person. `slack_user_id` is None for roster rows not in Slack yet and for erased members."""

    __tablename__ = "member"
    __table_args__ = (Index("ix_member_email", "email"),)

    id: int | None = Field(default=None, primary_key=True)
    slack_user_id: str | None = Field(default=None, unique=True, max_length=32)
    display_name: str = Field(default="", max_length=200)
    email: str | None = Field(default=None, max_length=320)
    locale: str | None = Field(default=None, max_length=16)
    tz: str | None = Field(default=None, max_length=64)

    # Profile (what the member writes, or HR imports until the member edits it).
    former_department: str = Field(default="", max_length=200)
    former_role: str = Field(default="", max_length=200)
    joined_year: int | None = None
    left_year: int | None = None
    current_company: str = Field(default="", max_length=200)
    current_role: str = Field(default="", max_length=200)
    location: str = Field(default="", max_length=200)
    skills: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    interests: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    open_to_rehire: bool = False
    open_to_gigs: bool = False
    open_to_collaboration: bool = False
    open_to_mentoring: bool = False
    open_to_speaking: bool = False
    available_until: date | None = None
    visibility: str = Field(default=VISIBILITY_MEMBERS, max_length=16)
    profile_edited_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    search_text: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))

    # Consent and contact preferences.
    consented_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    consent_version: str | None = Field(default=None, max_length=32)
    welcomed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    nudges_enabled: bool = True
    nudge_snoozed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    personal_digest: bool = False
    last_checkin_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    source: str = Field(default="slack", max_length=16)
    pseudonym: str | None = Field(default=None, max_length=32)
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)

    @property
    def has_consented(self) -> bool:
        return self.consented_at is not None

    def availability(self, *, today: date | None = None) -> list[str]:
        """The availability flags in force `today` (none once `available_until` has passed)."""
        if self.available_until is not None and today is not None and self.available_until < today:
            return []
        return [flag for flag, column in AVAILABILITY_FLAGS.items() if getattr(self, column)]

    def skill_list(self) -> list[str]:
        """The skills as tags (stored comma-separated, already normalised by the profile form)."""
        return [tag.strip() for tag in self.skills.split(",") if tag.strip()]


def build_search_text(member: Member) -> str:
    """The normalised text directory search scans: names, departments, roles, companies, skills…"""
    parts = [
        member.display_name,
        member.former_department,
        member.former_role,
        member.current_company,
        member.current_role,
        member.location,
        member.skills,
        member.interests,
    ]
    return normalize(" | ".join(p for p in parts if p))


def refresh_search_text(member: Member) -> None:
    """Recompute `search_text` after any searchable field changed."""
    member.search_text = build_search_text(member)


def get_member(session: Session, *, slack_user_id: str) -> Member | None:
    """The member with this Slack user ID, if the bot knows them."""
    return session.exec(select(Member).where(Member.slack_user_id == slack_user_id)).first()


def ensure_member(
    session: Session,
    *,
    slack_user_id: str,
    display_name: str | None = None,
    locale: str | None = None,
    tz: str | None = None,
) -> Member:
    """Return the member, creating the row on first contact. Names and locale refresh from Slack."""
    member = get_member(session, slack_user_id=slack_user_id)
    if member is None:
        # Two events for a new user can arrive at once (team_join and member_joined_channel): the loser
        # of the insert race reads the winner's row instead of failing.
        candidate = Member(slack_user_id=slack_user_id, display_name=display_name or "")
        refresh_search_text(candidate)
        nested = session.begin_nested()
        try:
            session.add(candidate)
            session.flush()
        except IntegrityError:
            nested.rollback()
            member = get_member(session, slack_user_id=slack_user_id)
            if member is None:
                raise
        else:
            nested.commit()
            member = candidate
    if display_name and member.display_name != display_name:
        member.display_name = display_name
        refresh_search_text(member)
    if locale:
        member.locale = locale
    if tz:
        member.tz = tz
    session.flush()
    return member
