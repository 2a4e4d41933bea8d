"""The intros feature's listeners, called directly (see conftest)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.blocks.intros import (
    CADENCE_BLOCK,
    MET_NO_ACTION,
    MET_YES_ACTION,
    OPTED_IN_BLOCK,
    OPTED_IN_VALUE,
    PAUSE_ACTION,
    PAUSED_UNTIL_BLOCK,
    PREFS_CALLBACK,
    PREFS_OPEN_ACTION,
    RESUME_ACTION,
    WANTS_BLOCK,
)
from bot.services import Services
from bot.slack_emulator.web_api import FakeSlack
from handlers import intros
from models.actors import Actor
from models.intro import (
    IntroGroupMember,
    Pairing,
    get_intro_preferences,
    record_round,
    set_intro_preferences,
)
from models.member import get_member
from models.profile import give_consent
from models.timeutil import now
from tests.conftest import ALICE, BOB, CAROL
from tests.handlers.unit.conftest import Recorder, action_body, command_payload, run_now, submission
from tests.slack_requests import datepicker
from tests.slack_requests import select as radio


def _consent(services: Services, *users: str) -> None:
    with services.db.session() as session:
        for user in users:
            give_consent(session, actor=Actor(user), display_name=user)


def _opt_in(services: Services, *users: str) -> None:
    _consent(services, *users)
    with services.db.session() as session:
        for user in users:
            set_intro_preferences(session, actor=Actor(user), opted_in=True)


def _group(services: Services, *users: str) -> int:
    """A round with one group of `users`; its id."""
    with services.db.session() as session:
        ids = []
        for user in users:
            member = get_member(session, slack_user_id=user)
            assert member is not None and member.id is not None
            ids.append(member.id)
        round_ = record_round(session, period="2026-W49", scheduled_for=now(), pairings=[Pairing(tuple(ids))])
        assert round_ is not None
        row = session.exec(select(IntroGroupMember)).first()
        assert row is not None
        return row.group_id


def _answers(services: Services) -> dict[int, bool | None]:
    with services.db.session() as session:
        return {row.member_id: row.met for row in session.exec(select(IntroGroupMember))}


def _prefs_values(
    *, opted_in: bool = True, cadence: str = "4", until: str | None = None
) -> dict[str, object]:
    return {
        OPTED_IN_BLOCK: [OPTED_IN_VALUE] if opted_in else [],
        CADENCE_BLOCK: radio(cadence),
        WANTS_BLOCK: ["skills", "mentee"],
        PAUSED_UNTIL_BLOCK: datepicker(until),
    }


def test_the_home_button_and_the_subcommands_open_the_settings_modal(
    services: Services, fake_slack: FakeSlack
) -> None:
    acks = [Recorder(), Recorder(), Recorder()]
    intros.on_prefs_open(
        ack=acks[0], body=action_body(PREFS_OPEN_ACTION, "home", user=ALICE), services=services
    )
    for ack, word in zip(acks[1:], intros.SUBCOMMAND_WORDS, strict=True):
        intros.on_intros_subcommand(services, ack, command_payload("/alumni", word, user=ALICE), "")
    assert [a.once for a in acks] == [{}, {}, {}]
    assert [c.args["view"]["callback_id"] for c in fake_slack.calls_to("views.open")] == [PREFS_CALLBACK] * 3


def test_saving_settings_is_decided_before_the_ack_then_the_member_is_told(
    services: Services, ack: Recorder, fake_slack: FakeSlack
) -> None:
    _consent(services, ALICE)
    body = submission(PREFS_CALLBACK, _prefs_values(), user=ALICE)
    pending: list[object] = []
    intros.on_prefs_submit(ack=ack, body=body, view=body["view"], services=services, later=pending.append)
    assert ack.once == {}
    with services.db.session() as session:
        pref = get_intro_preferences(session, slack_user_id=ALICE)
        assert pref is not None and pref.opted_in and pref.cadence_weeks == 4
        assert pref.want_list() == ["skills", "mentee"]
    assert fake_slack.calls_to("chat.postMessage") == []
    for work in pending:
        run_now(work)
    [dm] = fake_slack.calls_to("chat.postMessage")
    assert dm.args["channel"] == ALICE and "saved" in dm.args["text"]
    assert fake_slack.calls_to("views.publish")


def test_bad_settings_stay_in_the_modal_with_field_errors_and_nothing_is_saved(
    services: Services, ack: Recorder
) -> None:
    _consent(services, ALICE)
    past = (now() - timedelta(days=3)).date().isoformat()
    body = submission(PREFS_CALLBACK, _prefs_values(cadence="3", until=past), user=ALICE)
    intros.on_prefs_submit(ack=ack, body=body, view=body["view"], services=services, later=run_now)
    assert ack.once["response_action"] == "errors"
    assert set(ack.once["errors"]) == {CADENCE_BLOCK, PAUSED_UNTIL_BLOCK}
    with services.db.session() as session:
        assert get_intro_preferences(session, slack_user_id=ALICE) is None


def test_opting_in_without_consent_is_refused_at_the_field(services: Services, ack: Recorder) -> None:
    body = submission(PREFS_CALLBACK, _prefs_values(), user=BOB)
    intros.on_prefs_submit(ack=ack, body=body, view=body["view"], services=services, later=run_now)
    assert ack.once["response_action"] == "errors" and set(ack.once["errors"]) == {OPTED_IN_BLOCK}
    with services.db.session() as session:
        assert get_intro_preferences(session, slack_user_id=BOB) is None


def test_pause_and_resume_change_only_the_clickers_own_intros(
    services: Services, fake_slack: FakeSlack
) -> None:
    _opt_in(services, ALICE, BOB)
    later: list[object] = []
    # A forged value (a year) is ignored: the button always pauses for PAUSE_WEEKS.
    intros.on_pause(
        ack=Recorder(),
        body=action_body(PAUSE_ACTION, "52", user=ALICE),
        services=services,
        later=later.append,
    )
    with services.db.session() as session:
        alice = get_intro_preferences(session, slack_user_id=ALICE)
        bob = get_intro_preferences(session, slack_user_id=BOB)
        assert alice is not None and alice.paused_until is not None
        assert alice.paused_until - now() < timedelta(weeks=intros.PAUSE_WEEKS, days=2)
        assert bob is not None and bob.paused_until is None
    intros.on_resume(
        ack=Recorder(),
        body=action_body(RESUME_ACTION, "home", user=ALICE),
        services=services,
        later=later.append,
    )
    with services.db.session() as session:
        alice = get_intro_preferences(session, slack_user_id=ALICE)
        assert alice is not None and alice.paused_until is None
    assert len(later) == 2


def test_pausing_without_settings_tells_the_clicker_and_saves_nothing(
    services: Services, fake_slack: FakeSlack
) -> None:
    ack = Recorder()
    intros.on_pause(
        ack=ack, body=action_body(PAUSE_ACTION, "4", user=CAROL), services=services, later=run_now
    )
    assert ack.once == {}
    [note] = fake_slack.calls_to("chat.postEphemeral")
    assert note.args["user"] == CAROL and "no longer exists" in note.args["text"]
    with services.db.session() as session:
        assert get_intro_preferences(session, slack_user_id=CAROL) is None


def test_group_members_answer_for_themselves_and_outsiders_or_forged_ids_change_nothing(
    services: Services, fake_slack: FakeSlack
) -> None:
    _opt_in(services, ALICE, BOB, CAROL)
    group_id = _group(services, ALICE, BOB)
    intros.on_met_yes(
        ack=Recorder(),
        body=action_body(MET_YES_ACTION, str(group_id), user=ALICE),
        action={"value": str(group_id)},
        services=services,
        later=run_now,
    )
    for value in (str(group_id), "999999", "2147483648", "x"):
        intros.on_met_no(
            ack=Recorder(),
            body=action_body(MET_NO_ACTION, value, user=CAROL),
            action={"value": value},
            services=services,
            later=run_now,
        )
    answers = _answers(services)
    assert sorted(answers.values(), key=str) == [None, True]  # Alice said yes; Bob has not answered
    notes = [c.args for c in fake_slack.calls_to("chat.postEphemeral")]
    assert [n["user"] for n in notes] == [ALICE, CAROL, CAROL, CAROL, CAROL]
    assert "Great to hear" in notes[0]["text"] and "not allowed" in notes[1]["text"]
