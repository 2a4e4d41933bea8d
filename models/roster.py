"""Roster import: HR's CSV of leavers (email, name, department, joined, left, language) merged into member
profiles.

- Encodings: UTF-8 with or without BOM, or cp932 (what Excel and Japanese HR systems write; the strict
  `shift_jis` codec rejects NEC/IBM extensions such as ① and ㈱).
- Matching to Slack users happens outside (one paginated `users.list` pass in `bot/`); this module gets
  {email: SlackAccount}.
- Merge: a profile field takes the imported value only while it is empty or still holds what the previous
  import wrote there; what a member wrote themselves is never overwritten. `RosterRecord` keeps what the
  import last wrote, which makes the three-way comparison (and idempotence) possible.
- Rows for people not in Slack yet stay in `RosterRecord` only (no `Member` row, so nothing about them shows
  anywhere); they are linked when the person joins (`link_new_slack_user`) or at the next import, and
  purged after the retention period (`purge_unmatched`). HR may invite them by email (`models.invitation`);
  linking a record stops its invitation, and purging it deletes the invitation (ON DELETE CASCADE).
- `language` (`ja`/`en`, optional) is the language HR knows the person reads; it stays on the record and picks
  the invitation's language (a name in Latin letters says nothing about it). Blank means unknown. HR systems
  write it many ways (日本語, English, ja-JP, en_US...), which all count; a value still not recognised is not
  a reason to lose the person: the row is imported with no language and HR gets a per-row warning.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import ForeignKey, Integer, insert
from sqlmodel import Column, Field, Session, SQLModel, col, select

from models.actors import Actor
from models.audit import record
from models.errors import DomainError, PermissionDenied
from models.member import Member, build_search_text
from models.timeutil import now
from models.types import UTCDateTime

SOURCE_ROSTER = "roster"
MAX_ROWS = 50_000
MAX_BYTES = 20 * 1024 * 1024
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
_YEAR = re.compile(r"^(\d{4})(?:[-/.年](\d{1,2})(?:[-/.月](\d{1,2})日?)?月?)?$")

# Header names HR systems use, normalised (NFKC + casefold, spaces and underscores removed).
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "email": (
        "email",
        "e-mail",
        "mail",
        "emailaddress",
        "メール",
        "メールアドレス",
        "eメール",
        "e-mailアドレス",
    ),
    "name": ("name", "fullname", "氏名", "名前", "社員名", "従業員名"),
    "department": ("department", "dept", "部署", "所属", "部門", "部署名"),
    "joined": ("joined", "joineddate", "hired", "hiredate", "入社", "入社日", "入社年", "入社年月日"),
    "left": ("left", "leftdate", "leavingdate", "termination", "退職", "退職日", "退職年", "退職年月日"),
    "language": ("language", "lang", "locale", "言語", "使用言語", "希望言語"),
}
REQUIRED_COLUMNS = ("email", "name")
# What the optional `language` column may hold, normalised (NFKC + casefold; blank: unknown). A locale tag
# (`ja-JP`, `en_US`) counts by its language part.
LANGUAGES = ("ja", "en")
LANGUAGE_NAMES: dict[str, str] = {
    "ja": "ja",
    "jp": "ja",
    "japanese": "ja",
    "日本語": "ja",
    "en": "en",
    "english": "en",
    "英語": "en",
}
_LOCALE_TAG = re.compile(r"^(ja|en)[-_][0-9a-z]+(?:[-_][0-9a-z]+)*$")
# How much of an unrecognised value the warning quotes back to HR.
MAX_QUOTED_VALUE = 40


class RosterRecord(SQLModel, table=True):
    """One person of HR's roster (unique by email) and the values the import last wrote to the profile."""

    __tablename__ = "roster_record"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True)
    name: str = Field(default="", max_length=200)
    department: str = Field(default="", max_length=200)
    joined_year: int | None = None
    left_year: int | None = None
    language: str | None = Field(default=None, max_length=8)  # `ja`/`en` from HR's file; None: unknown
    member_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("member.id"), index=True, nullable=True)
    )
    first_imported_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    matched_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


@dataclass(frozen=True)
class RosterRow:
    """One valid CSV row."""

    line: int
    email: str
    name: str
    department: str
    joined_year: int | None
    left_year: int | None
    language: str | None = None


@dataclass(frozen=True)
class InvalidRow:
    line: int
    reason: str  # a catalog key under `admin.import.reasons.`
    column: str = ""


@dataclass(frozen=True)
class RowWarning:
    """A row imported anyway, with one value left out (HR is told which and why)."""

    line: int
    reason: str  # a catalog key under `admin.import.warnings.`
    column: str
    value: str  # what the file held, shortened to `MAX_QUOTED_VALUE` characters


@dataclass
class ParsedRoster:
    rows: list[RosterRow] = field(default_factory=list)
    invalid: list[InvalidRow] = field(default_factory=list)
    warnings: list[RowWarning] = field(default_factory=list)
    encoding: str = "utf-8"


@dataclass(frozen=True)
class SlackAccount:
    """A Slack user found by email in `users.list`."""

    user_id: str
    name: str


@dataclass
class ImportReport:
    """What one import did. `imported` + `updated` + `unchanged` + `not_in_slack` = valid rows."""

    total: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    not_in_slack: int = 0
    invalid: list[InvalidRow] = field(default_factory=list)
    warnings: list[RowWarning] = field(default_factory=list)  # rows imported, each with a value left out
    encoding: str = "utf-8"

    def counts(self) -> dict[str, int]:
        return {
            "total": self.total,
            "imported": self.imported,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "not_in_slack": self.not_in_slack,
            "invalid": len(self.invalid),
        }


def normalize_email(email: str) -> str:
    return unicodedata.normalize("NFKC", email).strip().lower()


def decode_csv(data: bytes) -> tuple[str, str]:
    """The text of an uploaded CSV and the encoding it was in (UTF-8 with/without BOM, or cp932)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp932"), "cp932"
    except UnicodeDecodeError as exc:
        raise DomainError("admin.errors.roster_encoding") from exc


def _header_key(text: str) -> str:
    return re.sub(r"[\s_]+", "", unicodedata.normalize("NFKC", text).casefold())


def _year(raw: str) -> int | None:
    text = unicodedata.normalize("NFKC", raw).strip()
    if not text:
        return None
    match = _YEAR.match(text)
    if not match:
        raise ValueError(text)
    year = int(match.group(1))
    month = int(match.group(2) or 1)
    day = int(match.group(3) or 1)
    datetime(year, month, day)  # raises ValueError on 2023-02-30
    if not 1950 <= year <= now().year + 1:
        raise ValueError(text)
    return year


def _language(raw: str) -> str | None:
    """`ja`/`en` from a cell (日本語, English, ja-JP...: any case, full-width too); None when blank;
    ValueError for a value not recognised."""
    text = unicodedata.normalize("NFKC", raw).strip().casefold()
    if not text:
        return None
    if text in LANGUAGE_NAMES:
        return LANGUAGE_NAMES[text]
    tag = _LOCALE_TAG.match(text)
    if tag is None:
        raise ValueError(text)
    return tag.group(1)


def parse_roster(data: bytes) -> ParsedRoster:
    """Parse and validate a roster CSV. A file-level problem raises `DomainError`; row problems are listed."""
    if len(data) > MAX_BYTES:
        raise DomainError("admin.errors.roster_too_big", max=MAX_BYTES // (1024 * 1024))
    text, encoding = decode_csv(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration as exc:
        raise DomainError("admin.errors.roster_empty") from exc
    except csv.Error as exc:
        raise DomainError("admin.errors.roster_unreadable") from exc
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        key = _header_key(name)
        for column, aliases in HEADER_ALIASES.items():
            if key in {_header_key(a) for a in aliases} and column not in positions:
                positions[column] = index
    missing = [c for c in REQUIRED_COLUMNS if c not in positions]
    if missing:
        raise DomainError("admin.errors.roster_header", columns=", ".join(missing))

    parsed = ParsedRoster(encoding=encoding)
    seen: set[str] = set()
    line = reader.line_num
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error:
            parsed.invalid.append(InvalidRow(reader.line_num, "unreadable"))
            continue
        start_line, line = line + 1, reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(parsed.rows) + len(parsed.invalid) >= MAX_ROWS:
            raise DomainError("admin.errors.roster_too_many", max=MAX_ROWS)

        def cell(column: str, cells: list[str] = cells) -> str:
            index = positions.get(column)
            return cells[index].strip() if index is not None and index < len(cells) else ""

        email = normalize_email(cell("email"))
        name = cell("name")
        department = cell("department")
        problem: tuple[str, str] | None = None
        if not email:
            problem = ("missing_email", "email")
        elif len(email) > 320 or not _EMAIL.match(email):
            problem = ("invalid_email", "email")
        elif not name:
            problem = ("missing_name", "name")
        elif len(name) > 200:
            problem = ("too_long", "name")
        elif len(department) > 200:
            problem = ("too_long", "department")
        elif email in seen:
            problem = ("duplicate_email", "email")
        joined = left = None
        if problem is None:
            try:
                joined = _year(cell("joined"))
            except ValueError:
                problem = ("invalid_date", "joined")
        if problem is None:
            try:
                left = _year(cell("left"))
            except ValueError:
                problem = ("invalid_date", "left")
        if problem is None and joined is not None and left is not None and left < joined:
            problem = ("left_before_joined", "left")
        if problem is not None:
            parsed.invalid.append(InvalidRow(start_line, problem[0], problem[1]))
            continue
        try:
            language = _language(cell("language"))
        except ValueError:  # the person still matters more than the language of their invitation
            language = None
            quoted = cell("language")[:MAX_QUOTED_VALUE]
            parsed.warnings.append(RowWarning(start_line, "unknown_language", "language", quoted))
        seen.add(email)
        parsed.rows.append(RosterRow(start_line, email, name, department, joined, left, language))
    return parsed


# Member field <- RosterRecord field (what the import may fill in).
_MERGED_FIELDS = (
    ("former_department", "department"),
    ("joined_year", "joined_year"),
    ("left_year", "left_year"),
)


def _merge_into_member(
    member: Member | SimpleNamespace, previous: RosterRecord | None, row: RosterRow
) -> bool:
    """Apply imported values to fields the member has not written themselves. True when anything changed."""
    changed = False
    new_values = {"department": row.department, "joined_year": row.joined_year, "left_year": row.left_year}
    for member_field, record_field in _MERGED_FIELDS:
        current = getattr(member, member_field)
        new = new_values[record_field]
        if new in (None, "") or current == new:
            continue
        previous_value = getattr(previous, record_field) if previous is not None else None
        untouched = current in (None, "") or (previous is not None and current == previous_value)
        if untouched:
            setattr(member, member_field, new)
            changed = True
    if not member.email:
        member.email = row.email
        changed = True
    return changed


def import_roster(
    session: Session,
    *,
    actor: Actor,
    parsed: ParsedRoster,
    slack_accounts: dict[str, SlackAccount],
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Merge parsed rows into `RosterRecord` and member profiles (HR only). Idempotent.

    Rows already in the database are merged through the ORM; brand-new members and records (a first import:
    thousands of them) are plain values written with one multi-row INSERT per table, because building a
    SQLModel object costs ~0.3 ms (pydantic defaults and validation), which made a first import of 10k rows
    take 16-18 s (issue 14; `python -m benchmarks.hr_ops 10000`).
    """
    if not actor.is_hr:
        raise PermissionDenied("not_allowed")
    report = ImportReport(
        total=len(parsed.rows) + len(parsed.invalid),
        invalid=list(parsed.invalid),
        warnings=list(parsed.warnings),
        encoding=parsed.encoding,
    )
    records = _records_for(session, [r.email for r in parsed.rows])
    members = _members_for(session, [a.user_id for a in slack_accounts.values()])
    moment = now()
    member_defaults = _defaults(Member, moment)
    record_defaults = _defaults(RosterRecord, moment)
    new_members: dict[str, SimpleNamespace] = {}  # by Slack user ID
    new_records: dict[str, dict[str, Any]] = {}  # by email
    # (record, Slack user ID of its member): records whose member link is set once every member has an id.
    links: list[tuple[RosterRecord | dict[str, Any], str]] = []
    for index, row in enumerate(parsed.rows, start=1):
        account = slack_accounts.get(row.email)
        rec: RosterRecord | None = records.get(row.email)
        pending = new_records.get(row.email)
        if account is None:
            report.not_in_slack += 1
            if rec is not None:
                _refresh_record(rec, row)
            elif pending is not None:
                pending.update(_record_values(row))
            else:
                new_records[row.email] = {**record_defaults, **_record_values(row)}
        else:
            member: Member | SimpleNamespace | None = members.get(account.user_id) or new_members.get(
                account.user_id
            )
            is_new = rec is None or rec.member_id is None
            if member is None:
                member = SimpleNamespace(
                    **{
                        **member_defaults,
                        "slack_user_id": account.user_id,
                        "display_name": account.name or row.name,
                        "email": row.email,
                        "source": SOURCE_ROSTER,
                    }
                )
                new_members[account.user_id] = member
            changed = _merge_into_member(member, rec, row)
            if changed:
                member.updated_at = moment
                # Only the attributes `build_search_text` reads are used, so the namespace stands in for a Member.
                member.search_text = build_search_text(cast(Member, member))
            if rec is None:
                if pending is None:
                    pending = new_records[row.email] = {**record_defaults, **_record_values(row)}
                else:
                    pending.update(_record_values(row))
                links.append((pending, account.user_id))
                record_changed = True
            else:
                record_changed = _refresh_record(rec, row)
                if getattr(member, "id", None) is None or rec.member_id != member.id:
                    links.append((rec, account.user_id))
                    record_changed = True
            if is_new:
                report.imported += 1
            elif changed or record_changed:
                report.updated += 1
            else:
                report.unchanged += 1
        if progress is not None and (index % 50 == 0 or index == len(parsed.rows)):
            progress(index, len(parsed.rows))
    session.flush()  # changes to rows that already existed
    member_ids = {m.slack_user_id: m.id for m in members.values() if m.slack_user_id}
    linked_ids: list[int] = []
    member_ids.update(_insert_members(session, list(new_members.values())))
    for rec_or_values, user_id in links:
        if isinstance(rec_or_values, dict):
            rec_or_values["member_id"] = member_ids[user_id]
            rec_or_values["matched_at"] = moment
        else:
            rec_or_values.member_id = member_ids[user_id]
            rec_or_values.matched_at = moment
            if rec_or_values.id is not None:
                linked_ids.append(rec_or_values.id)
    if new_records:
        session.execute(insert(RosterRecord), list(new_records.values()))
    # Records just linked may have invitations waiting (brand-new records cannot).
    _stop_invitations(session, linked_ids, at=moment)
    record(session, actor=actor.user_id, action="admin.import", target="roster", **report.counts())
    session.flush()
    return report


def _defaults(model: type[SQLModel], moment: datetime) -> dict[str, Any]:
    """Every column's default value for a row written without an ORM object (timestamps: `moment`)."""
    values: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name == "id":
            continue
        values[name] = moment if info.default_factory is now else info.get_default(call_default_factory=True)
    return values


def _record_values(row: RosterRow) -> dict[str, Any]:
    return {
        "email": row.email,
        "name": row.name,
        "department": row.department,
        "joined_year": row.joined_year,
        "left_year": row.left_year,
        "language": row.language,
    }


def _insert_members(session: Session, new_members: list[SimpleNamespace]) -> dict[str, int]:
    """Insert new members in bulk; their ids by Slack user ID.

    The ids are read back with a SELECT rather than `INSERT ... RETURNING`: with RETURNING, SQLAlchemy
    sends one huge multi-row statement per 1,000 rows that psycopg takes ~0.5 s to parse, while a plain
    executemany is pipelined (10k rows: 2.8 s vs a few hundred ms on PostgreSQL).
    """
    if not new_members:
        return {}
    session.execute(insert(Member), [vars(m) for m in new_members])
    wanted = [str(m.slack_user_id) for m in new_members]
    ids: dict[str, int] = {}
    for chunk in _chunks(wanted, 500):
        query = select(Member.slack_user_id, Member.id).where(col(Member.slack_user_id).in_(chunk))
        ids.update((str(user_id), member_id) for user_id, member_id in session.exec(query) if member_id)
    return ids


# Above this many keys one pass over the table beats many `IN (...)` round trips.
_WHOLE_TABLE_ABOVE = 500


def _records_for(session: Session, emails: list[str]) -> dict[str, RosterRecord]:
    wanted = set(emails)
    if len(wanted) > _WHOLE_TABLE_ABOVE:
        return {r.email: r for r in session.exec(select(RosterRecord)) if r.email in wanted}
    records: dict[str, RosterRecord] = {}
    for chunk in _chunks(sorted(wanted), 500):
        for found in session.exec(select(RosterRecord).where(col(RosterRecord.email).in_(chunk))):
            records[found.email] = found
    return records


def _members_for(session: Session, user_ids: list[str]) -> dict[str, Member]:
    wanted = set(user_ids)
    if len(wanted) > _WHOLE_TABLE_ABOVE:
        query = select(Member).where(col(Member.slack_user_id).is_not(None))
        return {m.slack_user_id: m for m in session.exec(query) if m.slack_user_id in wanted}
    members: dict[str, Member] = {}
    for chunk in _chunks(sorted(wanted), 500):
        for m in session.exec(select(Member).where(col(Member.slack_user_id).in_(chunk))):
            if m.slack_user_id:
                members[m.slack_user_id] = m
    return members


def _refresh_search_text(member: Member) -> None:
    """Keep the directory's search text in step with the profile (the profile feature's helper)."""
    from models.member import refresh_search_text

    refresh_search_text(member)


def _new_record(row: RosterRow) -> RosterRecord:
    return RosterRecord(
        email=row.email,
        name=row.name,
        department=row.department,
        joined_year=row.joined_year,
        left_year=row.left_year,
        language=row.language,
    )


def _refresh_record(rec: RosterRecord, row: RosterRow) -> bool:
    """Store the row's values on the record; True when any differed. Runs after the member merge."""
    changed = False
    for name, value in (
        ("name", row.name),
        ("department", row.department),
        ("joined_year", row.joined_year),
        ("left_year", row.left_year),
        ("language", row.language),
    ):
        if getattr(rec, name) != value:
            setattr(rec, name, value)
            changed = True
    return changed


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def link_new_slack_user(session: Session, *, slack_user_id: str, email: str | None, name: str = "") -> bool:
    """When someone joins Slack (`team_join`), merge the roster row waiting for their email. True if found."""
    if not email:
        return False
    rec = session.exec(select(RosterRecord).where(RosterRecord.email == normalize_email(email))).first()
    if rec is None or rec.member_id is not None:
        return False
    member = session.exec(select(Member).where(Member.slack_user_id == slack_user_id)).first()
    if member is None:
        member = Member(slack_user_id=slack_user_id, display_name=name or rec.name, source=SOURCE_ROSTER)
        session.add(member)
    row = RosterRow(0, rec.email, rec.name, rec.department, rec.joined_year, rec.left_year, rec.language)
    _merge_into_member(member, None, row)
    _refresh_search_text(member)
    session.flush()
    rec.member_id = member.id
    rec.matched_at = now()
    session.flush()
    if rec.id is not None:
        _stop_invitations(session, [rec.id], at=rec.matched_at)
    return True


def _stop_invitations(session: Session, record_ids: list[int], *, at: datetime) -> None:
    """The person joined: invitations still waiting stop (the invitations feature's rule)."""
    if not record_ids:
        return
    from models.invitation import mark_joined  # imported here: models.invitation imports this module

    mark_joined(session, roster_record_ids=record_ids, at=at)


def purge_unmatched(session: Session, *, older_than_days: int) -> int:
    """Delete roster rows of people who never joined Slack, imported more than N days ago."""
    cutoff = now() - timedelta(days=older_than_days)
    rows = session.exec(
        select(RosterRecord).where(
            col(RosterRecord.member_id).is_(None), RosterRecord.first_imported_at < cutoff
        )
    ).all()
    for rec in rows:
        session.delete(rec)
    session.flush()
    return len(rows)
