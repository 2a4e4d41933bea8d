"""The composition root: build the Bolt App, its services and every handler's listeners."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier

from bot import roles
from bot.config import Settings
from bot.features import features
from bot.i18n import t
from bot.listeners import is_slack_response_url
from bot.registry import SERVICES_KEY, Registry
from bot.services import Services, build_services
from models.db import DatabaseUnavailable

log = logging.getLogger(__name__)


def build_registry(
    app: App | None = None, services: Services | None = None, executor: Executor | None = None
) -> Registry:
    """Register every feature (bot.features) on a fresh registry (with no app: for the manifest)."""
    registry = Registry(app=app, _services=services, executor=executor)
    if services is not None:
        registry.error_reporter = lambda error, body, mode: report_error(services, error, body, mode)
    for feature in features():
        registry.add(feature)
    registry.scopes(*roles.SCOPES)  # every listener resolves roles, HR possibly by user group
    return registry


def _bolt_logger() -> logging.Logger:
    logger = logging.getLogger("slack_bolt.App")
    logger.setLevel(max(logging.INFO, logging.getLogger().getEffectiveLevel()))
    return logger


def create_app(
    settings: Settings,
    client: WebClient | None = None,
    *,
    services: Services | None = None,
    listener_executor: Executor | None = None,
) -> App:
    """Build the Bolt App with request verification on and every listener registered.

    Listeners decide before they ack (`process_before_response=True`: Bolt runs each listener in the
    request's thread and answers Slack when it returns), so two taps are decided in the order they arrived;
    slow follow-up work goes to `listener_executor` through `Registry.after_ack` (a bounded pool of 5 when
    None; tests pass one that tells when every listener and its follow-up work has finished).
    """
    services = services or build_services(settings, client=client)
    if listener_executor is None:
        listener_executor = ThreadPoolExecutor(max_workers=5, thread_name_prefix="after-ack")
    app = App(
        # The token travels in `client` (Bolt ignores, with a warning, a token given beside a client).
        signing_secret=settings.slack_signing_secret,
        client=services.client,
        request_verification_enabled=True,
        # No auth.test at start-up: the app must start (and answer /healthz) even when Slack is unreachable.
        token_verification_enabled=False,
        # Decide before the ack, in arrival order (see the docstring and Registry.after_ack).
        process_before_response=True,
        # Bolt copies the root level into its own logger; at DEBUG it would log payloads (personal data).
        logger=_bolt_logger(),
        listener_executor=listener_executor,
    )

    @app.middleware
    def provide_services(context: BoltContext, next: Callable[[], BoltResponse]) -> BoltResponse:
        # The one way services reach listeners (see bot.kit): Bolt's context, read by Registry's guard.
        context[SERVICES_KEY] = services
        return next()

    registry = build_registry(app, services, listener_executor)
    app._alumni_services = services  # type: ignore[attr-defined]
    app._alumni_registry = registry  # type: ignore[attr-defined]

    verifier = SignatureVerifier(settings.slack_signing_secret)

    @app.error
    def on_error(error: Exception, body: dict[str, Any], request: BoltRequest) -> BoltResponse | None:
        # Bolt also calls this when its own verification step raises (e.g. on a timestamp `int()` refuses),
        # with a body nobody vouched for: acting on it would let anyone make the bot message any user or
        # channel. bot/web.py refuses such requests first; this is the second lock.
        if not _signed_by_slack(verifier, request):
            log.warning("error on an unverified request (%s); nobody is told", type(error).__name__)
            return None
        report_error(services, error, body)
        return None

    return app


def _signed_by_slack(verifier: SignatureVerifier, request: BoltRequest) -> bool:
    def header(name: str) -> str | None:
        values = request.headers.get(name) or []  # Bolt keeps each header as a list of values
        return values[0] if values else None

    try:
        return verifier.is_valid(
            request.raw_body, header("x-slack-request-timestamp"), header("x-slack-signature")
        )
    except (ValueError, TypeError, OverflowError):
        return False


def services_of(app: App) -> Services:
    """The services a `create_app` app was built with."""
    services: Services = app._alumni_services  # type: ignore[attr-defined]
    return services


def registry_of(app: App) -> Registry:
    registry: Registry = app._alumni_registry  # type: ignore[attr-defined]
    return registry


def _user_of(body: dict[str, Any]) -> str | None:
    user = body.get("user_id") or body.get("user")
    if isinstance(user, dict):
        user = user.get("id")
    if not user and isinstance(body.get("event"), dict):
        user = body["event"].get("user")
    return str(user) if user else None


def report_error(services: Services, error: Exception, body: dict[str, Any], mode: str | None = None) -> str:
    """Log an unhandled error and tell the user, in their language, instead of failing silently.

    `mode` "ack" only logs and returns the message (the caller puts it in the ack); "tell" only tells.
    """
    kind = body.get("type") or ("slash_command" if body.get("command") else "unknown")
    if isinstance(error, DatabaseUnavailable):
        key = "common.error_unavailable"
        if mode != "tell":
            log.warning("database unavailable while handling %s", kind)
    elif isinstance(error, SlackApiError):
        key = (
            "common.error_slack_busy"
            if error.response.status_code in (429, 500, 503)
            else "common.error_generic"
        )
        if mode != "tell":
            log.error("Slack API error while handling %s: %s", kind, error.response.get("error"))
    else:
        key = "common.error_generic"
        if mode != "tell":
            # Only the exception type and traceback: payload values may hold personal data.
            log.error(
                "unhandled error while handling %s", kind, exc_info=(type(error), error, error.__traceback__)
            )
    user_id = _user_of(body)
    text = t(key, services.language(user_id) if user_id else services.settings.language)
    if mode == "ack":
        return text
    response_url = body.get("response_url")
    if not response_url and isinstance(body.get("response_urls"), list) and body["response_urls"]:
        response_url = body["response_urls"][0].get("response_url")
    if response_url and not is_slack_response_url(str(response_url), services.settings.slack_api_url):
        response_url = None
    try:
        if response_url:
            from slack_sdk.webhook import WebhookClient

            WebhookClient(str(response_url), timeout=5).send(text=text, response_type="ephemeral")
        elif user_id:
            channel = (body.get("channel") or {}).get("id") if isinstance(body.get("channel"), dict) else None
            if channel:
                services.client.chat_postEphemeral(channel=channel, user=user_id, text=text)
            else:
                services.client.chat_postMessage(channel=user_id, text=text)
    except Exception:  # telling the user is best effort; the original error is already logged
        log.warning("could not tell the user about an error", exc_info=True)
    return text
