"""Follow-up renders coalesced per process: one render covers every change committed before it began.

This saves work only; which render shows last is still decided by the database sequences (`bot.serial`),
across threads and worker processes alike.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from functools import partial
from typing import Any

Later = Callable[[Callable[[], Any]], None]
# Renders in flight at once per process, on the pool `later` feeds (the listener executor, 5 threads shared
# with every feature's follow-up work): the rest wait here, one entry per key, so under load each render
# covers more changes and the pool and Slack see fewer calls (benchmarks.load, RSVP click at c=32).
COALESCED_RENDERERS = 2


class Coalescer:
    """Follow-up renders keyed by what they render (an event's announcement, a user's Home tab).

    A render reads the state when it starts, so a render still waiting covers every change committed
    before it starts: a request for a key already waiting adds nothing, and a request for a key being
    rendered waits for one more render after it. At most `renderers` renders run at once (never two of
    one key); the others wait in arrival order of their first request. Across processes the renders
    themselves keep the newest state winning (`bot.serial`); this only saves work in one
    process. A failed render is reported through the `later` of each request it covered (each member is
    told in their language, as `later` does), and the next key is rendered.
    """

    def __init__(self, renderers: int = COALESCED_RENDERERS) -> None:
        self._renderers = renderers
        self._lock = threading.Lock()
        # key -> (render, the `later` of each request it covers); insertion order: first request first
        self._waiting: dict[Hashable, tuple[Callable[[], Any], list[Later]]] = {}
        self._running: set[Hashable] = set()
        self._draining = 0

    def request(self, key: Hashable, work: Callable[[], Any], later: Later) -> None:
        """Have `work` (the render of `key`) start after this moment, through `later`."""
        with self._lock:
            if key in self._waiting:
                self._waiting[key][1].append(later)
                start = self._draining == 0
            else:
                self._waiting[key] = (work, [later])
                start = self._draining < self._renderers
            if not start:
                return
            self._draining += 1
        try:
            later(self._drain)
        except BaseException:  # the pool refused the drainer (shut down): do not count it as draining
            with self._lock:
                self._draining -= 1
            raise

    def _next(self) -> tuple[Hashable, tuple[Callable[[], Any], list[Later]]] | None:
        with self._lock:
            for key in self._waiting:
                if key not in self._running:
                    self._running.add(key)
                    return key, self._waiting.pop(key)
            self._draining -= 1
            return None

    def _drain(self) -> None:
        """Render waiting keys until none is left that is not being rendered elsewhere."""
        try:
            while (item := self._next()) is not None:
                key, (work, requests) = item
                failure: Exception | None = None
                try:
                    work()
                except Exception as error:  # told to each requester below; the other keys still render
                    failure = error
                finally:
                    with self._lock:
                        self._running.discard(key)
                if failure is not None:
                    for later in requests:
                        later(partial(_raise, failure))
        except BaseException:  # a `later` that runs at once (unit tests) raised: this drainer is gone
            with self._lock:
                self._draining -= 1
            raise


def _raise(error: Exception) -> None:
    raise error
