"""Per-key locks, so two refreshes of one Slack message cannot cross (an older render sent last)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_guard = threading.Lock()
_locks: dict[str, threading.Lock] = {}


@contextmanager
def serialized(key: str) -> Iterator[None]:
    """Hold the lock of `key` (for example `opportunity:12`) for the read-render-send of one message."""
    with _guard:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:
        yield
