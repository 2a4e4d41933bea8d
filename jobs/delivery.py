"""The outbox delivery worker: sends queued messages exactly once, within Slack's rate limits.

- Claims one due row at a time (`models.outbox.claim_next`: `FOR UPDATE SKIP LOCKED` on PostgreSQL), so
  any number of workers in any number of processes share the outbox without sending a row twice.
- Every `chat.postMessage` carries the row's dedupe key in message metadata (`event_type` `alumni_outbox`).
  A row whose outcome is unknown (a timeout, a 5xx, or a worker that died while sending it) is `uncertain`;
  before it is sent again, the worker looks for its key with `conversations.history`
  (`include_all_metadata`) and records the message it finds instead of posting twice.
- 429: the method pauses for `Retry-After` and the row goes back to the queue (a 429 is not the row's
  fault: it does not count as an attempt). After a 429 the worker keeps to the rate Slack accepted (what it
  sent in the second before the 429, each call counted until a second after its answer) and probes past it
  only after a minute without a 429. Posts to one conversation are
  paced at about one a second. Its Slack client has no automatic retries: the outbox schedules them.
- 5xx, timeouts and dropped connections: retried with exponential backoff, at most `max_attempts` times.
- Permanent errors (`channel_not_found`, `is_archived`, `messages_tab_disabled`, `not_in_channel` after one
  `conversations.join` attempt, `user_not_found`, `user_disabled`, `account_inactive`, …) are recorded on the
  row as `failed` with Slack's error code.
- DMs: a user recipient (U…/W…) is resolved to its DM conversation with `conversations.open` (remembered
  from earlier rows to that user), which is also where the history lookup happens. A recipient of several
  user IDs joined by commas (`U1,U2,U3`, 2 to 8 people) is their group DM, opened the same way
  (`conversations.open` returns the existing group DM for the same people; it needs `mpim:write`).

The queued message (`OutboxMessage.payload`) holds `chat.postMessage` arguments (`text`, `blocks`, …; the
worker sets `channel` and `metadata`), and may also hold:
- `"method": "chat.update"` with `ts` (and `channel`, default the row's recipient), or
  `models.outbox.OUTBOX_UPDATE_KEY: ts`: edit that message in place instead of posting (idempotent, so
  retried without a history check); with `OUTBOX_CONTENT_OF_KEY: key` too, the update shows the row `key`'s
  stored message as it is when sent (a late retry never brings back what a newer update removed);
- `bot.slack_files.OUTBOX_FILES_KEY: [...]`: files uploaded into the posted message's thread afterwards. The
  post is recorded first, so a failed upload is retried without posting again (uploads: at least once).
"""

from __future__ import annotations

import http.client
import logging
import random
import threading
import time
import weakref
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.common import image_not_downloadable, without_images
from bot.metrics import count_outbox
from bot.services import Services
from bot.slack_client import make_client
from bot.slack_files import OUTBOX_FILES_KEY, upload_message_files
from models.outbox import (
    FINAL_STATUSES,
    OUTBOX_CONTENT_OF_KEY,
    OUTBOX_UPDATE_KEY,
    PENDING,
    UNCERTAIN,
    Claim,
    claim_next,
    has_due,
    known_channel,
    mark_failed,
    mark_posted,
    mark_sent,
    release_stale_claims,
    reschedule,
    statuses,
    stored_message,
    touch_claim,
)
from models.timeutil import now

log = logging.getLogger(__name__)

# Reading history to reconcile uncertain rows (public, private and DM conversations); joining public
# channels the bot was not invited to. chat:write and im:write are base scopes.
SCOPES = ("channels:history", "groups:history", "im:history", "channels:join")

METADATA_EVENT_TYPE = "alumni_outbox"

# Errors that no retry can fix: recorded on the row as `failed`.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "is_archived",
        "messages_tab_disabled",
        "not_in_channel",
        "user_not_found",
        "user_disabled",
        "account_inactive",
        "cannot_dm_bot",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "restricted_action_non_threadable_channel",
        "invalid_blocks",
        "invalid_blocks_format",
        "invalid_arguments",
        "invalid_metadata_format",
        "invalid_metadata_schema",
        "metadata_too_large",
        "msg_too_long",
        "msg_blocks_too_long",
        "no_text",
        "too_many_attachments",
        "ekm_access_denied",
        "team_access_not_granted",
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
        # conversations.open for a DM or group DM (an external person who shares no channel with the others,
        # a group too small or too large): the same people will not make a different answer later.
        "invalid_user_combination",
        "not_enough_users",
        "too_many_users",
        "user_not_visible",
        "method_not_supported_for_channel_type",
    }
)
# Errors Slack answers when it is struggling: retried like a 5xx.
TRANSIENT_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout"})
# History lookups that prove our message cannot be in the conversation (we could not have posted there).
_NOT_POSTED_HISTORY_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived"})


@dataclass
class DeliveryOptions:
    """Tuning of one worker. The defaults suit production; tests shorten the waits."""

    stale_after: timedelta = timedelta(seconds=120)  # a `sending` claim older than this: its worker died
    channel_interval: float = 1.0  # seconds between posts to one conversation
    max_attempts: int = 6  # transient failures before a row is failed
    backoff_base: float = 2.0  # seconds before the 2nd attempt; doubles each time
    backoff_cap: float = 300.0
    history_pages: int = 5  # conversations.history pages searched for an uncertain row's key
    history_page_size: int = 200
    http_timeout: int = 10  # seconds; must stay well under stale_after
    max_pacing_wait: float = 2.0  # how long one pass waits for a busy conversation before moving on


@dataclass
class _RowState:
    """What `_handle` needs to record a failure: where the row goes, and its status for a retry."""

    channel: str | None
    retry_status: str


class _RateLimited(Exception):
    def __init__(self, method: str, retry_after: float) -> None:
        super().__init__(f"{method} rate limited for {retry_after}s")
        self.retry_after = retry_after


class _Transient(Exception):
    """A failure worth retrying. `maybe_delivered`: the post may have reached the channel.
    `unanswered`: we stopped waiting for Slack (timeout, dropped connection), so Slack may still be
    working on that request; a 5xx is an answer, and the request is over."""

    def __init__(self, error: str, *, maybe_delivered: bool, unanswered: bool = False) -> None:
        super().__init__(error)
        self.error = error
        self.maybe_delivered = maybe_delivered
        self.unanswered = unanswered


class _Permanent(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class _SlackError(Exception):
    """Slack answered ok=false (HTTP 200): the caller decides whether it is permanent. `details`: Slack's
    `response_metadata.messages` (one line per refused block, with its json-pointer)."""

    def __init__(self, error: str, details: tuple[str, ...] = ()) -> None:
        super().__init__(error)
        self.error = error
        self.details = details

    @property
    def image_not_downloadable(self) -> bool:
        """Slack refused the blocks because it could not fetch an image they show (not hosted publicly, or
        not png/jpg/gif: https://docs.slack.dev/reference/block-kit/blocks/image-block)."""
        return self.error == "invalid_blocks" and image_not_downloadable(self.details)


class _Slot:
    """One call in the pacer's window: stamped when it leaves, re-stamped when its answer comes back."""

    __slots__ = ("at",)

    def __init__(self, at: float) -> None:
        self.at = at


class _MethodPacer:
    """Client-side pacing of one Web API method.

    Waits out `Retry-After` (exactly: the pause is the time lost). After a 429 that followed a fast second
    (at least MIN_SAMPLE calls), the number of calls in any one second is capped at what Slack accepted in
    that second (the ceiling). Slack counts a call when it arrives, which is after it left here; so a call
    stays in the window until one second after its answer came back (`done`), which bounds what Slack can
    have seen in any second by what the window holds. Counting calls only when they left, a cap of even
    ceiling - 1 drew a 429 every few seconds under load, each costing a whole Retry-After (issue 14: 0.90x).
    After `CEILING_TTL` without a 429 the cap is raised by one every `probe_every` seconds (Slack may allow
    more again).
    """

    MIN_SAMPLE = 10  # calls in the second before a 429 needed to learn a rate from it
    CEILING_TTL = 60.0

    def __init__(self, probe_every: float = 5.0) -> None:
        self._lock = threading.Lock()
        self._sent: list[_Slot] = []
        self.limit: int | None = None
        self.ceiling: int | None = None
        self._ceiling_at = 0.0
        self.paused_until = 0.0
        self._adjusted_at = 0.0
        self._probe_every = probe_every
        self.rate_limited_count = 0

    def pause_remaining(self) -> float:
        with self._lock:
            return max(0.0, self.paused_until - time.monotonic())

    def acquire(self, sleep: Callable[[float], bool], *, reserve: bool = True) -> _Slot | None:
        """Wait until a call may go out, then count it (unless `reserve` is False); `done` the slot after.

        `sleep(s)` returns False when the worker is stopping.
        """
        while True:
            with self._lock:
                current = time.monotonic()
                self._sent = [slot for slot in self._sent if slot.at > current - 1.0]
                wait = self.paused_until - current
                if wait <= 0 and self.limit is not None and len(self._sent) >= self.limit:
                    if self._may_probe(current):
                        self.limit += 1
                        self._adjusted_at = current
                    else:
                        wait = min(slot.at for slot in self._sent) + 1.0 - current + 0.001
                if wait <= 0:
                    if not reserve:
                        return None
                    slot = _Slot(current)
                    self._sent.append(slot)
                    return slot
            if not sleep(wait):
                return None

    def done(self, slot: _Slot | None) -> None:
        """The call's answer came back: Slack counted it at some point before now."""
        if slot is not None:
            with self._lock:
                slot.at = max(slot.at, time.monotonic())

    def _may_probe(self, current: float) -> bool:
        if self.limit is None or current - self._adjusted_at < self._probe_every:
            return False
        below_ceiling = self.ceiling is None or self.limit < self.ceiling
        return below_ceiling or current - self._ceiling_at > self.CEILING_TTL

    def rate_limited(self, retry_after: float, slot: _Slot | None = None) -> None:
        """A 429 for the call in `slot`: pause for `retry_after` seconds and learn the rate Slack allows."""
        with self._lock:
            current = time.monotonic()
            self.rate_limited_count += 1
            if slot is not None and slot not in self._sent and self.limit is not None:
                # A call already in flight when an earlier 429 paused us: it was counted among what Slack
                # accepted in that second, and was not.
                self.limit = self.ceiling = max(1, self.limit - 1)
            self.paused_until = max(self.paused_until, current + retry_after)
            accepted = sum(1 for s in self._sent if s is not slot and s.at > current - 1.0)
            if accepted >= self.MIN_SAMPLE:
                # We were sending fast: Slack's limit is about what it accepted in the last second.
                self.ceiling, self._ceiling_at = accepted, current
                self.limit = accepted
            # Otherwise the 429 says nothing about our rate (a burst by someone else, a per-minute limit,
            # a storm): pausing for Retry-After is the whole answer, the learned cap stays as it was.
            self._adjusted_at = current + retry_after
            self._sent.clear()


class _ConversationPacer:
    """About one post a second to one conversation (Slack's guidance for chat.postMessage)."""

    def __init__(self, interval: float) -> None:
        self._lock = threading.Lock()
        self._ready_at: dict[str, float] = {}
        self.interval = interval

    def busy(self) -> list[str]:
        with self._lock:
            current = time.monotonic()
            for key in [k for k, t in self._ready_at.items() if t <= current]:
                del self._ready_at[key]
            return list(self._ready_at)

    def reserve(self, key: str) -> None:
        if self.interval > 0:
            with self._lock:
                self._ready_at[key] = time.monotonic() + self.interval

    def next_ready_in(self) -> float:
        with self._lock:
            if not self._ready_at:
                return 0.0
            return max(0.0, min(self._ready_at.values()) - time.monotonic())


def _retry_after(headers: Any) -> float:
    """Seconds Slack asked us to wait (its `Retry-After` header, honoured as given); 1 s when absent."""
    for name, value in dict(headers or {}).items():
        if str(name).lower() == "retry-after":
            raw = value[0] if isinstance(value, list) and value else value
            try:
                seconds = float(raw)
            except (TypeError, ValueError):
                return 1.0
            return seconds if seconds >= 0 else 1.0
    return 1.0


class Deliverer:
    """One worker identity: its Slack client (no automatic retries), its pacing state, its options.

    Thread-safe: the delivery loop may run `run_once` from several threads sharing the pacing.
    """

    def __init__(
        self,
        services: Services,
        *,
        worker_id: str | None = None,
        options: DeliveryOptions | None = None,
        stop: threading.Event | None = None,
        client: WebClient | None = None,
    ) -> None:
        from jobs.runner import worker_id as process_worker_id

        self.services = services
        self.options = options or DeliveryOptions()
        self.worker_id = worker_id or process_worker_id()
        self.client = client or make_client(
            services.settings, timeout=self.options.http_timeout, retries=False
        )
        self._stop = stop or threading.Event()
        self.pacers: dict[str, _MethodPacer] = {}
        self._pacers_lock = threading.Lock()
        self.conversations = _ConversationPacer(self.options.channel_interval)
        self._claim_lock = threading.Lock()
        self._dm_channels: dict[str, str] = {}
        # slack_sdk's own methods encode each call the way Slack expects (JSON for posts, form for reads).
        self._methods: dict[str, Callable[..., Any]] = {
            "chat.postMessage": self.client.chat_postMessage,
            "conversations.open": self.client.conversations_open,
            "conversations.history": self.client.conversations_history,
            "conversations.join": self.client.conversations_join,
            "chat.update": self.client.chat_update,
        }
        self._join_failed: set[str] = set()

    # ------------------------------------------------------------------ the pass

    def run_once(self, limit: int = 100, *, keys: Collection[str] | None = None) -> int:
        """Claim and handle up to `limit` due rows (only `keys` when given); returns how many it handled."""
        db = self.services.db
        self.conversations.interval = self.options.channel_interval
        with db.session() as session:
            released = release_stale_claims(session, stale_before=now() - self.options.stale_after)
        if released:
            log.warning("outbox: stale claims are now uncertain", extra={"rows": released})
        with db.session() as session:
            uncertain = has_due(session, keys=keys, in_statuses=(UNCERTAIN,))
        handled = 0
        while handled < limit and not self._stop.is_set():
            # Wait out a Retry-After before claiming, so no row sits in `sending` during the pause.
            pause = max((p.pause_remaining() for p in list(self.pacers.values())), default=0.0)
            if pause > 0 and not self._sleep(pause):
                break
            with self._claim_lock:
                busy = self.conversations.busy()
                with db.session() as session:
                    claim = claim_next(
                        session,
                        worker_id=self.worker_id,
                        exclude_recipients=busy,
                        keys=keys,
                        include_uncertain=uncertain,
                    )
                    if claim is not None:
                        self._remember_channel(session, claim)
                if claim is None and uncertain:
                    uncertain = False  # none left (rows this pass makes uncertain wait for the next pass)
                    continue
                if claim is not None:
                    self.conversations.reserve(claim.recipient)
            if claim is None:
                if busy and self._busy_rows_due(busy, keys):
                    wait = self.conversations.next_ready_in()
                    if wait <= self.options.max_pacing_wait and self._sleep(wait):
                        continue
                break
            self._handle(claim)
            handled += 1
        return handled

    def _remember_channel(self, session: Any, claim: Claim) -> None:
        """Look up a user's DM conversation from earlier rows in the claim's own unit of work."""
        recipient = claim.recipient
        if claim.channel is None and recipient.startswith(("U", "W")) and recipient not in self._dm_channels:
            channel = known_channel(session, recipient)
            if channel is not None:
                self._dm_channels[recipient] = channel

    def _busy_rows_due(self, busy: list[str], keys: Collection[str] | None) -> bool:
        with self.services.db.session() as session:
            return has_due(session, recipients=busy, keys=keys)

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless stopping; False when the worker is stopping."""
        if seconds > 0:
            self._stop.wait(seconds)
        return not self._stop.is_set()

    # ------------------------------------------------------------------ one row

    def _handle(self, claim: Claim) -> None:
        state = _RowState(channel=claim.channel, retry_status=UNCERTAIN if claim.uncertain else PENDING)
        try:
            self._deliver(claim, state)
        except _RateLimited as exc:
            not_before = now() + timedelta(seconds=exc.retry_after)
            self._record(
                lambda s: reschedule(
                    s,
                    claim,
                    status=state.retry_status,
                    not_before=not_before,
                    error="ratelimited",
                    count_attempt=False,
                    channel=state.channel,
                ),
                claim,
                "retried",
            )
        except _Permanent as exc:
            failure = exc.error
            log.warning("outbox: permanent failure", extra={"key": claim.dedupe_key, "error": failure})
            self._record(
                lambda s: mark_failed(s, claim, error=failure, channel=state.channel), claim, "failed"
            )
        except _Transient as exc:
            transient = exc.error
            attempts = claim.attempts + 1
            status = UNCERTAIN if exc.maybe_delivered else state.retry_status
            if attempts >= self.options.max_attempts:
                error = f"{transient} (gave up after {attempts} attempts)"
                log.error("outbox: giving up", extra={"key": claim.dedupe_key, "error": error})
                self._record(
                    lambda s: mark_failed(s, claim, error=error, channel=state.channel), claim, "failed"
                )
                return
            delay = min(self.options.backoff_cap, self.options.backoff_base * 2 ** (attempts - 1))
            delay *= random.uniform(0.8, 1.2)  # noqa: S311
            if exc.maybe_delivered and exc.unanswered:
                # Slack may still be finishing the request we stopped waiting for: look for the post in
                # history only once it has had as long again as we waited, or the check misses it and the
                # message goes out twice. (A 5xx is an answer: the request is over, the backoff will do.)
                delay = max(delay, float(self.options.http_timeout))
            not_before = now() + timedelta(seconds=delay)
            log.info(
                "outbox: transient failure, will retry",
                extra={"key": claim.dedupe_key, "error": transient, "attempt": attempts},
            )
            self._record(
                lambda s: reschedule(
                    s,
                    claim,
                    status=status,
                    not_before=not_before,
                    error=transient,
                    count_attempt=True,
                    channel=state.channel,
                ),
                claim,
                "retried",
            )

    def _current_content(self, key: str, *, fallback: dict[str, Any]) -> dict[str, Any]:
        """The text and blocks stored on the row `key` now (`OUTBOX_CONTENT_OF_KEY`); `fallback` when gone."""
        with self.services.db.session() as session:
            current = stored_message(session, key)
        if current is None:
            return fallback
        return {name: current[name] for name in ("text", "blocks") if name in current}

    def _deliver(self, claim: Claim, state: _RowState) -> None:
        """Send one claimed row; raises _RateLimited / _Permanent / _Transient for `_handle` to record."""
        args = claim.message()
        files = args.pop(OUTBOX_FILES_KEY, None) or []
        update_ts = args.pop(OUTBOX_UPDATE_KEY, None)
        method = args.pop("method", None) or ("chat.update" if update_ts else "chat.postMessage")
        target = args.pop("channel", None)
        if method == "chat.update":
            # Updating a message in place is idempotent: a retry after any failure is safe.
            state.retry_status = PENDING
            ts = str(update_ts or args.pop("ts", "") or "")
            if not ts:
                raise _Permanent("invalid_arguments: chat.update without ts")
            state.channel = str(target) if target else self._resolve_channel(claim.recipient)
            source = args.pop(OUTBOX_CONTENT_OF_KEY, None)
            if source:
                args = self._current_content(str(source), fallback=args)
            self._paced_update(claim, state.channel, ts, args)
            self._record(lambda s: mark_sent(s, claim, channel=str(state.channel), ts=ts), claim, "sent")
            return
        if method != "chat.postMessage":
            raise _Permanent(f"invalid_arguments: unsupported method {method}")
        if claim.ts is not None and claim.channel is not None:
            channel, ts = claim.channel, claim.ts  # posted by an earlier attempt; only files remain
        else:
            channel = state.channel or self._resolve_channel(claim.recipient)
            state.channel = channel
            found = None
            if claim.uncertain:
                found = self._find_posted(channel, claim.dedupe_key)
                state.retry_status = PENDING  # either found, or verified that Slack does not have it
            if found is not None:
                log.info("outbox: found in history, not resending", extra={"key": claim.dedupe_key})
                ts = found
            else:
                # Wait for the rate limiter first, then make sure the claim is still ours, then post.
                self._pacer("chat.postMessage").acquire(self._sleep, reserve=False)
                if not self._still_mine(claim):
                    return
                channel, ts = self._post(channel, claim, args)
                state.channel = channel
        if files:
            # Record the post first: a retry then only uploads the files (at least once), never reposts.
            self._record(lambda s: mark_posted(s, claim, channel=channel, ts=ts), claim)
            self._invoke(
                "files.upload",
                lambda: upload_message_files(self.client, channel=channel, files=files, thread_ts=ts),
            )
        self._record(lambda s: mark_sent(s, claim, channel=channel, ts=ts), claim, "sent")

    def _still_mine(self, claim: Claim) -> bool:
        """Before a send late in a claim: refresh it, or stop if another worker took it over."""
        if (now() - claim.claimed_at) <= self.options.stale_after / 2:
            return True
        with self.services.db.session() as session:
            if touch_claim(session, claim):
                return True
        log.warning("outbox: claim taken over; not sending", extra={"key": claim.dedupe_key})
        return False

    def _paced_update(self, claim: Claim, channel: str, ts: str, args: dict[str, Any]) -> None:
        try:
            self._call("chat.update", channel=channel, ts=ts, **args)
        except _SlackError as exc:
            raise self._classify(exc) from exc

    def _record(self, write: Callable[[Any], bool], claim: Claim, outcome: str | None = None) -> None:
        """Write a row's outcome unless another worker took the claim over; count `outcome` for /metrics."""
        with self.services.db.session() as session:
            recorded = write(session)
        if not recorded:
            log.warning("outbox: claim was taken over; outcome not recorded", extra={"key": claim.dedupe_key})
        elif outcome is not None:
            count_outbox(outcome)

    # ------------------------------------------------------------------ Slack calls

    def _pacer(self, method: str) -> _MethodPacer:
        with self._pacers_lock:
            pacer = self.pacers.get(method)
            if pacer is None:
                pacer = self.pacers[method] = _MethodPacer()
            return pacer

    def _call(self, method: str, *, maybe_delivered: bool = False, **kwargs: Any) -> dict[str, Any]:
        """One Web API call (slack_sdk's method for it), translated into our exceptions."""
        response = self._invoke(
            method, lambda: self._methods[method](**kwargs), maybe_delivered=maybe_delivered
        )
        data = getattr(response, "data", None)
        return dict(data) if isinstance(data, dict) else {}

    def _invoke(self, method: str, call: Callable[[], Any], *, maybe_delivered: bool = False) -> Any:
        """Pace `method`, run `call`, translate failures into _RateLimited / _Transient / _SlackError."""
        pacer = self._pacer(method)
        slot = pacer.acquire(self._sleep)
        try:
            result = call()
            pacer.done(slot)
            return result
        except SlackApiError as exc:
            status = int(getattr(exc.response, "status_code", 0) or 0)
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            error = str(data.get("error") or f"http_{status}")
            if status == 429 or error == "ratelimited":
                retry_after = _retry_after(exc.response.headers)
                pacer.rate_limited(retry_after, slot)
                raise _RateLimited(method, retry_after) from exc
            pacer.done(slot)
            if status >= 500 or error in TRANSIENT_ERRORS:
                raise _Transient(error, maybe_delivered=maybe_delivered) from exc
            if status != 200:
                raise _Transient(error, maybe_delivered=False) from exc
            metadata = (
                data.get("response_metadata") if isinstance(data.get("response_metadata"), dict) else {}
            )
            details = tuple(str(m) for m in (metadata or {}).get("messages") or ())
            raise _SlackError(error, details) from exc
        except (URLError, OSError, http.client.HTTPException) as exc:
            pacer.done(slot)  # it may have reached Slack at any moment until now
            reason = exc.reason if isinstance(exc, URLError) else exc
            refused = isinstance(reason, ConnectionRefusedError)
            maybe = maybe_delivered and not refused
            raise _Transient(
                f"connection: {type(reason).__name__}", maybe_delivered=maybe, unanswered=maybe
            ) from exc

    def _resolve_channel(self, recipient: str) -> str:
        """The conversation to post in: a channel as is, a user's DM (or several users' group DM, for
        `U1,U2,…`) via conversations.open."""
        if not recipient.startswith(("U", "W")):
            return recipient
        cached = self._dm_channels.get(recipient)
        if cached is None:
            try:
                data = self._call("conversations.open", users=recipient)
            except _SlackError as exc:
                if exc.error in PERMANENT_ERRORS:
                    raise _Permanent(exc.error) from exc
                raise _Transient(exc.error, maybe_delivered=False) from exc
            cached = str(data["channel"]["id"])
        self._dm_channels[recipient] = cached
        return cached

    def _find_posted(self, channel: str, key: str) -> str | None:
        """The ts of our message carrying `key` among the conversation's recent messages, if Slack has it."""
        cursor: str | None = None
        for _ in range(self.options.history_pages):
            args: dict[str, Any] = {
                "channel": channel,
                "limit": self.options.history_page_size,
                "include_all_metadata": True,
            }
            if cursor:
                args["cursor"] = cursor
            try:
                data = self._call("conversations.history", **args)
            except _SlackError as exc:
                if exc.error in _NOT_POSTED_HISTORY_ERRORS:
                    return None
                # Without history we cannot tell whether Slack has the message: never risk a second post.
                raise _Permanent(f"unverifiable: {exc.error}") from exc
            for message in data.get("messages") or []:
                metadata = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if metadata.get("event_type") == METADATA_EVENT_TYPE and payload.get("dedupe_key") == key:
                    return str(message["ts"])
            cursor = (data.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor or not data.get("has_more"):
                return None
        log.warning("outbox: key not found in the searched history window", extra={"key": key})
        return None

    def _post(self, channel: str, claim: Claim, args: dict[str, Any]) -> tuple[str, str]:
        message = dict(args)
        message.update(
            channel=channel,
            metadata={"event_type": METADATA_EVENT_TYPE, "event_payload": {"dedupe_key": claim.dedupe_key}},
        )
        try:
            data = self._post_joining(channel, claim, message)
        except _SlackError as exc:
            stripped = without_images(message) if exc.image_not_downloadable else None
            if stripped is None:
                raise self._classify(exc) from exc
            # Slack refused the whole post (nothing was posted), so sending it again is still exactly once:
            # the words matter more than a picture Slack cannot fetch.
            log.warning(
                "outbox: Slack could not download an image; posting without it",
                extra={"key": claim.dedupe_key},
            )
            try:
                data = self._call("chat.postMessage", maybe_delivered=True, **stripped)
            except _SlackError as again:
                raise self._classify(again) from again
        return str(data.get("channel") or channel), str(data["ts"])

    def _post_joining(self, channel: str, claim: Claim, message: dict[str, Any]) -> dict[str, Any]:
        """chat.postMessage; a public channel the bot is not in is joined once and the post tried again."""
        try:
            return self._call("chat.postMessage", maybe_delivered=True, **message)
        except _SlackError as exc:
            if exc.error != "not_in_channel" or not channel.startswith("C") or channel in self._join_failed:
                raise
            try:
                self._call("conversations.join", channel=channel)
            except _SlackError as join_exc:
                log.info("outbox: cannot join", extra={"channel": channel, "error": join_exc.error})
                self._join_failed.add(channel)
                raise _Permanent("not_in_channel") from join_exc
            self.conversations.reserve(claim.recipient)
            return self._call("chat.postMessage", maybe_delivered=True, **message)

    @staticmethod
    def _classify(exc: _SlackError) -> Exception:
        if exc.error in PERMANENT_ERRORS:
            return _Permanent(exc.error)
        # Unknown codes (auth, scopes, …): retried with backoff, then failed with the code.
        return _Transient(exc.error, maybe_delivered=False)

    def stop(self) -> None:
        self._stop.set()


# ---------------------------------------------------------------------- one worker per services

_DELIVERERS: dict[tuple[int, str | None], Deliverer] = {}
_DELIVERERS_LOCK = threading.Lock()


def deliverer_for(services: Services, worker_id: str | None = None) -> Deliverer:
    """The process's Deliverer for these services (its pacing state lives across calls)."""
    key = (id(services), worker_id)
    with _DELIVERERS_LOCK:
        deliverer = _DELIVERERS.get(key)
        if deliverer is None or deliverer.services is not services:
            deliverer = Deliverer(services, worker_id=worker_id)
            _DELIVERERS[key] = deliverer
            weakref.finalize(services, _DELIVERERS.pop, key, None)
        return deliverer


def deliver_due(services: Services, *, limit: int = 100, worker_id: str | None = None) -> int:
    """Claim and send the due outbox rows once (at most `limit`); returns how many rows it handled.

    Handled rows are sent, failed, or given back for a retry (429, transient errors). Synchronous: tests
    call it after a job queued messages; the delivery loop calls it every few seconds.
    """
    return deliverer_for(services, worker_id).run_once(limit)


def deliver_keys(
    services: Services, keys: Iterable[str], *, timeout: float = 300.0, deliverer: Deliverer | None = None
) -> dict[str, str]:
    """Deliver exactly these rows (what one `jobs run` queued), waiting out retries up to `timeout`.

    Returns {dedupe_key: status}; rows still not final at the deadline keep their current status.
    """
    wanted = list(dict.fromkeys(keys))
    worker = deliverer or deliverer_for(services)
    deadline = time.monotonic() + timeout
    while True:
        worker.run_once(len(wanted) or 1, keys=wanted)
        with services.db.session() as session:
            rows = statuses(session, wanted)
        pending = [k for k in wanted if k in rows and rows[k].status not in FINAL_STATUSES]
        if not pending or time.monotonic() >= deadline:
            return {k: rows[k].status for k in wanted if k in rows}
        waits = [max(0.0, (rows[k].next_attempt_at - now()).total_seconds()) for k in pending]
        time.sleep(min(max(0.05, min(waits)), 1.0, max(0.0, deadline - time.monotonic())))


@dataclass
class DeliveryLoop:
    """The long-running worker: `run_once` every `poll_interval` seconds, sooner when woken."""

    services: Services
    poll_interval: float = 2.0
    batch: int = 100
    threads: int = 1
    options: DeliveryOptions = field(default_factory=DeliveryOptions)
    worker_id: str | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _wake: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    deliverer: Deliverer | None = None

    def start(self) -> DeliveryLoop:
        self.deliverer = Deliverer(
            self.services, worker_id=self.worker_id, options=self.options, stop=self._stop
        )
        for index in range(max(1, self.threads)):
            thread = threading.Thread(target=self._run, name=f"outbox-delivery-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("delivery loop started", extra={"worker": self.deliverer.worker_id, "threads": self.threads})
        return self

    @property
    def worker_threads(self) -> list[threading.Thread]:
        """The worker threads (for the scheduler's health check)."""
        return list(self._threads)

    def wake(self) -> None:
        """Deliver now rather than at the next poll (a job just queued messages)."""
        self._wake.set()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)

    def _run(self) -> None:
        assert self.deliverer is not None
        while not self._stop.is_set():
            try:
                handled = self.deliverer.run_once(self.batch)
            except Exception:  # the database or Slack is down: log, wait, try again
                log.exception("delivery pass failed")
                handled = 0
            if handled == 0 and not self._stop.is_set():
                self._wake.wait(self.poll_interval)
                self._wake.clear()
