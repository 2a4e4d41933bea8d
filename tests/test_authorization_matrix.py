"""Who may do what: every state-changing listener x every role, from one table (issue 9).

`MATRIX` below is the table. Each row is one command (with its subcommand), button `action_id` or modal
`callback_id`, with one letter per role in the order of `ROLES`:

    A = allowed, D = denied (the server refuses a forged payload: nothing changes).

Roles: a member (ALICE), the poster of the opportunity (CAROL), the referrer of the referral (BOB), an event
organiser (ORGANIZER, who organises the events in the fixture), HR, and a Slack user the bot has never seen.

`test_every_registered_listener_has_a_row` holds the table and the listener registry together: a new
command, action, view or shortcut without a row fails with the list of what is missing (and a row for
something no longer registered fails too). Slack events (app_home_opened, team_join...) are sent by Slack,
not chosen by a user, and are covered by tests/drills/test_retries.py instead.

The deny test sends, for every D cell, the payload a user could forge (the real button value or the modal
an allowed user was shown, replayed under the denied user's ID) and asserts that no table changed, no modal
opened, nothing was posted in a channel and no file was sent. The allow test checks that every A cell of a
state-changing row does what it should (the database changes, the modal opens, or the user gets an answer)
so the table cannot pass by refusing everyone.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from bot.slack_emulator.web_api import BOT_USER_ID, Call
from tests.conftest import ALICE, ALUMNI_CHANNEL, BOB, CAROL, HR, ORGANIZER, BotHarness
from tests.drills.support import (
    db_snapshot,
    input_elements,
    live_registry,
    options_of,
    settle,
    snapshot_diff,
    state_from_view,
)
from tests.slack_requests import Answer

STRANGER = "U0STRANGR"  # in the workspace, never seen by the bot
ROLES = ("member", "poster", "referrer", "organiser", "hr", "unknown")
USERS = {
    "member": ALICE,
    "poster": CAROL,
    "referrer": BOB,
    "organiser": ORGANIZER,
    "hr": HR,
    "unknown": STRANGER,
}

# effect of an allowed request: "db" (a table changes), "modal" (views.open/push), "answer" (the user is
# answered: ack body, response_url, ephemeral, DM or file), or "-" (not checked here; see note).
# target: which fixture record the button value / modal refers to.


@dataclass(frozen=True)
class Row:
    kind: str  # command | action | view | shortcut | options
    id: str  # command name, action_id (a sample for regex registrations), callback_id
    expect: str  # one letter per role in ROLES
    effect: str
    target: str = "none"
    text: str = ""  # command text (subcommand)
    value: str = ""  # action value template: {opp} {event} {past} {referral} {feedback}
    opener: tuple[str, ...] = ()  # how an allowed user opens a view: (kind, id, value-or-text, role)
    fill: dict[str, Any] = field(default_factory=dict)  # view values overriding the modal's initial ones
    note: str = ""

    @property
    def key(self) -> str:
        return f"{self.kind} {self.id}" + (f" {self.text}" if self.text else "")

    def allowed(self, role: str) -> bool:
        return self.expect[ROLES.index(role)] == "A"


# fmt: off
MATRIX: list[Row] = [
    # ---- commands ------------------------------------------------------------- M P R O H U
    Row("command", "/alumni", "AAAAAA", "answer", text="help"),
    Row("command", "/alumni", "AAAAAA", "answer", text="python"),
    Row("command", "/alumni", "AAAAAA", "modal", text="profile"),
    Row("command", "/alumni", "AAAAAA", "modal", text="feedback"),
    Row("command", "/alumni", "AAAAAA", "answer", text="privacy"),
    Row("command", "/alumni", "AAAAAA", "modal", text="intros"),
    Row("command", "/alumni-admin", "DDDDAD", "modal"),
    Row("command", "/checkin", "AAAAAA", "modal"),
    Row("command", "/events", "AAAAAA", "answer"),
    Row("command", "/events", "DDDAAD", "modal", text="new"),
    Row("command", "/opportunities", "AAAAAA", "answer", text="python"),
    Row("command", "/opportunities", "AAAAAA", "modal", text="post"),
    Row("command", "/opportunities", "AAAAAA", "answer", text="mine"),
    Row("command", "/refer", "AAAAAA", "modal"),
    # ---- shortcuts
    Row("shortcut", "checkin", "AAAAAA", "modal"),
    Row("shortcut", "opportunities_post", "AAAAAA", "modal"),
    Row("shortcut", "referrals_refer", "AAAAAA", "modal"),
    # ---- options
    Row("options", "referrals.opportunity_select", "AAAAAA", "answer"),
    # ---- admin (HR only)
    Row("action", "admin_import_open", "DDDDAD", "modal"),
    Row("action", "^admin_export_[a-z_]+$", "DDDDAD", "answer", value="members"),
    Row("action", "admin_report_now", "DDDDAD", "answer"),
    Row("action", "admin_settings_open", "DDDDAD", "modal"),
    Row("view", "admin_import_submit", "DDDDAD", "-", opener=("action", "admin_import_open", "", "hr"),
        note="HR's import needs an uploaded CSV; covered by the admin tests"),
    Row("view", "admin_settings_submit", "DDDDAD", "-", opener=("action", "admin_settings_open", "", "hr"),
        note="saving unchanged settings may change nothing"),
    # ---- check-ins and nudges (every member, for themselves)
    Row("action", "checkin_open", "AAAAAA", "modal"),
    Row("action", "nudge_snooze", "AAAAAA", "db"),
    Row("action", "nudge_off", "AAAAAA", "db"),
    Row("action", "nudge_settings_open", "AAAAAA", "modal"),
    Row("view", "checkin_submit", "AAAAAA", "db", opener=("command", "/checkin", "", "member"),
        fill={"whats_new": "new job"}),
    Row("view", "nudge_settings", "AAAAAA", "-", opener=("action", "nudge_settings_open", "", "member"),
        note="unchanged settings change nothing"),
    # ---- directory and profile
    Row("action", "directory_more", "AAAAAA", "answer", value='{{"q": "python", "o": 0}}'),
    Row("action", "profile_open", "AAAAAA", "modal"),
    Row("view", "profile_edit", "AAAAAA", "db", opener=("action", "profile_open", "", "member"),
        fill={"current_company": "Acme"}),
    # ---- events
    Row("action", "events_new", "DDDAAD", "modal"),
    Row("action", "events_rsvp_going", "AAAAAA", "db", target="event", value="{event}"),
    Row("action", "events_rsvp_maybe", "AAAAAA", "db", target="event", value="{event}"),
    Row("action", "events_rsvp_not_going", "AAAAAA", "db", target="event", value="{event}"),
    Row("action", "events_calendar", "AAAAAA", "-", target="event", value="{event}", note="a link button"),
    Row("action", "events_ics", "AAAAAA", "answer", target="event", value="{event}"),
    Row("action", "events_edit", "DDDAAD", "modal", target="event", value="{event}"),
    Row("action", "events_cancel", "DDDAAD", "db", target="event", value="{event}"),
    Row("action", "events_attendance", "DDDAAD", "modal", target="past", value="{past}"),
    Row("action", "events_feedback_summary", "DDDAAD", "modal", target="past", value="{past}"),
    Row("action", "^events_rate_[1-5]$", "ADDDDD", "db", target="past", value="{past}:5",
        note="only attendees rate (the member attended the past event)"),
    Row("action", "events_comment", "ADDDDD", "modal", target="past", value="{past}"),
    Row("view", "events_create", "DDDAAD", "db", opener=("action", "events_new", "", "organiser"),
        fill={"title": "Forged meetup", "starts_at": "+7d", "ends_at": "+7d2h"}),
    Row("view", "events_edit_save", "DDDAAD", "db", target="event",
        opener=("action", "events_edit", "{event}", "organiser"), fill={"title": "Renamed meetup"}),
    Row("view", "events_attendance_save", "DDDAAD", "-", target="past",
        opener=("action", "events_attendance", "{past}", "organiser"),
        note="re-saving the same attendance changes nothing"),
    Row("view", "events_comment_save", "ADDDDD", "db", target="past",
        opener=("action", "events_comment", "{past}", "member"), fill={"comment": "great evening"}),
    # ---- invitations (HR only; the matrix bot has no SMTP settings, so HR is told they are not set up)
    Row("command", "/alumni", "DDDDAD", "answer", text="invitations"),
    Row("action", "invitations_invite_all", "DDDDAD", "answer", value="1"),
    Row("action", "^invitations_invite_\\d+$", "DDDDAD", "answer", value="1"),
    Row("action", "^invitations_resend_\\d+$", "DDDDAD", "answer", value="1"),
    Row("action", "invitations_page_previous", "DDDDAD", "answer", value="0"),
    Row("action", "invitations_page_next", "DDDDAD", "answer", value="20"),
    Row("action", "invitations_funnel_export", "DDDDAD", "answer", value="2026-10"),
    # ---- onboarding and privacy (self-service)
    Row("action", "onboarding_consent", "AAAAAA", "-", note="consent may already be given"),
    Row("action", "privacy_consent", "AAAAAA", "-", note="consent may already be given"),
    Row("action", "privacy_withdraw", "AAAAAD", "answer", note="a stranger has no consent to withdraw"),
    Row("action", "privacy_download", "AAAAAA", "answer"),
    Row("action", "privacy_delete_open", "AAAAAA", "modal"),
    Row("view", "privacy_delete_confirm", "AAAAAA", "-", opener=("action", "privacy_delete_open", "", "member"),
        note="erases the requester only (by construction); not replayed here"),
    Row("view", "feedback_submit", "AAAAAA", "db", opener=("command", "/alumni", "feedback", "member"),
        fill={"text": "more events in Osaka please"}),
    Row("action", "feedback_reply_open", "DDDDAD", "modal", target="feedback", value="{feedback}"),
    Row("action", "feedback_addressed", "DDDDAD", "db", target="feedback", value="{feedback}"),
    Row("view", "feedback_reply_submit", "DDDDAD", "db", target="feedback",
        opener=("action", "feedback_reply_open", "{feedback}", "hr"), fill={"reply": "thanks, noted"}),
    # ---- company news (HR and the leaders named in ALUMNI_LEADERS; none in this fixture)
    Row("command", "/alumni", "DDDDAD", "modal", text="news"),
    Row("action", "news_new", "DDDDAD", "modal"),
    Row("action", "news_preview", "DDDDAD", "-", opener=("action", "news_new", "", "hr"),
        note="updates the modal it is in (views.update); covered by tests/handlers/test_news.py"),
    Row("view", "news_submit", "DDDDAD", "db", opener=("action", "news_new", "", "hr"),
        fill={"title": "Record year", "body": "Thank you all"}),
    # ---- reconnect intros (every member, for themselves; answers only in one's own group)
    Row("action", "intros_prefs_open", "AAAAAA", "modal"),
    Row("view", "intros_prefs", "AAAAAA", "-", opener=("action", "intros_prefs_open", "", "member"),
        note="opting in needs consent (refused at the field otherwise); covered by tests/handlers/test_intros.py"),
    Row("action", "intros_pause", "AAAAAA", "answer", value="4",
        note="pauses the clicker's own intros; without settings they are told so"),
    Row("action", "intros_resume", "AAAAAA", "answer", note="resumes the clicker's own intros"),
    Row("action", "intros_met_yes", "DDDDDD", "db", value="1",
        note="no role answers for a group; only its members do (tests/handlers/test_intros.py)"),
    Row("action", "intros_met_no", "DDDDDD", "db", value="1",
        note="no role answers for a group; only its members do (tests/handlers/test_intros.py)"),
    # ---- opportunities
    Row("action", "opportunities_open_post", "AAAAAA", "modal"),
    Row("action", "opportunities_next", "AAAAAA", "-", note="paging a list (read only)"),
    Row("action", "opportunities_previous", "AAAAAA", "-", note="paging a list (read only)"),
    Row("action", "opportunities_filter_kind", "AAAAAA", "-", note="filtering a list (read only)"),
    Row("action", "opportunities_filter_style", "AAAAAA", "-", note="filtering a list (read only)"),
    Row("action", "opportunities_interested", "ADAAAA", "db", target="opp", value="{opp}",
        note="not in one's own post"),
    Row("action", "opportunities_edit", "DADDAD", "modal", target="opp", value="{opp}"),
    Row("action", "opportunities_fill", "DADDAD", "modal", target="opp", value="{opp}"),
    Row("action", "opportunities_close", "DADDAD", "db", target="opp", value="{opp}"),
    Row("action", "opportunities_remind_extend", "DADDAD", "db", target="opp", value="{opp}"),
    Row("action", "opportunities_remind_close", "DADDAD", "db", target="opp", value="{opp}"),
    Row("view", "opportunities_post_view", "AAAAAA", "db", opener=("command", "/opportunities", "post", "member"),
        fill={"title": "Data analyst", "description": "SQL and Python", "apply_url": "https://example.com/apply"}),
    Row("view", "opportunities_filled_view", "DADDAD", "db", target="opp",
        opener=("action", "opportunities_fill", "{opp}", "poster")),
    # ---- referrals
    Row("action", "referrals.open", "AAAAAA", "modal"),
    Row("action", "referrals.open_from_opportunity", "AAAAAA", "modal", target="opp", value="{opp}"),
    Row("action", "^referrals\\.status\\.[a-z_]+$", "DDDDAD", "modal", target="referral",
        value="{referral}:interviewing"),
    Row("action", "referrals.assign", "DDDDAD", "db", target="referral"),
    Row("action", "referrals.withdraw", "DDADDD", "db", target="referral", value="{referral}",
        note="only the referrer withdraws their referral"),
    Row("view", "referrals_submit", "AAAAAA", "db", target="opp",
        opener=("command", "/refer", "", "member"),
        fill={"candidate_name": "Kenji Sato", "candidate_email": "kenji.{uniq}@example.com", "why_fit": "strong SQL", "consent": ["agreed"]}),
    Row("view", "referrals_status_note", "DDDDAD", "db", target="referral",
        opener=("action", "referrals.status.interviewing", "{referral}:interviewing", "hr"),
        fill={"note": "first interview on Monday"}),
    # ---- stories (the fixture story is HR's, about the referrer, awaiting the referrer's approval)
    Row("command", "/alumni", "AAAAAA", "modal", text="story"),
    Row("action", "story_new", "AAAAAA", "modal"),
    Row("view", "story_draft_submit", "AAAAAA", "db", opener=("action", "story_new", "new", "member"),
        fill={"title": "My story", "body": "Back as a partner"},
        note="a member's modal has no subject field: everyone drafts about themselves"),
    Row("action", "story_approve", "DDADDD", "db", target="story", value="{story}:1",
        note="only the subject, not even HR"),
    Row("action", "story_edit", "DDADDD", "modal", target="story", value="{story}:1"),
    Row("action", "story_decline", "DDADDD", "db", target="story", value="{story}:1"),
    Row("action", "story_withdraw", "DDADDD", "db", target="story", value="{story}:1"),
    Row("view", "story_edit_submit", "DDADAD", "db", target="story",
        opener=("action", "story_edit", "{story}:1", "referrer"), fill={"title": "A better title"},
        note="the subject, the author (HR) or HR"),
    # ---- pulse surveys (HR runs them; only a recipient answers, once)
    Row("command", "/alumni", "DDDDAD", "modal", text="survey"),
    Row("action", "surveys_new", "DDDDAD", "modal"),
    Row("view", "surveys_create", "DDDDAD", "db", opener=("action", "surveys_new", "", "hr"),
        fill={"title": "Pulse", "q1_prompt": "How are you?", "min_group": "3"}),
    Row("action", "surveys_open", "DDDDAD", "db", target="survey", value="{draft_survey}"),
    Row("action", "surveys_close", "DDDDAD", "db", target="survey", value="{survey}"),
    Row("action", "surveys_results", "DDDDAD", "answer", target="survey", value="{closed_survey}"),
    Row("action", "surveys_export", "DDDDAD", "answer", target="survey", value="{closed_survey}"),
    Row("action", "surveys_chart", "DDDDAD", "answer", target="survey", value="{closed_survey}"),
    Row("action", "surveys_change", "DDDDAD", "modal", target="survey", value="{closed_survey}"),
    Row("view", "surveys_change_save", "DDDDAD", "db", target="survey",
        opener=("action", "surveys_change", "{closed_survey}", "hr"), fill={"change_note": "evening meetups"}),
    Row("action", "surveys_answer", "ADDDDD", "modal", target="survey", value="{survey}"),
    Row("view", "surveys_answer_submit", "ADDDDD", "db", target="survey",
        opener=("action", "surveys_answer", "{survey}", "member")),
]
# fmt: on


def test_every_registered_listener_has_a_row() -> None:
    registry = live_registry(None)
    registered = {f"command {c}" for c in registry.commands}
    registered |= {f"shortcut {s}" for s in registry.shortcuts}
    registered |= {f"options {o}" for o in registry.options}
    registered |= {f"action {a if isinstance(a, str) else a.pattern}" for a in registry.actions}
    registered |= {f"view {v}" for v in registry.views}
    rows = {f"{r.kind} {r.id}" for r in MATRIX}
    missing = sorted(registered - rows)
    stale = sorted(rows - registered)
    assert not missing, (
        "listeners without a row in tests/test_authorization_matrix.py MATRIX (add one per listener, with "
        f"the expected allow/deny per role {ROLES}): {missing}"
    )
    assert not stale, f"MATRIX rows for listeners that are no longer registered: {stale}"
    for row in MATRIX:
        assert len(row.expect) == len(ROLES) and set(row.expect) <= {"A", "D"}, row
        assert row.kind != "view" or row.opener, f"{row.key}: a view row needs an opener"


# ------------------------------------------------------------------------------------------------------------
# Fixture data: an opportunity, an upcoming and a past event, a referral, a feedback item


@dataclass
class Ctx:
    opp: int
    event: int
    past: int
    referral: int
    feedback: int
    story: int
    opp_ts: str
    event_ts: str
    survey: int = 0  # open, sent to ALICE and two other members (not to the other roles)
    closed_survey: int = 0
    draft_survey: int = 0

    def fmt(self, template: str) -> str:
        return template.format(
            opp=self.opp,
            event=self.event,
            past=self.past,
            referral=self.referral,
            feedback=self.feedback,
            story=self.story,
            survey=self.survey,
            closed_survey=self.closed_survey,
            draft_survey=self.draft_survey,
            uniq=uuid.uuid4().hex[:8],
        )


def make_ctx(bot: BotHarness) -> Ctx:
    from models import event as ev
    from models import feedback as fb
    from models import opportunity as opps
    from models import referral as refs
    from models import story as stories
    from models.actors import Actor
    from models.timeutil import now

    hr = Actor(HR, is_hr=True, is_organizer=True)
    organiser = Actor(ORGANIZER, is_organizer=True)
    at = now()
    opp_ts = bot.fake.add_message(ALUMNI_CHANNEL, text="opportunity", user=BOT_USER_ID)
    event_ts = bot.fake.add_message(ALUMNI_CHANNEL, text="event", user=BOT_USER_ID)
    past_ts = bot.fake.add_message(ALUMNI_CHANNEL, text="past event", user=BOT_USER_ID)
    uniq = uuid.uuid4().hex[:8]
    with bot.db.session() as s:
        opp = opps.post_opportunity(
            s,
            actor=Actor(CAROL),
            draft=opps.Draft(
                kind="job", title="Backend engineer", description="Python", apply_url="https://example.com/j"
            ),
        )
        opps.set_announcement(
            s, opportunity_id=opp.id, channel_id=ALUMNI_CHANNEL, message_ts=opp_ts, permalink=None
        )
        upcoming = ev.create_event(
            s,
            actor=organiser,
            data=ev.EventInput(
                title="Tokyo meetup",
                starts_at=at + timedelta(days=7),
                ends_at=at + timedelta(days=7, hours=2),
                tz="Asia/Tokyo",
            ),
        )
        ev.set_announcement(s, event_id=upcoming.id, channel=ALUMNI_CHANNEL, ts=event_ts)
        past = ev.create_event(
            s,
            actor=organiser,
            data=ev.EventInput(
                title="Osaka meetup",
                starts_at=at + timedelta(hours=1),
                ends_at=at + timedelta(hours=3),
                tz="Asia/Tokyo",
            ),
        )
        ev.set_announcement(s, event_id=past.id, channel=ALUMNI_CHANNEL, ts=past_ts)
        ev.rsvp(s, actor=Actor(ALICE), event_id=past.id, answer=ev.GOING, display_name="Alice")
        past.starts_at = at - timedelta(days=1, hours=3)
        past.ends_at = at - timedelta(days=1)
        s.add(past)
        s.flush()
        ev.mark_attendance(s, actor=organiser, event_id=past.id, attended=[ALICE])
        referral = refs.submit_referral(
            s,
            actor=Actor(BOB),
            opportunity_id=opp.id,
            candidate_name="Hanako Suzuki",
            candidate_email=f"hanako.{uniq}@example.com",
            why_fit="great engineer",
            consent=True,
        )
        item = fb.submit_feedback(
            s, actor=Actor(ALICE), text="more events please", kind=fb.KINDS[0], anonymous=False
        )
        story = stories.draft_story(s, actor=hr, subject_id=BOB, title="Back as a partner", body="Hello")
        stories.request_approval(s, actor=hr, story_id=int(story.id or 0))
        ids = (opp.id, upcoming.id, past.id, referral.id, item.id, story.id)
    return Ctx(*ids, opp_ts=opp_ts, event_ts=event_ts, **_surveys(bot))  # type: ignore[arg-type]


def _surveys(bot: BotHarness) -> dict[str, int]:
    """An open survey sent to ALICE and two members outside the roles, a closed one, and a draft."""
    from models import survey as sv
    from models.actors import Actor
    from models.profile import ProfileInput, give_consent, update_profile
    from models.timeutil import now

    hr = Actor(HR, is_hr=True)
    with bot.db.session() as s:
        for user in (ALICE, "U0SURVEY1", "U0SURVEY2"):
            update_profile(s, actor=Actor(user), data=ProfileInput(), display_name=user)
            give_consent(s, actor=Actor(user))
        ids = []
        for _ in range(3):
            draft = sv.SurveyDraft(
                title="Pulse",
                closes_at=now() + timedelta(days=7),
                questions=[sv.QuestionDraft(sv.SCALE, "How are you?")],
                min_group=3,
            )
            ids.append(int(sv.create_survey(s, actor=hr, draft=draft).id or 0))
        sv.open_survey(s, actor=hr, survey_id=ids[0])
        sv.open_survey(s, actor=hr, survey_id=ids[1])
        sv.close_survey(s, actor=hr, survey_id=ids[1])
    return {"survey": ids[0], "closed_survey": ids[1], "draft_survey": ids[2]}


# ------------------------------------------------------------------------------------------------------------
# Sending a row's request as a user


def _action_id(row: Row) -> str:
    if row.id.startswith("^events_rate_"):
        return "events_rate_5"
    if row.id.startswith("^referrals"):
        return "referrals.status.interviewing"
    if row.id.startswith("^admin_export_"):
        return "admin_export_members"
    if row.id.startswith("^invitations_"):
        return row.id.strip("^$").replace("\\d+", "1")
    return row.id


def send(bot: BotHarness, ctx: Ctx, row: Row, user: str, views: dict[str, dict[str, Any]]) -> Answer:
    s = bot.sender
    key = f"r{uuid.uuid4().hex[:10]}"
    response_url = bot.fake.response_url(key)
    if row.kind == "command":
        return s.command(row.id, row.text, user=user, channel=ALUMNI_CHANNEL, response_url=response_url)
    if row.kind == "shortcut":
        return s.shortcut(row.id, user=user)
    if row.kind == "options":
        return s.options(row.id, "engineer", user=user)
    if row.kind == "action":
        action_id = _action_id(row)
        message = {
            "ts": ctx.event_ts if "event" in row.target or row.target == "past" else ctx.opp_ts,
            "text": "",
            "blocks": [],
        }
        if row.id == "referrals.assign":
            action = {
                "type": "users_select",
                "action_id": action_id,
                "block_id": f"referrals.assign.{ctx.referral}",
                "selected_user": HR,
            }
            return s.block_action(
                action_id,
                user=user,
                channel=ALUMNI_CHANNEL,
                message=message,
                action=action,
                response_url=response_url,
            )
        return s.block_action(
            action_id,
            ctx.fmt(row.value),
            user=user,
            channel=ALUMNI_CHANNEL,
            message=message,
            response_url=response_url,
        )
    if row.kind == "view":
        view = views[row.id]
        state = _state(view, row, ctx)
        return s.view_submission(
            row.id,
            state,
            user=user,
            private_metadata=str(view.get("private_metadata") or ""),
            blocks=view.get("blocks"),
        )
    raise AssertionError(row.kind)


def _state(view: dict[str, Any], row: Row, ctx: Ctx) -> dict[str, Any]:
    """{block_id: raw element state} filled from the modal's initial values and the row's `fill`."""
    from models.timeutil import now

    fill: dict[str, Any] = {}
    elements = {block_id: element for block_id, _a, element in input_elements(view)}
    for block_id, value in row.fill.items():
        if block_id not in elements:
            continue
        element = elements[block_id]
        if value in ("+7d", "+7d2h"):
            instant = now() + timedelta(days=7, hours=2 if value == "+7d2h" else 0)
            if element.get("type") == "datetimepicker":
                value = int(instant.timestamp())
            else:
                value = instant.date().isoformat()
        elif isinstance(value, str):
            value = ctx.fmt(value)
        if element.get("type") in {"checkboxes", "multi_static_select"} and isinstance(value, list):
            offered = options_of(element)
            value = [v for v in value if v in offered] or offered[:1]
        fill[block_id] = value
    # Required selects without an initial option get their first option.
    for block_id, element in elements.items():
        if block_id in fill:
            continue
        if element.get("type") in {"static_select", "radio_buttons"} and not element.get("initial_option"):
            offered = options_of(element)
            if offered:
                fill[block_id] = offered[0]
    nested = state_from_view(view, fill)
    return {block_id: next(iter(actions.values())) for block_id, actions in nested.items()}


def capture_view(bot: BotHarness, ctx: Ctx, row: Row) -> tuple[dict[str, Any] | None, str]:
    """Open a view row's modal as its allowed opener; returns the view Slack was asked to show."""
    kind, opener_id, arg, role = row.opener
    user = USERS[role]
    start = len(bot.fake.calls)
    opener = Row(
        kind,
        opener_id,
        "AAAAAA",
        "modal",
        text=arg if kind == "command" else "",
        value=arg,
        target=row.target,
    )
    answer = send(bot, ctx, opener, user, {})

    def opened() -> dict[str, Any] | None:
        for c in bot.fake.calls[start:]:
            if c.method in ("views.open", "views.push") and c.ok:
                view = c.args.get("view") or {}
                if view.get("callback_id") == row.id:
                    return view
        return None

    _wait(lambda: opened() is not None, timeout=5)
    view = opened()
    if view is None:
        recent = [c.summary() for c in bot.fake.calls[start:]]
        return None, (
            f"{row.key}: opening it as {role} via {kind} {opener_id} showed no such modal "
            f"(ack {answer.status} {answer.text[:100]!r}); calls: {recent}"
        )
    return view, ""


def capture_views(bot: BotHarness, ctx: Ctx) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Every view row's modal, opened by its allowed opener: {callback_id: view} and problems."""
    views: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for row in MATRIX:
        if row.kind == "view":
            view, problem = capture_view(bot, ctx, row)
            if view is not None:
                views[row.id] = view
            else:
                problems.append(problem)
    return views, problems


# ------------------------------------------------------------------------------------------------------------
# Effects


SIDE_EFFECT_METHODS = ("views.open", "views.push", "files.completeUploadExternal")


def _side_effects(calls: list[Call]) -> list[str]:
    """What a refused request must never cause: a modal, a channel post, a file."""
    found = []
    for c in calls:
        if not c.ok:
            continue
        if c.method in SIDE_EFFECT_METHODS or (
            c.method == "chat.postMessage" and str(c.args.get("channel", "")).startswith(("C", "G"))
        ):
            found.append(c.summary())
    return found


def _answered(bot: BotHarness, answer: Answer, start: int, user: str) -> bool:
    if (
        answer.text.strip()
        and answer.json
        and (
            answer.json.get("text")
            or answer.json.get("blocks")
            or answer.json.get("options") is not None
            or answer.json.get("option_groups") is not None
        )
    ):
        return True
    for c in bot.fake.calls[start:]:
        if c.method == "response_url":
            return True
        if c.method == "chat.postEphemeral" and c.args.get("user") == user:
            return True
        if c.method == "chat.postMessage" and c.args.get("channel") == user:
            return True
        if c.method.startswith("files.") or c.method == "upload_url":
            return True
    return False


# Generous: a first "Send report now" imports matplotlib and draws charts after the ack, which takes seconds
# on a loaded 2-core machine. A passing check returns as soon as it holds, so only failures pay the wait.
def _wait(check: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.03)
    return check()


# ------------------------------------------------------------------------------------------------------------
# The tests


def _deny_cells() -> list[tuple[Row, str]]:
    return [(row, role) for row in MATRIX for role in ROLES if not row.allowed(role)]


def test_forged_payloads_from_roles_without_permission_change_nothing(bot: BotHarness) -> None:
    bot.fake.add_user(STRANGER, name="stranger", locale="en-US")
    ctx = make_ctx(bot)
    views, problems = capture_views(bot, ctx)
    settle(bot.fake)
    bot.settle()  # the openers' after-ack work has ended before the snapshot
    before = db_snapshot(bot.db)
    start = len(bot.fake.calls)
    cells = [(row, role) for row, role in _deny_cells() if row.kind != "view" or row.id in views]
    statuses = []
    for row, role in cells:
        answer = send(bot, ctx, row, USERS[role], views)
        if answer.status != 200:
            statuses.append(f"{row.key} as {role}: HTTP {answer.status}")
    settle(bot.fake, quiet=0.3)
    bot.settle()  # a quiet spell is no proof: every refused request's after-ack work has ended
    changes = snapshot_diff(before, db_snapshot(bot.db))
    effects = _side_effects(bot.fake.calls[start:])
    if changes or effects:
        # Pinpoint the culprits one cell at a time (fresh records each).
        culprits = []
        for row, role in cells:
            ctx2 = make_ctx(bot)
            views2, _ = capture_views(bot, ctx2) if row.kind == "view" else (views, [])
            settle(bot.fake, quiet=0.1)
            bot.settle()
            snap, mark = db_snapshot(bot.db), len(bot.fake.calls)
            send(bot, ctx2, row, USERS[role], views2)
            settle(bot.fake, quiet=0.2)
            bot.settle()
            diff = snapshot_diff(snap, db_snapshot(bot.db))
            fx = _side_effects(bot.fake.calls[mark:])
            if diff or fx:
                culprits.append(f"{row.key} as {role} ({USERS[role]}): db {diff} side effects {fx}")
        pytest.fail("forged payloads were obeyed:\n  " + "\n  ".join(culprits or [f"{changes} {effects}"]))
    assert not statuses, statuses
    assert not problems, "modals the deny cells could not be built from:\n  " + "\n  ".join(problems)


SAMPLE_WHEN_ALL_ALLOWED = ("member", "hr", "unknown")


def test_allowed_roles_can_act(bot: BotHarness) -> None:
    """Every A cell of privileged rows; for rows everyone may use, a member, HR and a stranger.

    SQLite only: the permission rules are Python (models/ and handlers/), the same on both databases; the
    deny test, which is about nothing being written, runs on both.
    """
    if bot.db.is_postgres:
        pytest.skip("permission rules do not depend on the database; the deny test runs on PostgreSQL")
    bot.fake.add_user(STRANGER, name="stranger", locale="en-US")
    failures: list[str] = []
    checked = 0
    ctx: Ctx | None = None
    for row in MATRIX:
        if row.effect == "-":
            continue
        roles = [r for r in ROLES if row.allowed(r)]
        if len(roles) == len(ROLES):
            roles = list(SAMPLE_WHEN_ALL_ALLOWED)
        for role in roles:
            if ctx is None:
                ctx = make_ctx(bot)  # fresh records after a cell that may have closed or cancelled them
            views: dict[str, dict[str, Any]] = {}
            if row.kind == "view":
                view, problem = capture_view(bot, ctx, row)
                if view is None:
                    failures.append(problem)
                    continue
                views[row.id] = view
            before = db_snapshot(bot.db)
            start = len(bot.fake.calls)
            user = USERS[role]
            answer = send(bot, ctx, row, user, views)
            checked += 1
            if row.effect == "db":
                ctx = None
            if answer.status != 200:
                failures.append(f"{row.key} as {role}: HTTP {answer.status}")
                continue
            if (
                answer.json
                and isinstance(answer.json, dict)
                and answer.json.get("response_action") == "errors"
            ):
                failures.append(f"{row.key} as {role}: field errors {answer.json.get('errors')}")
                continue
            if row.effect == "db":
                ok = _wait(lambda: bool(snapshot_diff(before, db_snapshot(bot.db))))
            elif row.effect == "modal":
                ok = _wait(
                    lambda: any(
                        c.method in ("views.open", "views.push") and c.ok for c in bot.fake.calls[start:]
                    )
                )
            else:
                ok = _wait(lambda: _answered(bot, answer, start, user))
            if not ok:
                told = [c.summary() for c in bot.fake.calls[start:] if c.method not in ("users.info",)]
                failures.append(
                    f"{row.key} as {role}: expected {row.effect}, got ack {answer.text[:120]!r} then {told[:4]}"
                )
    assert checked > 40
    assert not failures, f"{len(failures)} allowed actions did not work:\n  " + "\n  ".join(failures)


def render_matrix() -> str:
    """The table as a reviewer reads it: one line per row, "allow"/"deny" under each role."""
    width = max(len(row.key) for row in MATRIX)
    lines = [f"{'listener':{width}} " + " ".join(f"{r[:5]:>5}" for r in ROLES)]
    for row in MATRIX:
        cells = " ".join(f"{'allow' if c == 'A' else 'deny':>5}" for c in row.expect)
        lines.append(f"{row.key:{width}} {cells}")
    return "\n".join(lines)


def test_the_printed_table_gives_every_listener_an_outcome_per_role() -> None:
    """`pytest -s -k printed_table` shows the table; it must say allow or deny for every listener and role.

    (It used to end in `assert json.dumps(ROLES)`, which could not fail.)
    """
    printed = render_matrix()
    print(printed)
    header, *body = printed.splitlines()
    assert header.split()[1:] == [r[:5] for r in ROLES]
    width = len(header) - len(" ".join(f"{r[:5]:>5}" for r in ROLES)) - 1
    shown: dict[str, list[str]] = {}
    for line, row in zip(body, MATRIX, strict=True):
        key, cells = line[:width].rstrip(), line[width:].split()
        assert key == row.key, f"listener name cut or misplaced: {key!r}"
        assert cells == ["allow" if row.allowed(r) else "deny" for r in ROLES], line
        shown[key] = cells
    registry = live_registry(None)
    listeners = [f"command {c}" for c in registry.commands] + [f"shortcut {s}" for s in registry.shortcuts]
    listeners += [f"options {o}" for o in registry.options] + [f"view {v}" for v in registry.views]
    listeners += [f"action {a if isinstance(a, str) else a.pattern}" for a in registry.actions]
    unshown = [name for name in listeners if not any(k == name or k.startswith(name + " ") for k in shown)]
    assert not unshown, f"registered listeners with no allow/deny line: {unshown}"
