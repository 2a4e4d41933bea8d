"""Who a user is (`bot.people.People`): a member the bot stored is answered without waiting for Slack,
then refreshed from `users.info` in the background; a stranger is looked up at once."""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.services import build_services
from bot.slack_emulator.web_api import FakeSlack
from models.actors import Actor
from models.db import Database
from models.member import ensure_member
from models.privacy import erase_member
from tests.conftest import ALICE, BOB, make_settings


def _wait(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_a_stored_member_is_answered_before_slack_then_refreshed_from_it(
    fake_slack: FakeSlack, db: Database
) -> None:
    services = build_services(make_settings(fake_slack, db), db=db)
    with db.session() as session:  # what the bot stored at her last visit: Japanese, Tokyo, an old name
        ensure_member(session, slack_user_id=ALICE, display_name="Alice (old)", locale="ja", tz="Asia/Tokyo")
    fake_slack.calls.clear()

    first = services.people.get(ALICE)
    assert (first.name, first.language, first.tz) == ("Alice (old)", "ja", "Asia/Tokyo")
    # Slack's answer arrives after, off the request's thread, and replaces the stored one.
    assert _wait(lambda: services.people.get(ALICE).language == "en")
    assert services.people.get(ALICE).name != "Alice (old)"
    assert len(fake_slack.calls_to("users.info")) == 1


def test_a_user_the_bot_knows_nothing_about_is_looked_up_at_once(fake_slack: FakeSlack, db: Database) -> None:
    services = build_services(make_settings(fake_slack, db), db=db)
    fake_slack.calls.clear()
    person = services.people.get(BOB)  # no member row
    assert person.language == "ja" and person.name == "bob"  # Slack's display name
    assert len(fake_slack.calls_to("users.info")) == 1


def test_an_erased_member_is_not_answered_from_the_tombstone(fake_slack: FakeSlack, db: Database) -> None:
    services = build_services(make_settings(fake_slack, db), db=db)
    with db.session() as session:
        ensure_member(session, slack_user_id=BOB, display_name="Taro", locale="en", tz="Europe/London")
        erase_member(session, actor=Actor(BOB), slack_user_id=BOB)
    fake_slack.calls.clear()
    person = services.people.get(BOB)
    assert person.language == "ja" and person.tz != "Europe/London"  # from Slack, at once
    assert len(fake_slack.calls_to("users.info")) == 1
