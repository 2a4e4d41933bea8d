"""Profiles: validation, consent, who sees whom, directory search, rehire and opportunity matching."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from models.actors import Actor
from models.audit import AuditLog
from models.db import Database
from models.errors import NotFound, ValidationFailed
from models.member import SOURCE_IMPORT, VISIBILITY_HR, Member, get_member
from models.opportunity import KIND_GIG, KIND_JOB, KIND_REHIRE, Opportunity
from models.profile import (
    CONSENT_VERSION,
    ProfileInput,
    can_view,
    claim_welcome,
    give_consent,
    has_consented,
    match_opportunities,
    new_members,
    parse_skills,
    profile_input_of,
    rehire_matches,
    release_welcome,
    search_members,
    update_profile,
    validate_profile,
    view_profile,
)
from models.timeutil import freeze

HR = Actor("UHR", is_hr=True)
ANN = Actor("UANN")
VIEWER = Actor("UVIEW")


def add_member(db: Database, user_id: str, *, consent: bool = True, **profile: object) -> None:
    data = ProfileInput(**profile)  # type: ignore[arg-type]
    with db.session() as session:
        update_profile(session, actor=Actor(user_id), data=data, display_name=user_id)
        if consent:
            give_consent(session, actor=Actor(user_id))


def ids(members: list[Member]) -> list[str | None]:
    return [m.slack_user_id for m in members]


# -- validation -----------------------------------------------------------------------------------


def test_left_year_before_joined_year_is_an_error_on_the_left_year_and_nothing_is_saved(db: Database) -> None:
    with db.session() as session:
        update_profile(session, actor=ANN, data=ProfileInput(current_company="Acme", joined_year="2015"))
    with pytest.raises(ValidationFailed) as caught, db.session() as session:
        update_profile(
            session,
            actor=ANN,
            data=ProfileInput(current_company="Changed", joined_year="2018", left_year="2016"),
        )
    assert caught.value.errors == {"left_year": ("profiles.errors.left_before_joined", {})}
    with db.session() as session:
        member = get_member(session, slack_user_id=ANN.user_id)
        assert member is not None
        assert (member.current_company, member.joined_year, member.left_year) == ("Acme", 2015, None)


def test_too_long_texts_and_bad_years_get_field_errors() -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_profile(
            ProfileInput(
                interests="x" * 3000,
                current_role="y" * 201,
                joined_year="1949",
                left_year="next year",
                skills="a" * 501,
                availability=["rehire", "astronaut"],
                available_until="2000-01-01",
                visibility="everyone",
            )
        )
    errors = caught.value.errors
    assert errors["interests"] == ("too_long", {"max": 2000})
    assert errors["current_role"] == ("too_long", {"max": 200})
    assert errors["joined_year"][0] == "profiles.errors.year_invalid"
    assert errors["left_year"][0] == "profiles.errors.year_invalid"
    assert errors["skills"] == ("too_long", {"max": 500})
    assert errors["availability"] == ("invalid", {})
    assert errors["available_until"] == ("profiles.errors.until_past", {})
    assert errors["visibility"] == ("invalid", {})


def test_years_must_lie_between_1950_and_this_year() -> None:
    freeze(datetime(2026, 11, 26, 12, tzinfo=UTC))
    assert validate_profile(ProfileInput(joined_year="1950", left_year="２０２６")).left_year == 2026
    with pytest.raises(ValidationFailed) as caught:
        validate_profile(ProfileInput(left_year="2027"))
    assert caught.value.errors["left_year"] == ("profiles.errors.year_invalid", {"min": 1950, "max": 2026})


def test_skills_are_split_on_commas_and_japanese_commas_and_normalised() -> None:
    assert parse_skills("Python、 Go ,python, ＳＱＬ;  data   analysis ,,") == [
        "Python",
        "Go",
        "SQL",
        "data analysis",
    ]
    with pytest.raises(ValidationFailed) as caught:
        validate_profile(ProfileInput(skills=",".join(f"s{i}" for i in range(31))))
    assert caught.value.errors["skills"] == ("profiles.errors.too_many_skills", {"max": 30})


def test_profile_round_trips_through_the_form(db: Database) -> None:
    data = ProfileInput(
        former_department="営業部",
        former_role="Account manager",
        joined_year="2012",
        left_year="2020",
        current_company="株式会社サンプル",
        current_role="CTO",
        location="Osaka",
        skills="Python, 営業",
        interests="Go (the game)",
        availability=["mentoring", "gigs"],
        available_until=(date.today() + timedelta(days=30)).isoformat(),
        visibility=VISIBILITY_HR,
    )
    with db.session() as session:
        member = update_profile(session, actor=ANN, data=data, display_name="Ann Lee")
        again = profile_input_of(member)
    assert again.availability == ["gigs", "mentoring"]
    assert again == ProfileInput(**{**data.__dict__, "availability": ["gigs", "mentoring"]})
    assert "株式会社サンプル" in member.search_text and "ann lee" in member.search_text
    # Once the "until" date has passed, the form no longer offers the expired availability.
    expired = profile_input_of(member, today=date.today() + timedelta(days=31))
    assert expired.availability == [] and expired.available_until is None
    validate_profile(expired)


# -- consent and visibility -----------------------------------------------------------------------


def test_consent_records_when_and_which_version_and_is_audited(db: Database) -> None:
    freeze(datetime(2026, 11, 26, 9, tzinfo=UTC))
    with db.session() as session:
        assert not has_consented(session, slack_user_id=ANN.user_id)
        member = give_consent(session, actor=ANN)
        assert member.consented_at == datetime(2026, 11, 26, 9, tzinfo=UTC)
        assert member.consent_version == CONSENT_VERSION
    with db.session() as session:
        assert has_consented(session, slack_user_id=ANN.user_id)
        actions = [a.action for a in session.exec(select(AuditLog)).all()]
    assert actions == ["member.consent"]


def test_who_may_see_a_profile(db: Database) -> None:
    add_member(db, "UOPEN")
    add_member(db, "UHRONLY", visibility=VISIBILITY_HR)
    add_member(db, "UNOCONSENT", consent=False)
    with db.session() as session:
        members = {m.slack_user_id: m for m in session.exec(select(Member)).all()}
        imported = Member(slack_user_id="UIMPORT", display_name="Imported", source=SOURCE_IMPORT)
        session.add(imported)
        session.flush()
        assert can_view(members["UOPEN"], VIEWER)
        assert not can_view(members["UHRONLY"], VIEWER) and can_view(members["UHRONLY"], HR)
        assert not can_view(members["UNOCONSENT"], VIEWER) and not can_view(members["UNOCONSENT"], HR)
        assert can_view(members["UNOCONSENT"], Actor("UNOCONSENT"))
        assert not can_view(imported, VIEWER) and can_view(imported, HR)
        with pytest.raises(NotFound):
            view_profile(session, actor=VIEWER, slack_user_id="UHRONLY")
        assert view_profile(session, actor=HR, slack_user_id="UHRONLY").slack_user_id == "UHRONLY"


# -- directory search -----------------------------------------------------------------------------


def test_search_finds_names_skills_companies_departments_in_both_scripts(db: Database) -> None:
    add_member(db, "UPY", skills="Python, SQL", current_company="Acme Corp", former_department="Engineering")
    add_member(
        db,
        "USALES",
        skills="営業, 法人営業",
        current_company="株式会社サンプル",
        former_role="営業マネージャー",
    )
    add_member(db, "UGO", skills="Go", current_company="Globex", location="Tokyo")
    with db.session() as session:

        def found(query: str) -> list[str | None]:
            return ids(search_members(session, actor=VIEWER, query=query).members)

        assert found("python") == ["UPY"]
        assert found("ＰＹＴＨＯＮ") == ["UPY"]  # NFKC + case folding
        assert found("営業") == ["USALES"]
        assert found("サンプル") == ["USALES"]
        assert found("engineering acme") == ["UPY"]  # every word must match
        assert found("engineering globex") == []
        assert found("tokyo") == ["UGO"]
        assert found("upy") == ["UPY"]  # the display name
        assert found("%") == [] and found("_") == []  # LIKE wildcards are literal
        assert found("") == []


def test_availability_words_match_in_both_languages_until_the_date_passes(db: Database) -> None:
    freeze(datetime(2026, 11, 26, 12, tzinfo=UTC))
    add_member(db, "UGIG", skills="Python", availability=["gigs"])
    add_member(
        db, "UCOACH", skills="Python", availability=["mentoring", "rehire"], available_until="2026-12-31"
    )
    add_member(db, "UNONE", skills="Python")
    with db.session() as session:

        def found(query: str, today: date | None = None) -> set[str | None]:
            return set(ids(search_members(session, actor=VIEWER, query=query, today=today).members))

        assert found("gig python") == {"UGIG"}
        assert found("業務委託") == {"UGIG"}
        assert found("mentor") == {"UCOACH"}
        assert found("メンタリング") == {"UCOACH"}
        assert found("出戻り") == found("rehire") == {"UCOACH"}
        assert found("mentor", today=date(2027, 1, 1)) == set()


def test_hr_only_and_unconsented_members_never_appear_in_a_members_search(db: Database) -> None:
    add_member(db, "UOPEN", skills="Kotlin")
    add_member(db, "UHRONLY", skills="Kotlin", visibility=VISIBILITY_HR)
    add_member(db, "UNOCONSENT", skills="Kotlin", consent=False)
    with db.session() as session:
        assert set(ids(search_members(session, actor=VIEWER, query="kotlin").members)) == {"UOPEN"}
        assert set(ids(search_members(session, actor=HR, query="kotlin").members)) == {"UOPEN", "UHRONLY"}
        own = search_members(session, actor=Actor("UNOCONSENT"), query="kotlin").members
        assert set(ids(own)) == {"UOPEN", "UNOCONSENT"}


def test_search_pages_without_counting_everything(db: Database) -> None:
    for i in range(5):
        add_member(db, f"URUST{i}", skills="Rust")
    with db.session() as session:
        first = search_members(session, actor=VIEWER, query="rust", limit=3)
        second = search_members(session, actor=VIEWER, query="rust", limit=3, offset=3)
    assert len(first.members) == 3 and first.has_more
    assert len(second.members) == 2 and not second.has_more
    assert set(ids(first.members)).isdisjoint(ids(second.members))


# -- rehire matching ------------------------------------------------------------------------------


def test_rehire_matches_best_overlap_first_consented_or_imported_only(db: Database) -> None:
    freeze(datetime(2026, 11, 26, 12, tzinfo=UTC))
    add_member(db, "UONE", skills="Python", availability=["rehire"])
    add_member(db, "UTWO", skills="python, SQL, Go", availability=["rehire"])
    add_member(db, "UNOTOPEN", skills="Python, SQL", availability=["gigs"])
    add_member(db, "UNOCONSENT", skills="Python, SQL", availability=["rehire"], consent=False)
    add_member(db, "UEXPIRED", skills="Python, SQL", availability=["rehire"], available_until="2026-11-30")
    with db.session() as session:
        imported = Member(slack_user_id="UIMP", source=SOURCE_IMPORT, skills="SQL", open_to_rehire=True)
        session.add(imported)
    with db.session() as session:
        matches = rehire_matches(session, skills=["Python", "ＳＱＬ"], today=date(2026, 12, 1))
        assert (matches[0].member.slack_user_id, matches[0].shared_skills) == ("UTWO", ["python", "SQL"])
        assert {m.member.slack_user_id for m in matches} == {"UTWO", "UIMP", "UONE"}
        assert [m.score for m in matches] == [2, 1, 1]
        assert rehire_matches(session, skills=["Python", "SQL"], limit=1)[0].member.slack_user_id == "UTWO"
        assert rehire_matches(session, skills=[]) == []


# -- welcome claim --------------------------------------------------------------------------------


def test_the_welcome_is_claimed_once_and_can_be_released(db: Database) -> None:
    with db.session() as session:
        assert claim_welcome(session, slack_user_id="UNEW", display_name="New", locale="ja", tz="Asia/Tokyo")
    with db.session() as session:
        assert claim_welcome(session, slack_user_id="UNEW") is None
    with db.session() as session:
        release_welcome(session, slack_user_id="UNEW")
    with db.session() as session:
        member = claim_welcome(session, slack_user_id="UNEW")
        assert member is not None and member.tz == "Asia/Tokyo" and member.locale == "ja"
        assert len(session.exec(select(Member)).all()) == 1


# -- digest and personal digest -------------------------------------------------------------------


def test_new_members_lists_consented_members_visible_to_everyone(db: Database) -> None:
    freeze(datetime(2026, 11, 20, 12, tzinfo=UTC))
    add_member(db, "UNEW")
    add_member(db, "UHIDDEN", visibility=VISIBILITY_HR)
    add_member(db, "UNOCONSENT", consent=False)
    freeze(datetime(2026, 11, 10, 12, tzinfo=UTC))
    add_member(db, "UOLD")
    with db.session() as session:
        members, total = new_members(
            session, start=datetime(2026, 11, 16, tzinfo=UTC), end=datetime(2026, 11, 23, tzinfo=UTC)
        )
    assert ids(members) == ["UNEW"] and total == 1


def test_opportunities_match_on_skills_then_availability() -> None:
    member = Member(slack_user_id="UANN", skills="Python, SQL", open_to_gigs=True)
    base = {"poster_id": "UHR", "expires_at": datetime(2027, 1, 1, tzinfo=UTC)}
    opportunities = [
        Opportunity(id=1, kind=KIND_JOB, title="Java dev", skills="Java", **base),
        Opportunity(id=2, kind=KIND_GIG, title="Design gig", skills="Figma", **base),
        Opportunity(id=3, kind=KIND_JOB, title="Data", skills="sql, python", **base),
        Opportunity(id=4, kind=KIND_REHIRE, title="Backend", skills="Python", **base),
        Opportunity(
            id=5,
            kind=KIND_JOB,
            title="Mine",
            skills="Python",
            poster_id="UANN",
            expires_at=base["expires_at"],
        ),
    ]
    matches = match_opportunities(member, opportunities, today=date(2026, 11, 26))
    assert [m.opportunity.id for m in matches] == [3, 4, 2]
    assert matches[0].shared_skills == ["sql", "python"] and matches[2].fits_availability
