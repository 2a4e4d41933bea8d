"""The outbox delivery worker against the fake Slack, on SQLite and PostgreSQL.

Exactly once (metadata + history reconciliation), 429 `Retry-After`, transient retries with backoff,
permanent failures recorded with Slack's error, DMs through conversations.open, joins, pacing, updates in
place and files. The cross-process crash drill is in test_delivery_processes.py.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.config import Settings
from bot.services import Services, build_services
from bot.slack_emulator.web_api import FakeSlack
from bot.slack_files import OUTBOX_FILES_KEY, outbox_file
from jobs.delivery import (
    METADATA_EVENT_TYPE,
    SCOPES,
    Deliverer,
    DeliveryOptions,
    _MethodPacer,
    _retry_after,
    deliver_due,
    deliverer_for,
)
from models.db import Database
from models.outbox import (
    FAILED,
    OUTBOX_UPDATE_KEY,
    SENDING,
    SENT,
    UNCERTAIN,
    OutboxMessage,
    claim_next,
    dedupe_key,
    enqueue,
)
from models.timeutil import as_utc, now
from tests.conftest import ALICE, ALUMNI_CHANNEL, BOB, CAROL, HR_CHANNEL, make_settings


@pytest.fixture
def services(fake_slack: FakeSlack, db: Database) -> Iterator[Services]:
    """On SQLite and PostgreSQL: for behaviour that rests on the claims."""
    settings: Settings = make_settings(fake_slack, db)
    yield build_services(settings, db=db)


@pytest.fixture
def sqlite_services(fake_slack: FakeSlack, sqlite_db: Database) -> Iterator[Services]:
    """SQLite only: for Slack-side behaviour that does not depend on the database."""
    yield build_services(make_settings(fake_slack, sqlite_db), db=sqlite_db)


def fast(services: Services, **overrides: Any) -> Deliverer:
    """The services' deliverer with test-sized waits (no per-channel pacing, short backoff)."""
    values: dict[str, Any] = {"channel_interval": 0.0, "backoff_base": 0.05, "backoff_cap": 0.2}
    values.update(overrides)
    deliverer = deliverer_for(services)
    deliverer.options = DeliveryOptions(**values)
    return deliverer


def queue(
    services: Services, recipient: str, text: str = "hello", purpose: str = "test", **extra: Any
) -> str:
    with services.db.session() as session:
        enqueue(session, purpose=purpose, recipient=recipient, period="p1", message={"text": text, **extra})
    return dedupe_key(purpose, recipient, "p1")


def rows(services: Services) -> dict[str, OutboxMessage]:
    with services.db.session() as session:
        return {r.dedupe_key: r for r in session.exec(select(OutboxMessage)).all()}


def drain(
    services: Services, timeout: float = 20.0, deliverer: Deliverer | None = None
) -> dict[str, OutboxMessage]:
    """Run passes until every row is final (sent/failed), waiting out backoffs."""
    worker = deliverer or deliverer_for(services)
    deadline = time.monotonic() + timeout
    while True:
        worker.run_once(1000)
        current = rows(services)
        if all(r.status in (SENT, FAILED) for r in current.values()):
            return current
        assert time.monotonic() < deadline, {k: (r.status, r.error) for k, r in current.items()}
        time.sleep(0.05)


def posts(fake: FakeSlack) -> list[Any]:
    return [c for c in fake.calls_to("chat.postMessage") if c.ok]


def test_scopes_are_only_what_reconciliation_and_joining_need() -> None:
    assert set(SCOPES) == {"channels:history", "groups:history", "im:history", "channels:join"}


def test_dm_opens_the_conversation_and_every_post_carries_its_dedupe_key(
    services: Services, fake_slack: FakeSlack
) -> None:
    fast(services)
    dm_key = queue(services, ALICE, "hi Alice")
    channel_key = queue(services, ALUMNI_CHANNEL, "hi all")
    assert deliver_due(services) == 2

    opened = fake_slack.calls_to("conversations.open")
    assert [c.args.get("users") for c in opened] == [ALICE]
    by_channel = {c.args["channel"]: c for c in posts(fake_slack)}
    assert set(by_channel) == {"D" + ALICE, ALUMNI_CHANNEL}
    for key, channel in ((dm_key, "D" + ALICE), (channel_key, ALUMNI_CHANNEL)):
        metadata = by_channel[channel].args["metadata"]
        assert metadata == {"event_type": METADATA_EVENT_TYPE, "event_payload": {"dedupe_key": key}}
    state = rows(services)
    assert state[dm_key].status == SENT and state[dm_key].channel == "D" + ALICE
    assert state[dm_key].ts == fake_slack.messages(ALICE)[0]["ts"]

    # Nothing is due any more: another pass sends nothing; a later DM reuses the known DM channel.
    assert deliver_due(services) == 0
    with services.db.session() as session:
        enqueue(session, purpose="test", recipient=ALICE, period="p2", message={"text": "again"})
    deliver_due(services)
    assert len(fake_slack.calls_to("conversations.open")) == 1
    assert [m["text"] for m in fake_slack.messages(ALICE)] == ["hi Alice", "again"]
    assert fake_slack.accepted_post_count == 3


def test_permanent_failures_are_recorded_with_slacks_error(services: Services, fake_slack: FakeSlack) -> None:
    fake_slack.add_user("U0TABOFF1", name="quiet", messages_tab_disabled=True)
    fake_slack.add_user("U0GONE001", name="gone", deleted=True)
    fake_slack.add_channel("C0ARCHIVE", name="old", is_archived=True)
    fake_slack.add_channel("G0PRIVATE", name="secret", is_private=True, members_bot=False)
    fake_slack.add_channel("C0PUBLIC1", name="public", members_bot=False, require_join=True)
    fast(services)
    keys = {
        "channel_not_found": queue(services, "C0MISSING"),
        "is_archived": queue(services, "C0ARCHIVE"),
        "messages_tab_disabled": queue(services, "U0TABOFF1"),
        "user_disabled": queue(services, "U0GONE001"),
        "user_not_found": queue(services, "U0NOBODY1"),
        "not_in_channel": queue(services, "G0PRIVATE"),
    }
    joined = queue(services, "C0PUBLIC1", "after joining")
    state = drain(services)

    for error, key in keys.items():
        assert (state[key].status, state[key].error) == (FAILED, error), key
    assert state[joined].status == SENT
    assert [c.args["channel"] for c in fake_slack.calls_to("conversations.join")] == ["C0PUBLIC1"]
    assert [m["text"] for m in fake_slack.messages("C0PUBLIC1")] == ["after joining"]
    assert fake_slack.accepted_post_count == 1
    # A failed row stays failed: no second attempt.
    calls = len(fake_slack.calls)
    assert deliver_due(services) == 0 and len(fake_slack.calls) == calls


def test_a_group_dm_slack_will_not_open_fails_at_once_with_slacks_reason(
    sqlite_services: Services, fake_slack: FakeSlack
) -> None:
    # An external person who shares no channel with the others: retrying cannot change Slack's answer.
    fast(sqlite_services)
    fake_slack.fail("conversations.open", error="invalid_user_combination")
    key = queue(sqlite_services, f"{ALICE},{BOB}", purpose="intros.intro")
    deliver_due(sqlite_services)
    state = rows(sqlite_services)[key]
    assert (state.status, state.error) == (FAILED, "invalid_user_combination")
    assert not posts(fake_slack)


def test_a_5xx_is_retried_with_backoff_after_checking_history_and_delivered_once(
    services: Services, fake_slack: FakeSlack
) -> None:
    fast(services)
    fake_slack.fail("chat.postMessage", status=503, error="service_unavailable", times=2)
    key = queue(services, ALICE)
    deliver_due(services)
    first = rows(services)[key]
    assert (first.status, first.attempts, first.error) == (UNCERTAIN, 1, "service_unavailable")

    state = drain(services)
    assert state[key].status == SENT and state[key].attempts == 2
    history = fake_slack.calls_to("conversations.history")
    assert history and all(c.args.get("include_all_metadata") in (True, "true", "1") for c in history)
    assert len(fake_slack.messages(ALICE)) == 1 and fake_slack.accepted_post_count == 1


def test_a_row_that_keeps_failing_gives_up_after_the_attempt_limit(
    sqlite_services: Services, fake_slack: FakeSlack
) -> None:
    fast(sqlite_services, max_attempts=3)
    fake_slack.fail("chat.postMessage", status=500, times=10)
    key = queue(sqlite_services, ALUMNI_CHANNEL)
    state = drain(sqlite_services)
    assert state[key].status == FAILED
    assert state[key].error is not None and "gave up after 3 attempts" in state[key].error
    assert len([c for c in fake_slack.calls_to("chat.postMessage")]) == 3


def test_a_timeout_after_slack_accepted_is_reconciled_from_history_not_resent(
    sqlite_services: Services, fake_slack: FakeSlack
) -> None:
    # Slack takes 1.5 s and then accepts; our client gives up after 1 s. The outcome is unknown, so the
    # next attempt (after a backoff longer than Slack's delay) looks in history and finds the message.
    worker = Deliverer(
        sqlite_services, options=DeliveryOptions(http_timeout=1, backoff_base=1.0, channel_interval=0)
    )
    fake_slack.fail("chat.postMessage", delay=1.5)
    key = queue(sqlite_services, BOB, "slow")
    worker.run_once()
    assert rows(sqlite_services)[key].status == UNCERTAIN
    state = drain(sqlite_services, deliverer=worker)
    assert state[key].status == SENT
    assert state[key].ts == fake_slack.messages(BOB)[0]["ts"]
    assert fake_slack.accepted_post_count == 1 and len(fake_slack.calls_to("chat.postMessage")) == 1


def test_history_is_checked_only_after_slack_had_as_long_again_after_a_timeout_but_not_after_a_5xx(
    sqlite_services: Services, fake_slack: FakeSlack
) -> None:
    # After a timeout Slack may still be posting: the history check waits as long again as we waited.
    # A 5xx is Slack's answer (the request is over), so the normal backoff applies.
    worker = Deliverer(
        sqlite_services, options=DeliveryOptions(http_timeout=1, backoff_base=0.05, channel_interval=0)
    )
    fake_slack.fail("chat.postMessage", delay=1.5, times=1)
    slow = queue(sqlite_services, BOB, "slow")
    worker.run_once()
    timed_out_at = now()
    fake_slack.fail("chat.postMessage", status=503, error="service_unavailable", times=1)
    answered = queue(sqlite_services, CAROL, "503")
    asked_at = now()
    worker.run_once()

    state = rows(sqlite_services)
    assert state[slow].status == state[answered].status == UNCERTAIN
    assert as_utc(state[slow].next_attempt_at) - timed_out_at >= timedelta(seconds=0.8)
    assert as_utc(state[answered].next_attempt_at) - asked_at < timedelta(seconds=0.5)
    drained = drain(sqlite_services, deliverer=worker)
    assert drained[slow].status == drained[answered].status == SENT
    assert fake_slack.accepted_post_count == 2


def test_a_row_left_sending_by_a_dead_worker_is_found_in_history(
    services: Services, fake_slack: FakeSlack
) -> None:
    key = queue(services, CAROL, "maybe sent")
    with services.db.session() as session:
        claim = claim_next(session, worker_id="dead-worker")
    assert claim is not None
    # The dead worker's post reached Slack before it died.
    ts = fake_slack.add_message(
        CAROL,
        text="maybe sent",
        user="UBOT",
        metadata={"event_type": METADATA_EVENT_TYPE, "event_payload": {"dedupe_key": key}},
    )
    other = queue(services, ALICE, "never sent")
    with services.db.session() as session:
        claim_other = claim_next(session, worker_id="dead-worker")
    assert claim_other is not None and claim_other.dedupe_key == other

    fast(services, stale_after=timedelta(seconds=60))
    assert deliver_due(services) == 0  # fresh claims belong to a live worker: left alone
    assert rows(services)[key].status == SENDING

    fast(services, stale_after=timedelta(0))
    state = drain(services)
    assert (state[key].status, state[key].ts) == (SENT, ts)
    assert state[other].status == SENT  # not in history: sent now, once
    assert [m["text"] for m in fake_slack.messages(CAROL)] == ["maybe sent"]
    assert [m["text"] for m in fake_slack.messages(ALICE)] == ["never sent"]
    assert fake_slack.accepted_post_count == 1


def test_429_storm_all_200_dms_delivered_once_honouring_retry_after(
    services: Services, fake_slack: FakeSlack
) -> None:
    users = [f"U0STORM{i:03d}" for i in range(200)]
    for user in users:
        fake_slack.add_user(user, name=user.lower())
    with services.db.session() as session:
        for user in users:
            enqueue(session, purpose="storm", recipient=user, period="w1", message={"text": f"hi {user}"})
    # The storm: two 429s in a row (each Retry-After: 1), then a sustained 60/s limit.
    fake_slack.fail("chat.postMessage", retry_after=1, times=2)
    fake_slack.fail("conversations.open", retry_after=1, times=1)
    fake_slack.rate_limit_per_second("chat.postMessage", 60)
    fast(services)
    state = drain(services, timeout=40)

    assert all(r.status == SENT for r in state.values())
    assert fake_slack.accepted_post_count == 200
    assert all(len(fake_slack.messages(user)) == 1 for user in users)
    assert fake_slack.ratelimited_count >= 3
    # After every 429 the worker waited Retry-After before calling that method again.
    for method in ("chat.postMessage", "conversations.open"):
        calls = fake_slack.calls_to(method)
        for index, call in enumerate(calls[:-1]):
            if call.status == 429:
                assert calls[index + 1].time - call.time >= 0.95, (method, index)


def test_two_workers_share_the_outbox_and_send_each_row_once(
    services: Services, fake_slack: FakeSlack
) -> None:
    users = [f"U0PAIR{i:04d}" for i in range(60)]
    for user in users:
        fake_slack.add_user(user, name=user.lower())
    with services.db.session() as session:
        for user in users:
            enqueue(session, purpose="pair", recipient=user, period="w1", message={"text": "hi"})
    workers = [
        Deliverer(services, worker_id=f"w{i}", options=DeliveryOptions(channel_interval=0)) for i in range(2)
    ]
    threads = [threading.Thread(target=w.run_once, args=(1000,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    state = rows(services)
    assert all(r.status == SENT for r in state.values())
    assert fake_slack.accepted_post_count == 60
    assert {r.claimed_by for r in state.values()} <= {"w0", "w1"}  # who sent each row
    assert all(len(fake_slack.messages(user)) == 1 for user in users)


def test_posts_to_one_channel_are_paced(sqlite_services: Services, fake_slack: FakeSlack) -> None:
    fast(sqlite_services, channel_interval=0.3)
    for index in range(3):
        with sqlite_services.db.session() as session:
            enqueue(
                session, purpose="pace", recipient=ALUMNI_CHANNEL, period=str(index), message={"text": "x"}
            )
    queue(sqlite_services, ALICE)
    drain(sqlite_services)
    times = [c.time for c in posts(fake_slack) if c.args["channel"] == ALUMNI_CHANNEL]
    assert len(times) == 3
    assert all(b - a >= 0.28 for a, b in itertools.pairwise(times))


def test_update_rows_edit_the_message_in_place(sqlite_services: Services, fake_slack: FakeSlack) -> None:
    fast(sqlite_services)
    ts = sqlite_services.client.chat_postMessage(channel=ALUMNI_CHANNEL, text="original")["ts"]
    hr_ts = sqlite_services.client.chat_postMessage(channel=HR_CHANNEL, text="contact: someone@example.com")[
        "ts"
    ]
    queue(
        sqlite_services,
        ALUMNI_CHANNEL,
        "edited",
        purpose="upd",
        method="chat.update",
        channel=ALUMNI_CHANNEL,
        ts=ts,
    )
    queue(sqlite_services, HR_CHANNEL, "redacted", purpose="redact", **{OUTBOX_UPDATE_KEY: hr_ts})
    queue(sqlite_services, ALUMNI_CHANNEL, "gone", purpose="upd2", method="chat.update", ts="1.000000")
    state = drain(sqlite_services)

    assert [m["text"] for m in fake_slack.messages(ALUMNI_CHANNEL)] == ["edited"]
    assert [m["text"] for m in fake_slack.messages(HR_CHANNEL)] == ["redacted"]
    assert state[dedupe_key("upd", ALUMNI_CHANNEL, "p1")].ts == ts
    assert state[dedupe_key("upd2", ALUMNI_CHANNEL, "p1")].error == "message_not_found"
    assert fake_slack.accepted_post_count == 2  # only the two seeded posts


def test_files_are_uploaded_into_the_thread_after_one_post(
    sqlite_services: Services, fake_slack: FakeSlack
) -> None:
    fast(sqlite_services)
    fake_slack.fail("files.getUploadURLExternal", status=500, times=1)
    key = queue(
        sqlite_services,
        HR_CHANNEL,
        "monthly report",
        purpose="report",
        **{OUTBOX_FILES_KEY: [outbox_file(filename="chart.png", title="Chart", content=b"\x89PNG")]},
    )
    state = drain(sqlite_services)
    assert state[key].status == SENT
    assert fake_slack.accepted_post_count == 1  # the failed upload did not cause a second post
    completed = [c for c in fake_slack.calls_to("files.completeUploadExternal") if c.ok]
    assert len(completed) == 1
    assert completed[0].args.get("thread_ts") == state[key].ts


def test_after_a_429_the_pacer_keeps_to_what_slack_accepted() -> None:
    """Slack accepted 50 calls in a second and refused the 51st: the worker keeps sending 50 a second (not
    0.90x of it, issue 14), without probing back into the 429 for a minute; a call that was already in
    flight and refused too was not among the accepted ones."""
    pacer = _MethodPacer()
    slots = [pacer.acquire(lambda seconds: True) for _ in range(53)]
    for slot in slots[:50]:
        pacer.done(slot)
    pacer.rate_limited(1.0, slots[50])
    assert (pacer.limit, pacer.ceiling) == (52, 52)  # calls 52 and 53 are still in flight
    pacer.rate_limited(1.0, slots[51])
    pacer.rate_limited(1.0, slots[52])
    assert (pacer.limit, pacer.ceiling) == (50, 50)
    pacer._adjusted_at -= 30  # well past the probe interval, inside the ceiling's minute
    assert not pacer._may_probe(time.monotonic())


def test_a_call_counts_against_the_rate_until_a_second_after_its_answer() -> None:
    """Slack counts a call when it arrives: the window must not free a slot a slow call still holds there."""
    pacer = _MethodPacer()
    pacer.limit = pacer.ceiling = 1
    pacer._ceiling_at = time.monotonic()
    slot = pacer.acquire(lambda seconds: True)
    assert slot is not None
    slot.at -= 0.9  # sent 0.9 s ago, its answer only arrives now
    pacer.done(slot)
    waits: list[float] = []
    pacer.acquire(lambda seconds: bool(waits.append(seconds)))
    assert waits and waits[0] > 0.9


@pytest.mark.parametrize(
    ("header", "seconds"), [("1", 1.0), ("2", 2.0), ("0.5", 0.5), ("0", 0.0), ("x", 1.0)]
)
def test_retry_after_is_honoured_as_given(header: str, seconds: float) -> None:
    assert _retry_after({"Retry-After": header}) == seconds
    assert _retry_after({}) == 1.0
