"""Imports every table module of `models/` so `SQLModel.metadata` is complete (found by name)."""

from __future__ import annotations

import importlib
import pkgutil

import models


def import_all() -> None:
    """Import each module of the package; tables register themselves on `SQLModel.metadata`."""
    for info in pkgutil.iter_modules(models.__path__):
        if info.name not in {"migrations", "tables"}:
            importlib.import_module(f"models.{info.name}")
