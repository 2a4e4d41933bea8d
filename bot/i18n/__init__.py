"""Message catalogs in Japanese and English.

Each feature keeps its own file per language (`bot/i18n/en/<feature>.toml`, `bot/i18n/ja/<feature>.toml`);
a key is `<feature>.<dotted path>`, for example `opportunities.post.title`. Placeholders use `{name}`.
"""

from __future__ import annotations

import string
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

LANGUAGES = ("ja", "en")
DEFAULT_LANGUAGE = "ja"
_DIR = Path(__file__).parent


def _flatten(prefix: str, data: dict[str, Any], out: dict[str, str]) -> None:
    for key, value in data.items():
        full = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            _flatten(full, value, out)
        else:
            out[full] = str(value)


@cache
def catalog(language: str) -> dict[str, str]:
    """Every message of one language, keyed by its full dotted key."""
    out: dict[str, str] = {}
    for path in sorted((_DIR / language).glob("*.toml")):
        with path.open("rb") as handle:
            _flatten(path.stem, tomllib.load(handle), out)
    return out


def placeholders(message: str) -> set[str]:
    """The `{name}` placeholders a message uses."""
    return {name for _, name, _, _ in string.Formatter().parse(message) if name}


def language_of(locale: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """Map a Slack locale (`ja-JP`, `en-US`, …) to a catalog language; unknown locales get the default."""
    if locale:
        short = locale.replace("_", "-").split("-")[0].lower()
        if short in LANGUAGES:
            return short
    return default if default in LANGUAGES else DEFAULT_LANGUAGE


def t(key: str, language: str, /, **params: Any) -> str:
    """Translate `key` into `language`, filling placeholders. A missing key is a bug: it raises KeyError."""
    messages = catalog(language if language in LANGUAGES else DEFAULT_LANGUAGE)
    template = messages[key]
    return template.format(**params) if params else template


def has(key: str) -> bool:
    """True when `key` exists in the catalogs."""
    return key in catalog(DEFAULT_LANGUAGE)


class Translator:
    """`t` bound to one language, handy when a builder renders many strings for one reader."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else DEFAULT_LANGUAGE

    def __call__(self, key: str, /, **params: Any) -> str:
        return t(key, self.language, **params)
