"""The weekly digest: the builder's limits (pure), and the job end to end against the fake Slack."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.blocks.common import MESSAGE_BLOCK_LIMIT, SECTION_LIMIT
from bot.blocks.digest import digest_blocks, safe_cut, section_text
from bot.i18n import Translator
from bot.services import Services, build_services
from bot.slack_emulator.blockkit import violations
from bot.slack_emulator.web_api import FakeSlack
from jobs.base import DigestSection, cron_of, discover_jobs
from jobs.delivery import deliver_due
from jobs.digest import DEFAULT_CRON
from jobs.runner import run_job
from models.audit import AuditLog
from models.db import Database
from tests.conftest import ALUMNI_CHANNEL, make_settings
from tests.jobs import digest_sample_other, digest_sample_section

TOKYO = ZoneInfo("Asia/Tokyo")
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=TOKYO)  # a digest instant (ISO week 2026-W49)
SAMPLE_MODULES = ("tests.jobs.digest_sample_section", "tests.jobs.digest_sample_other")


@dataclass
class Section:
    key: str
    title: str
    lines: list[str]
    total: int
    more_hint: str = ""


def _all_text(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


# ---------------------------------------------------------------------------------------- the builder


def test_a_long_section_fits_3000_chars_and_says_how_many_more() -> None:
    tr = Translator("en")
    lines = [
        f"• <https://example.com/{i}|Opportunity number {i} with a fairly long title>" for i in range(400)
    ]
    text = section_text(Section("opps", "Opportunities", lines, total=437, more_hint="/opportunities"), tr)
    assert len(text) <= SECTION_LIMIT
    shown = text.count("• <https://")
    assert 10 < shown < 400
    assert text.endswith(f"…and {437 - shown} more — /opportunities")


def test_a_single_huge_line_is_cut_without_breaking_a_link() -> None:
    line = "x" * 2990 + "<https://example.com|a link label>"
    cut = safe_cut(line, 3000)
    assert len(cut) <= 3000 and "<https" not in cut and cut.endswith("…")
    text = section_text(Section("big", "Big", [line, "second"], total=2), Translator("ja"))
    assert len(text) <= SECTION_LIMIT and text.endswith("…ほか 1 件")


def test_thirty_sections_stay_within_50_blocks_and_the_rest_are_summarised() -> None:
    sections = [Section(f"s{i}", f"Section {i}", [f"line {i}"] * 5, total=5) for i in range(30)]
    blocks = digest_blocks(sections, Translator("en"), start=MONDAY - timedelta(days=7), end=MONDAY)
    assert len(blocks) <= MESSAGE_BLOCK_LIMIT
    assert violations("message", blocks, None, text="digest") == []
    summary = blocks[-1]["text"]["text"]
    assert summary.startswith("More this week:") and "Section 29 (5)" in summary
    assert "Section 0" in _all_text(blocks[:4])


# ---------------------------------------------------------------------------------------- the job


@pytest.fixture
def services(fake_slack: FakeSlack, db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    """On SQLite and PostgreSQL."""
    yield build_services(make_settings(fake_slack, db, jobs_extra_modules=SAMPLE_MODULES), db=db)


@pytest.fixture
def sqlite_services(
    fake_slack: FakeSlack, sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Services]:
    """SQLite only, for what does not depend on the database."""
    yield build_services(
        make_settings(fake_slack, sqlite_db, jobs_extra_modules=SAMPLE_MODULES), db=sqlite_db
    )


def seed(services: Services, action: str, titles: list[str], at: datetime) -> None:
    with services.db.session() as session:
        for title in titles:
            session.add(AuditLog(at=at, actor="test", action=action, detail=json.dumps({"title": title})))


def digest_posts(fake: FakeSlack) -> list[dict[str, Any]]:
    return [m for m in fake.messages(ALUMNI_CHANNEL) if "blocks" in m]


def test_a_week_with_400_items_posts_one_digest_within_slacks_limits(
    services: Services, fake_slack: FakeSlack
) -> None:
    in_week = MONDAY - timedelta(days=2)
    seed(services, digest_sample_section.ACTION, [f"Item {i} <!channel> & more" for i in range(300)], in_week)
    seed(services, digest_sample_other.ACTION, [f"Other {i}" for i in range(100)], in_week)
    seed(services, digest_sample_section.ACTION, ["Last week's item"], MONDAY - timedelta(days=8))

    result = run_job(services, "digest", at=MONDAY)
    assert result.claimed and result.period == "2026-W49" and len(result.queued) == 1
    assert deliver_due(services) == 1

    [post] = digest_posts(fake_slack)  # the fake refuses blocks over Slack's limits (fixture fails)
    blocks = post["blocks"]
    assert len(blocks) <= MESSAGE_BLOCK_LIMIT
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert all(len(text) <= SECTION_LIMIT for text in sections)
    sample, other = sections[0], sections[1]
    shown = sample.count("• *Item")
    assert sample.endswith(f"…ほか {300 - shown} 件 — /sample")  # ALUMNI_LANGUAGE=ja
    assert "&lt;!channel&gt; &amp; more" in sample and "<!channel>" not in _all_text(blocks)
    assert other.endswith(f"…ほか {100 - other.count('• Other')} 件") or other.count("• Other") == 100
    assert "Last week's item" not in _all_text(blocks)
    assert "アルムナイ週間ダイジェスト" in _all_text(blocks) and "400" in post["text"]
    assert post["metadata"]["event_payload"]["dedupe_key"] == f"digest:{ALUMNI_CHANNEL}:2026-W49"

    # The same week again (a second replica, a restart, a later instant of the week): nothing more.
    assert not run_job(services, "digest", at=MONDAY).claimed
    assert not run_job(services, "digest", at=MONDAY + timedelta(hours=5)).claimed
    deliver_due(services)
    assert len(digest_posts(fake_slack)) == 1


def test_the_digest_is_in_alumni_language(
    fake_slack: FakeSlack, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(fake_slack, db, language="en", jobs_extra_modules=SAMPLE_MODULES)
    services = build_services(settings, db=db)
    seed(services, digest_sample_other.ACTION, ["Reunion"], MONDAY - timedelta(days=1))
    run_job(services, "digest", at=MONDAY)
    deliver_due(services)
    [post] = digest_posts(fake_slack)
    assert "Alumni weekly digest" in _all_text(post["blocks"]) and "Reunion" in _all_text(post["blocks"])


def test_an_empty_week_posts_nothing_unless_configured(
    sqlite_services: Services, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_job(sqlite_services, "digest", at=MONDAY)
    assert result.claimed and result.queued == []
    deliver_due(sqlite_services)
    assert digest_posts(fake_slack) == []

    sqlite_services.settings = replace(sqlite_services.settings, digest_post_empty=True)
    run_job(sqlite_services, "digest", at=MONDAY + timedelta(days=7))
    deliver_due(sqlite_services)
    [post] = digest_posts(fake_slack)
    assert "新しいお知らせはありませんでした" in _all_text(post["blocks"])


def test_a_failing_section_is_left_out_and_the_rest_still_posts(
    sqlite_services: Services, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jobs.digest

    real = jobs.digest.discover_digest_sections

    def broken(ctx: Any) -> DigestSection | None:
        raise RuntimeError("feature bug")

    monkeypatch.setattr(
        jobs.digest, "discover_digest_sections", lambda extra: [(0, "broken", broken), *real(extra)]
    )
    seed(sqlite_services, digest_sample_other.ACTION, ["Still here"], MONDAY - timedelta(days=1))
    run_job(sqlite_services, "digest", at=MONDAY)
    deliver_due(sqlite_services)
    [post] = digest_posts(fake_slack)
    assert "Still here" in _all_text(post["blocks"])


def test_the_digest_defaults_to_monday_0900_and_catches_up_within_a_day(sqlite_services: Services) -> None:
    job = discover_jobs()["digest"]
    assert cron_of(job, sqlite_services) == DEFAULT_CRON
    assert job.catch_up == timedelta(days=1)


def test_a_failing_section_leaves_the_others_in_the_digest(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL an error aborts the transaction; the section's savepoint keeps the rest alive."""
    from sqlalchemy import text

    import jobs.digest as digest
    from jobs.base import DigestContext, DigestSection

    def broken(ctx: DigestContext) -> DigestSection | None:
        ctx.session.execute(text("SELECT * FROM no_such_table"))
        return None

    def fine(ctx: DigestContext) -> DigestSection:
        ctx.session.execute(text("SELECT 1"))
        return DigestSection(key="fine", title="Fine", lines=["x"], total=1)

    monkeypatch.setattr(
        digest, "discover_digest_sections", lambda extra: [(1, "broken", broken), (2, "fine", fine)]
    )
    end = MONDAY
    with services.db.session() as session:
        ctx = DigestContext(
            session=session, services=services, start=end - timedelta(days=7), end=end, tr=Translator("en")
        )
        assert [s.key for s in digest.collect_sections(ctx)] == ["fine"]
