"""Search latency of /opportunities on 100,000 opportunities, on SQLite and PostgreSQL, and the HTTP ack.

    .venv/bin/python -m benchmarks.search_latency [--rows 100000] [--db sqlite,postgres] [--repeat 60]
                                                   [--http-requests 100]

Per database:
1. A fresh database (SQLite: a temporary file; PostgreSQL: `alumni_bench_<random>` created on
   TEST_DATABASE_URL and dropped at the end) is migrated and seeded with `--rows` open opportunities,
   mixed Japanese and English, in bulk (Core inserts of the same rows and index entries `post_opportunity`
   writes, built with the same `models.search` functions). A few rows are posted through
   `post_opportunity` itself, and the script checks that the bulk rows and those are found alike.
   Rare two-character words appear in a handful of rows (囲碁 12, 盆栽 6, 茶道 20); common ones in thousands.
2. `models.opportunity.search_opportunities` (one page of 8, loading the rows) runs `--repeat` times per
   query; p50 and p95 are printed.
3. The app is served over HTTP like tests/conftest.py does (threaded WSGI server, signed requests) with
   tests/fake_slack.FakeSlack behind it, and `/opportunities <word>` is sent `--http-requests` times per
   word: p50 and p95 of the ack (the HTTP answer, which carries the result) are printed.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from models import search  # noqa: E402
from models.db import Database  # noqa: E402

SIGNING_SECRET = "bench-signing-secret"
CHANNEL = "C0ALUMNI1"
USER = "U0BENCHUSR"
HR_USER = "U0BENCHHR1"
RARE = {"囲碁": 12, "盆栽": 6, "茶道": 20}
QUERIES = [
    ("rare ja 2 chars", "囲碁"),
    ("rare ja 2 chars", "盆栽"),
    ("common ja", "営業"),
    ("katakana", "エンジニア"),
    ("half-width kana", "ｴﾝｼﾞﾆｱ"),
    ("english word", "python"),
    ("full-width en", "ＰＹＴＨＯＮ"),
    ("two words", "python 東京"),
    ("one char", "東"),
    ("absent word", "zzqx"),
    ("browse (no words)", ""),
]
HTTP_WORDS = ["囲碁", "営業", "python", ""]

TITLES_JA = [
    "バックエンドエンジニア",
    "フロントエンドエンジニア",
    "法人営業",
    "インサイドセールス",
    "プロダクトマネージャー",
    "データアナリスト",
    "人事担当",
    "経理スタッフ",
    "カスタマーサクセス",
    "デザイナー",
    "広報",
    "マーケティング担当",
]
TITLES_EN = [
    "Backend engineer",
    "Frontend engineer",
    "Account executive",
    "Product manager",
    "Data analyst",
    "Python developer",
    "Site reliability engineer",
    "Marketing lead",
    "UX designer",
    "Finance manager",
    "Customer success manager",
    "Technical writer",
]
PHRASES_JA = [
    "東京オフィスでの勤務です。",
    "リモート勤務も可能です。",
    "新規事業の立ち上げを担当していただきます。",
    "法人営業の経験がある方を歓迎します。",
    "チームは10名ほどで、フラットな組織です。",
    "週3日からの業務委託も相談できます。",
    "大阪拠点のメンバーと協力して進めます。",
    "英語を使う機会があります。",
    "顧客の課題をヒアリングし、提案を行います。",
    "データ基盤の設計と運用をお願いします。",
]
PHRASES_EN = [
    "You will work with a small, senior team.",
    "Remote friendly, with an office in Tokyo.",
    "We use Python, Go and PostgreSQL.",
    "Experience with B2B sales is a plus.",
    "Part-time contract work is possible.",
    "Help us build our data platform from scratch.",
    "Japanese and English are both used daily.",
    "Flexible hours and a hybrid work style.",
]
COMPANIES = ["Acme KK", "株式会社サンプル", "Globex", "Initech", "合同会社ミライ", "Umbrella Japan", ""]
SKILLS = ["Python", "Go", "営業", "SQL", "React", "英語", "マーケティング", "AWS", "会計", "デザイン"]
LOCATIONS = ["東京", "大阪", "Remote", "福岡", "名古屋", ""]
STYLES = ["onsite", "hybrid", "remote", ""]


def _row(rng: random.Random, i: int, created: datetime, rare: str | None) -> dict[str, Any]:
    ja = rng.random() < 0.6
    title = rng.choice(TITLES_JA if ja else TITLES_EN)
    phrases = rng.sample(PHRASES_JA if ja else PHRASES_EN, k=rng.randint(2, 4))
    if rng.random() < 0.3:
        phrases += rng.sample(PHRASES_EN if ja else PHRASES_JA, k=1)
    if rare:
        phrases.insert(rng.randint(0, len(phrases)), f"趣味は{rare}です。" if ja else f"We love {rare} too.")
    kind = rng.choices(["job", "gig", "collaboration", "rehire"], weights=[60, 25, 10, 5])[0]
    return {
        "kind": kind,
        "title": f"{title} #{i}",
        "company": rng.choice(COMPANIES),
        "description": " ".join(phrases),
        "location": rng.choice(LOCATIONS),
        "work_style": rng.choice(STYLES),
        "skills": ", ".join(rng.sample(SKILLS, k=rng.randint(1, 3))),
        "compensation": "",
        "apply_url": "",
        "apply_contact": "",
        "poster_id": HR_USER if kind == "rehire" else f"U0POSTER{i % 500:03d}",
        "status": "open",
        "created_at": created,
        "updated_at": created,
        "expires_at": created + timedelta(days=400),
    }


def seed(db: Database, rows: int, *, batch: int = 5000) -> float:
    """Bulk-insert `rows` opportunities and their index entries; returns the seconds it took."""
    from models.opportunity import SEARCH_KIND, Opportunity

    started = time.perf_counter()
    rng = random.Random(20261126)
    rare_rows: dict[int, str] = {}
    for word, count in RARE.items():
        for index in rng.sample(range(rows), count):
            rare_rows[index] = word
    opp_table: sa.Table = Opportunity.__table__  # type: ignore[attr-defined]
    entry_table: sa.Table = search.SearchEntry.__table__  # type: ignore[attr-defined]
    postgres = db.is_postgres
    base = datetime(2026, 1, 1, tzinfo=UTC)
    with db.engine.begin() as conn:
        if postgres:  # build the GIN index once at the end: much faster than row by row
            conn.exec_driver_sql("DROP INDEX IF EXISTS ix_search_entry_bigrams")
    next_id = 1
    for start in range(0, rows, batch):
        opp_rows, entry_rows, fts_rows = [], [], []
        for i in range(start, min(rows, start + batch)):
            created = base + timedelta(minutes=i)
            row = _row(rng, i, created, rare_rows.get(i))
            row["id"] = next_id
            opp_rows.append(row)
            text = search.document_text(row["title"], row["company"], row["description"], row["skills"])
            entry_rows.append(
                {
                    "id": next_id,
                    "kind": SEARCH_KIND,
                    "ref_id": next_id,
                    "sort_key": created,
                    "text": text,
                    "bigrams": search.bigrams(text) if postgres else None,
                }
            )
            if not postgres:
                fts_rows.append({"id": next_id, "grams": search.fts_tokens(text)})
            next_id += 1
        with db.engine.begin() as conn:
            conn.execute(opp_table.insert(), opp_rows)
            conn.execute(entry_table.insert(), entry_rows)
            if fts_rows:
                conn.execute(
                    sa.text(f"INSERT INTO {search.FTS_TABLE}(rowid, grams) VALUES (:id, :grams)"), fts_rows
                )
    with db.engine.begin() as conn:
        if postgres:
            conn.exec_driver_sql("CREATE INDEX ix_search_entry_bigrams ON search_entry USING gin (bigrams)")
            conn.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('opportunity', 'id'), :n)".replace(":n", str(next_id))
            )
            conn.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('search_entry', 'id'), :n)".replace(":n", str(next_id))
            )
            conn.exec_driver_sql("ANALYZE")
        else:
            conn.exec_driver_sql(f"INSERT INTO {search.FTS_TABLE}({search.FTS_TABLE}) VALUES ('optimize')")
            conn.exec_driver_sql("ANALYZE")
    return time.perf_counter() - started


def post_through_the_domain(db: Database) -> list[int]:
    """A few posts made the normal way (the index written by `post_opportunity`)."""
    from models.actors import Actor
    from models.opportunity import Draft, post_opportunity

    ids = []
    with db.session() as session:
        for title, description in (
            ("囲碁部のある会社で法人営業", "週末は囲碁大会もあります。"),
            ("Python engineer (茶道 club)", "Remote first."),
        ):
            created = post_opportunity(
                session,
                actor=Actor(USER),
                draft=Draft(title=title, description=description),
                zone="Asia/Tokyo",
            )
            assert created.id is not None
            ids.append(created.id)
    return ids


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure_search(db: Database, repeat: int) -> list[tuple[str, str, float, float, int, bool]]:
    from models.opportunity import search_opportunities

    out = []
    for label, query in QUERIES:
        times = []
        found, more = 0, False
        for n in range(repeat + 3):
            with db.session() as session:
                t0 = time.perf_counter()
                page = search_opportunities(session, query=query, limit=8)
                elapsed = (time.perf_counter() - t0) * 1000
            if n >= 3:  # the first runs warm caches
                times.append(elapsed)
            found, more = len(page.items), page.has_more
        out.append((label, query, _pct(times, 0.5), _pct(times, 0.95), found, more))
    return out


def measure_raw(db: Database, repeat: int) -> list[tuple[str, float, float]]:
    """The database alone (raw SQL, one connection): the bigram index vs a plain LIKE scan, rare words."""
    out = []
    order = "ORDER BY sort_key DESC, ref_id DESC LIMIT 9"
    for word in ("囲碁", "盆栽"):
        like = {"p": f"%{word}%"}
        if db.is_postgres:
            indexed = (
                "SELECT ref_id FROM search_entry WHERE kind = 'opportunity' "
                f"AND bigrams @> CAST(:g AS text[]) AND text LIKE :p {order}"
            )
            params: dict[str, Any] = {**like, "g": search.bigrams(word)}
        else:
            indexed = (
                "SELECT ref_id FROM search_entry WHERE kind = 'opportunity' AND id IN "
                f"(SELECT rowid FROM {search.FTS_TABLE} WHERE {search.FTS_TABLE} MATCH :m) AND text LIKE :p {order}"
            )
            params = {**like, "m": " AND ".join(f'"{search._hex(g)}"' for g in search.bigrams(word))}
        scan = f"SELECT ref_id FROM search_entry WHERE kind = 'opportunity' AND text LIKE :p {order}"
        for label, statement, values in (
            (f"bigram index {word}", indexed, params),
            (f"LIKE scan {word}", scan, like),
        ):
            times = []
            with db.engine.connect() as conn:
                for n in range(repeat + 3):
                    t0 = time.perf_counter()
                    conn.execute(sa.text(statement), values).all()
                    if n >= 3:
                        times.append((time.perf_counter() - t0) * 1000)
            out.append((label, _pct(times, 0.5), _pct(times, 0.95)))
    return out


def check_results(db: Database, domain_ids: list[int]) -> None:
    """Rare words find exactly their rows (bulk and domain-posted alike); common words fill a page."""
    from models.opportunity import search_opportunities

    with db.session() as session:
        go = search_opportunities(session, query="囲碁", limit=50).items
        assert len(go) == RARE["囲碁"] + 1, len(go)
        assert go[0].id == domain_ids[0], "the domain-posted row is the newest"
        assert len(search_opportunities(session, query="盆栽", limit=50).items) == RARE["盆栽"]
        assert len(search_opportunities(session, query="茶道", limit=50).items) == RARE["茶道"] + 1
        assert all(
            "営業" in (o.title + o.description + o.skills)
            for o in search_opportunities(session, query="営業").items
        )


# -- HTTP ----------------------------------------------------------------------------------------------


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve(db: Database) -> Iterator[Any]:
    """The app over HTTP on 127.0.0.1 with the fake Slack behind it (like tests/conftest.py)."""
    from bot.app import create_app
    from bot.config import Settings
    from bot.services import build_services
    from bot.slack_emulator.web_api import FakeSlack
    from bot.web import wsgi_app
    from tests.slack_requests import SlackSender

    fake = FakeSlack().start()
    fake.add_user(USER, name="bench", real_name="Bench User", locale="ja-JP")
    fake.add_user(HR_USER, name="hr", real_name="HR", locale="ja-JP")
    fake.add_channel(CHANNEL, name="alumni")
    settings = Settings(
        slack_bot_token="xoxb-bench",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake.api_url,
        database_url=db.url,
        alumni_channel=CHANNEL,
        hr_users=frozenset({HR_USER}),
    )
    services = build_services(settings, db=db)
    app = create_app(settings, services=services)
    server = make_server("127.0.0.1", 0, wsgi_app(app, healthy=db.ping), _ThreadingWSGIServer, _QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield SlackSender(f"http://127.0.0.1:{server.server_port}/slack/events", SIGNING_SECRET)
    finally:
        server.shutdown()
        server.server_close()
        fake.stop()


def measure_http(db: Database, requests: int) -> list[tuple[str, float, float]]:
    out = []
    with serve(db) as sender:
        for word in HTTP_WORDS:
            times = []
            for n in range(requests + 3):
                t0 = time.perf_counter()
                answer = sender.command("/opportunities", word, user=USER)
                elapsed = (time.perf_counter() - t0) * 1000
                assert answer.status == 200 and '"blocks"' in answer.text, answer.text[:200]
                if n >= 3:
                    times.append(elapsed)
            out.append((word, _pct(times, 0.5), _pct(times, 0.95)))
    return out


# -- databases -----------------------------------------------------------------------------------------


@contextmanager
def sqlite_database() -> Iterator[Database]:
    folder = tempfile.mkdtemp(prefix="alumni-bench-")
    db = Database(f"sqlite:///{folder}/bench.db")
    try:
        db.upgrade()
        yield db
    finally:
        db.dispose()
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def postgres_database() -> Iterator[Database]:
    import psycopg
    from psycopg import sql

    from bot.config import DEFAULT_TEST_DATABASE_URL

    server = os.environ.get("TEST_DATABASE_URL", DEFAULT_TEST_DATABASE_URL)
    admin = server.replace("postgresql+psycopg://", "postgresql://")
    name = f"alumni_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    db = Database(f"{server.rpartition('/')[0]}/{name}")
    try:
        db.upgrade()
        yield db
    finally:
        db.dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


DATABASES: dict[str, Callable[[], Any]] = {"sqlite": sqlite_database, "postgres": postgres_database}


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--repeat", type=int, default=60)
    parser.add_argument("--http-requests", type=int, default=100)
    args = parser.parse_args(argv)
    print(
        f"alumni-bot search benchmark: {args.rows:,} opportunities, page size 8, python {sys.version.split()[0]}"
    )
    print(f"machine: {os.cpu_count()} CPUs, load average {_load()}")
    for name in [n.strip() for n in args.db.split(",") if n.strip()]:
        with DATABASES[name]() as db:
            seconds = seed(db, args.rows)
            domain_ids = post_through_the_domain(db)
            check_results(db, domain_ids)
            print(f"\n== {name}: seeded in {seconds:.1f} s ==")
            print(f"{'query':<22} {'words':<14} {'p50 ms':>8} {'p95 ms':>8}  page")
            for label, query, p50, p95, found, more in measure_search(db, args.repeat):
                shown = query or "—"
                print(f"{label:<22} {shown:<14} {p50:8.2f} {p95:8.2f}  {found}{'+' if more else ''}")
            print("\nthe database alone (raw SQL):")
            for label, p50, p95 in measure_raw(db, args.repeat):
                print(f"{label:<37} {p50:8.2f} {p95:8.2f}")
            print(f"\n/opportunities over HTTP ({args.http_requests} requests each, sequential):")
            print(f"{'words':<14} {'ack p50 ms':>11} {'ack p95 ms':>11}")
            for word, p50, p95 in measure_http(db, args.http_requests):
                print(f"{word or '—':<14} {p50:11.2f} {p95:11.2f}")
            print(f"(load average now {_load()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
