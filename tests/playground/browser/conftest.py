"""Browser tests of the playground page: Debian's Chromium driven by Playwright, against a real playground.

One playground with the --demo data (SQLite) serves the whole module; each test gets a fresh browser
page. Screenshots go to `test-results/browser/` (git-ignored); `PLAYGROUND_README_SCREENSHOT=1` also
writes the README's `docs/playground.png`. In CI (`CI=true`) a missing Chromium or Playwright fails
the run instead of skipping it, so the browser suite can never silently not run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.playground.server import Playground

ROOT = Path(__file__).resolve().parents[3]
SHOTS = ROOT / "test-results" / "browser"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def _chromium() -> str | None:
    for candidate in (os.environ.get("PLAYGROUND_CHROMIUM"), *CHROMIUM_CANDIDATES, shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"browser tests must run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium (`apt-get install chromium`), headless; Playwright ships only its driver."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[dev]')")
    executable = _chromium()
    if executable is None:
        _unavailable("chromium is not installed (apt-get install chromium)")
    with sync_playwright() as p:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        launched = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def playground(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Playground]:
    """The real bot + embedded Slack + page, with the --demo data, for one test module."""
    path = tmp_path_factory.mktemp("playground") / "demo.db"
    running = Playground(database_url=f"sqlite:///{path}", port=0, demo=True, scheduler=False).start()
    yield running
    running.stop()


@pytest.fixture
def page(browser: Any, playground: Playground, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh page (its own storage) on the playground; a screenshot is saved when the test ends."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-US")
    context.set_default_timeout(20_000)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.base_url = playground.url  # type: ignore[attr-defined]
    yield opened
    SHOTS.mkdir(parents=True, exist_ok=True)
    opened.screenshot(path=str(SHOTS / f"{request.node.name}.png"))
    context.close()
    assert not errors, f"the page threw: {errors}"
