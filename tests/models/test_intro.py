"""Reconnect intros, model layer: settings with per-field errors, who is due (consent, pause, cadence),
pairing (overlap preferred, no repeat within a year, 3 when odd), the round claimed once, answers only by
group members (the last one stands), and the report's figures."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from models.actors import Actor
from models.db import Database
from models.errors import NotFound, PermissionDenied, ValidationFailed
from models.intro import (
    WANT_DEPARTMENT,
    WANT_MENTEE,
    WANT_MENTOR,
    WANT_SKILLS,
    IntroCandidate,
    Pairing,
    due_members,
    get_intro_preferences,
    intro_figures,
    opt_out,
    pair_members,
    pause_intros,
    recent_pairs,
    record_meeting_answer,
    record_round,
    resume_intros,
    round_groups,
    set_intro_preferences,
)
from models.profile import ProfileInput, give_consent, update_profile
from models.timeutil import freeze

T0 = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # a Monday round
USERS = ["U0INTRO01", "U0INTRO02", "U0INTRO03", "U0INTRO04", "U0INTRO05"]


def join(db: Database, user: str, *, wants: tuple[str, ...] = (), cadence: int = 2, **profile: str) -> int:
    with db.session() as session:
        give_consent(session, actor=Actor(user), display_name=user.lower())
        if profile:
            update_profile(session, actor=Actor(user), data=ProfileInput(**profile))
        pref = set_intro_preferences(
            session, actor=Actor(user), opted_in=True, cadence_weeks=cadence, wants=wants
        )
        return pref.member_id


def due_ids(db: Database, at: datetime) -> set[int]:
    with db.session() as session:
        return {c.member_id for c in due_members(session, at=at)}


def test_bad_settings_are_refused_per_field_and_nothing_is_stored(db: Database) -> None:
    freeze(T0)
    with db.session() as session:
        give_consent(session, actor=Actor(USERS[0]))
    with db.session() as session, pytest.raises(ValidationFailed) as err:
        set_intro_preferences(
            session,
            actor=Actor(USERS[0]),
            opted_in=True,
            cadence_weeks="3",
            wants=["teammates", "astrology"],
            paused_until="2026-11-01",
        )
    assert err.value.errors == {
        "cadence_weeks": ("intros.errors.cadence", {"choices": "2, 4"}),
        "wants": ("invalid", {}),
        "paused_until": ("intros.errors.pause_past", {}),
    }
    with db.session() as session, pytest.raises(ValidationFailed) as err:
        set_intro_preferences(session, actor=Actor(USERS[0]), opted_in=True, paused_until="2028-01-01")
    assert err.value.errors["paused_until"][0] == "intros.errors.pause_too_far"
    # Opting in before agreeing to be shown would never pair anyone: say so at the checkbox.
    with db.session() as session, pytest.raises(ValidationFailed) as err:
        set_intro_preferences(session, actor=Actor(USERS[1]), opted_in=True)
    assert err.value.errors == {"opted_in": ("intros.errors.needs_consent", {})}
    with db.session() as session:
        assert get_intro_preferences(session, slack_user_id=USERS[0]) is None
        assert get_intro_preferences(session, slack_user_id=USERS[1]) is None


def test_due_members_respect_consent_pause_opt_out_and_each_cadence(db: Database) -> None:
    freeze(T0 - timedelta(days=1))
    two = join(db, USERS[0], cadence=2)
    four = join(db, USERS[1], cadence=4)
    paused = join(db, USERS[2])
    out = join(db, USERS[3])
    withdrawn = join(db, USERS[4])
    with db.session() as session:
        pause_intros(session, actor=Actor(USERS[2]), until=date(2026, 12, 10))
        opt_out(session, actor=Actor(USERS[3]))
        from models.privacy import withdraw_consent

        withdraw_consent(session, slack_user_id=USERS[4])
    assert due_ids(db, T0) == {two, four}
    with db.session() as session:
        record_round(session, period="W49", scheduled_for=T0, pairings=[Pairing((two, four))])
    assert due_ids(db, T0 + timedelta(weeks=1)) == set()
    # Two weeks on: the 2-weekly member is due again; the pause (to the end of 12-10) is over.
    assert due_ids(db, T0 + timedelta(weeks=2)) == {two, paused}
    assert due_ids(db, T0 + timedelta(weeks=4)) == {two, four, paused}
    assert out not in due_ids(db, T0 + timedelta(weeks=4)) and withdrawn not in due_ids(
        db, T0 + timedelta(weeks=4)
    )
    with db.session() as session:
        pause_intros(session, actor=Actor(USERS[0]), weeks=4)
        assert two not in {c.member_id for c in due_members(session, at=T0 + timedelta(weeks=2))}
        resume_intros(session, actor=Actor(USERS[0]))
        assert two in {c.member_id for c in due_members(session, at=T0 + timedelta(weeks=2))}
    with db.session() as session, pytest.raises(NotFound):
        pause_intros(session, actor=Actor("U0NEVER01"), weeks=2)


def cand(member_id: int, **kwargs: object) -> IntroCandidate:
    return IntroCandidate(member_id=member_id, slack_user_id=f"U{member_id}", **kwargs)  # type: ignore[arg-type]


def test_pairing_prefers_the_wanted_overlap_and_puts_the_odd_one_in_a_group_of_three() -> None:
    people = [
        cand(1, wants=frozenset({WANT_DEPARTMENT}), department="sales"),
        cand(2, wants=frozenset({WANT_SKILLS}), topics=frozenset({"rust"})),
        cand(3, wants=frozenset({WANT_MENTEE})),
        cand(4, wants=frozenset({WANT_DEPARTMENT}), department="sales"),
        cand(5, wants=frozenset({WANT_SKILLS}), topics=frozenset({"rust", "go"})),
        cand(6, wants=frozenset({WANT_MENTOR})),
        cand(7),
    ]
    for seed in range(20):
        groups = pair_members(people, history=(), seed=seed)
        by_member = {m: g for g in groups for m in g.member_ids}
        assert sorted(by_member) == [1, 2, 3, 4, 5, 6, 7]
        assert sorted(len(g.member_ids) for g in groups) == [2, 2, 3]
        assert {1, 4} <= set(by_member[1].member_ids) and by_member[1].overlap == WANT_DEPARTMENT
        assert {2, 5} <= set(by_member[2].member_ids) and by_member[2].overlap == WANT_SKILLS
        assert {3, 6} <= set(by_member[3].member_ids) and by_member[3].overlap in {WANT_MENTOR, WANT_MENTEE}


def test_pairing_never_repeats_a_pair_from_history_and_is_reproducible() -> None:
    people = [cand(i, wants=frozenset({WANT_DEPARTMENT}), department="eng") for i in range(1, 5)]
    history = [(2, 1), (3, 4)]
    for seed in range(20):
        groups = pair_members(people, history=history, seed=seed)
        pairs = {tuple(sorted(g.member_ids)) for g in groups}
        assert pairs.isdisjoint({(1, 2), (3, 4)}) and len(pairs) == 2
    assert pair_members(people, history=history, seed="W49") == pair_members(
        people, history=history, seed="W49"
    )
    # Nobody left to meet: 1 has met everyone, so 1 sits out rather than repeat.
    lonely = pair_members(people[:3], history=[(1, 2), (1, 3)], seed=1)
    assert [g.member_ids for g in lonely] in ([(2, 3)], [(3, 2)])


def test_a_round_is_claimed_once_and_its_pairs_are_history_for_a_year(db: Database) -> None:
    freeze(T0 - timedelta(days=1))
    a, b = join(db, USERS[0]), join(db, USERS[1])
    with db.session() as session:
        first = record_round(session, period="2026-W49", scheduled_for=T0, pairings=[Pairing((a, b), "era")])
        assert first is not None
    with db.session() as session:
        assert record_round(session, period="2026-W49", scheduled_for=T0, pairings=[Pairing((b, a))]) is None
        assert first.id is not None
        views = round_groups(session, round_id=first.id)
        assert [[m.slack_user_id for m in v.members] for v in views] == [[USERS[0], USERS[1]]]
        assert views[0].group.overlap == "era"
        assert recent_pairs(session, at=T0 + timedelta(days=364)) == {(min(a, b), max(a, b))}
        assert recent_pairs(session, at=T0 + timedelta(days=366)) == set()


def test_only_group_members_answer_and_the_last_answer_counts_in_the_figures(db: Database) -> None:
    freeze(T0 - timedelta(days=1))
    a, b, c, d = (join(db, u) for u in USERS[:4])
    with db.session() as session:
        round_ = record_round(
            session, period="2026-W49", scheduled_for=T0, pairings=[Pairing((a, b)), Pairing((c, d))]
        )
        assert round_ is not None and round_.id is not None
        g1, g2 = (v.group.id for v in round_groups(session, round_id=round_.id))
    assert g1 is not None and g2 is not None
    with db.session() as session, pytest.raises(PermissionDenied):
        record_meeting_answer(session, actor=Actor(USERS[2]), group_id=g1, met=True)
    with db.session() as session, pytest.raises(NotFound):
        record_meeting_answer(session, actor=Actor(USERS[0]), group_id=g2 + 100, met=True)
    with db.session() as session:
        record_meeting_answer(session, actor=Actor(USERS[0]), group_id=g1, met=False)
        record_meeting_answer(session, actor=Actor(USERS[0]), group_id=g1, met=True)  # changed their mind
        month = intro_figures(
            session, since=datetime(2026, 11, 1, tzinfo=UTC), until=datetime(2026, 12, 1, tzinfo=UTC)
        )
    assert (month.groups, month.members_paired, month.met_yes, month.met_no, month.unanswered) == (
        2,
        4,
        1,
        0,
        1,
    )
    with db.session() as session:
        record_meeting_answer(session, actor=Actor(USERS[3]), group_id=g2, met=False)
        month = intro_figures(
            session, since=datetime(2026, 11, 1, tzinfo=UTC), until=datetime(2026, 12, 1, tzinfo=UTC)
        )
        later = intro_figures(
            session, since=datetime(2026, 12, 1, tzinfo=UTC), until=datetime(2027, 1, 1, tzinfo=UTC)
        )
    assert (month.met_yes, month.met_no, month.unanswered) == (1, 1, 0)
    assert later.groups == 0


def test_erasure_removes_their_intro_settings_and_group_rows(db: Database) -> None:
    freeze(T0 - timedelta(days=1))
    a, b = join(db, USERS[0]), join(db, USERS[1])
    with db.session() as session:
        record_round(session, period="2026-W49", scheduled_for=T0, pairings=[Pairing((a, b))])
    from models.privacy import erase_member

    with db.session() as session:
        erase_member(session, actor=Actor(USERS[0]), slack_user_id=USERS[0])
    with db.session() as session:
        assert get_intro_preferences(session, slack_user_id=USERS[0]) is None
        assert get_intro_preferences(session, slack_user_id=USERS[1]) is not None
        assert recent_pairs(session, at=T0) == set()
