"""Erasure and export are generic over every table: each table has a declared rule, and after a member deletes
their data no column of any table (the database's own tables included, such as SQLite's FTS index) holds their
Slack ID, their name or their profile text."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    inspect,
    select,
    text,
)
from sqlmodel import Session, SQLModel

from models.actors import Actor
from models.audit import record
from models.db import Database
from models.errors import PermissionDenied
from models.member import Member
from models.outbox import enqueue
from models.privacy import (
    DELETE,
    NONE,
    PSEUDONYMISE,
    RULES,
    erase_member,
    export_member_data,
    purge_candidate_contacts,
    tables,
)
from models.roster import RosterRecord
from models.tables import import_all
from models.timeutil import freeze, now

ALICE = "U0ALICE01"
CAROL = "U0CAROL01"
ALICE_NAME = "Zelda Quux"
PROFILE_TEXT = "Kyoto-gardening-ZQ"
NEUTRAL = "neutral"


def test_every_table_has_a_rule_and_every_rule_names_real_columns() -> None:
    import_all()
    missing = sorted(set(SQLModel.metadata.tables) - set(RULES))
    assert missing == [], f"add a privacy rule to models/privacy.py RULES for: {missing}"
    for name, rule in RULES.items():
        table = SQLModel.metadata.tables.get(name)
        assert table is not None, f"rule for unknown table {name}"
        assert rule.action in {NONE, DELETE, PSEUDONYMISE}
        named = (
            rule.member_columns
            + rule.slack_columns
            + rule.list_columns
            + rule.keep
            + rule.pseudonym_columns
            + rule.keep_replaced
            + rule.mention_columns
            + rule.pointer_columns
            + tuple(rule.delete_when)
            + (rule.messages[:2] if rule.messages else ())
            + tuple(rule.messages_when)
            + ((rule.message_key,) if rule.message_key else ())
        )
        assert [c for c in named if c not in table.c] == [], name
        # Every reference to a member is declared: owned (member_columns) or a kept pointer to the tombstone.
        member_fks = {
            c.name for c in table.columns for fk in c.foreign_keys if fk.column.table.name == "member"
        }
        assert member_fks <= set(rule.member_columns) | set(rule.pointer_columns), name


def _max_len(column: Any) -> int | None:
    length = getattr(column.type, "length", None)
    return length if isinstance(length, int) else None


def _text_for(column: Any, value: str) -> str:
    limit = _max_len(column)
    return value[:limit] if limit else value


def _generic_value(table: Table, column: Any, seeded: dict[str, dict[str, Any]], owned: bool) -> Any:
    rule = RULES[table.name]
    for fk in column.foreign_keys:
        return seeded[fk.column.table.name][fk.column.name]
    if column.name in rule.member_columns:
        return seeded["member"]["id"]
    if column.name in rule.slack_columns or column.name in rule.list_columns:
        return ALICE
    if column.name in rule.mention_columns:
        return _text_for(column, f"by {ALICE} x")
    kind = column.type
    impl = getattr(kind, "impl", None)
    if impl is not None and not isinstance(kind, String | Text):
        kind = impl if isinstance(impl, type(impl)) and not isinstance(impl, type) else impl()
    if isinstance(kind, JSON):
        return {"who": ALICE_NAME} if owned else {}
    if isinstance(kind, String | Text):
        if table.name == "search_entry" and column.name == "bigrams":
            return None
        personal = owned and column.name not in rule.keep
        return _text_for(column, f"{ALICE_NAME} {PROFILE_TEXT}" if personal else NEUTRAL)
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, Integer | Numeric | Float):
        return 1
    if isinstance(kind, Date):
        return date.today()
    if isinstance(kind, DateTime):
        return now()
    return None


def seed_every_table(session: Session) -> dict[str, dict[str, Any]]:
    """One row in every table, owned by Alice wherever the table's rule can own rows, personal text in every
    column the rule does not declare as kept."""
    seeded: dict[str, dict[str, Any]] = {}
    alice = Member(
        slack_user_id=ALICE,
        display_name=ALICE_NAME,
        email="zelda@example.com",
        current_company=f"{PROFILE_TEXT} Inc",
        skills=PROFILE_TEXT,
        interests=f"I love {PROFILE_TEXT}",
        search_text=f"{ALICE_NAME.lower()} {PROFILE_TEXT.lower()}",
        consented_at=now(),
        consent_version="2026-11",
    )
    session.add(alice)
    session.flush()
    seeded["member"] = {"id": alice.id}
    conn = session.connection()
    for table in SQLModel.metadata.sorted_tables:
        if table.name == "member":
            continue
        rule = RULES[table.name]
        values: dict[str, Any] = {}
        for column in table.columns:
            if column.primary_key and isinstance(column.type, Integer):
                continue
            values[column.name] = _generic_value(table, column, seeded, rule.owns_rows)
        result = conn.execute(table.insert().values(**values))
        row_id = result.inserted_primary_key[0] if result.inserted_primary_key else None
        seeded[table.name] = {**values, "id": row_id}
    # Realistic extras: a message in Carol's channel digest mentioning Alice, and audit entries about her.
    enqueue(
        session, purpose="digest", recipient="C0ALUMNI1", period="w1", message={"text": f"<@{ALICE}> said hi"}
    )
    enqueue(session, purpose="nudge", recipient=ALICE, period="p1", message={"text": f"Hi {ALICE_NAME}"})
    record(session, actor="U0HR00001", action="admin.import", target=f"member:{alice.id}", user=ALICE)
    return seeded


def scan(db: Database, needles: list[str]) -> list[str]:
    """Every (table.column) of every table the database has whose text contains one of `needles`."""
    hits: list[str] = []
    with db.engine.connect() as conn:
        inspector = inspect(conn)
        for name in inspector.get_table_names():
            if name.startswith("alembic_version") or name.startswith("sqlite_"):
                continue
            columns = [c["name"] for c in inspector.get_columns(name)]
            for row in conn.execute(text(f'SELECT * FROM "{name}"')).mappings():
                for column in columns:
                    value = row.get(column)
                    if value is None:
                        continue
                    rendered = (
                        json.dumps(value, default=str, ensure_ascii=False)
                        if not isinstance(value, str)
                        else value
                    )
                    hits.extend(f"{name}.{column}: {n}" for n in needles if n in rendered)
    return hits


def test_after_erasure_no_table_holds_their_slack_id_name_or_profile_text(db: Database) -> None:
    with db.session() as session:
        seed_every_table(session)
    assert scan(db, [ALICE, ALICE_NAME, PROFILE_TEXT]), "the seed must put Alice's data in the database"
    with db.session() as session:
        result = erase_member(session, actor=Actor(ALICE), slack_user_id=ALICE)
    assert scan(db, [ALICE, ALICE_NAME, PROFILE_TEXT]) == []
    assert result.pseudonym.startswith("former-member-")
    with db.session() as session:
        conn = session.connection()
        for name, rule in RULES.items():
            count = conn.execute(text(f'SELECT COUNT(*) FROM "{name}"')).scalar_one()
            if rule.action == DELETE and rule.owns_rows:
                assert count == 0, f"{name}: owned rows must be deleted"
        # Pending messages to her are gone; the channel digest's line naming her is replaced (no ID left).
        payloads = [r[0] for r in conn.execute(text("SELECT payload FROM outbox_message"))]
        assert not any(ALICE_NAME in p or ALICE in p for p in payloads)
        assert json.dumps({"text": "—"}, ensure_ascii=False) in payloads
        tombstone = conn.execute(
            text("SELECT slack_user_id, display_name, pseudonym, erased_at FROM member")
        ).one()
        assert tombstone[0] is None and tombstone[1] == "" and tombstone[2] == result.pseudonym
        assert tombstone[3] is not None
        actions = [r[0] for r in conn.execute(text("SELECT action FROM audit_log"))]
        assert "privacy.erase" in actions


def test_erasure_keeps_other_members_data(sqlite_db: Database) -> None:
    db = sqlite_db
    with db.session() as session:
        carol = Member(slack_user_id=CAROL, display_name="Carol Jones", skills="carol-skill")
        session.add(carol)
        session.flush()
        seed_every_table(session)
    with db.session() as session:
        erase_member(session, actor=Actor(ALICE), slack_user_id=ALICE)
    assert scan(db, [CAROL, "Carol Jones", "carol-skill"]) != []


def test_only_the_member_or_hr_may_erase(sqlite_db: Database) -> None:
    db = sqlite_db
    with db.session() as session:
        session.add(Member(slack_user_id=ALICE, display_name=ALICE_NAME))
    with db.session() as session, pytest.raises(PermissionDenied):
        erase_member(session, actor=Actor(CAROL), slack_user_id=ALICE)
    assert scan(db, [ALICE_NAME]) != []


def test_export_holds_their_rows_from_every_table(db: Database) -> None:
    with db.session() as session:
        seed_every_table(session)
    with db.session() as session:
        data = export_member_data(session, slack_user_id=ALICE)
    owned_tables = {name for name, rule in RULES.items() if rule.owns_rows} | {"member"}
    assert owned_tables <= set(data["tables"]), owned_tables - set(data["tables"])
    assert data["tables"]["member"][0]["display_name"] == ALICE_NAME
    json.dumps(data)  # serialisable as is


def test_the_roster_language_is_in_their_export_and_goes_with_their_roster_row(db: Database) -> None:
    with db.session() as session:
        alice = Member(slack_user_id=ALICE, display_name=ALICE_NAME)
        session.add(alice)
        session.flush()
        session.add(
            RosterRecord(email="zelda@example.com", name=ALICE_NAME, language="en", member_id=alice.id)
        )
    with db.session() as session:
        exported = export_member_data(session, slack_user_id=ALICE)["tables"]["roster_record"]
    assert [(r["email"], r["language"]) for r in exported] == [("zelda@example.com", "en")]
    with db.session() as session:
        erase_member(session, actor=Actor(ALICE), slack_user_id=ALICE)
    with db.session() as session:
        assert session.connection().execute(select(RosterRecord.__table__)).all() == []  # type: ignore[attr-defined]


def test_retention_purges_candidate_contact_data_of_old_closed_referrals(db: Database) -> None:
    if "referral" not in tables():
        pytest.skip("referrals are not part of this build")
    referral = SQLModel.metadata.tables["referral"]
    with db.session() as session:
        conn = session.connection()
        base = {
            "referrer_id": CAROL,
            "candidate_email": "cand@example.com",
            "candidate_url": "https://example.com/cand",
            "relationship": "former colleague",
            "why_fit": "great",
            "consent_at": now(),
            "hr_channel": "G0HRPRIV1",
            "created_at": now(),
            "hr_touched_at": now(),
        }
        conn.execute(
            referral.insert().values(
                candidate_name="Old Closed",
                status="hired",
                hr_ts="1.1",
                updated_at=datetime(2024, 1, 1, tzinfo=now().tzinfo),
                duplicate_key="k1",
                **base,
            )
        )
        conn.execute(
            referral.insert().values(
                candidate_name="Recent Closed",
                status="hired",
                hr_ts="1.2",
                updated_at=now(),
                duplicate_key="k2",
                **base,
            )
        )
        conn.execute(
            referral.insert().values(
                candidate_name="Old Open",
                status="interviewing",
                hr_ts="1.3",
                updated_at=datetime(2024, 1, 1, tzinfo=now().tzinfo),
                duplicate_key="k3",
                **base,
            )
        )
        history = SQLModel.metadata.tables["referral_status_change"]
        ids = dict(conn.execute(select(referral.c.candidate_name, referral.c.id)).all())
        for name, referral_id in ids.items():
            conn.execute(
                history.insert().values(
                    referral_id=referral_id,
                    at=now(),
                    actor_id="U0HR00001",
                    to_status="hired",
                    note=f"Called {name} today",
                )
            )
    freeze(now())
    with db.session() as session:
        refs = purge_candidate_contacts(session, older_than_days=365)
    assert [(r.channel, r.ts) for r in refs] == [("G0HRPRIV1", "1.1")]
    assert scan(db, ["Old Closed"]) == [], "the referral and HR's notes on it are purged"
    assert scan(db, ["Recent Closed"]) and scan(db, ["Old Open"])
    with db.session() as session:
        assert purge_candidate_contacts(session, older_than_days=365) == []  # once only


def test_erasure_drops_unsent_group_intros_listing_them_and_blanks_sent_ones(db: Database) -> None:
    """A group DM's outbox row (`U1,U2`) carries every member's profile: a failed or pending intro to a group
    with the erased member is dropped, a sent one keeps no text, and other groups keep theirs."""
    from zoneinfo import ZoneInfo

    from bot.blocks.intros import intro_message
    from jobs.intros import PURPOSE_INTRO
    from models.outbox import FAILED, SENT

    near = ALICE + "2"  # `near` starts with Alice's ID but is someone else
    with db.session() as session:
        alice = Member(slack_user_id=ALICE, display_name=ALICE_NAME, skills=PROFILE_TEXT)
        carol = Member(slack_user_id=CAROL, display_name="Carol Jones", skills="carol-skill")
        other = Member(slack_user_id=near, display_name="Near Miss", skills="near-skill")
        session.add_all([alice, carol, other])
        session.flush()

        def intro(members: list[Member], period: str, status: str) -> None:
            recipient = ",".join(sorted(m.slack_user_id or "" for m in members))
            message = intro_message(
                members, overlap="", at=now(), default_language="en", default_zone=ZoneInfo("UTC")
            )
            row = enqueue(session, purpose=PURPOSE_INTRO, recipient=recipient, period=period, message=message)
            assert row is not None
            row.status = status
            session.add(row)

        intro([alice, carol], "w1/g1", FAILED)  # e.g. the group DM could not be opened
        intro([carol, alice], "w2/g2", "pending")
        intro([carol, other, alice], "w3/g3", "pending")  # Alice last in a group of three
        intro([alice, carol], "w4/g4", SENT)
        intro([other, carol], "w5/g5", FAILED)  # not Alice's: kept as it is
    assert scan(db, [ALICE_NAME, PROFILE_TEXT]) != []

    with db.session() as session:
        result = erase_member(session, actor=Actor(ALICE), slack_user_id=ALICE)
    assert scan(db, [ALICE_NAME, PROFILE_TEXT]) == []  # (`near` contains Alice's ID: checked below)
    with db.session() as session:
        rows = session.connection().execute(
            text("SELECT period, status, recipient, payload FROM outbox_message ORDER BY period")
        )
        left = {period: (status, recipient, payload) for period, status, recipient, payload in rows}
    assert sorted(left) == ["w4/g4", "w5/g5"]
    status, recipient, payload = left["w4/g4"]
    assert status == SENT and recipient == f"{result.pseudonym},{CAROL}"
    assert payload in ("", "{}")  # blanked, as for a sent message to her alone
    status, recipient, payload = left["w5/g5"]
    assert status == FAILED and recipient == f"{near},{CAROL}" and "Near Miss" in payload


def test_the_intro_purposes_erasure_redraws_are_the_intros_feature_s() -> None:
    from jobs.intros import PURPOSE_FOLLOW_UP, PURPOSE_INTRO
    from models import privacy

    assert privacy._INTRO_PURPOSES == (PURPOSE_INTRO, PURPOSE_FOLLOW_UP)
