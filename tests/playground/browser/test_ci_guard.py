"""The browser suite cannot silently not run in CI: a missing Chromium fails there and skips elsewhere."""

from __future__ import annotations

import pytest

from tests.playground.browser.conftest import _unavailable


@pytest.mark.parametrize("ci", ["true", "1"])
def test_missing_chromium_fails_in_ci(monkeypatch: pytest.MonkeyPatch, ci: str) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(
        pytest.fail.Exception, match="browser tests must run in CI: chromium is not installed"
    ):
        _unavailable("chromium is not installed")


def test_missing_chromium_skips_on_a_developer_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        _unavailable("chromium is not installed")
