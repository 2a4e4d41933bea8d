"""Invitations to leavers not in Slack yet: HR only, never twice unless HR resends one person, never to
someone already in Slack, stopped when they join, erased with them, claimed once; and the invitation funnel
(SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from models.actors import Actor
from models.checkin import CheckIn
from models.db import Database
from models.errors import PermissionDenied, ValidationFailed
from models.invitation import (
    FAILED,
    QUEUED,
    SENDING,
    SENT,
    STOPPED,
    UNCERTAIN,
    Invitation,
    claim_next_invitation,
    guess_language,
    invitation_for,
    invitation_funnel,
    invitation_language,
    mark_failed,
    mark_handed_over,
    mark_sent,
    not_in_slack,
    queue_invitations,
    release_stale_claims,
)
from models.member import Member
from models.privacy import erase_member
from models.roster import (
    ParsedRoster,
    RosterRecord,
    RosterRow,
    SlackAccount,
    import_roster,
    link_new_slack_user,
    purge_unmatched,
)
from models.timeutil import freeze

HR = Actor("U0HR00001", is_hr=True)
ALICE = "U0ALICE01"
T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)


def add_records(session: Session, *people: tuple[str, str]) -> list[int]:
    """Roster rows (email, name) of people not in Slack; their ids."""
    records = [RosterRecord(email=email, name=name) for email, name in people]
    session.add_all(records)
    session.flush()
    return [int(r.id or 0) for r in records]


def statuses(db: Database) -> dict[str, str]:
    with db.session() as session:
        return {i.email: i.status for i in session.exec(select(Invitation))}


def test_only_hr_may_queue_and_the_request_must_say_who(db: Database) -> None:
    with db.session() as session:
        (rid,) = add_records(session, ("taro@example.com", "山田太郎"))
    with db.session() as session, pytest.raises(PermissionDenied):
        queue_invitations(session, actor=Actor(ALICE), roster_ids=[rid])
    with db.session() as session, pytest.raises(PermissionDenied):
        not_in_slack(session, actor=Actor(ALICE))
    with db.session() as session, pytest.raises(ValidationFailed) as nobody:
        queue_invitations(session, actor=HR)
    assert nobody.value.errors["roster_ids"][0] == "invitations.errors.choose_people"
    with db.session() as session, pytest.raises(ValidationFailed) as both:
        queue_invitations(session, actor=HR, roster_ids=[rid], all_not_in_slack=True)
    assert "roster_ids" in both.value.errors
    with db.session() as session, pytest.raises(ValidationFailed) as bulk_resend:
        queue_invitations(session, actor=HR, all_not_in_slack=True, resend=True)
    assert bulk_resend.value.errors["resend"][0] == "invitations.errors.resend_needs_rows"
    with db.session() as session, pytest.raises(ValidationFailed) as language:
        queue_invitations(session, actor=HR, roster_ids=[rid], language="fr")
    assert "language" in language.value.errors
    assert statuses(db) == {}


def test_everyone_not_in_slack_is_invited_once_in_their_language(db: Database) -> None:
    with db.session() as session:
        add_records(session, ("taro@example.com", "山田太郎"), ("jane@example.com", "Jane Doe"))
        linked = RosterRecord(email="in@example.com", name="In Slack")
        member = Member(slack_user_id=ALICE, email="in@example.com")
        session.add(member)
        session.flush()
        linked.member_id = member.id
        session.add(linked)
    with db.session() as session:
        first = queue_invitations(session, actor=HR, all_not_in_slack=True)
    assert first.queued == 2 and first.resent == 0
    with db.session() as session:
        rows = {i.email: i for i in session.exec(select(Invitation))}
    assert set(rows) == {"taro@example.com", "jane@example.com"}
    assert (rows["taro@example.com"].language, rows["jane@example.com"].language) == ("ja", "en")
    assert all(r.status == QUEUED and r.queued_by == HR.user_id for r in rows.values())
    # Again, to everyone and to each by id: nobody gets a second invitation.
    with db.session() as session:
        again = queue_invitations(session, actor=HR, all_not_in_slack=True)
        by_id = queue_invitations(session, actor=HR, roster_ids=[rows["jane@example.com"].roster_record_id])
    assert (again.queued, by_id.queued) == (0, 0)
    assert by_id.skipped == {"already_invited": 1}
    with db.session() as session:
        assert session.exec(select(func.count()).select_from(Invitation)).one() == 2


def test_hr_language_choice_and_people_already_in_slack_or_unknown(db: Database) -> None:
    with db.session() as session:
        unlinked_member, stranger = add_records(
            session, ("joined@example.com", "Joined Already"), ("new@example.com", "New Person")
        )
        # In Slack under the same email, though the roster row is not linked yet (before the next import).
        session.add(Member(slack_user_id=ALICE, email="joined@example.com"))
    with db.session() as session:
        result = queue_invitations(
            session, actor=HR, roster_ids=[unlinked_member, stranger, 999_999], language="ja"
        )
    assert result.queued == 1
    assert result.skipped == {"joined": 1, "not_found": 1}
    with db.session() as session:
        row = invitation_for(session, roster_record_id=stranger)
    assert row is not None and row.language == "ja"


def test_resend_is_per_person_and_only_after_the_first_send_ended(db: Database) -> None:
    freeze(T0)
    with db.session() as session:
        (rid,) = add_records(session, ("jane@example.com", "Jane Doe"))
        queue_invitations(session, actor=HR, roster_ids=[rid])
    with db.session() as session:
        early = queue_invitations(session, actor=HR, roster_ids=[rid], resend=True)
    assert early.resent == 0 and early.skipped == {"on_its_way": 1}
    with db.session() as session:
        claim = claim_next_invitation(session, worker_id="w1")
        assert claim is not None
        assert mark_sent(session, claim, message_id="<m1@example.com>")
    freeze(T0 + timedelta(days=7))
    with db.session() as session:
        result = queue_invitations(
            session, actor=Actor("U0HR00002", is_hr=True), roster_ids=[rid], resend=True
        )
    assert result.resent == 1
    with db.session() as session:
        row = invitation_for(session, roster_record_id=rid)
    assert row is not None
    assert (row.status, row.sends, row.queued_by) == (QUEUED, 1, "U0HR00002")
    assert row.resend_requested_at == T0 + timedelta(days=7)
    assert row.first_sent_at == T0


def test_joining_stops_waiting_invitations_on_team_join_and_on_import(db: Database) -> None:
    with db.session() as session:
        team_join, by_import, sent_one = add_records(
            session,
            ("a@example.com", "A"),
            ("b@example.com", "B"),
            ("c@example.com", "C"),
        )
        queue_invitations(session, actor=HR, all_not_in_slack=True)
    with db.session() as session:  # C's invitation went out before C joined
        while (claim := claim_next_invitation(session, worker_id="w1")) is not None:
            if claim.email == "c@example.com":
                mark_sent(session, claim, message_id="<c@example.com>")
            else:
                mark_failed(session, claim, error="451 try later", uncertain=claim.email == "a@example.com")
    with db.session() as session:
        assert link_new_slack_user(session, slack_user_id="U0A000001", email="a@example.com")
        assert link_new_slack_user(session, slack_user_id="U0C000001", email="c@example.com")
    with db.session() as session:
        rows = [RosterRow(1, "b@example.com", "B", "", None, None)]
        import_roster(
            session,
            actor=HR,
            parsed=ParsedRoster(rows=rows),
            slack_accounts={"b@example.com": SlackAccount("U0B000001", "B")},
        )
    with db.session() as session:
        found = {i.roster_record_id: i for i in session.exec(select(Invitation))}
        members = {m.email: m.id for m in session.exec(select(Member))}
    assert (found[team_join].status, found[by_import].status) == (STOPPED, STOPPED)
    assert found[team_join].stopped_at is not None
    assert found[sent_one].status == SENT  # what was sent stays sent
    assert found[team_join].member_id == members["a@example.com"]
    assert found[by_import].member_id == members["b@example.com"]
    assert found[sent_one].member_id == members["c@example.com"]
    with db.session() as session:  # and nobody who joined can be invited or re-sent to
        result = queue_invitations(session, actor=HR, roster_ids=[team_join, sent_one], resend=True)
    assert result.resent == 0 and result.skipped == {"joined": 2}


def test_erasing_the_member_deletes_their_invitation_and_purging_the_roster_row_too(db: Database) -> None:
    freeze(T0)
    with db.session() as session:
        joined, never = add_records(session, ("a@example.com", "A"), ("n@example.com", "N"))
        queue_invitations(session, actor=HR, all_not_in_slack=True)
    with db.session() as session:
        link_new_slack_user(session, slack_user_id=ALICE, email="a@example.com")
    with db.session() as session:
        erase_member(session, actor=Actor(ALICE), slack_user_id=ALICE)
    with db.session() as session:
        assert invitation_for(session, roster_record_id=joined) is None
        assert invitation_for(session, roster_record_id=never) is not None
    freeze(T0 + timedelta(days=400))
    with db.session() as session:
        assert purge_unmatched(session, older_than_days=365) == 1
    with db.session() as session:
        assert session.exec(select(func.count()).select_from(Invitation)).one() == 0


def test_two_workers_never_claim_the_same_invitation(db: Database) -> None:
    with db.session() as session:
        add_records(session, ("a@example.com", "A"), ("b@example.com", "B"))
        queue_invitations(session, actor=HR, all_not_in_slack=True)
    with db.session() as one, db.session() as two:
        first = claim_next_invitation(one, worker_id="w1")
        one.commit()
        second = claim_next_invitation(two, worker_id="w2")
        two.commit()
        third = claim_next_invitation(two, worker_id="w2")
    assert first is not None and second is not None and third is None
    assert first.id != second.id
    with db.session() as session:  # a worker that lost its claim records nothing
        assert not mark_sent(
            session, first.__class__(**{**first.__dict__, "claimed_by": "w9"}), message_id="x"
        )
    assert set(statuses(db).values()) == {SENDING}


def test_stale_claims_go_back_to_the_queue_unless_the_message_was_handed_over(db: Database) -> None:
    freeze(T0)
    with db.session() as session:
        add_records(session, ("a@example.com", "A"), ("b@example.com", "B"))
        queue_invitations(session, actor=HR, all_not_in_slack=True)
    with db.session() as session:
        never_sent = claim_next_invitation(session, worker_id="dead")
        handed = claim_next_invitation(session, worker_id="dead")
        assert never_sent is not None and handed is not None
        assert mark_handed_over(session, handed)
    freeze(T0 + timedelta(minutes=30))
    with db.session() as session:
        assert release_stale_claims(session, stale_before=T0 + timedelta(minutes=20)) == 2
    assert statuses(db) == {never_sent.email: QUEUED, handed.email: UNCERTAIN}


def test_hr_list_pages_through_people_not_in_slack_with_their_invitation(db: Database) -> None:
    with db.session() as session:
        ids = add_records(session, *((f"p{n:02d}@example.com", f"Person {n:02d}") for n in range(45)))
        queue_invitations(session, actor=HR, roster_ids=ids[:5])
        claim = claim_next_invitation(session, worker_id="w")
        assert claim is not None
        mark_failed(session, claim, error="550 no such user")
    with db.session() as session:
        first = not_in_slack(session, actor=HR, offset=0, limit=20)
        last = not_in_slack(session, actor=HR, offset=40, limit=20)
    assert (first.total, first.not_invited) == (45, 40)
    assert [p.name for p in first.people][:2] == ["Person 00", "Person 01"]
    assert len(first.people) == 20 and first.has_next and not first.has_previous
    assert len(last.people) == 5 and not last.has_next and last.has_previous
    failed = next(p for p in first.people if p.status == FAILED)
    assert failed.can_resend and not failed.can_invite and failed.error == "550 no such user"
    assert first.people[10].can_invite


def test_guess_language_reads_the_script_of_the_name() -> None:
    assert guess_language("山田 太郎") == "ja"
    assert guess_language("ヤマダ タロウ") == "ja"
    assert guess_language("Jane Doe") == "en"
    assert guess_language("Jane Doe", default="ja") == "ja"


def test_invitation_language_is_the_rosters_then_the_guess_then_the_workspace_default() -> None:
    assert invitation_language("ja", "Ken Sato") == "ja"  # a Japanese reader with a Latin name
    assert invitation_language("en", "山田 太郎") == "en"
    assert invitation_language(None, "山田 太郎", default="en") == "ja"
    assert invitation_language(None, "Jane Doe", default="ja") == "ja"
    assert invitation_language(None, "Jane Doe", default="en") == "en"


def test_each_person_is_invited_in_their_roster_language_and_hr_may_override_it(db: Database) -> None:
    with db.session() as session:
        session.add_all(
            [
                RosterRecord(email="ken@example.com", name="Ken Sato", language="ja"),
                RosterRecord(email="hana@example.com", name="山田 花", language="en"),
                RosterRecord(email="taro@example.com", name="山田 太郎"),
                RosterRecord(email="jane@example.com", name="Jane Doe"),
            ]
        )
    with db.session() as session:
        queue_invitations(session, actor=HR, all_not_in_slack=True, default_language="en")
    with db.session() as session:
        languages = {i.email: i.language for i in session.exec(select(Invitation))}
    assert languages == {
        "ken@example.com": "ja",  # the roster says so, though the name is in Latin letters
        "hana@example.com": "en",
        "taro@example.com": "ja",  # no roster language: guessed from the name
        "jane@example.com": "en",  # nor a Japanese name: the workspace default
    }
    with db.session() as session:
        (rid,) = add_records(session, ("mia@example.com", "Mia Ito"))
        session.exec(select(RosterRecord).where(RosterRecord.id == rid)).one().language = "ja"
    with db.session() as session:
        queue_invitations(session, actor=HR, roster_ids=[rid], language="en")  # HR's explicit choice wins
        row = invitation_for(session, roster_record_id=rid)
    assert row is not None and row.language == "en"


def test_a_resend_follows_a_roster_language_hr_corrected_since(db: Database) -> None:
    with db.session() as session:
        corrected, unknown = add_records(
            session, ("ken@example.com", "Ken Sato"), ("jane@example.com", "Jane Doe")
        )
        queue_invitations(session, actor=HR, roster_ids=[corrected, unknown], default_language="en")
    for _ in range(2):
        with db.session() as session:
            claim = claim_next_invitation(session, worker_id="w1")
            assert claim is not None and claim.language == "en"
            assert mark_sent(session, claim, message_id=f"<{claim.id}@example.com>")
    with db.session() as session:  # HR's next roster import says Ken reads Japanese
        session.exec(select(RosterRecord).where(RosterRecord.id == corrected)).one().language = "ja"
    with db.session() as session:
        result = queue_invitations(session, actor=HR, roster_ids=[corrected, unknown], resend=True)
    assert result.resent == 2
    with db.session() as session:
        languages = {i.email: i.language for i in session.exec(select(Invitation))}
    assert languages == {"ken@example.com": "ja", "jane@example.com": "en"}  # no roster language: kept


def test_invitation_funnel_counts_each_stage_among_the_previous_one(db: Database) -> None:
    imported, until = T0, T0 + timedelta(days=60)
    freeze(imported)
    with db.session() as session:
        # Already in Slack at the import: not part of the invitation funnel.
        member = Member(slack_user_id="U0OLD0001", consented_at=imported)
        session.add(member)
        session.flush()
        session.add(
            RosterRecord(
                email="old@example.com", member_id=member.id, first_imported_at=imported, matched_at=imported
            )
        )
        add_records(session, *((f"p{n}@example.com", f"P{n}") for n in range(6)))
        queue_invitations(session, actor=HR, all_not_in_slack=True)  # p0..p5
    freeze(imported + timedelta(days=1))
    with db.session() as session:
        for _ in range(4):  # p0..p3 are sent; p4, p5 stay queued
            claim = claim_next_invitation(session, worker_id="w")
            assert claim is not None
            mark_sent(session, claim, message_id="<x@example.com>")
    freeze(imported + timedelta(days=5))
    with db.session() as session:  # p0, p1, p2 join; p4 joins without an invitation
        for n in (0, 1, 2, 4):
            link_new_slack_user(session, slack_user_id=f"U0P{n}00001", email=f"p{n}@example.com")
        people = {m.slack_user_id: m for m in session.exec(select(Member))}
        people["U0P000001"].consented_at = people["U0P100001"].consented_at = imported + timedelta(days=6)
        people["U0P400001"].consented_at = imported + timedelta(days=6)
        session.flush()
        session.add(CheckIn(member_id=people["U0P000001"].id, created_at=until - timedelta(days=10)))
        # Active too long ago to count.
        session.add(CheckIn(member_id=people["U0P100001"].id, created_at=until - timedelta(days=100)))
    with db.session() as session:
        funnel = invitation_funnel(session, since=None, until=until)
        before_sending = invitation_funnel(session, since=None, until=imported + timedelta(hours=1))
        later_cohort = invitation_funnel(session, since=imported + timedelta(days=1), until=until)
    assert funnel.stages() == [("roster", 6), ("invited", 4), ("joined", 3), ("consented", 2), ("active", 1)]
    assert (before_sending.roster, before_sending.invited, before_sending.joined) == (6, 0, 0)
    assert later_cohort.roster == 0
