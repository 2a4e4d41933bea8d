"""Referral domain rules: validation, duplicates, the status model, permissions, pipeline queries."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from models import referral as referrals
from models.actors import Actor
from models.audit import AuditLog
from models.db import Database
from models.errors import DomainError, PermissionDenied, ValidationFailed
from models.opportunity import Draft, close_opportunity, post_opportunity
from models.referral import Referral, ReferralStatusChange
from models.timeutil import freeze

ALICE = Actor("U0ALICE01")
BOB = Actor("U0BOB0001")
HR = Actor("U0HR00001", is_hr=True)
T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


def _opportunity(db: Database, title: str = "Backend engineer") -> int:
    with db.session() as session:
        return int(post_opportunity(session, actor=HR, draft=Draft(kind="job", title=title)).id or 0)


def _submit(db: Database, actor: Actor = ALICE, **overrides: Any) -> Referral:
    values: dict[str, Any] = {
        "opportunity_id": None,
        "candidate_name": "Zelda Quartermaine",
        "candidate_email": "zelda@candidates.example",
        "consent": True,
    }
    values.update(overrides)
    with db.session() as session:
        return referrals.submit_referral(session, actor=actor, **values)


def _rows(db: Database) -> int:
    with db.session() as session:
        return len(session.exec(select(Referral)).all())


def test_submit_stores_the_referral_and_its_first_history_entry(db: Database) -> None:
    freeze(T0)
    opportunity_id = _opportunity(db)
    referral = _submit(
        db,
        opportunity_id=opportunity_id,
        candidate_url="https://profiles.example/z",
        relationship="  colleague  ",
        why_fit="fit",
    )
    with db.session() as session:
        stored = referrals.get_referral(session, int(referral.id or 0))
        changes = referrals.history(session, int(referral.id or 0))
        audit = session.exec(select(AuditLog).where(AuditLog.action == "referral.submit")).all()
    assert stored.status == "submitted" and stored.referrer_id == ALICE.user_id
    assert stored.relationship == "colleague" and stored.consent_at == T0 and stored.hr_touched_at == T0
    assert [(c.actor_id, c.from_status, c.to_status, c.at) for c in changes] == [
        (ALICE.user_id, None, "submitted", T0)
    ]
    # The audit trail names ids only, never the candidate.
    assert len(audit) == 1 and "zelda" not in (audit[0].target + audit[0].detail).lower()


INVALID: list[tuple[dict[str, Any], str, str]] = [
    ({"consent": False}, "consent", referrals.ERR_CONSENT_REQUIRED),
    ({"candidate_email": "a@b"}, "candidate_email", "invalid_email"),
    ({"candidate_email": "two@@example.com"}, "candidate_email", "invalid_email"),
    ({"candidate_email": "<a@b.example>"}, "candidate_email", "invalid_email"),
    ({"candidate_email": "", "candidate_url": ""}, "candidate_email", referrals.ERR_CONTACT_REQUIRED),
    ({"candidate_email": "", "candidate_url": "ftp://x.example"}, "candidate_url", "invalid_url"),
    ({"candidate_url": "https://x.example/a b"}, "candidate_url", "invalid_url"),
    ({"candidate_name": "   "}, "candidate_name", "required"),
    ({"candidate_name": "n" * 101}, "candidate_name", "too_long"),
    ({"relationship": "r" * 501}, "relationship", "too_long"),
    ({"why_fit": "w" * 2001}, "why_fit", "too_long"),
    ({"opportunity_id": 999_999}, "opportunity", referrals.ERR_OPPORTUNITY_CLOSED),
]


def test_invalid_input_stores_nothing(db: Database) -> None:
    for overrides, field, code in INVALID:
        with pytest.raises(ValidationFailed) as caught:
            _submit(db, **overrides)
        assert caught.value.errors[field][0] == code, overrides
    assert _rows(db) == 0


def test_a_url_alone_is_enough() -> None:
    assert referrals.is_valid_url("https://www.linkedin.com/in/someone")
    assert referrals.is_valid_url("http://example.com")
    assert not referrals.is_valid_url("javascript:alert(1)")
    assert not referrals.is_valid_url("https://")
    assert referrals.is_valid_email("first.last+tag@sub.example.co.jp")
    assert not referrals.is_valid_email("no-at-sign.example")


def test_duplicates_are_per_opportunity_and_normalised(db: Database) -> None:
    freeze(T0)
    first = _opportunity(db, "First")
    second = _opportunity(db, "Second")
    _submit(db, opportunity_id=first)
    freeze(T0 + timedelta(days=3))
    for email in ("ZELDA@Candidates.Example", " zelda@candidates.example ", "ｚｅｌｄａ@candidates.example"):
        with pytest.raises(ValidationFailed) as caught:
            _submit(db, BOB, opportunity_id=first, candidate_email=email)
        code, params = caught.value.errors["candidate_email"]
        assert code == referrals.ERR_DUPLICATE and params == {"first_referred_at": T0}
    _submit(db, BOB, opportunity_id=second)  # another opportunity: fine
    _submit(db, BOB)  # a general referral: fine once
    with pytest.raises(ValidationFailed):
        _submit(db, ALICE)  # ... general twice is a duplicate
    assert _rows(db) == 3


def test_a_racing_duplicate_is_caught_by_the_unique_key(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    freeze(T0)
    _submit(db)
    real = referrals._first_referred_at
    calls: list[str] = []

    def missed_once(session: Any, key: str) -> datetime | None:
        calls.append(key)
        return None if len(calls) == 1 else real(session, key)  # the pre-check "missed" the other insert

    monkeypatch.setattr(referrals, "_first_referred_at", missed_once)
    with pytest.raises(ValidationFailed) as caught:
        _submit(db, BOB)
    assert caught.value.errors["candidate_email"] == (referrals.ERR_DUPLICATE, {"first_referred_at": T0})
    assert _rows(db) == 1


def test_closed_opportunities_take_no_referrals_and_are_not_offered(db: Database) -> None:
    open_id = _opportunity(db, "Data engineer")
    closed_id = _opportunity(db, "Data analyst")
    with db.session() as session:
        close_opportunity(session, actor=HR, opportunity_id=closed_id)
        choices = referrals.open_opportunity_choices(session, query="data")
    assert [c.id for c in choices] == [open_id]
    with pytest.raises(ValidationFailed) as caught:
        _submit(db, opportunity_id=closed_id)
    assert caught.value.errors["opportunity"][0] == referrals.ERR_OPPORTUNITY_CLOSED


def test_only_hr_changes_status_and_every_change_is_recorded(db: Database) -> None:
    freeze(T0)
    rid = int(_submit(db).id or 0)
    with db.session() as session, pytest.raises(PermissionDenied):
        referrals.change_status(session, actor=ALICE, referral_id=rid, to_status="hired")
    with db.session() as session, pytest.raises(PermissionDenied):
        referrals.assign_owner(session, actor=BOB, referral_id=rid, owner_id=BOB.user_id, owner_is_hr=False)
    t1 = T0 + timedelta(days=1)
    freeze(t1)
    with db.session() as session:
        change = referrals.change_status(
            session, actor=HR, referral_id=rid, to_status="in_review", note=" looks good ", share_note=True
        )
        assert (change.from_status, change.to_status, change.note, change.note_shared) == (
            "submitted",
            "in_review",
            "looks good",
            True,
        )
    with db.session() as session:
        for bad, code in (
            ("in_review", referrals.ERR_SAME_STATUS),
            ("withdrawn", "invalid"),
            ("bogus", "invalid"),
        ):
            with pytest.raises(DomainError) as caught:
                referrals.change_status(session, actor=HR, referral_id=rid, to_status=bad)
            assert caught.value.code == code
        with pytest.raises(ValidationFailed):
            referrals.change_status(session, actor=HR, referral_id=rid, to_status="offer", note="n" * 1001)
        with pytest.raises(DomainError) as caught:
            referrals.assign_owner(
                session, actor=HR, referral_id=rid, owner_id=BOB.user_id, owner_is_hr=False
            )
        assert caught.value.code == referrals.ERR_OWNER_NOT_HR
    with db.session() as session:
        referral = referrals.get_referral(session, rid)
        changes = referrals.history(session, rid)
        audit = session.exec(select(AuditLog).where(AuditLog.action == "referral.status")).all()
    assert referral.status == "in_review" and referral.hr_touched_at == t1 and referral.owner_id is None
    assert [(c.actor_id, c.to_status, c.at) for c in changes] == [
        (ALICE.user_id, "submitted", T0),
        (HR.user_id, "in_review", t1),
    ]
    assert len(audit) == 1 and "looks good" not in audit[0].detail  # notes stay out of the audit log


def test_withdrawal_by_the_referrer_until_interviewing(db: Database) -> None:
    rid = int(_submit(db).id or 0)
    with db.session() as session, pytest.raises(PermissionDenied):
        referrals.withdraw(session, actor=BOB, referral_id=rid)
    with db.session() as session, pytest.raises(PermissionDenied):
        referrals.withdraw(session, actor=HR, referral_id=rid)
    with db.session() as session:
        referrals.change_status(session, actor=HR, referral_id=rid, to_status="in_review")
    with db.session() as session:
        change = referrals.withdraw(session, actor=ALICE, referral_id=rid)
        assert (change.from_status, change.to_status) == ("in_review", "withdrawn")
    with db.session() as session, pytest.raises(DomainError) as caught:
        referrals.change_status(session, actor=HR, referral_id=rid, to_status="in_review")
    assert caught.value.code == referrals.ERR_FINAL
    # Withdrawn: the same candidate may be referred again.
    again = int(_submit(db, BOB).id or 0)
    with db.session() as session:
        referrals.change_status(session, actor=HR, referral_id=again, to_status="interviewing")
    with db.session() as session, pytest.raises(DomainError) as caught:
        referrals.withdraw(session, actor=BOB, referral_id=again)
    assert caught.value.code == referrals.ERR_CANNOT_WITHDRAW and caught.value.params == {
        "status": "interviewing"
    }


def test_pipeline_queries(db: Database) -> None:
    freeze(T0)
    a = int(_submit(db, candidate_email="a@example.com").id or 0)
    freeze(T0 + timedelta(days=2))
    b = int(_submit(db, candidate_email="b@example.com").id or 0)
    freeze(T0 + timedelta(days=3))
    c = int(_submit(db, BOB, candidate_email="c@example.com").id or 0)
    with db.session() as session:
        referrals.change_status(session, actor=HR, referral_id=c, to_status="hired")
    freeze(T0 + timedelta(days=4))
    with db.session() as session:
        referrals.assign_owner(session, actor=HR, referral_id=a, owner_id=HR.user_id, owner_is_hr=True)
    with db.session() as session:
        counts = referrals.pipeline_counts(session)
        untouched = referrals.oldest_untouched(session)
        stale = referrals.stale_referrals(session, at=T0 + timedelta(days=9, hours=1))
        mine, total = referrals.referrals_of(session, ALICE.user_id, limit=1)
        week = referrals.count_created_between(session, T0 + timedelta(days=1), T0 + timedelta(days=8))
        hires = referrals.count_hired(session)
    assert counts["submitted"] == 2 and counts["hired"] == 1 and counts["withdrawn"] == 0
    assert [r.id for r in untouched] == [b, a]  # assigning an owner counts as touching it
    assert [r.id for r in stale] == [b]
    assert [r.id for r in mine] == [b] and total == 2
    assert week == 2 and hires == 1


def test_history_entries_do_not_outlive_their_referral(db: Database) -> None:
    rid = int(_submit(db).id or 0)
    with db.session() as session:
        session.delete(referrals.get_referral(session, rid))
    with db.session() as session:
        assert session.exec(select(ReferralStatusChange)).all() == []


def test_candidate_details_never_reach_the_audit_log(db: Database) -> None:
    rid = int(_submit(db, candidate_url="https://profiles.example/z").id or 0)
    with db.session() as session:
        referrals.change_status(
            session, actor=HR, referral_id=rid, to_status="not_a_fit", note="zelda said no"
        )
        referrals.assign_owner(session, actor=HR, referral_id=rid, owner_id=HR.user_id, owner_is_hr=True)
        entries = session.exec(select(AuditLog)).all()
    blob = json.dumps([(e.actor, e.action, e.target, e.detail) for e in entries]).lower()
    assert "zelda" not in blob and "profiles.example" not in blob
