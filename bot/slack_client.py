"""The WebClient factory: the configured base URL and slack_sdk's retry handlers (429, 5xx, connection)."""

from __future__ import annotations

import logging
import sys

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.config import Settings


def retry_handlers(*, rate_limit_retries: int = 3, server_error_retries: int = 2) -> list[RetryHandler]:
    """429s wait for `Retry-After`; 5xx answers and dropped connections back off briefly."""
    backoff = BackoffRetryIntervalCalculator(backoff_factor=0.5)
    return [
        RateLimitErrorRetryHandler(max_retry_count=rate_limit_retries),
        ServerErrorRetryHandler(max_retry_count=server_error_retries, interval_calculator=backoff),
        ConnectionErrorRetryHandler(max_retry_count=server_error_retries, interval_calculator=backoff),
    ]


class RateLimitCounter(RetryHandler):
    """Counts Slack's HTTP 429 answers for `/metrics`; never asks for a retry itself.

    Slack answers a rate-limited call with HTTP 429 and a `Retry-After` header
    (https://docs.slack.dev/apis/web-api/rate-limits). slack_sdk consults every retry handler, in order,
    about each failed answer, so this one goes first and sees every 429, also on clients without retries.
    """

    def __init__(self) -> None:
        super().__init__(max_retry_count=sys.maxsize)

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is not None and response.status_code == 429:
            from bot.metrics import count_rate_limited

            count_rate_limited(request.url.rsplit("/", 1)[-1] or "unknown")
        return False


# slack_sdk logs whole request bodies at DEBUG (message text, blocks: candidates' names and emails). Its
# client gets a logger of its own that never goes below INFO, whatever the root level is.
_client_logger = logging.getLogger("alumni.slack_client")
_client_logger.setLevel(logging.INFO)


def make_client(settings: Settings, *, timeout: int = 10, retries: bool = True) -> WebClient:
    """A WebClient for the bot token on `SLACK_API_URL`.

    Listener code keeps the retries (a user is waiting, a short wait beats an error); the delivery worker
    builds its own client without them because it schedules its own retries in the outbox.
    """
    return WebClient(
        token=settings.slack_bot_token or None,
        base_url=settings.slack_api_url,
        timeout=timeout,
        retry_handlers=[RateLimitCounter(), *(retry_handlers() if retries else [])],
        logger=_client_logger,
    )
