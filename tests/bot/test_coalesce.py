"""Coalesced follow-up renders (`bot.coalesce.Coalescer`): fewer renders, none lost, failures told."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from bot.coalesce import Coalescer


class Pool:
    """`later` on a real pool; `idle()` waits until every submitted task has finished."""

    def __init__(self) -> None:
        self.executor = ThreadPoolExecutor(max_workers=5)
        self.futures: list[Any] = []
        self.failures: list[Exception] = []

    def later(self, work: Callable[[], Any]) -> None:
        def run() -> None:
            try:
                work()
            except Exception as error:  # what Registry.after_ack reports to the member
                self.failures.append(error)

        self.futures.append(self.executor.submit(run))

    def idle(self) -> None:
        while not all(f.done() for f in list(self.futures)):
            for future in list(self.futures):
                future.result(timeout=10)
        self.executor.shutdown(wait=True)


def test_taps_during_a_render_cost_one_more_render_that_sees_them_all() -> None:
    coalescer, pool = Coalescer(renderers=2), Pool()
    started, release = threading.Event(), threading.Event()
    state = {"taps": 0}
    seen: list[int] = []

    def render() -> None:
        started.set()
        release.wait(timeout=10)
        seen.append(state["taps"])

    state["taps"] = 1
    coalescer.request("event-1", render, pool.later)
    assert started.wait(timeout=10)
    for _ in range(30):  # thirty more taps on the same event while the first render runs
        state["taps"] += 1
        coalescer.request("event-1", render, pool.later)
    release.set()
    pool.idle()
    assert len(seen) == 2  # not 31
    assert seen[-1] == 31  # the last render shows every tap


def test_every_key_is_rendered_even_with_fewer_renderers_than_keys() -> None:
    coalescer, pool = Coalescer(renderers=1), Pool()
    rendered: list[str] = []
    for key in ("a", "b", "c", "a", "d"):
        coalescer.request(key, lambda key=key: rendered.append(key), pool.later)  # type: ignore[misc]
    pool.idle()
    assert set(rendered) == {"a", "b", "c", "d"}


def test_a_failed_render_is_reported_to_each_request_it_covered_and_others_still_render() -> None:
    coalescer, pool = Coalescer(renderers=1), Pool()
    gate = threading.Event()
    rendered: list[str] = []

    def blocked() -> None:
        gate.wait(timeout=10)
        rendered.append("first")

    def broken() -> None:
        raise RuntimeError("Slack refused")

    coalescer.request("first", blocked, pool.later)
    coalescer.request("broken", broken, pool.later)
    coalescer.request("broken", broken, pool.later)  # covered by the same render
    coalescer.request("after", lambda: rendered.append("after"), pool.later)
    gate.set()
    pool.idle()
    assert [str(e) for e in pool.failures] == ["Slack refused", "Slack refused"]
    assert rendered == ["first", "after"]


def test_a_failure_raised_at_once_leaves_the_coalescer_usable() -> None:
    coalescer = Coalescer()

    def run_now(work: Callable[[], Any]) -> None:  # unit tests' `later`: no pool, errors raise
        work()

    def broken() -> None:
        raise RuntimeError("broke")

    with pytest.raises(RuntimeError):
        coalescer.request("k", broken, run_now)
    rendered: list[str] = []
    coalescer.request("k", lambda: rendered.append("again"), run_now)
    assert rendered == ["again"]


def test_a_pool_that_refuses_the_render_does_not_stop_later_renders() -> None:
    """A shut-down pool (an app stopping) refuses the drainer: the next request still renders."""
    coalescer = Coalescer(renderers=1)
    seen: list[str] = []

    def refusing(work: Callable[[], Any]) -> None:
        raise RuntimeError("cannot schedule new futures after shutdown")

    with pytest.raises(RuntimeError):
        coalescer.request("home-1", lambda: seen.append("lost"), refusing)
    pool = Pool()
    coalescer.request("home-2", lambda: seen.append("home-2"), pool.later)
    pool.idle()
    assert "home-2" in seen
