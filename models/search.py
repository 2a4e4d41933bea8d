"""A generic text search index of character bigrams, for Japanese substrings and English words alike.

Any feature indexes its rows as documents `(kind, ref_id, text, sort_key)`; a query returns `ref_id`s of
one kind, newest `sort_key` first, one page at a time (no exact counts of large results).

How it works. Text and queries are normalised (`models.textnorm.normalize`: NFKC + case folding). Every
query word of two characters or more must contain all of its character bigrams (`営業` → {営業},
`python` → {py, yt, th, ho, on}); the index finds the documents holding those bigrams, and a `LIKE`
recheck on the normalised text keeps only real substring matches. One-character words use `LIKE` alone.

- PostgreSQL: `search_entry.bigrams` is a `text[]` of the document's distinct bigrams with a GIN index,
  queried with `@>`.
- SQLite: the FTS5 table `search_fts` (contentless, `detail=none`) holds one token per distinct bigram,
  hex-encoded so the unicode61 tokenizer keeps each bigram whole; its rowid is `search_entry.id`.

Rare words are answered from the index (a bounded candidate list); words the index says are common are
answered by walking the newest documents first and stopping at the page size, which is fast precisely
because matches are common. Index maintenance (`index_document`, `remove_document`) runs in the caller's
session, so it commits or rolls back with the write it belongs to.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlalchemy.dialects import postgresql
from sqlmodel import Field, Session, SQLModel, col, select

from models.textnorm import like_pattern, normalize, query_terms
from models.types import UTCDateTime

FTS_TABLE = "search_fts"
# The SQLite DDL (the migration runs it; `ensure_sqlite_fts` too, for databases built with create_all).
FTS_DDL = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
    "grams, content='', detail=none, tokenize='unicode61 remove_diacritics 0')"
)
# Above this many index candidates a word counts as common: walk newest-first instead.
CANDIDATE_CAP = 1000
MAX_GRAMS_PER_QUERY = 48
MAX_TERMS = 6

# A column of distinct bigrams on PostgreSQL (text[]); unused (NULL) on SQLite, which uses FTS5.
BigramArray = Text().with_variant(postgresql.ARRAY(Text()), "postgresql")


class SearchEntry(SQLModel, table=True):
    """One indexed document: a row of some feature (`kind`, `ref_id`) and its normalised text."""

    __tablename__ = "search_entry"
    __table_args__ = (
        UniqueConstraint("kind", "ref_id", name="uq_search_entry_kind_ref"),
        Index("ix_search_entry_kind_sort", "kind", "sort_key", "ref_id"),
        # GIN on PostgreSQL; on SQLite the column is always NULL, so the partial index stays empty.
        Index(
            "ix_search_entry_bigrams",
            "bigrams",
            postgresql_using="gin",
            sqlite_where=sa.text("bigrams IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    ref_id: int
    sort_key: datetime = Field(sa_type=UTCDateTime)
    text: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    bigrams: list[str] | None = Field(default=None, sa_column=Column(BigramArray, nullable=True))


@dataclass(frozen=True)
class SearchPage:
    """One page of results: `ref_ids` newest first; `has_more` when a further page exists; `rows`, when the
    search was asked for more columns (`also`), those columns of each result, in the same order."""

    ref_ids: list[int]
    has_more: bool
    rows: list[tuple[Any, ...]] = field(default_factory=list)


# -- text to bigrams ---------------------------------------------------------------------------------


def bigrams(text: str) -> list[str]:
    """Distinct character bigrams of normalised text, in first-seen order, skipping white space."""
    seen: dict[str, None] = {}
    for word in text.split(" "):
        for i in range(len(word) - 1):
            seen.setdefault(word[i : i + 2], None)
    return list(seen)


def _hex(gram: str) -> str:
    return gram.encode("utf-8").hex()


def fts_tokens(text: str) -> str:
    """The SQLite FTS5 document of normalised text: its distinct bigrams, hex-encoded, space-separated."""
    return " ".join(_hex(g) for g in bigrams(text))


_fts_tokens = fts_tokens  # the name benchmarks/seed.py uses


def document_text(*parts: str | None) -> str:
    """Join a document's fields into one normalised text (fields separated so no bigram spans two)."""
    return normalize(" ".join(p for p in parts if p))


# -- maintenance -------------------------------------------------------------------------------------


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def index_document(session: Session, *, kind: str, ref_id: int, text: str, sort_key: datetime) -> None:
    """Add or refresh one document (`text` is normalised here). Runs in the caller's unit of work."""
    normalised = normalize(text)
    entry = session.exec(
        select(SearchEntry).where(SearchEntry.kind == kind, SearchEntry.ref_id == ref_id)
    ).first()
    dialect = _dialect(session)
    if entry is not None and entry.text == normalised and entry.sort_key == sort_key:
        return
    if entry is None:
        entry = SearchEntry(kind=kind, ref_id=ref_id, sort_key=sort_key, text=normalised)
        session.add(entry)
    else:
        if dialect == "sqlite":
            _fts_delete(session, entry)
        entry.text = normalised
        entry.sort_key = sort_key
    entry.bigrams = bigrams(normalised) if dialect == "postgresql" else None
    session.flush()
    if dialect == "sqlite":
        session.execute(
            sa.text(f"INSERT INTO {FTS_TABLE}(rowid, grams) VALUES (:id, :grams)"),
            {"id": entry.id, "grams": _fts_tokens(normalised)},
        )


def remove_document(session: Session, *, kind: str, ref_id: int) -> None:
    """Drop one document from the index (when its row is deleted or must no longer be found)."""
    entry = session.exec(
        select(SearchEntry).where(SearchEntry.kind == kind, SearchEntry.ref_id == ref_id)
    ).first()
    if entry is None:
        return
    if _dialect(session) == "sqlite":
        _fts_delete(session, entry)
    session.delete(entry)
    session.flush()


def _fts_delete(session: Session, entry: SearchEntry) -> None:
    # A contentless FTS5 table forgets a document when given the exact tokens it was indexed with.
    session.execute(
        sa.text(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, grams) VALUES ('delete', :id, :grams)"),
        {"id": entry.id, "grams": _fts_tokens(entry.text)},
    )


def reindex(session: Session, *, kind: str, documents: Iterable[tuple[int, str, datetime]]) -> int:
    """Index many `(ref_id, text, sort_key)` documents (backfills); returns how many were given."""
    count = 0
    for ref_id, text, sort_key in documents:
        index_document(session, kind=kind, ref_id=ref_id, text=text, sort_key=sort_key)
        count += 1
    return count


# -- queries -----------------------------------------------------------------------------------------

Restrict = Callable[[Any], Any]


def search(
    session: Session,
    *,
    kind: str,
    query: str | None,
    limit: int = 10,
    offset: int = 0,
    restrict: Restrict | None = None,
    also: Sequence[Any] = (),
    shape: Hashable | None = None,
    params: Mapping[str, Any] | None = None,
) -> SearchPage:
    """Documents of `kind` matching every word of `query`, newest `sort_key` first.

    An empty query lists the newest documents. `restrict` receives the statement (a `select` of
    `SearchEntry.ref_id`) and may join the feature's table and add conditions, for example
    `lambda q: q.join(Thing, Thing.id == SearchEntry.ref_id).where(Thing.visible)`. `also`: more columns or
    entities of tables `restrict` joins (`Thing`), read by the same statement into `SearchPage.rows`.

    `shape`: the caller promises that `restrict` adds the same conditions whenever it passes this value,
    with every per-call value a `bindparam` whose value is in `params`; the statement is then built once
    per shape and reused (building and fingerprinting a statement costs more than running it).
    """
    terms = query_terms(query, limit=MAX_TERMS)
    values: dict[str, Any] = {"kind": kind, "offset": max(0, offset), "limit": limit + 1, **(params or {})}
    grams: list[str] = []
    term_grams: list[list[str]] = []
    for index, term in enumerate(terms):
        values[f"term_{index}"] = like_pattern(term)
        if len(term) >= 2:
            term_grams.append(bigrams(term))
            grams.extend(g for g in term_grams[-1] if g not in grams)
    grams = grams[:MAX_GRAMS_PER_QUERY]
    path = "walk"
    if grams and _dialect(session) == "postgresql":
        # One statement; the GIN condition only when the words are rare by the column's statistics
        # (PostgreSQL multiplies the selectivities of several bigrams and would otherwise take a common
        # word for a rare one, reading thousands of rows through the GIN index).
        estimate = _pg_estimate(session, term_grams)
        if estimate is None or estimate <= CANDIDATE_CAP:
            path, values["grams"] = "gin", grams
    elif grams:
        # FTS5 counts cheaply: at most CANDIDATE_CAP candidates means rare, so look those up directly.
        candidates = _fts_candidates(session, grams=grams, cap=CANDIDATE_CAP + 1)
        if len(candidates) <= CANDIDATE_CAP:
            if not candidates:
                return SearchPage([], False)
            path, values["candidates"] = "fts", candidates
    # Common words: the LIKE conditions alone, walking the newest documents first (stops at the page).
    key = (shape, len(terms), path, tuple(also))
    stmt = _STATEMENTS.get(key) if shape is not None else None
    if stmt is None:
        stmt = _statement(len(terms), path, restrict, also)
        if shape is not None:
            _STATEMENTS[key] = stmt
    if not also:
        ids = [int(r) for r in session.execute(stmt, values).scalars().all()]
        return SearchPage(ids[:limit], len(ids) > limit)
    rows = [tuple(r) for r in session.execute(stmt, values).all()]
    return SearchPage([int(r[0]) for r in rows[:limit]], len(rows) > limit, [r[1:] for r in rows[:limit]])


# Statements by (shape, number of words, path, also): a handful per caller.
_STATEMENTS: dict[tuple[Any, ...], Any] = {}


def _statement(terms: int, path: str, restrict: Restrict | None, also: Sequence[Any]) -> Any:
    """The search statement, every value a bind parameter (see `search`)."""
    stmt = select(SearchEntry.ref_id, *also).where(SearchEntry.kind == sa.bindparam("kind"))
    for index in range(terms):
        stmt = stmt.where(col(SearchEntry.text).like(sa.bindparam(f"term_{index}"), escape="\\"))
    if path == "gin":
        array = sa.cast(sa.bindparam("grams", type_=postgresql.ARRAY(Text())), postgresql.ARRAY(Text()))
        stmt = stmt.where(SearchEntry.__table__.c.bigrams.op("@>")(array))  # type: ignore[attr-defined]
    elif path == "fts":
        stmt = stmt.where(col(SearchEntry.id).in_(sa.bindparam("candidates", expanding=True)))
    if restrict is not None:
        stmt = restrict(stmt)
    return (
        stmt.order_by(col(SearchEntry.sort_key).desc(), col(SearchEntry.ref_id).desc())
        .offset(sa.bindparam("offset", type_=sa.Integer()))
        .limit(sa.bindparam("limit", type_=sa.Integer()))
    )


_FTS_CANDIDATES = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ? LIMIT ?"


def _fts_candidates(session: Session, *, grams: Sequence[str], cap: int) -> list[int]:
    """SQLite: ids of entries holding every bigram (at most `cap`).

    Straight through the sqlite3 cursor of the session's connection (same transaction): a common word
    brings `cap` ids back only to be counted, and SQLAlchemy's result rows cost more than the query.
    """
    match = " AND ".join(f'"{_hex(g)}"' for g in grams)
    cursor = session.connection().connection.cursor()
    try:
        return [row[0] for row in cursor.execute(_FTS_CANDIDATES, (match, cap)).fetchall()]
    finally:
        cursor.close()


@dataclass(frozen=True)
class _BigramStats:
    expires: float
    frequencies: dict[str, float]
    floor: float  # bigrams not listed are rarer than this (kept for diagnostics)
    rows: float


_PG_STATS: dict[str, _BigramStats | None] = {}
_PG_STATS_EXPIRES: dict[str, float] = {}
STATS_TTL = 300.0


def forget_statistics() -> None:
    """Drop the cached PostgreSQL column statistics (tests, after ANALYZE)."""
    _PG_STATS.clear()
    _PG_STATS_EXPIRES.clear()


def _pg_stats(session: Session) -> _BigramStats | None:
    bind = session.get_bind()
    key = str(bind.engine.url) if hasattr(bind, "engine") else str(bind)
    if _PG_STATS_EXPIRES.get(key, 0.0) > time.monotonic():
        return _PG_STATS.get(key)
    row = session.execute(
        sa.text(
            "SELECT s.most_common_elems::text::text[], s.most_common_elem_freqs, c.reltuples "
            "FROM pg_stats s JOIN pg_class c ON c.relname = s.tablename "
            "JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = s.schemaname "
            "WHERE s.schemaname = current_schema() AND s.tablename = 'search_entry' "
            "AND s.attname = 'bigrams'"
        )
    ).first()
    stats: _BigramStats | None = None
    if row is not None and row[0] and row[1] and row[2] and float(row[2]) > 0:
        elements, freqs = list(row[0]), [float(f) for f in row[1]]
        if len(freqs) >= len(elements) + 1:
            stats = _BigramStats(
                expires=time.monotonic() + STATS_TTL,
                frequencies=dict(zip(elements, freqs[: len(elements)], strict=True)),
                floor=freqs[len(elements)],
                rows=float(row[2]),
            )
    _PG_STATS[key] = stats
    _PG_STATS_EXPIRES[key] = time.monotonic() + STATS_TTL
    return stats


def _pg_estimate(session: Session, term_grams: Sequence[Sequence[str]]) -> float | None:
    """Estimated rows matching every word: the frequency of the rarest bigram of the rarest word.

    None when PostgreSQL has no statistics yet (a young table: the index path is right then).
    """
    stats = _pg_stats(session)
    if stats is None or not term_grams:
        return None
    # A bigram missing from the most-common list is rarer than all of them: its word counts as rare.
    per_term = [min(stats.frequencies.get(g, 0.0) for g in grams) for grams in term_grams if grams]
    return min(per_term) * stats.rows if per_term else None


# -- migrations and autogenerate ---------------------------------------------------------------------


def _is_fts_table(name: str | None) -> bool:
    return bool(name) and (name == FTS_TABLE or str(name).startswith(FTS_TABLE + "_"))


@cache
def register_autogenerate_filter() -> None:
    """Keep Alembic's comparison from proposing to drop the FTS5 table and its shadow tables.

    SQLAlchemy reflects an FTS5 virtual table (and the `_data`, `_idx`, `_config`, `_docsize` tables
    SQLite keeps for it) as ordinary tables that no model declares. Alembic's global comparator
    registry (its documented hook for third-party extensions) runs this after the table comparison.
    Called where Alembic compares (migrations/env.py, the migration tests), not at import: web workers never
    import Alembic (about 10 MiB each).
    """
    try:
        from alembic.autogenerate.compare import comparators
        from alembic.operations import ops
        from alembic.util.langhelpers import DispatchPriority, PriorityDispatchResult
    except ImportError:  # an Alembic without the priority dispatcher: nothing to hook
        return

    @comparators.dispatch_for("schema", qualifier="sqlite", priority=DispatchPriority.LAST)
    def _drop_fts_noise(autogen_context: Any, upgrade_ops: Any, schemas: Any) -> Any:
        upgrade_ops.ops[:] = [
            op
            for op in upgrade_ops.ops
            if not (isinstance(op, ops.DropTableOp | ops.ModifyTableOps) and _is_fts_table(op.table_name))
        ]
        return PriorityDispatchResult.CONTINUE
