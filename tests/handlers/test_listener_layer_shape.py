"""Issue 14, facts about the listener layer's shape that a reader would otherwise have to trust."""

from __future__ import annotations

import ast
import pkgutil
from pathlib import Path

import handlers
from bot.features import feature_modules

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = ROOT / "handlers"


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_no_handler_imports_the_composition_root() -> None:
    importers = [p.name for p in sorted(HANDLERS.glob("*.py")) if "bot.app" in _imported_modules(p)]
    assert importers == []


def test_the_explicit_feature_list_names_every_handler_module() -> None:
    listed = {module.__name__ for module in feature_modules()}
    present = {f"handlers.{info.name}" for info in pkgutil.iter_modules(handlers.__path__)}
    assert listed == present
    assert all(hasattr(module, "register") for module in feature_modules())


def test_newest_render_wins_is_defined_once_and_no_process_local_lock_is_left() -> None:
    defining = [
        p.relative_to(ROOT).as_posix()
        for folder in ("bot", "handlers", "jobs", "models")
        for p in sorted((ROOT / folder).rglob("*.py"))
        if any(
            isinstance(node, ast.FunctionDef) and node.name == "newest_render_wins"
            for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        )
    ]
    assert defining == ["bot/serial.py"]
    # The announcement and HR-card renderers used per-process locks, which gunicorn's workers do not share.
    renderers = [ROOT / "bot/serial.py", HANDLERS / "opportunities.py", HANDLERS / "referrals.py"]
    assert [p.name for p in renderers if "threading" in _imported_modules(p)] == []
