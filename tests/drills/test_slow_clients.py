"""Slow clients cannot lock members out (issue 13, item 4).

128 connections to the server that `alumni-bot run --http` starts send a POST's headers (or half of them)
and stall. Meanwhile signed commands must still be answered within Slack's 3 s and `/healthz` must answer;
the stalled sockets must still be open while that happens (so they really were held, not refused), and the
server must close them itself afterwards (its read timeout). Loopback only; about 20 s, so marked `slow`.
The figures are printed (pytest -s) and by `python -m benchmarks.slow_clients`.
"""

from __future__ import annotations

import pytest

from benchmarks.slow_clients import SLACK_ACK_SECONDS, drill
from bot.web import READ_TIMEOUT_SECONDS

pytestmark = pytest.mark.slow


def test_stalled_connections_do_not_stop_signed_commands_or_healthz() -> None:
    result = drill(stalled=128, commands=60, workers=2, threads=8, close_wait=READ_TIMEOUT_SECONDS + 15)
    print("\n" + result.summary())
    assert result.stalled_held == 128, "the stalled connections were not all held during the drill"
    slow = [round(s, 2) for s in result.command_seconds if s >= SLACK_ACK_SECONDS]
    assert not slow, f"signed commands answered after Slack's 3 s: {slow} ({result.summary()})"
    assert set(result.command_statuses) == {200}, result.summary()
    assert set(result.health_statuses) == {200}, result.summary()
    assert result.closed_after_seconds is not None, "the server never closed the stalled sockets"
