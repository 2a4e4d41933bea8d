"""The generic bigram search index, on SQLite (FTS5) and PostgreSQL (text[] + GIN)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from models import search
from models.db import Database

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _index(db: Database, docs: dict[int, str], kind: str = "thing") -> None:
    with db.session() as session:
        for ref_id, text in docs.items():
            search.index_document(
                session, kind=kind, ref_id=ref_id, text=text, sort_key=T0 + timedelta(minutes=ref_id)
            )


def _ids(db: Database, query: str, kind: str = "thing", **kwargs: object) -> list[int]:
    with db.session() as session:
        return search.search(session, kind=kind, query=query, **kwargs).ref_ids  # type: ignore[arg-type]


DOCS = {
    1: "法人営業マネージャー 東京",
    2: "バックエンドエンジニア Python Django",
    3: "Senior PYTHON developer, remote",
    4: "ｴﾝｼﾞﾆｱ募集（半角カナ）",
    5: "囲碁 club organiser",
    6: "Marketing lead",
    7: "100% remote_work c++ engineer",
}


def test_japanese_substrings_english_words_and_width_forms(db: Database) -> None:
    _index(db, DOCS)
    assert _ids(db, "営業") == [1]
    assert _ids(db, "エンジニア") == [4, 2]  # half-width ｴﾝｼﾞﾆｱ is normalised; newest first
    assert _ids(db, "ｴﾝｼﾞﾆｱ") == [4, 2]
    assert _ids(db, "python") == [3, 2]
    assert _ids(db, "ＰＹＴＨＯＮ") == [3, 2]
    assert _ids(db, "囲碁") == [5]
    assert _ids(db, "python remote") == [3]  # every word must match
    assert _ids(db, "engineer") == [7]
    assert _ids(db, "ruby") == []


def test_bigrams_are_rechecked_as_substrings(db: Database) -> None:
    # "tokyo" and "kyoto" share bigrams but only one holds the word.
    _index(db, {1: "kyoto tok", 2: "tokyo"})
    assert _ids(db, "tokyo") == [2]
    assert _ids(db, "kyoto") == [1]


def test_one_character_terms_and_wildcards_are_literal(db: Database) -> None:
    _index(db, DOCS)
    assert _ids(db, "東") == [1]
    assert _ids(db, "%") == [7]
    assert _ids(db, "_") == [7]
    assert _ids(db, "c++") == [7]
    assert _ids(db, "100%") == [7]


def test_reindex_and_remove_keep_the_index_current(db: Database) -> None:
    _index(db, DOCS)
    _index(db, {1: "経理スタッフ"})
    assert _ids(db, "営業") == []
    assert _ids(db, "経理") == [1]
    with db.session() as session:
        search.remove_document(session, kind="thing", ref_id=1)
    assert _ids(db, "経理") == []
    with db.session() as session:
        assert session.exec(select(search.SearchEntry).where(search.SearchEntry.ref_id == 1)).first() is None


def test_a_rolled_back_write_leaves_no_index_entry(db: Database) -> None:
    with pytest.raises(RuntimeError), db.session() as session:
        search.index_document(session, kind="thing", ref_id=9, text="幻の求人", sort_key=T0)
        raise RuntimeError("the feature's write failed")
    assert _ids(db, "幻の") == []


def test_kinds_are_separate_and_pages_stop_at_the_limit(db: Database) -> None:
    _index(db, {i: f"営業 案件 {i}" for i in range(1, 26)})
    _index(db, {1: "営業 member"}, kind="member")
    first = search.search
    with db.session() as session:
        page = first(session, kind="thing", query="営業", limit=10)
        assert page.ref_ids == list(range(25, 15, -1)) and page.has_more
        last = first(session, kind="thing", query="営業", limit=10, offset=20)
        assert last.ref_ids == [5, 4, 3, 2, 1] and not last.has_more
        assert first(session, kind="member", query="営業", limit=10).ref_ids == [1]
        assert first(session, kind="thing", query="", limit=3).ref_ids == [25, 24, 23]


def test_common_words_walk_newest_first(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    # Past the candidate cap the query walks the newest documents with LIKE and stops at the page size.
    monkeypatch.setattr(search, "CANDIDATE_CAP", 5)
    _index(db, {i: ("営業職" if i % 2 else "エンジニア") for i in range(1, 41)})
    if db.is_postgres:  # PostgreSQL decides from the column statistics
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE search_entry")
        search.forget_statistics()
        with db.session() as session:
            assert (search._pg_estimate(session, [search.bigrams("営業")]) or 0) > 5
            assert search._pg_estimate(session, [search.bigrams("囲碁")]) == 0
    assert _ids(db, "営業", limit=3) == [39, 37, 35]
    assert _ids(db, "エンジニア", limit=2, offset=2) == [36, 34]
    assert _ids(db, "営業 エンジニア") == []
    search.forget_statistics()


def test_restrict_joins_the_features_table(db: Database) -> None:
    _index(db, DOCS)
    with db.session() as session:
        page = search.search(
            session,
            kind="thing",
            query="python",
            restrict=lambda q: q.where(search.SearchEntry.ref_id != 3),
        )
    assert page.ref_ids == [2]


def test_a_statement_kept_by_shape_takes_each_call_s_own_values(db: Database) -> None:
    # `shape`: the statement is built once and reused; the words, filters and pages of each call still apply.
    import sqlalchemy as sa

    _index(db, DOCS)

    def below(call: dict[str, object]) -> list[int]:
        with db.session() as session:
            return search.search(
                session,
                kind="thing",
                query=str(call["query"]),
                restrict=lambda q: q.where(search.SearchEntry.ref_id < sa.bindparam("below")),
                shape="below",
                params={"below": call["below"]},
                limit=int(str(call.get("limit", 10))),
                offset=int(str(call.get("offset", 0))),
            ).ref_ids

    assert below({"query": "python", "below": 10}) == [3, 2]
    assert below({"query": "python", "below": 3}) == [2]
    assert below({"query": "囲碁", "below": 10}) == [5]
    assert below({"query": "remote", "below": 10, "limit": 1, "offset": 1}) == [3]
    assert below({"query": "engineer remote", "below": 10}) == [7]
    assert below({"query": "", "below": 3}) == [2, 1]
