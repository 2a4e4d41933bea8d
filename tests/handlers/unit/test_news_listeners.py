"""The news feature's listeners, called directly (see conftest)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import select

from bot.blocks.news import BODY_BLOCK, IMAGE_BLOCK, NEW_NEWS, PREVIEW, SUBMIT, TITLE_BLOCK, news_modal
from bot.services import Services, build_services
from bot.slack_emulator.web_api import FakeSlack
from handlers import news
from jobs import news as news_jobs
from models.db import Database
from models.news import NewsPost
from tests.conftest import ALICE, CAROL, HR, make_settings
from tests.handlers.unit.conftest import Recorder, action_body, command_payload, run_now, submission


@pytest.fixture
def services(fake_slack: FakeSlack, db: Database) -> Iterator[Services]:
    """Alice is a named leader; Carol is a plain member."""
    yield build_services(make_settings(fake_slack, db, leaders=frozenset({ALICE})), db=db)


def _values(title: str = "Record year", body: str = "Thanks.", image: str = "") -> dict[str, object]:
    return {TITLE_BLOCK: title, BODY_BLOCK: body, IMAGE_BLOCK: image}


def _posts(services: Services) -> list[NewsPost]:
    with services.db.session() as session:
        return list(session.exec(select(NewsPost)))


def test_the_subcommand_and_the_home_button_open_the_modal_for_leaders_and_hr(
    services: Services, fake_slack: FakeSlack
) -> None:
    acks = [Recorder(), Recorder()]
    news.on_news_subcommand(services, acks[0], command_payload("/alumni", "news", user=ALICE), "")
    news.on_new(ack=acks[1], body=action_body(NEW_NEWS, "new", user=HR), services=services)
    assert [a.once for a in acks] == [{}, {}]
    assert [c.args["view"]["callback_id"] for c in fake_slack.calls_to("views.open")] == [SUBMIT, SUBMIT]


def test_a_member_is_refused_privately_by_the_subcommand_and_the_button(
    services: Services, fake_slack: FakeSlack
) -> None:
    ack = Recorder()
    news.on_news_subcommand(services, ack, command_payload("/alumni", "news", user=CAROL), "")
    assert ack.once["response_type"] == "ephemeral"
    news.on_new(ack=Recorder(), body=action_body(NEW_NEWS, "new", user=CAROL), services=services)
    assert fake_slack.calls_to("views.open") == []
    [refusal] = fake_slack.calls_to("chat.postEphemeral")
    assert refusal.args["user"] == CAROL


def test_preview_updates_the_modal_and_a_member_s_forged_preview_changes_nothing(
    services: Services, fake_slack: FakeSlack
) -> None:
    opened = services.client.views_open(
        trigger_id="t", view=news_modal(services.translator(ALICE), author_id=ALICE)
    )["view"]
    state = submission(SUBMIT, _values("Hello"), user=ALICE)["view"]["state"]
    view = {**opened, "state": state}
    news.on_preview(
        ack=Recorder(), body=action_body(PREVIEW, "preview", user=CAROL, view=view), services=services
    )
    assert fake_slack.calls_to("views.update") == []
    ack = Recorder()
    news.on_preview(ack=ack, body=action_body(PREVIEW, "preview", user=ALICE, view=view), services=services)
    assert ack.once == {}
    [update] = fake_slack.calls_to("views.update")
    assert any(b["type"] == "header" and b["text"]["text"] == "Hello" for b in update.args["view"]["blocks"])
    assert _posts(services) == []


def test_submit_saves_and_queues_before_the_ack_and_refreshes_home_after_it(services: Services) -> None:
    body = submission(SUBMIT, _values(), user=ALICE)
    pending: list[object] = []
    ack = Recorder()
    news.on_submit(ack=ack, body=body, view=body["view"], services=services, later=pending.append)
    assert ack.once["response_action"] == "update"
    assert [p.title for p in _posts(services)] == ["Record year"]
    assert len(pending) == 1
    for work in pending:
        run_now(work)


def test_bad_input_a_forged_member_submission_and_no_channel_write_nothing(
    services: Services, fake_slack: FakeSlack, db: Database
) -> None:
    cases = [
        (
            services,
            ALICE,
            _values("", "x" * 3001, "http://a.example/i.png"),
            {TITLE_BLOCK, BODY_BLOCK, IMAGE_BLOCK},
        ),
        (services, CAROL, _values(), {TITLE_BLOCK}),
        (
            build_services(
                make_settings(fake_slack, db, leaders=frozenset({ALICE}), alumni_channel=""), db=db
            ),
            ALICE,
            _values(),
            {TITLE_BLOCK},
        ),
    ]
    for svc, user, values, fields in cases:
        body = submission(SUBMIT, values, user=user)
        ack = Recorder()
        news.on_submit(ack=ack, body=body, view=body["view"], services=svc, later=run_now)
        assert ack.once["response_action"] == "errors" and set(ack.once["errors"]) == fields
    assert _posts(services) == []


def test_the_feature_names_its_job_digest_and_scopes() -> None:
    assert [job.name for job in news.FEATURE.jobs] == [news_jobs.REACH_JOB]
    assert news.FEATURE.digest is news_jobs.digest_section
    assert set(news_jobs.SCOPES) <= set(news.FEATURE.scopes)
    assert {"news", "ニュース"} <= set(news.FEATURE.subcommands)
