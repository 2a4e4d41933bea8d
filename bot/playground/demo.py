"""Demo data for `alumni-bot playground --demo`: a believable ja/en alumni programme.

Everything goes through the same domain functions the handlers call (check-ins, posting, RSVPs,
referrals and their status changes, feedback), so the data obeys every rule the bot enforces. Past
activity is written with the clock frozen at earlier instants, so "new this week", stale referrals and
the monthly report have history to show. HR's roster holds a few leavers who are not in Slack yet, so
`/alumni invitations` has someone to invite (the emails land in the playground's mailbox).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import models.timeutil as timeutil
from models import event as ev
from models import feedback as fb
from models import opportunity as opp
from models import referral as ref
from models.actors import Actor
from models.checkin import record_checkin
from models.privacy import record_consent
from models.profile import ProfileInput
from models.roster import ParsedRoster, RosterRow, import_roster

if TYPE_CHECKING:
    from sqlmodel import Session

    from bot.playground.workspace import PersonSpec, Workspace
    from models.db import Database

TOKYO = ZoneInfo("Asia/Tokyo")

# (former department, former role, current company, current role, location, skills, interests, availability)
_PROFILES_JA = [
    (
        "営業本部",
        "法人営業",
        "株式会社ミライ商事",
        "営業マネージャー",
        "東京",
        "法人営業, SaaS, 交渉",
        "スタートアップ支援",
        ["gigs", "mentoring"],
    ),
    (
        "開発部",
        "バックエンドエンジニア",
        "フリーランス",
        "テックリード",
        "福岡",
        "Python, AWS, Go",
        "OSS",
        ["gigs", "collaboration"],
    ),
    (
        "人事部",
        "採用担当",
        "株式会社ひかりHR",
        "人事企画",
        "大阪",
        "採用, 組織開発",
        "キャリア教育",
        ["mentoring", "speaking"],
    ),
    (
        "マーケティング部",
        "デジタルマーケター",
        "合同会社あおば",
        "CMO",
        "東京",
        "広告運用, SEO, 分析",
        "地方創生",
        ["collaboration"],
    ),
    (
        "カスタマーサクセス",
        "CSリーダー",
        "株式会社ネクスト",
        "CS部長",
        "名古屋",
        "カスタマーサクセス, SaaS",
        "コミュニティ運営",
        ["rehire", "mentoring"],
    ),
    ("経理部", "経理", "税理士法人みなと", "税理士", "横浜", "会計, 税務", "スタートアップ会計", ["gigs"]),
    (
        "デザイン室",
        "UIデザイナー",
        "フリーランス",
        "プロダクトデザイナー",
        "京都",
        "Figma, UX リサーチ",
        "アクセシビリティ",
        ["gigs", "speaking"],
    ),
    (
        "営業本部",
        "インサイドセールス",
        "株式会社サクラテック",
        "営業企画",
        "東京",
        "インサイドセールス, Salesforce",
        "営業 DX",
        ["rehire"],
    ),
]
_PROFILES_EN = [
    (
        "Engineering",
        "Frontend engineer",
        "Northwind Labs",
        "Staff engineer",
        "London",
        "TypeScript, React, a11y",
        "Developer tools",
        ["gigs", "mentoring"],
    ),
    (
        "Sales",
        "Account executive",
        "Contoso",
        "Head of sales EMEA",
        "Paris",
        "Enterprise sales, negotiation",
        "Sales coaching",
        ["mentoring", "speaking"],
    ),
    (
        "Product",
        "Product manager",
        "Fabrikam",
        "Director of product",
        "New York",
        "Roadmaps, discovery, SQL",
        "Climate tech",
        ["collaboration"],
    ),
    (
        "Data",
        "Data analyst",
        "Independent",
        "Data consultant",
        "Berlin",
        "Python, dbt, statistics",
        "Open data",
        ["gigs", "rehire"],
    ),
    (
        "Marketing",
        "Content lead",
        "Tailspin Toys",
        "Marketing manager",
        "Sydney",
        "Content strategy, SEO",
        "Writing",
        ["speaking"],
    ),
    (
        "Support",
        "Support engineer",
        "Adventure Works",
        "Support manager",
        "Dublin",
        "Customer support, Zendesk",
        "Community",
        ["rehire", "mentoring"],
    ),
]
_WHATS_NEW_JA = [
    "新しいチームで SaaS の法人営業を立ち上げています。",
    "副業で地方企業の DX を手伝い始めました。",
    "登壇の機会を探しています。採用広報の話ができます。",
    "子育てが落ち着いたので、業務委託の相談歓迎です。",
]
_WHATS_NEW_EN = [
    "Started a new role leading a platform team, happy to mentor.",
    "Moved to a four-day week and open to small gigs.",
    "Speaking at a conference next month about accessible design.",
]


@contextmanager
def _at(instant: datetime) -> Iterator[None]:
    """Writes as of `instant` (the domain reads `models.timeutil.now()`)."""
    previous = timeutil.frozen()
    timeutil.freeze(instant)
    try:
        yield
    finally:
        timeutil.freeze(previous)


def seed_demo(database: Database, workspace: Workspace) -> list[int]:
    """Seeds believable ja/en data into a freshly migrated database; returns the opportunities' ids.

    The caller announces those in the alumni channel with the bot's own `announce` once the bot runs.
    """
    rng = random.Random(15)  # noqa: S311 (demo data, not security)
    today = timeutil.now()
    hr = Actor(workspace.hr_users[0], is_hr=True)
    organizer = Actor(workspace.organizer_users[0], is_organizer=True)
    alumni = [p for p in workspace.people if p.role == "alumnus"]
    with database.session() as session:
        _checkins(session, alumni, today, rng)
        opportunities = _opportunities(session, alumni, hr, today)
        _events(session, organizer, alumni, today)
        _referrals(session, alumni, hr, opportunities, today)
        _feedback(session, alumni, today)
        _roster(session, hr)
        return [o.id for o in opportunities if o.id is not None]


def _checkins(session: Session, alumni: list[PersonSpec], today: datetime, rng: random.Random) -> None:
    main = {"U0PLAYJA01", "U0PLAYEN01"}
    for index, person in enumerate(alumni):
        if person.user_id in main:
            continue  # the people a newcomer plays check in themselves (the "check in" flow)
        japanese = person.locale.startswith("ja")
        profiles = _PROFILES_JA if japanese else _PROFILES_EN
        dept, role, company, now_role, place, skills, interests, flags = profiles[index % len(profiles)]
        joined = 2008 + index % 9
        data = ProfileInput(
            former_department=dept,
            former_role=role,
            joined_year=str(joined),
            left_year=str(joined + 3 + index % 5),
            current_company=company,
            current_role=now_role,
            location=place,
            skills=skills,
            interests=interests,
            availability=list(flags),
        )
        news = rng.choice(_WHATS_NEW_JA if japanese else _WHATS_NEW_EN)
        with _at(today - timedelta(days=3 + index * 2, hours=index)):
            actor = Actor(person.user_id)
            record_consent(session, actor=actor, display_name=person.real_name)
            record_checkin(
                session,
                actor=actor,
                data=data,
                whats_new=news,
                share=index % 3 == 0,
                display_name=person.real_name,
                locale=person.locale,
                tz=person.tz,
            )


def _opportunities(
    session: Session, alumni: list[PersonSpec], hr: Actor, today: datetime
) -> list[opp.Opportunity]:
    posters = [p for p in alumni if p.user_id.startswith("U0DEMO")] or alumni
    drafts = [
        (
            hr,
            opp.Draft(
                kind=opp.KIND_REHIRE,
                title="法人営業（出戻り歓迎）",
                company="当社",
                description="SaaS の法人営業チームで、経験を活かして再び一緒に働きませんか。",
                location="東京",
                work_style="hybrid",
                skills="法人営業, SaaS",
                apply_contact="kenji.hr@example.com",
            ),
        ),
        (
            hr,
            opp.Draft(
                kind=opp.KIND_REHIRE,
                title="Senior backend engineer (welcome back)",
                company="Our company",
                description="Rejoin the platform team: Python, PostgreSQL, Slack integrations.",
                location="Tokyo / remote",
                work_style="remote",
                skills="Python, PostgreSQL",
                apply_url="https://example.com/careers/backend",
            ),
        ),
        (
            Actor(posters[0].user_id),
            opp.Draft(
                kind=opp.KIND_JOB,
                title="インサイドセールス（営業企画）",
                company="株式会社サクラテック",
                description="営業 DX を進めるインサイドセールスの立ち上げメンバーを募集しています。",
                location="東京",
                work_style="hybrid",
                skills="インサイドセールス, Salesforce",
                apply_url="https://example.com/jobs/sales",
            ),
        ),
        (
            Actor(posters[1 % len(posters)].user_id),
            opp.Draft(
                kind=opp.KIND_GIG,
                title="地方企業の営業資料づくり（業務委託・月 20 時間）",
                company="合同会社あおば",
                description="営業資料と提案書の改善をお願いできる方を探しています。",
                location="リモート",
                work_style="remote",
                skills="営業, 資料作成",
                compensation="時給 5,000 円",
                apply_contact="aoba@example.com",
            ),
        ),
        (
            Actor(posters[-1].user_id),
            opp.Draft(
                kind=opp.KIND_JOB,
                title="Product designer",
                company="Northwind Labs",
                description="Design accessible tools for developers in a small, friendly team.",
                location="London",
                work_style="hybrid",
                skills="Figma, UX research",
                apply_url="https://example.com/jobs/design",
            ),
        ),
        (
            Actor(posters[-2].user_id),
            opp.Draft(
                kind=opp.KIND_COLLABORATION,
                title="Advisor for a climate-tech startup",
                company="Fabrikam",
                description="Two hours a month advising on product discovery.",
                location="Remote",
                work_style="remote",
                skills="Product management",
                apply_contact="grace@example.com",
            ),
        ),
        (
            Actor(posters[2 % len(posters)].user_id),
            opp.Draft(
                kind=opp.KIND_COLLABORATION,
                title="採用広報の共同勉強会",
                company="株式会社ひかりHR",
                description="アルムナイ採用をテーマにした勉強会を一緒に企画しませんか。",
                location="大阪 / オンライン",
                work_style="hybrid",
                skills="採用, 広報",
                apply_contact="hikari@example.com",
            ),
        ),
        (
            Actor(posters[3 % len(posters)].user_id),
            opp.Draft(
                kind=opp.KIND_GIG,
                title="Data pipeline review (2 weeks)",
                company="Independent",
                description="Review a dbt project and suggest improvements.",
                location="Remote",
                work_style="remote",
                skills="dbt, SQL",
                compensation="€600/day",
                apply_url="https://example.com/gigs/dbt",
            ),
        ),
    ]
    posted = []
    for index, (actor, draft) in enumerate(drafts):
        with _at(today - timedelta(days=1 + index, hours=2)):
            posted.append(opp.post_opportunity(session, actor=actor, draft=draft, zone=TOKYO))
    for index, person in enumerate(alumni[:6]):
        target = posted[index % len(posted)]
        if target.poster_id != person.user_id:
            with _at(today - timedelta(hours=20 - index)):
                opp.record_interest(session, actor=Actor(person.user_id), opportunity_id=target.id or 0)
    return posted


def _events(session: Session, organizer: Actor, alumni: list[PersonSpec], today: datetime) -> None:
    day = (today.astimezone(TOKYO) + timedelta(days=9)).date()
    starts = datetime.combine(day, time(19, 0), TOKYO)
    data = ev.EventInput(
        title="アルムナイ交流会 2026 冬 / Alumni winter meetup",
        description="近況を話したり、出戻りや協業の相談をしたりする気軽な会です。Catch up, talk about rejoining or working together.",
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
        tz="Asia/Tokyo",
        place="東京オフィス 12F / Tokyo office, 12th floor",
        online_url="https://example.com/meet/alumni-winter",
        capacity=30,
    )
    with _at(today - timedelta(days=6)):
        event = ev.create_event(
            session, actor=organizer, data=data, display_name="Maya Lopez", locale="en-US"
        )
    answers = [ev.GOING, ev.GOING, ev.MAYBE, ev.GOING, ev.NOT_GOING]
    for index, person in enumerate(p for p in alumni if p.user_id.startswith("U0DEMO")):
        if index >= 14:
            break
        with _at(today - timedelta(days=5, hours=-index)):
            ev.rsvp(
                session,
                actor=Actor(person.user_id),
                event_id=event.id or 0,
                answer=answers[index % len(answers)],
                display_name=person.real_name,
                locale=person.locale,
                tz=person.tz,
            )


def _referrals(
    session: Session,
    alumni: list[PersonSpec],
    hr: Actor,
    opportunities: list[opp.Opportunity],
    today: datetime,
) -> None:
    referrers = [p for p in alumni if p.user_id.startswith("U0DEMO")]
    candidates = [
        (
            "高橋 美咲",
            "misaki.takahashi@example.net",
            "前職の同僚で、法人営業の実績が豊富です。",
            [ref.IN_REVIEW],
        ),
        (
            "Daniel Moore",
            "daniel.moore@example.net",
            "We shipped two products together; strong Python.",
            [ref.IN_REVIEW, ref.INTERVIEWING],
        ),
        (
            "斎藤 翼",
            "tsubasa.saito@example.net",
            "インサイドセールスの立ち上げ経験があります。",
            [ref.IN_REVIEW, ref.INTERVIEWING, ref.OFFER],
        ),
        (
            "Hannah Schmidt",
            "hannah.schmidt@example.net",
            "Great designer, ran our accessibility guild.",
            [ref.NOT_A_FIT],
        ),
        ("岡田 涼", "ryo.okada@example.net", "業務委託から正社員を希望しています。", []),
    ]
    for index, (name, email, why, stages) in enumerate(candidates):
        referrer = referrers[index % len(referrers)] if referrers else alumni[0]
        opportunity = opportunities[index % len(opportunities)]
        # The oldest one has been waiting ten days untouched, so the stale-referrals job has work.
        with _at(today - timedelta(days=10 if not stages else 8 - index)):
            referral = ref.submit_referral(
                session,
                actor=Actor(referrer.user_id),
                opportunity_id=opportunity.id,
                candidate_name=name,
                candidate_email=email,
                relationship="元同僚 / former colleague",
                why_fit=why,
                consent=True,
            )
        for step, stage in enumerate(stages):
            with _at(today - timedelta(days=6 - index - step)):
                ref.change_status(session, actor=hr, referral_id=referral.id or 0, to_status=stage)


def _feedback(session: Session, alumni: list[PersonSpec], today: datetime) -> None:
    notes = [
        ("アルムナイ向けの勉強会をもっと増やしてほしいです。", fb.IDEA, False),
        ("The digest is great; could it include events too?", fb.IDEA, True),
        ("出戻りの条件がわかりにくかったです。", fb.COMPLAINT, True),
    ]
    for index, (text, kind, anonymous) in enumerate(notes):
        person = alumni[(index * 5 + 3) % len(alumni)]
        with _at(today - timedelta(days=2 + index)):
            fb.submit_feedback(
                session,
                actor=Actor(person.user_id),
                text=text,
                kind=kind,
                anonymous=anonymous,
                display_name=person.real_name,
            )


# Leavers HR's roster knows who have not joined the alumni Slack yet: (email, name, department, joined, left,
# language of their invitation email).
_NOT_IN_SLACK = [
    ("kazuki.ogawa@example.net", "小川 和樹", "営業本部", 2012, 2019, "ja"),
    ("megumi.fujita@example.net", "藤田 恵", "人事部", 2015, 2022, "ja"),
    ("tom.walker@example.net", "Tom Walker", "Engineering", 2016, 2023, "en"),
]


def _roster(session: Session, hr: Actor) -> None:
    """HR's roster import, as `/alumni-admin` does it, with people who are not in Slack yet."""
    rows = [
        RosterRow(line=i, email=e, name=n, department=d, joined_year=j, left_year=left, language=lang)
        for i, (e, n, d, j, left, lang) in enumerate(_NOT_IN_SLACK, start=2)
    ]
    import_roster(session, actor=hr, parsed=ParsedRoster(rows=rows), slack_accounts={})
