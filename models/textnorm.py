"""Text normalisation for search: NFKC (full-width ＰＹＴＨＯＮ and half-width ｴﾝｼﾞﾆｱ match their usual
forms) and case folding. Stored search text and queries both go through `normalize`."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def normalize(text: str | None) -> str:
    """NFKC, case-folded, with runs of white space collapsed to one space."""
    if not text:
        return ""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def query_terms(query: str | None, *, limit: int = 8) -> list[str]:
    """The distinct normalised words of a search query (at most `limit`)."""
    seen: list[str] = []
    for term in normalize(query).split(" "):
        if term and term not in seen:
            seen.append(term)
    return seen[:limit]


def like_pattern(term: str) -> str:
    """A LIKE pattern matching `term` anywhere, with LIKE's wildcards escaped (use ESCAPE '\\')."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
