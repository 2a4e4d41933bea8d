"""Directory search latency (`/alumni [words]`) on 20,000 members, on SQLite and PostgreSQL.

    .venv/bin/python -m benchmarks.directory_search [--rows 20000] [--db sqlite,postgres] [--repeat 40]

A fresh database per engine (SQLite: a temporary file; PostgreSQL: `alumni_bench_<random>` on
TEST_DATABASE_URL, dropped at the end) is migrated and seeded in bulk with consented members, mixed
Japanese and English, search text built by `models.member.build_search_text` exactly as profile edits do.
`models.profile.search_members` (one page of 10, as a non-HR member) runs `--repeat` times per query;
p50 and p95 are printed. The search is a LIKE scan over the normalised `search_text` (no index).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

from models.actors import Actor  # noqa: E402
from models.db import Database  # noqa: E402
from models.member import Member, build_search_text  # noqa: E402
from models.profile import search_members  # noqa: E402
from models.tables import import_all  # noqa: E402

COMPANIES = ["株式会社さくら技研", "Acme Corp", "Globex", "合同会社みらい", "Initech", "株式会社ひかり商事"]
ROLES = ["エンジニア", "営業マネージャー", "Product manager", "Designer", "データアナリスト", "CTO"]
DEPARTMENTS = ["営業部", "Engineering", "人事部", "Marketing", "経理部"]
SKILLS = ["Python", "Go", "SQL", "営業", "法人営業", "マーケティング", "Figma", "Kotlin", "会計", "採用"]
RARE = {"囲碁": 8, "Haskell": 5}
QUERIES = ["python", "営業", "さくら技研", "囲碁", "haskell", "gig python", "出戻り", "nothing-matches"]


def seed(db: Database, rows: int) -> None:
    rng = random.Random(42)
    rare = [word for word, count in RARE.items() for _ in range(count)]
    base = datetime(2026, 1, 1, tzinfo=UTC)
    batch: list[dict[str, object]] = []
    for i in range(rows):
        skills = rng.sample(SKILLS, 3)
        if i < len(rare):
            skills.append(rare[i])
        member = Member(
            slack_user_id=f"UB{i:08d}",
            display_name=f"Member {i}" if i % 2 else f"山田 {i}",
            former_department=rng.choice(DEPARTMENTS),
            current_company=rng.choice(COMPANIES),
            current_role=rng.choice(ROLES),
            skills=", ".join(skills),
            open_to_gigs=rng.random() < 0.2,
            open_to_rehire=rng.random() < 0.1,
            consented_at=base,
            profile_edited_at=base + timedelta(minutes=i),
        )
        member.search_text = build_search_text(member)
        data = member.model_dump()
        data.pop("id")
        batch.append(data)
        if len(batch) == 2000:
            _insert(db, batch)
            batch = []
    if batch:
        _insert(db, batch)


def _insert(db: Database, batch: list[dict[str, object]]) -> None:
    with db.engine.begin() as conn:
        conn.execute(Member.__table__.insert(), batch)  # type: ignore[attr-defined]


def measure(db: Database, repeat: int) -> None:
    viewer = Actor("U0VIEWER1")
    for query in QUERIES:
        times = []
        found = 0
        for _ in range(repeat):
            start = time.perf_counter()
            with db.session() as session:
                page = search_members(session, actor=viewer, query=query, limit=10)
                found = len(page.members)
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
        print(f"  {query!r:22} {found:3d} shown  p50 {statistics.median(times):7.2f} ms  p95 {p95:7.2f} ms")


def run_sqlite(rows: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/bench.db")
        db.upgrade()
        started = time.perf_counter()
        seed(db, rows)
        print(f"sqlite: {rows} members seeded in {time.perf_counter() - started:.1f}s")
        measure(db, repeat)
        db.dispose()


def run_postgres(rows: int, repeat: int) -> None:
    from tests.databases import _libpq, _with_dbname, test_server_url

    server = test_server_url()
    name = f"alumni_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_libpq(server), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        db = Database(_with_dbname(server, name))
        db.upgrade()
        started = time.perf_counter()
        seed(db, rows)
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE member")
        print(f"postgres: {rows} members seeded in {time.perf_counter() - started:.1f}s")
        measure(db, repeat)
        db.dispose()
    finally:
        with psycopg.connect(_libpq(server), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    import_all()
    for engine in args.db.split(","):
        if engine == "sqlite":
            run_sqlite(args.rows, args.repeat)
        elif engine == "postgres":
            run_postgres(args.rows, args.repeat)


if __name__ == "__main__":
    main()
