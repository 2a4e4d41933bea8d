"""A listener executor that knows when every listener has finished: the positive signal tests wait for
instead of sleeping (issue 12, defect 10b).

Bolt acks an event first and runs its listener on the app's `listener_executor`; the task is submitted
before the HTTP answer goes back, so once a signed request has been answered, `wait_idle()` returning True
means every listener it started has run to the end (whatever it did or did not send).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class IdleTrackingExecutor(ThreadPoolExecutor):
    """A ThreadPoolExecutor that counts submitted tasks not finished yet."""

    def __init__(self, max_workers: int = 5) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix="listener")
        self._pending = 0
        self._changed = threading.Condition()
        self.finished = 0  # tasks run to the end since start (lets a test tell "idle" from "never started")

    def submit(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Future[R]:
        with self._changed:
            self._pending += 1
        try:
            future = super().submit(fn, *args, **kwargs)
        except BaseException:
            self._done(None)
            raise
        future.add_done_callback(self._done)
        return future

    def _done(self, _: Any) -> None:
        with self._changed:
            self._pending -= 1
            self.finished += 1
            self._changed.notify_all()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until no listener is running or queued; False when `timeout` seconds pass first."""
        with self._changed:
            return self._changed.wait_for(lambda: self._pending == 0, timeout=timeout)
