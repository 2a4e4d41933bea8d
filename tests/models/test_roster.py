"""Roster import: encodings, validation with line numbers, merge rules, idempotence (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import pytest
from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel, select

from models.actors import Actor
from models.db import Database
from models.errors import DomainError, PermissionDenied
from models.member import Member, get_member, refresh_search_text
from models.roster import (
    MAX_QUOTED_VALUE,
    InvalidRow,
    RosterRecord,
    RowWarning,
    SlackAccount,
    import_roster,
    link_new_slack_user,
    parse_roster,
    purge_unmatched,
)
from models.timeutil import freeze, now

HR_ACTOR = Actor("U0HR00001", is_hr=True)
HEADER_JA = ["メールアドレス", "氏名", "部署", "入社日", "退職日"]


@dataclass
class RosterFixture:
    data: bytes
    accounts: dict[str, SlackAccount]
    in_slack: int
    not_in_slack: int
    invalid_lines: dict[int, str]  # line -> reason


def make_roster(
    rows: int = 1000, *, encoding: str = "cp932", department_suffix: str = "", header: list[str] | None = None
) -> RosterFixture:
    """`rows` data rows: 60% of people in Slack, 30% not yet, 10% invalid (five kinds of problem).

    Names and departments use ① and ㈱, which cp932 (what Excel writes) has and strict shift_jis lacks.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header or HEADER_JA)
    accounts: dict[str, SlackAccount] = {}
    invalid: dict[int, str] = {}
    in_slack = not_in_slack = 0
    for i in range(rows):
        line = i + 2
        email = f"leaver{i:04d}@example.co.jp"
        name = f"山田 花子{i}①"
        department = f"㈱本社 営業{i % 7}部{department_suffix}"
        joined, left = f"20{i % 10:02d}/04/01", f"2020-{(i % 12) + 1:02d}-15"
        bad = i % 10 == 9
        if bad:
            kind = (i // 10) % 5
            if kind == 0:
                email, reason = "not-an-email", "invalid_email"
            elif kind == 1:
                name, reason = "", "missing_name"
            elif kind == 2:
                joined, reason = "2019/02/30", "invalid_date"
            elif kind == 3:
                joined, left, reason = "2021/04/01", "2019/03/31", "left_before_joined"
            else:
                email, reason = "leaver0000@example.co.jp", "duplicate_email"
            invalid[line] = reason
        elif i % 10 < 6:
            accounts[email] = SlackAccount(user_id=f"UR{i:07d}", name=f"Slack {i}")
            in_slack += 1
        else:
            not_in_slack += 1
        writer.writerow([email, name, department, joined, left])
    return RosterFixture(out.getvalue().encode(encoding), accounts, in_slack, not_in_slack, invalid)


def snapshot(session: Session) -> list[tuple[object, ...]]:
    """Every member and roster row, every column: 'nothing changed' means this is equal."""
    rows: list[tuple[object, ...]] = []
    for table in (SQLModel.metadata.tables["member"], SQLModel.metadata.tables["roster_record"]):
        rows.extend(tuple(r) for r in session.connection().execute(sa_select(table).order_by(table.c.id)))
    return rows


def test_cp932_with_nec_characters_is_read_where_strict_shift_jis_fails() -> None:
    fixture = make_roster(20)
    with pytest.raises(UnicodeDecodeError):
        fixture.data.decode("shift_jis")
    parsed = parse_roster(fixture.data)
    assert parsed.encoding == "cp932"
    assert parsed.rows[0].name == "山田 花子0①"
    assert parsed.rows[0].department.startswith("㈱本社")
    assert (parsed.rows[0].joined_year, parsed.rows[0].left_year) == (2000, 2020)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
def test_utf8_with_and_without_bom_and_english_headers(encoding: str) -> None:
    fixture = make_roster(10, encoding=encoding, header=["Email", "Name", "Department", "Joined", "Left"])
    parsed = parse_roster(fixture.data)
    assert parsed.encoding == encoding
    assert len(parsed.rows) == 9 and parsed.rows[0].email == "leaver0000@example.co.jp"


def test_invalid_rows_are_listed_with_line_and_reason() -> None:
    fixture = make_roster(100)
    parsed = parse_roster(fixture.data)
    assert {r.line: r.reason for r in parsed.invalid} == fixture.invalid_lines
    assert len(parsed.rows) == 90


def test_file_level_problems() -> None:
    with pytest.raises(DomainError) as missing:
        parse_roster("氏名,部署\n山田,営業\n".encode())
    assert missing.value.code == "admin.errors.roster_header" and "email" in missing.value.params["columns"]
    with pytest.raises(DomainError) as empty:
        parse_roster(b"")
    assert empty.value.code == "admin.errors.roster_empty"
    with pytest.raises(DomainError) as binary:
        parse_roster(b"\xff\xfe\x00\x81\x00")
    assert binary.value.code == "admin.errors.roster_encoding"


def language_roster(*rows: tuple[str, str, str], header: str = "email,name,language") -> bytes:
    """A small roster CSV of (email, name, language) rows."""
    return "\n".join([header, *(",".join(r) for r in rows)]).encode()


def test_the_language_column_is_ja_or_en_in_any_case_and_blank_means_unknown() -> None:
    parsed = parse_roster(
        language_roster(
            ("ken@example.com", "Ken Sato", "ja"),
            ("mia@example.com", "Mia Jones", " EN "),
            ("yui@example.com", "Yui Ito", "Ja"),
            ("rin@example.com", "Rin Abe", "ＪＡ"),  # full-width, as Japanese spreadsheets write it
            ("ann@example.com", "山田 杏", ""),
        )
    )
    assert parsed.invalid == []
    assert [(r.email, r.language) for r in parsed.rows] == [
        ("ken@example.com", "ja"),
        ("mia@example.com", "en"),
        ("yui@example.com", "ja"),
        ("rin@example.com", "ja"),
        ("ann@example.com", None),
    ]
    japanese_header = parse_roster("メールアドレス,氏名,言語\nken@example.com,Ken Sato,ja\n".encode())
    assert japanese_header.rows[0].language == "ja"
    no_column = make_roster(10, encoding="utf-8")
    assert {r.language for r in parse_roster(no_column.data).rows} == {None}


def test_the_language_column_takes_the_spellings_hr_systems_write() -> None:
    spellings = {
        "ja": ["日本語", "Japanese", "JAPANESE", "jp", "JP", "ja-JP", "ja_JP", "ｊａ－ＪＰ", " 日本語 "],
        "en": ["英語", "English", "english", "en-US", "en_GB", "EN-us", "Ｅｎｇｌｉｓｈ"],
    }
    cells = [(language, spelling) for language, written in spellings.items() for spelling in written]
    parsed = parse_roster(
        language_roster(*((f"p{i}@example.com", f"Person {i}", v) for i, (_, v) in enumerate(cells)))
    )
    assert parsed.invalid == [] and parsed.warnings == []
    assert [(r.email, r.language) for r in parsed.rows] == [
        (f"p{i}@example.com", language) for i, (language, _) in enumerate(cells)
    ]


def test_a_language_not_recognised_imports_the_row_without_one_and_warns() -> None:
    parsed = parse_roster(
        language_roster(
            ("ken@example.com", "Ken Sato", "ja"),
            ("fr@example.com", "Jean Dupont", "fr"),
            ("jv@example.com", "Taro Yamada", "java"),  # "ja" followed by letters is not a locale tag
            ("de@example.com", "Anna Schmidt", "Deutsch"),
            ("bad@example", "No Domain", "klingon"),  # an invalid row stays an error, with no warning
        )
    )
    assert [(r.email, r.language) for r in parsed.rows] == [
        ("ken@example.com", "ja"),
        ("fr@example.com", None),
        ("jv@example.com", None),
        ("de@example.com", None),
    ]
    assert parsed.warnings == [
        RowWarning(3, "unknown_language", "language", "fr"),
        RowWarning(4, "unknown_language", "language", "java"),
        RowWarning(5, "unknown_language", "language", "Deutsch"),
    ]
    assert parsed.invalid == [InvalidRow(6, "invalid_email", "email")]


def test_a_person_with_a_language_not_recognised_is_imported_and_the_report_says_so(db: Database) -> None:
    accounts = {"ken@example.com": SlackAccount(user_id="UKEN00001", name="Ken")}
    roster = language_roster(
        ("ken@example.com", "Ken Sato", "Français"), ("mia@example.com", "Mia Jones", "x" * 60)
    )
    with db.session() as session:
        report = import_roster(session, actor=HR_ACTOR, parsed=parse_roster(roster), slack_accounts=accounts)
    assert (report.imported, report.not_in_slack, report.invalid) == (1, 1, [])
    assert [(w.line, w.value) for w in report.warnings] == [(2, "Français"), (3, "x" * MAX_QUOTED_VALUE)]
    with db.session() as session:
        stored = {r.email: r.language for r in session.exec(select(RosterRecord))}
    assert stored == {"ken@example.com": None, "mia@example.com": None}


def test_the_roster_language_is_stored_and_a_reimport_updates_or_clears_it(db: Database) -> None:
    accounts = {"ken@example.com": SlackAccount(user_id="UKEN00001", name="Ken")}
    first = language_roster(("ken@example.com", "Ken Sato", "ja"), ("mia@example.com", "Mia Jones", "en"))
    with db.session() as session:
        import_roster(session, actor=HR_ACTOR, parsed=parse_roster(first), slack_accounts=accounts)
    with db.session() as session:
        stored = {r.email: r.language for r in session.exec(select(RosterRecord))}
    assert stored == {"ken@example.com": "ja", "mia@example.com": "en"}  # in Slack and not yet alike

    corrected = language_roster(("ken@example.com", "Ken Sato", "EN"), ("mia@example.com", "Mia Jones", ""))
    with db.session() as session:
        report = import_roster(
            session, actor=HR_ACTOR, parsed=parse_roster(corrected), slack_accounts=accounts
        )
    assert report.updated == 1  # Ken's record changed
    with db.session() as session:
        stored = {r.email: r.language for r in session.exec(select(RosterRecord))}
    assert stored == {"ken@example.com": "en", "mia@example.com": None}


def test_only_hr_may_import(sqlite_db: Database) -> None:
    fixture = make_roster(10)
    with sqlite_db.session() as session, pytest.raises(PermissionDenied):
        import_roster(
            session,
            actor=Actor("U0ALICE01"),
            parsed=parse_roster(fixture.data),
            slack_accounts=fixture.accounts,
        )
    with sqlite_db.session() as session:
        assert session.exec(select(RosterRecord)).first() is None


def test_import_counts_reimport_changes_nothing_and_member_edits_survive(db: Database) -> None:
    fixture = make_roster(1000)
    # A member who already wrote her own department before HR's first import.
    alice_email = "leaver0000@example.co.jp"
    with db.session() as session:
        session.add(
            Member(
                slack_user_id="UR0000000",
                display_name="Alice",
                former_department="Design",
                profile_edited_at=now(),
            )
        )
    progress: list[tuple[int, int]] = []
    with db.session() as session:
        report = import_roster(
            session,
            actor=HR_ACTOR,
            parsed=parse_roster(fixture.data),
            slack_accounts=fixture.accounts,
            progress=lambda done, total: progress.append((done, total)),
        )
    assert report.counts() == {
        "total": 1000,
        "imported": fixture.in_slack,
        "updated": 0,
        "unchanged": 0,
        "not_in_slack": fixture.not_in_slack,
        "invalid": 100,
    }
    assert (fixture.in_slack, fixture.not_in_slack) == (600, 300)
    assert progress[-1] == (900, 900)
    with db.session() as session:
        alice = get_member(session, slack_user_id="UR0000000")
        assert alice is not None
        assert alice.former_department == "Design"  # hers, not the roster's
        assert (alice.joined_year, alice.left_year, alice.email) == (
            2000,
            2020,
            alice_email,
        )  # empty ones filled
        other = get_member(session, slack_user_id="UR0000001")
        assert other is not None and other.former_department == "㈱本社 営業1部" and other.source == "roster"
        # People not in Slack yet have no member row (nothing about them shows anywhere).
        assert session.exec(select(Member).where(Member.email == "leaver0006@example.co.jp")).first() is None
        assert session.exec(
            select(RosterRecord).where(RosterRecord.email == "leaver0006@example.co.jp")
        ).one()
        before = snapshot(session)

    with db.session() as session:
        again = import_roster(
            session, actor=HR_ACTOR, parsed=parse_roster(fixture.data), slack_accounts=fixture.accounts
        )
    assert (again.imported, again.updated, again.unchanged, again.not_in_slack) == (0, 0, 600, 300)
    with db.session() as session:
        assert snapshot(session) == before

    # Members edit their profiles; HR then imports a roster whose departments all changed.
    with db.session() as session:
        bob = get_member(session, slack_user_id="UR0000002")
        assert bob is not None
        bob.former_department = "Bob's own words"
        bob.profile_edited_at = now()
    changed = make_roster(1000, department_suffix=" (新)")
    with db.session() as session:
        third = import_roster(
            session, actor=HR_ACTOR, parsed=parse_roster(changed.data), slack_accounts=changed.accounts
        )
    assert third.updated == 600 and third.imported == 0
    with db.session() as session:
        bob = get_member(session, slack_user_id="UR0000002")
        carol = get_member(session, slack_user_id="UR0000003")
        alice = get_member(session, slack_user_id="UR0000000")
        assert bob is not None and carol is not None and alice is not None
        assert bob.former_department == "Bob's own words"
        assert carol.former_department == "㈱本社 営業3部 (新)"  # untouched by the member: follows HR
        assert alice.former_department == "Design"


def test_bulk_first_import_writes_the_rows_the_orm_would(db: Database) -> None:
    """New members and records are written in bulk, with every column as a Member/RosterRecord object gives it."""
    fixture = make_roster(20)
    moment = now().replace(microsecond=0)
    freeze(moment)
    try:
        with db.session() as session:
            import_roster(
                session, actor=HR_ACTOR, parsed=parse_roster(fixture.data), slack_accounts=fixture.accounts
            )
    finally:
        freeze(None)
    with db.session() as session:
        imported = get_member(session, slack_user_id="UR0000001")
        assert imported is not None and imported.id is not None
        expected = Member(
            slack_user_id="UR0000001",
            display_name=fixture.accounts["leaver0001@example.co.jp"].name,
            email="leaver0001@example.co.jp",
            source="roster",
            former_department="㈱本社 営業1部",
            joined_year=2001,
            left_year=2020,
            created_at=moment,
            updated_at=moment,
        )
        refresh_search_text(expected)
        columns = [c for c in Member.model_fields if c != "id"]
        assert {c: getattr(imported, c) for c in columns} == {c: getattr(expected, c) for c in columns}
        linked = session.exec(
            select(RosterRecord).where(RosterRecord.email == "leaver0001@example.co.jp")
        ).one()
        assert (linked.member_id, linked.matched_at, linked.first_imported_at) == (
            imported.id,
            moment,
            moment,
        )
        waiting = session.exec(
            select(RosterRecord).where(RosterRecord.email == "leaver0006@example.co.jp")
        ).one()
        assert (waiting.member_id, waiting.matched_at, waiting.name) == (None, None, "山田 花子6①")


def test_unmatched_rows_link_on_join_or_are_purged_after_retention(db: Database) -> None:
    fixture = make_roster(20)
    with db.session() as session:
        import_roster(session, actor=HR_ACTOR, parsed=parse_roster(fixture.data), slack_accounts={})
    with db.session() as session:
        assert link_new_slack_user(
            session, slack_user_id="UNEW00001", email="Leaver0001@Example.co.jp", name="New"
        )
    with db.session() as session:
        member = get_member(session, slack_user_id="UNEW00001")
        assert member is not None and member.former_department == "㈱本社 営業1部"
    freeze(now().replace(year=now().year + 2))
    with db.session() as session:
        purged = purge_unmatched(session, older_than_days=365)
    assert purged == 17  # 18 valid rows, one linked
    with db.session() as session:
        remaining = session.exec(select(RosterRecord)).all()
        assert [r.email for r in remaining] == ["leaver0001@example.co.jp"]
