"""HR's invitation blocks: Slack would accept them (any roster size, both languages), every person's button
is distinct, names are escaped, and the funnels read as HR expects."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.blocks.invitations import (
    FUNNEL_EXPORT,
    INVITE,
    INVITE_ALL,
    PAGE_NEXT,
    PAGE_PREVIOUS,
    PAGE_SIZE,
    RESEND,
    funnel_blocks,
    not_in_slack_blocks,
    queue_result_text,
    roster_record_id_of,
)
from bot.i18n import Translator
from bot.slack_emulator.blockkit import violations
from models.invitation import FAILED, SENT, InvitationFunnel, NotInSlackPage, PersonNotInSlack, QueueResult
from models.report import Month, PipelineMonth

SENT_AT = datetime(2026, 10, 2, 1, 0, tzinfo=UTC)


def person(n: int, status: str | None = None) -> PersonNotInSlack:
    return PersonNotInSlack(
        roster_record_id=n,
        name=f"Person <{n}> & co",
        email=f"p{n}@example.com",
        department="Sales",
        left_year=2024,
        status=status,
        sent_at=SENT_AT if status == SENT else None,
        error="550 <no such user>" if status == FAILED else None,
    )


def page(offset: int, total: int, statuses: list[str | None]) -> NotInSlackPage:
    people = [person(offset + i, s) for i, s in enumerate(statuses)]
    return NotInSlackPage(people, total, not_invited=total - 3, offset=offset, limit=PAGE_SIZE)


def action_ids(blocks: list[dict[str, object]]) -> list[str]:
    found: list[str] = []
    for block in blocks:
        accessory = block.get("accessory")
        if isinstance(accessory, dict):
            found.append(str(accessory["action_id"]))
        for element in block.get("elements", []) or []:  # type: ignore[attr-defined]
            if isinstance(element, dict) and "action_id" in element:
                found.append(str(element["action_id"]))
    return found


@pytest.mark.parametrize("language", ["en", "ja"])
def test_a_full_middle_page_of_a_long_roster_is_valid_everywhere_hr_may_see_it(language: str) -> None:
    statuses: list[str | None] = [None, SENT, FAILED, "uncertain", "queued", "stopped", "sending"]
    middle = page(PAGE_SIZE, 5000, (statuses * 3)[:PAGE_SIZE])
    blocks = not_in_slack_blocks(middle, Translator(language), ready=True)
    assert violations("message", blocks) == []
    assert violations("modal", blocks, {"type": "modal", "title": {"type": "plain_text", "text": "x"}}) == []
    ids = action_ids(blocks)
    assert len(ids) == len(set(ids))  # one action_id per button
    assert INVITE_ALL in ids and PAGE_PREVIOUS in ids and PAGE_NEXT in ids
    person_ids = [i for i in ids if INVITE.match(i) or RESEND.match(i)]
    # Invite for the never invited, resend for sent / failed / uncertain, nothing while on its way or joined.
    assert len(person_ids) == 12
    assert roster_record_id_of(person_ids[0]) == PAGE_SIZE
    text = json.dumps(blocks, ensure_ascii=False)
    assert "<20>" not in text and "&lt;20&gt; &amp; co" in text
    assert "&lt;no such user&gt;" in text
    assert f"<!date^{int(SENT_AT.timestamp())}^" in text  # shown in each viewer's own time zone


def test_invite_all_asks_for_confirmation_and_nothing_is_offered_until_configured() -> None:
    blocks = not_in_slack_blocks(page(0, 3 + 40, [None, None]), Translator("en"), ready=True)
    invite_all = next(b for b in blocks if b.get("block_id") == "invitations_all")["elements"][0]
    assert invite_all["text"]["text"] == "Invite all 40" and invite_all["confirm"]
    unconfigured = not_in_slack_blocks(page(0, 43, [None, SENT]), Translator("en"), ready=False)
    assert action_ids(unconfigured) == [PAGE_NEXT]  # the list still pages; nothing can be sent
    assert "SMTP_HOST" in json.dumps(unconfigured)


def test_an_empty_roster_says_so() -> None:
    blocks = not_in_slack_blocks(NotInSlackPage([], 0, 0, 0, PAGE_SIZE), Translator("en"), ready=True)
    assert "Everyone on the roster is in Slack" in json.dumps(blocks, ensure_ascii=False)


def test_funnel_section_and_queue_result_read_as_hr_expects() -> None:
    tr = Translator("en")
    pipeline = [
        PipelineMonth(Month(2026, m), interested=10 + m, referred=4, interviewing=2, hired=1, rehires=0)
        for m in range(1, 11)
    ]
    blocks = funnel_blocks(InvitationFunnel(100, 80, 30, 25, 12), pipeline, tr, export_month="2026-10")
    assert violations("message", blocks) == []
    text = json.dumps(blocks, ensure_ascii=False)
    assert "Roster 100 → invited 80 → joined 30 → consented 25 → active 12" in text
    assert "2026-10: interested 20 → referred 4 → interviewing 2 → hired 1 · rehires 0" in text
    assert "2026-04" not in text  # the last six months
    assert action_ids(blocks) == [FUNNEL_EXPORT]
    result = QueueResult(queued=3, resent=0, skipped={"joined": 1, "already_invited": 2})
    assert queue_result_text(result, tr) == (
        "Invitations queued: 3, resent: 0. Skipped: already invited 2, already in Slack 1."
    )
