"""The ja and en catalogs must agree key for key and placeholder for placeholder."""

from __future__ import annotations

from bot.i18n import catalog, language_of, placeholders, t


def test_catalogs_have_the_same_keys() -> None:
    ja, en = catalog("ja"), catalog("en")
    assert sorted(set(ja) - set(en)) == [], "keys only in ja"
    assert sorted(set(en) - set(ja)) == [], "keys only in en"


def test_catalogs_use_the_same_placeholders() -> None:
    ja, en = catalog("ja"), catalog("en")
    differing = {
        key: (placeholders(ja[key]), placeholders(en[key]))
        for key in ja
        if key in en
        if placeholders(ja[key]) != placeholders(en[key])
    }
    assert differing == {}


def test_every_message_is_non_empty() -> None:
    for language in ("ja", "en"):
        assert [k for k, v in catalog(language).items() if not v.strip()] == []


def test_locale_maps_to_language() -> None:
    assert language_of("ja-JP") == "ja"
    assert language_of("en-GB") == "en"
    assert language_of("fr-FR", "en") == "en"
    assert language_of(None, "ja") == "ja"


def test_placeholders_are_filled() -> None:
    assert "3" in t("common.more", "en", count=3)
    assert "3" in t("common.more", "ja", count=3)
