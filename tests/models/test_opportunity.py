"""Opportunity domain rules: validation, who may post and manage what, interest once, search, expiry."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import func, select

from models import opportunity as opps
from models.actors import Actor
from models.db import Database
from models.errors import DomainError, PermissionDenied, ValidationFailed
from models.timeutil import freeze

HR = Actor("U0HR00001", is_hr=True)
ALICE = Actor("U0ALICE01")
CAROL = Actor("U0CAROL01")
NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)


def _count(db: Database) -> int:
    with db.session() as session:
        return int(session.exec(select(func.count()).select_from(opps.Opportunity)).one())


def _post(db: Database, actor: Actor = ALICE, **fields: object) -> int:
    values: dict[str, object] = {"title": "Backend engineer", "description": "Python と営業支援"}
    values.update(fields)
    with db.session() as session:
        created = opps.post_opportunity(session, actor=actor, draft=opps.Draft(**values), zone="Asia/Tokyo")  # type: ignore[arg-type]
        assert created.id is not None
        return created.id


def test_invalid_fields_are_all_reported_and_nothing_is_stored(db: Database) -> None:
    freeze(NOW)
    with pytest.raises(ValidationFailed) as info, db.session() as session:
        opps.post_opportunity(
            session,
            actor=ALICE,
            draft=opps.Draft(
                title="  ",
                description="x" * 5000,
                company="c" * 151,
                apply_url="javascript:alert(1)",
                expires_on=date(2026, 11, 1),
            ),
        )
    errors = info.value.errors
    assert errors["title"][0] == "required"
    assert errors["description"] == ("too_long", {"max": 3000})
    assert errors["company"] == ("too_long", {"max": 150})
    assert errors["apply_url"][0] == "invalid_url"
    assert errors["expires_on"][0] == "opportunities.errors.expiry_past"
    assert _count(db) == 0


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "ftp://files.example.com",
        "https://",
        "https://evil.example|bank",
        "<https://x.y>",
    ],
)
def test_only_real_http_urls_are_accepted(url: str) -> None:
    assert not opps.is_http_url(url)


def test_expiry_defaults_to_30_days_and_stops_at_180(db: Database) -> None:
    freeze(NOW)
    opportunity_id = _post(db)
    with db.session() as session:
        assert opps.get_opportunity(session, opportunity_id).expires_at == NOW + timedelta(days=30)
    with pytest.raises(ValidationFailed) as info:
        _post(db, expires_on=(NOW + timedelta(days=182)).date())
    assert info.value.errors["expires_on"] == ("opportunities.errors.expiry_too_far", {"max": 180})


def test_only_hr_posts_or_switches_to_rehire(db: Database) -> None:
    with pytest.raises(PermissionDenied) as info:
        _post(db, actor=ALICE, kind="rehire")
    assert info.value.field == "kind"
    mine = _post(db, actor=ALICE, kind="job")
    with pytest.raises(PermissionDenied), db.session() as session:
        opps.update_opportunity(
            session, actor=ALICE, opportunity_id=mine, draft=opps.Draft(kind="rehire", title="x")
        )
    rehire = _post(db, actor=HR, kind="rehire")
    with db.session() as session:
        assert opps.get_opportunity(session, rehire).is_rehire
        assert opps.get_opportunity(session, mine).kind == "job"


def test_only_poster_or_hr_manage_a_post(db: Database) -> None:
    opportunity_id = _post(db, actor=ALICE)
    for act in (opps.close_opportunity, opps.mark_filled, opps.extend_opportunity):
        with pytest.raises(PermissionDenied), db.session() as session:
            act(session, actor=CAROL, opportunity_id=opportunity_id)
    with db.session() as session:
        assert opps.get_opportunity(session, opportunity_id).is_open
        opps.mark_filled(session, actor=HR, opportunity_id=opportunity_id, filled_by_user_id="U0BOB0001")
    with db.session() as session:
        filled = opps.get_opportunity(session, opportunity_id)
        assert filled.status == opps.STATUS_FILLED and filled.filled_by_member_id is not None


def test_interest_is_recorded_once(db: Database) -> None:
    opportunity_id = _post(db, actor=ALICE)
    with db.session() as session:
        assert opps.record_interest(session, actor=CAROL, opportunity_id=opportunity_id).created
    with db.session() as session:
        assert not opps.record_interest(session, actor=CAROL, opportunity_id=opportunity_id).created
        assert opps.interest_count(session, opportunity_id) == 1
    with pytest.raises(DomainError), db.session() as session:
        opps.record_interest(session, actor=ALICE, opportunity_id=opportunity_id)


def test_search_sees_open_posts_and_edits(db: Database) -> None:
    freeze(NOW)
    first = _post(db, title="法人営業", kind="job")
    second = _post(db, actor=HR, title="エンジニア（出戻り）", kind="rehire", work_style="remote")
    with db.session() as session:
        assert [o.id for o in opps.search_opportunities(session, query="営業").items] == [second, first]
        assert [o.id for o in opps.search_opportunities(session, query="営業", kind="rehire").items] == [
            second
        ]
        assert [o.id for o in opps.search_opportunities(session, work_style="remote").items] == [second]
        opps.update_opportunity(
            session, actor=ALICE, opportunity_id=first, draft=opps.Draft(title="経理", kind="job")
        )
    with db.session() as session:
        assert [o.id for o in opps.search_opportunities(session, query="経理").items] == [first]
        opps.close_opportunity(session, actor=ALICE, opportunity_id=first)
    with db.session() as session:
        assert opps.search_opportunities(session, query="経理").items == []
        assert [o.id for o in opps.newest_open(session)] == [second]


def test_expiry_selects_posts_past_their_date(db: Database) -> None:
    freeze(NOW)
    soon = _post(db, expires_on=date(2026, 11, 28))
    _post(db)
    with db.session() as session:
        assert opps.due_to_expire(session, at=NOW) == []
        later = NOW + timedelta(days=3)
        due = opps.due_to_expire(session, at=later)
        assert [o.id for o in due] == [soon]
        opps.expire(session, due[0], at=later)
    with db.session() as session:
        assert opps.get_opportunity(session, soon).status == opps.STATUS_EXPIRED
        assert opps.due_to_expire(session, at=NOW + timedelta(days=3)) == []


def test_a_forged_browse_offset_is_clamped(db: Database) -> None:
    from bot.blocks.opportunities import MAX_BROWSE_OFFSET, BrowseState

    state = BrowseState.decode('{"q": "", "o": 100000000000000000000}')
    assert state.offset == MAX_BROWSE_OFFSET
    with db.session() as session:
        assert opps.search_opportunities(session, query=None, limit=8, offset=state.offset) is not None
