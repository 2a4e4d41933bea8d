"""Issue 14, facts about the listener layer's shape that a reader would otherwise have to trust."""

from __future__ import annotations

import ast
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import handlers
from bot.features import feature_modules, features
from bot.kit import Feature

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = ROOT / "handlers"
MODULES = sorted(p.stem for p in HANDLERS.glob("*.py") if p.stem != "__init__")
MAX_FUNCTION_LINES = 60
# Helpers every listener shares; each is defined once, in the kit (bot/kit.py, bot/serial.py).
KIT_HELPERS = {
    "tell_clicker": "bot/kit.py",
    "publish_home": "bot/kit.py",
    "build_home": "bot/kit.py",
    "user_zone": "bot/kit.py",
    "local_today": "bot/kit.py",
    "hr_clicker": "bot/kit.py",
    "newest_render_wins": "bot/serial.py",
}
# Names the old private copies had (five "tell the clicker", four "publish Home", five zone fallbacks).
OLD_COPIES = re.compile(
    r"^_(tell|answer|zone|zone_of|user_zone|publish_home|refresh_home|refuse_dm|local_today)$"
)


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("name", MODULES)
def test_no_handler_imports_the_composition_root_or_another_handler(name: str) -> None:
    imported = _imported_modules(HANDLERS / f"{name}.py")
    assert "bot.app" not in imported
    assert sorted(m for m in imported if m.startswith("handlers") and m != "handlers") == []


@pytest.mark.parametrize("name", MODULES)
def test_no_function_in_handlers_is_over_60_lines(name: str) -> None:
    too_long = [
        f"{node.name}: {node.end_lineno - node.lineno + 1} lines"
        for node in ast.walk(_tree(HANDLERS / f"{name}.py"))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert too_long == []


@pytest.mark.parametrize("name", MODULES)
def test_each_feature_declares_itself_in_one_typed_value_of_named_module_level_listeners(name: str) -> None:
    module = next(m for m in feature_modules() if m.__name__ == f"handlers.{name}")
    feature = getattr(module, "FEATURE", None)
    assert isinstance(feature, Feature)
    assert not hasattr(module, "register"), "listeners are declared in FEATURE, not registered by closures"
    for listener in feature.listeners:
        func = listener.func
        assert inspect.getmodule(func) is module
        assert func.__qualname__ == func.__name__, f"{func.__qualname__} is not a module-level function"
        assert getattr(module, func.__name__) is func


def test_the_explicit_feature_list_names_every_handler_module() -> None:
    listed = {module.__name__ for module in feature_modules()}
    present = {f"handlers.{info.name}" for info in pkgutil.iter_modules(handlers.__path__)}
    assert listed == present
    declared = [module.FEATURE for module in feature_modules()]
    assert [f for f in features() if f in declared] == declared


def test_each_shared_helper_is_defined_once_in_the_kit() -> None:
    defined: dict[str, list[str]] = {}
    for folder in ("bot", "handlers", "jobs", "models"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(_tree(path)):
                if isinstance(node, ast.FunctionDef) and (
                    node.name in KIT_HELPERS or OLD_COPIES.match(node.name)
                ):
                    defined.setdefault(node.name, []).append(path.relative_to(ROOT).as_posix())
    assert defined == {name: [where] for name, where in KIT_HELPERS.items()}


def test_no_process_local_lock_orders_renders() -> None:
    # The announcement and HR-card renderers used per-process locks, which separate worker processes do not share.
    renderers = [ROOT / "bot/serial.py", HANDLERS / "opportunities.py", HANDLERS / "referrals.py"]
    assert [p.name for p in renderers if "threading" in _imported_modules(p)] == []
