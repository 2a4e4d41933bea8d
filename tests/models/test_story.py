"""Alumni stories: who may draft, consent bound to the approved version, edits reset approval, publishing
refuses without a current approval, only the subject decides and withdraws; erasure of the subject."""

from __future__ import annotations

import pytest
from sqlmodel import select

from models import story as stories
from models.actors import Actor
from models.db import Database
from models.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from models.privacy import MESSAGE_UPDATE, erase_member
from models.story import Story, StoryApproval, StoryCopy

ALICE = Actor("U0ALICE01")
BOB = Actor("U0BOB0001")
HR = Actor("U0HR00001", is_hr=True)


def _draft(db: Database, actor: Actor = HR, subject: str = ALICE.user_id, **values: str) -> Story:
    with db.session() as session:
        return stories.draft_story(
            session,
            actor=actor,
            subject_id=subject,
            title=values.get("title", "From intern to CTO"),
            body=values.get("body", "Alice joined us in 2015 & left <for> a startup."),
        )


def _approved(db: Database) -> Story:
    story = _draft(db)
    sid = int(story.id or 0)
    with db.session() as session:
        stories.request_approval(session, actor=HR, story_id=sid)
        stories.approve_story(session, actor=ALICE, story_id=sid, version=1)
        return stories.get_story(session, sid)


def test_hr_drafts_about_anyone_a_member_only_about_themselves(db: Database) -> None:
    assert _draft(db, HR, ALICE.user_id).status == stories.DRAFT
    own = _draft(db, BOB, BOB.user_id)
    assert (own.subject_id, own.author_id) == (BOB.user_id, BOB.user_id)
    with pytest.raises(PermissionDenied):
        _draft(db, BOB, ALICE.user_id)
    with db.session() as session:
        assert len(session.exec(select(Story)).all()) == 2


def test_validation_names_each_field_and_stores_nothing(db: Database) -> None:
    with pytest.raises(ValidationFailed) as caught:
        _draft(db, HR, "", title="  ", body="x" * (stories.BODY_MAX + 1))
    assert caught.value.errors == {
        "subject": ("required", {}),
        "title": ("required", {}),
        "body": ("too_long", {"max": stories.BODY_MAX}),
    }
    with pytest.raises(ValidationFailed) as caught:
        _draft(db, HR, "not a user", title="t" * 151, body="ok")
    assert set(caught.value.errors) == {"subject", "title"}
    assert _draft(db, HR, title="t" * 150, body="b" * 3000).title == "t" * 150
    with db.session() as session:
        assert len(session.exec(select(Story)).all()) == 1


def test_approval_records_the_version_and_the_exact_text(db: Database) -> None:
    story = _approved(db)
    assert story.status == stories.APPROVED
    with db.session() as session:
        (approval,) = stories.approvals(session, int(story.id or 0))
    assert (approval.version, approval.decision, approval.approver_id) == (1, "approved", ALICE.user_id)
    assert approval.text_sha256 == stories.text_digest(story.title, story.body)


def test_only_the_subject_approves_declines_or_withdraws(db: Database) -> None:
    story = _draft(db)
    sid = int(story.id or 0)
    with db.session() as session:
        stories.request_approval(session, actor=HR, story_id=sid)
    for actor in (HR, BOB):
        for act in (
            lambda s, a: stories.approve_story(s, actor=a, story_id=sid, version=1),
            lambda s, a: stories.decline_story(s, actor=a, story_id=sid),
            lambda s, a: stories.withdraw_story(s, actor=a, story_id=sid),
        ):
            with db.session() as session, pytest.raises(PermissionDenied):
                act(session, actor)
    with db.session() as session:
        assert stories.get_story(session, sid).status == stories.AWAITING_APPROVAL


def test_an_edit_by_anyone_resets_approval_and_an_old_click_is_refused(db: Database) -> None:
    story = _approved(db)
    sid = int(story.id or 0)
    with db.session() as session:
        edited = stories.edit_story(session, actor=HR, story_id=sid, title=story.title, body="New text")
    assert (edited.version, edited.status) == (2, stories.AWAITING_APPROVAL)
    # The approval of version 1 does not publish version 2.
    with db.session() as session, pytest.raises(DomainError) as caught:
        stories.publish_story(session, actor=HR, story_id=sid)
    assert caught.value.code == stories.ERR_NOT_APPROVED
    # A click on the version-1 button is refused: she has not read the new text.
    with db.session() as session, pytest.raises(DomainError) as caught:
        stories.approve_story(session, actor=ALICE, story_id=sid, version=1)
    assert caught.value.code == stories.ERR_STALE_VERSION and caught.value.params == {"version": 2}
    # Her own edit also needs her approval of the result.
    with db.session() as session:
        mine = stories.edit_story(session, actor=ALICE, story_id=sid, title="Mine", body="My words")
    assert (mine.version, mine.status) == (3, stories.AWAITING_APPROVAL)
    with db.session() as session:
        stories.approve_story(session, actor=ALICE, story_id=sid, version=3)
        published = stories.publish_story(session, actor=HR, story_id=sid)
    assert published.status == stories.PUBLISHED and published.published_at is not None


def test_unchanged_text_is_not_a_new_version(db: Database) -> None:
    story = _approved(db)
    with db.session() as session:
        same = stories.edit_story(
            session, actor=HR, story_id=int(story.id or 0), title=f" {story.title} ", body=story.body
        )
    assert (same.version, same.status) == (1, stories.APPROVED)


def test_others_may_not_edit_and_published_or_declined_stories_are_not_editable(db: Database) -> None:
    story = _approved(db)
    sid = int(story.id or 0)
    with db.session() as session, pytest.raises(PermissionDenied):
        stories.edit_story(session, actor=BOB, story_id=sid, title="x", body="y")
    with db.session() as session:
        stories.publish_story(session, actor=HR, story_id=sid)
    with db.session() as session, pytest.raises(DomainError) as caught:
        stories.edit_story(session, actor=HR, story_id=sid, title="x", body="y")
    assert caught.value.code == stories.ERR_NOT_EDITABLE
    other = _draft(db)
    with db.session() as session:
        stories.decline_story(session, actor=ALICE, story_id=int(other.id or 0))
    with db.session() as session, pytest.raises(DomainError):
        stories.edit_story(session, actor=HR, story_id=int(other.id or 0), title="x", body="y")


def test_publish_refuses_drafts_declined_and_other_members(db: Database) -> None:
    story = _draft(db)
    sid = int(story.id or 0)
    with db.session() as session, pytest.raises(DomainError) as caught:
        stories.publish_story(session, actor=HR, story_id=sid)
    assert caught.value.code == stories.ERR_NOT_APPROVED
    with db.session() as session:
        stories.request_approval(session, actor=HR, story_id=sid)
        stories.approve_story(session, actor=ALICE, story_id=sid, version=1)
    with db.session() as session, pytest.raises(PermissionDenied):
        stories.publish_story(session, actor=BOB, story_id=sid)
    with db.session() as session:
        stories.decline_story(session, actor=ALICE, story_id=sid)
    with db.session() as session, pytest.raises(DomainError):
        stories.publish_story(session, actor=HR, story_id=sid)
    with db.session() as session:
        decisions = [a.decision for a in stories.approvals(session, sid)]
    assert decisions == ["approved", "declined"]


def test_the_subject_withdraws_at_any_time_once(db: Database) -> None:
    story = _approved(db)
    sid = int(story.id or 0)
    with db.session() as session:
        stories.publish_story(session, actor=HR, story_id=sid)
        withdrawn = stories.withdraw_story(session, actor=ALICE, story_id=sid)
    assert withdrawn.status == stories.WITHDRAWN and withdrawn.withdrawn_at is not None
    with db.session() as session, pytest.raises(DomainError) as caught:
        stories.withdraw_story(session, actor=ALICE, story_id=sid)
    assert caught.value.code == stories.ERR_ALREADY_WITHDRAWN


def test_drafts_are_hidden_from_other_members(db: Database) -> None:
    story = _draft(db)
    sid = int(story.id or 0)
    with db.session() as session:
        for actor in (HR, ALICE):
            assert stories.get_story_for(session, actor=actor, story_id=sid).id == sid
        with pytest.raises(NotFound):
            stories.get_story_for(session, actor=BOB, story_id=sid)
        with pytest.raises(NotFound):
            stories.get_story(session, 2**40)


def test_erasing_the_subject_deletes_their_stories_and_returns_the_posted_copies(db: Database) -> None:
    story = _approved(db)
    kept = _draft(db, HR, BOB.user_id, title="Bob's story", body="About Bob")
    with db.session() as session:
        published = stories.publish_story(session, actor=HR, story_id=int(story.id or 0))
        copy = stories.add_copy(session, story=published, channel="C0ALUMNI1", outbox_key="k1")
        stories.mark_copy(session, copy, status=stories.COPY_POSTED, ts="1700000000.000100")
        stories.add_copy(session, story=published, channel="C0STAFF01", outbox_key="k2")
    with db.session() as session:
        result = erase_member(session, actor=ALICE, slack_user_id=ALICE.user_id)
    assert [(m.table, m.channel, m.ts, m.action) for m in result.messages] == [
        ("story_copy", "C0ALUMNI1", "1700000000.000100", MESSAGE_UPDATE)
    ]
    with db.session() as session:
        assert [s.id for s in session.exec(select(Story)).all()] == [kept.id]
        assert session.exec(select(StoryApproval)).all() == []
        assert session.exec(select(StoryCopy)).all() == []


def test_erasing_an_hr_author_keeps_the_story_about_someone_else(db: Database) -> None:
    story = _draft(db, HR, ALICE.user_id)
    with db.session() as session:
        result = erase_member(session, actor=HR, slack_user_id=HR.user_id)
    with db.session() as session:
        kept = stories.get_story(session, int(story.id or 0))
    assert kept.subject_id == ALICE.user_id and kept.author_id == result.pseudonym
