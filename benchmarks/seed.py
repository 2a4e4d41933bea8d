"""Seed a database with a realistic community for the load benchmark (bulk inserts, a minute or so).

    .venv/bin/python -m benchmarks.seed DATABASE_URL [--opportunities 100000] [--members 20000] [--events 500]

Rows go straight into the feature tables (SQLAlchemy Core, batches of 5,000) with the search index built by
the same functions the domain operations use (`models.search.bigrams`, `document_text`), so searches see
exactly what a real `post_opportunity` would have written. Text mixes Japanese and English; a few rare
words (囲碁, 盆栽, 茶道, "zymurgy") appear in a handful of rows, common ones (python, 営業, engineer) in
thousands. Bench users `U0BENCH001…` are the first members (the load driver acts as them).
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from models.db import Database

BENCH_USERS = [f"U0BENCH{n:03d}" for n in range(1, 129)]
ORGANIZER = "U0BENCHORG"
RARE_WORDS = {"囲碁": 12, "盆栽": 6, "茶道": 20, "zymurgy": 8}  # word -> rows holding it
COMMON_EN = [
    "python",
    "engineer",
    "backend",
    "frontend",
    "data",
    "designer",
    "product",
    "manager",
    "sales",
    "marketing",
    "remote",
    "startup",
    "cloud",
    "security",
    "mobile",
    "react",
    "golang",
    "finance",
    "consultant",
    "analyst",
    "writer",
    "support",
    "platform",
    "machine",
    "learning",
    "research",
]
COMMON_JA = [
    "営業",
    "東京",
    "大阪",
    "エンジニア",
    "募集",
    "開発",
    "企画",
    "経理",
    "人事",
    "デザイン",
    "広報",
    "業務委託",
    "副業",
    "正社員",
    "リモート",
    "データ",
    "分析",
    "マーケティング",
    "新規事業",
    "顧客",
]
COMPANIES = ["Acme", "株式会社サンプル", "Globex", "Initech", "山田商事", "Umbrella", "北斗システム", "Hooli"]
NAMES_EN = ["Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery", "Quinn"]
NAMES_JA = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤"]
BATCH = 5000


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _batches(rows: Iterator[dict[str, Any]], size: int = BATCH) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _fill_required(table: sa.Table, row: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Give every NOT NULL column without a default a neutral value (tables grow while we write this)."""
    for column in table.columns:
        if column.name in row or column.primary_key or column.nullable:
            continue
        if column.default is not None and getattr(column.default, "is_scalar", False):
            row[column.name] = column.default.arg
            continue
        if column.server_default is not None:
            continue
        python_type: Any
        try:
            python_type = column.type.python_type
        except NotImplementedError:
            python_type = str
        if python_type is bool:
            row[column.name] = False
        elif python_type is int:
            row[column.name] = 0
        elif python_type is datetime:
            row[column.name] = at
        elif python_type is date:
            row[column.name] = at.date()
        else:
            row[column.name] = ""
    return row


def _text(rng: random.Random, words: int) -> str:
    parts = []
    for _ in range(words):
        parts.append(rng.choice(COMMON_JA) if rng.random() < 0.5 else rng.choice(COMMON_EN))
    # Japanese is written without spaces: glue some neighbours together.
    out = parts[0]
    for word in parts[1:]:
        out += ("" if rng.random() < 0.4 else " ") + word
    return out


def _rare_rows(total: int, rng: random.Random) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for word, count in RARE_WORDS.items():
        for index in rng.sample(range(total), min(count, total)):
            out.setdefault(index, []).append(word)
    return out


def seed_members(conn: sa.Connection, count: int, rng: random.Random, at: datetime) -> None:
    from models.member import Member, build_search_text

    table: sa.Table = Member.__table__  # type: ignore[attr-defined]

    def rows() -> Iterator[dict[str, Any]]:
        for n in range(count):
            user = BENCH_USERS[n] if n < len(BENCH_USERS) else f"U1{n:08d}"
            ja = rng.random() < 0.5
            name = f"{rng.choice(NAMES_JA)} {rng.choice(NAMES_JA)}" if ja else f"{rng.choice(NAMES_EN)} {n}"
            member = Member(
                slack_user_id=user,
                display_name=name,
                email=f"member{n}@example.com",
                locale="ja-JP" if ja else "en-US",
                tz="Asia/Tokyo" if ja else "America/New_York",
                former_department=rng.choice(COMMON_JA),
                former_role=rng.choice(COMMON_EN),
                current_company=rng.choice(COMPANIES),
                current_role=rng.choice(COMMON_EN),
                location=rng.choice(["東京", "大阪", "London", "New York", "福岡"]),
                skills=", ".join(rng.sample(COMMON_EN, 3)),
                interests=_text(rng, 3),
                open_to_gigs=rng.random() < 0.2,
                open_to_rehire=rng.random() < 0.1,
                open_to_mentoring=rng.random() < 0.1,
                consented_at=at,
                consent_version="1",
                profile_edited_at=at - timedelta(minutes=n),
                created_at=at - timedelta(days=rng.randint(0, 700)),
                updated_at=at,
            )
            member.search_text = build_search_text(member)
            values = {c.name: getattr(member, c.name) for c in table.columns if c.name != "id"}
            yield _fill_required(table, {k: v for k, v in values.items() if v is not None}, at)

    for batch in _batches(rows()):
        conn.execute(table.insert(), batch)


def seed_opportunities(conn: sa.Connection, count: int, rng: random.Random, at: datetime) -> None:
    from models import search
    from models.opportunity import KINDS, SEARCH_KIND, STATUS_OPEN, WORK_STYLES, Opportunity

    table: sa.Table = Opportunity.__table__  # type: ignore[attr-defined]
    entry: sa.Table = search.SearchEntry.__table__  # type: ignore[attr-defined]
    postgres = conn.dialect.name == "postgresql"
    rare = _rare_rows(count, rng)
    next_id = (conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0) + 1
    next_entry = (conn.execute(sa.select(sa.func.max(entry.c.id))).scalar() or 0) + 1
    for start in range(0, count, BATCH):
        opp_rows, entry_rows, fts_rows = [], [], []
        for n in range(start, min(count, start + BATCH)):
            created = at - timedelta(seconds=(count - n) * 150)  # newest last, ~6 months in all
            title = _text(rng, 3)
            description = _text(rng, 25)
            if n in rare:
                description += " " + " ".join(rare[n])
            skills = ", ".join(rng.sample(COMMON_EN, 3))
            company = rng.choice(COMPANIES)
            opp_id = next_id + n
            opp_rows.append(
                _fill_required(
                    table,
                    {
                        "id": opp_id,
                        "kind": rng.choice([k for k in KINDS if k != "rehire"]),
                        "title": title[:150],
                        "company": company,
                        "description": description,
                        "location": rng.choice(["東京", "Osaka", "Remote", "London"]),
                        "work_style": rng.choice(WORK_STYLES),
                        "skills": skills,
                        "compensation": "",
                        "apply_url": f"https://jobs.example.com/{opp_id}",
                        "apply_contact": "",
                        "poster_id": BENCH_USERS[n % len(BENCH_USERS)]
                        if n % 50 == 0
                        else f"U1{n % 20000:08d}",
                        "status": STATUS_OPEN,
                        "created_at": created,
                        "updated_at": created,
                        "expires_at": at + timedelta(days=rng.randint(1, 60)),
                    },
                    at,
                )
            )
            text = search.document_text(title[:150], company, description, skills)
            entry_id = next_entry + n
            entry_rows.append(
                {
                    "id": entry_id,
                    "kind": SEARCH_KIND,
                    "ref_id": opp_id,
                    "sort_key": created,
                    "text": text,
                    "bigrams": search.bigrams(text) if postgres else None,
                }
            )
            if not postgres:
                fts_rows.append({"id": entry_id, "grams": search._fts_tokens(text)})
        conn.execute(table.insert(), opp_rows)
        conn.execute(entry.insert(), entry_rows)
        if fts_rows:
            conn.execute(
                sa.text(f"INSERT INTO {search.FTS_TABLE}(rowid, grams) VALUES (:id, :grams)"), fts_rows
            )


def seed_events(conn: sa.Connection, count: int, rng: random.Random, at: datetime) -> None:
    from models.event import Event

    table: sa.Table = Event.__table__  # type: ignore[attr-defined]
    rows = []
    for n in range(count):
        starts = at + timedelta(days=(n - count // 2) * 2 / 3, hours=rng.randint(0, 12))
        rows.append(
            _fill_required(
                table,
                {
                    "title": f"{rng.choice(COMMON_JA)} meetup {n}",
                    "description": _text(rng, 15),
                    "starts_at": starts,
                    "ends_at": starts + timedelta(hours=2),
                    "tz": "Asia/Tokyo",
                    "place": rng.choice(["東京オフィス", "Online", "大阪"]),
                    "online_url": "",
                    "capacity": rng.choice([None, 20, 50, 100000]),
                    "organizer": ORGANIZER,
                    "created_at": at - timedelta(days=30),
                    "updated_at": at - timedelta(days=30),
                },
                at,
            )
        )
    conn.execute(table.insert(), rows)


def seed(url: str, *, opportunities: int, members: int, events: int, rng_seed: int = 9) -> dict[str, float]:
    """Upgrade the database, then insert the rows; returns seconds per table."""
    db = Database(url)
    db.upgrade()
    rng = random.Random(rng_seed)
    at = _now()
    timings: dict[str, float] = {}
    with db.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA synchronous=OFF")
        for name, func, count in (
            ("members", seed_members, members),
            ("opportunities", seed_opportunities, opportunities),
            ("events", seed_events, events),
        ):
            started = time.perf_counter()
            func(conn, count, rng, at)
            timings[name] = time.perf_counter() - started
    with db.engine.begin() as conn:
        if db.is_postgres:
            conn.exec_driver_sql("ANALYZE")
        else:
            conn.exec_driver_sql("ANALYZE")
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return timings


def first_event_ids(url: str, limit: int = 50) -> list[int]:
    """Upcoming events (RSVP targets for the benchmark)."""
    from models.event import Event

    db = Database(url)
    table: sa.Table = Event.__table__  # type: ignore[attr-defined]
    with db.engine.connect() as conn:
        ids = conn.execute(
            sa.select(table.c.id).where(table.c.starts_at > _now()).order_by(table.c.starts_at).limit(limit)
        ).scalars()
        out = list(ids)
    db.dispose()
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("database_url")
    parser.add_argument("--opportunities", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=500)
    args = parser.parse_args(argv)
    timings = seed(
        args.database_url, opportunities=args.opportunities, members=args.members, events=args.events
    )
    print(" ".join(f"{k}={v:.1f}s" for k, v in timings.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
