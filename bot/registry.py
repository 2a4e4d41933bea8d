"""The one place that lists every command, shortcut, action, view callback, options source and event.

Handler modules call `registry.command(...)` and friends instead of `app.command(...)`. The registry
registers the listener with Bolt (when it has an app) and remembers it, so the manifest generator, the
manifest test and the authorisation test can read what the app handles; Bolt offers no public listing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

from slack_bolt.request import payload_utils
from slack_bolt.util.utils import get_arg_names_of_callable

from bot.metrics import timed_listener

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.kit import Feature
    from bot.services import Services

F = TypeVar("F", bound=Callable[..., Any])

# Scopes every build needs: commands, posting, DMs and the locale lookup.
BASE_SCOPES = ("commands", "chat:write", "im:write", "users:read")


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CommandSpec:
    name: str
    description_key: str
    usage_hint_key: str | None


@dataclass(frozen=True)
class ShortcutSpec:
    callback_id: str
    name_key: str
    description_key: str
    kind: str  # "global" or "message"


# reporter(error, body, mode): mode None logs and tells the user; "ack" only logs and returns the
# translated text (it travels in the ack); "tell" only tells the user (already logged).
ErrorReporter = Callable[[Exception, dict[str, Any], str | None], str]


@dataclass
class Registry:
    """Listener registrations of the whole app (see module docstring)."""

    app: App | None = None
    _services: Services | None = None
    commands: dict[str, CommandSpec] = field(default_factory=dict)
    shortcuts: dict[str, ShortcutSpec] = field(default_factory=dict)
    actions: list[str | re.Pattern[str]] = field(default_factory=list)
    views: list[str] = field(default_factory=list)
    views_closed: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    bot_scopes: set[str] = field(default_factory=lambda: set(BASE_SCOPES))
    error_reporter: ErrorReporter | None = None
    # The bounded pool follow-up work runs on after the ack (the app's listener executor, which Bolt's own
    # lazy listeners use too); None (manifest mode, unit tests) runs the work at once, in the caller.
    executor: Executor | None = None
    # One routing table per kind of request (see `_route`).
    _routes: dict[str, Routes] = field(default_factory=dict)

    @property
    def services(self) -> Services:
        """The running app's services. Only listeners use it (the manifest build has none)."""
        if self._services is None:
            raise RuntimeError("registry built without services (manifest mode)")
        return self._services

    def after_ack(self, body: dict[str, Any], work: Callable[[], Any]) -> None:
        """Run slow follow-up work (announcement refresh, DMs, Home publish) once the listener has decided.

        The app runs with `process_before_response=True`: a listener's decision is made before its ack, in
        the request's own thread, so taps are decided in arrival order; the HTTP answer leaves when the
        listener returns, so anything slow goes here instead and never delays it. The work is submitted
        before the listener returns (tests' idle signal counts it); a failure is logged and told to the user
        in their language, never raised (there is no HTTP answer left to spoil).
        """

        def run() -> None:
            try:
                work()
            except Exception as error:  # reported to the user; nothing may escape a pool thread silently
                if self.error_reporter is None:
                    log.exception("follow-up work failed")
                else:
                    self.error_reporter(error, body, None)

        if self.executor is None:
            run()
        else:
            self.executor.submit(run)

    def add(self, feature: Feature) -> None:
        """Register every listener of `feature` and its scopes (see `bot.kit`)."""
        self.scopes(*feature.scopes)
        for item in feature.listeners:
            if item.kind == "command":
                assert isinstance(item.key, str) and item.description_key is not None
                decorator = self.command(
                    item.key, description_key=item.description_key, usage_hint_key=item.usage_hint_key
                )
            elif item.kind == "shortcut":
                assert isinstance(item.key, str) and item.name_key and item.description_key
                decorator = self.shortcut(
                    item.key,
                    name_key=item.name_key,
                    description_key=item.description_key,
                    kind=item.shortcut_kind,
                )
            elif item.kind == "action":
                decorator = self.action(item.key)
            elif item.kind == "view":
                assert isinstance(item.key, str)
                decorator = self.view(item.key)
            elif item.kind == "view_closed":
                assert isinstance(item.key, str)
                decorator = self.view_closed(item.key)
            elif item.kind == "options":
                assert isinstance(item.key, str)
                decorator = self.options_source(item.key)
            else:
                assert isinstance(item.key, str)
                decorator = self.event(item.key, scopes=item.scopes, subscription=item.subscription)
            decorator(item.func)

    def scopes(self, *scopes: str) -> None:
        """Declare bot scopes a feature needs (they go into the manifest)."""
        self.bot_scopes.update(scopes)

    def command(
        self, name: str, *, description_key: str, usage_hint_key: str | None = None
    ) -> Callable[[F], F]:
        if name in self.commands:
            raise ValueError(f"command {name} registered twice")
        self.commands[name] = CommandSpec(name, description_key, usage_hint_key)
        return self._wrap("command", lambda app: app.command(name), route=("command", name))

    def shortcut(
        self, callback_id: str, *, name_key: str, description_key: str, kind: str = "global"
    ) -> Callable[[F], F]:
        self.shortcuts[callback_id] = ShortcutSpec(callback_id, name_key, description_key, kind)
        return self._wrap("shortcut", lambda app: app.shortcut(callback_id), route=("shortcut", callback_id))

    def action(self, action_id: str | re.Pattern[str]) -> Callable[[F], F]:
        self.actions.append(action_id)
        return self._wrap("action", lambda app: app.action(action_id), route=("action", action_id))

    def view(self, callback_id: str) -> Callable[[F], F]:
        self.views.append(callback_id)
        return self._wrap("view", lambda app: app.view_submission(callback_id), route=("view", callback_id))

    def view_closed(self, callback_id: str) -> Callable[[F], F]:
        self.views_closed.append(callback_id)
        return self._wrap(
            "view", lambda app: app.view_closed(callback_id), route=("view_closed", callback_id)
        )

    def options_source(self, action_id: str) -> Callable[[F], F]:
        """An `external_select` options source (needs the options load URL in HTTP mode)."""
        self.options.append(action_id)
        return self._wrap("options", lambda app: app.options(action_id), route=("options", action_id))

    def event(
        self, event_type: str, *, scopes: tuple[str, ...] = (), subscription: str | None = None
    ) -> Callable[[F], F]:
        """An Events API listener. `subscription` is the manifest's name when it differs from the
        payload's type (Bolt matches `message`; the manifest subscribes to `message.im`)."""
        name = subscription or event_type
        if name not in self.events:
            self.events.append(name)
        self.scopes(*scopes)
        return self._wrap("event", lambda app: app.event(event_type), after_ack=True)

    def _slack_api_url(self) -> str | None:
        return self._services.settings.slack_api_url if self._services is not None else None

    def _route(self, kind: str, key: str | re.Pattern[str], listener: Callable[..., Any]) -> None:
        """Send requests of `kind` whose id matches `key` to `listener`, through one Bolt listener per kind.

        Bolt tries its listeners one by one and builds every argument a matcher could ask for before each
        try (`slack_bolt.kwargs_injection.build_required_kwargs`): with a hundred listeners that was a third
        of a slash command's time. A `Routes` table finds the listener with one dict look-up instead, with
        Bolt's own rules (first registered wins; a string is an exact id, a pattern is searched).
        """
        assert self.app is not None
        routes = self._routes.get(kind)
        if routes is None:
            routes = self._routes[kind] = Routes(kind)
            routes.register(self.app)
        routes.add(key, listener)

    def _wrap(
        self,
        kind: str,
        bolt_decorator: Callable[[App], Callable[..., Any]],
        *,
        after_ack: bool = False,
        route: tuple[str, str | re.Pattern[str]] | None = None,
    ) -> Callable[[F], F]:
        """Register `func` with Bolt, guarded (see `guarded`) and timed for `/metrics` under `kind`.

        `route` (a `Routes` kind and the id): reach the listener through that kind's routing table (see
        `_route`) rather than a Bolt listener of its own.

        `after_ack`: the whole listener is follow-up work (Events API: Slack only needs the 200, and every
        event listener's work is a DM or a Home publish), so it runs as a Bolt lazy listener on the listener
        executor after an immediate ack.
        """

        def decorator(func: F) -> F:
            if self.app is not None:
                listener = timed_listener(
                    guarded(func, self.error_reporter, self._slack_api_url(), self.after_ack), kind
                )
                if after_ack:
                    bolt_decorator(self.app)(_ack_only, listener)
                elif route is not None and set(get_arg_names_of_callable(listener)) <= _BOLT_ARGS:
                    self._route(route[0], route[1], listener)
                else:
                    bolt_decorator(self.app)(cast(F, listener))
            return func

        return decorator


def _ack_only(ack: Any) -> None:
    ack()


def _trusted_response_url(body: Any, slack_api_url: str) -> bool:
    """False when the payload names a response URL outside Slack (only a forged payload can)."""
    from bot.listeners import is_slack_response_url

    if not isinstance(body, dict):
        return True
    urls = [body.get("response_url")]
    # Modal submissions carry theirs in `response_urls` (Bolt's `respond` uses the first).
    if isinstance(body.get("response_urls"), list):
        urls += [u.get("response_url") for u in body["response_urls"] if isinstance(u, dict)]
    return all(is_slack_response_url(str(url), slack_api_url) for url in urls if url)


def _run_now(work: Callable[[], Any]) -> None:
    work()


def _refuse_respond(*args: Any, **kwargs: Any) -> None:
    log.warning("not answering on a response_url outside Slack")


# The arguments Bolt can inject that our listeners use (see slack_bolt.kwargs_injection), plus ours
# (`services` from the context, `later` for work after the ack: see bot.kit).
_BOLT_ARGS = frozenset(
    {"ack", "body", "payload", "context", "client", "respond", "say", "logger", "request"}
    | {"command", "action", "view", "event", "options", "shortcut", "message"}
)
_INJECTABLE = _BOLT_ARGS | {"services", "later"}

# The key of our services in Bolt's context (set by the one global middleware in bot/app.py).
SERVICES_KEY = "alumni_services"


def guarded(
    func: Callable[..., Any],
    reporter: ErrorReporter | None,
    slack_api_url: str | None = None,
    after_ack: Callable[[dict[str, Any], Callable[[], Any]], None] | None = None,
) -> Callable[..., Any]:
    """Run a listener so that its failure never reaches Bolt's own handling.

    Bolt (1.30, `listener/thread_runner.py`) turns a listener's exception into a 500 to Slack, replacing an
    ack already given (with process_before_response=False it even clears it: a 404). The guard reports the error to the user
    (`reporter`) and, when the listener had not acked yet, acks itself: a command gets the translated
    message in its ack, other requests an empty ack and the message through `reporter`.
    """
    wanted = get_arg_names_of_callable(func)
    if not set(wanted) <= _INJECTABLE:
        return func

    def listener(
        ack: Any,
        body: Any,
        payload: Any,
        context: Any,
        client: Any,
        respond: Any,
        say: Any,
        logger: Any,
        request: Any,
        command: Any,
        action: Any,
        view: Any,
        event: Any,
        options: Any,
        shortcut: Any,
        message: Any,
    ) -> Any:
        given = locals()
        given["services"] = context.get(SERVICES_KEY) if context is not None else None
        given["later"] = (lambda work: after_ack(body, work)) if after_ack is not None else _run_now
        if slack_api_url is not None and not _trusted_response_url(body, slack_api_url):
            body.pop("response_url", None)
            body.pop("response_urls", None)
            given["respond"] = _refuse_respond
        try:
            return func(**{name: given[name] for name in wanted})
        except Exception as error:  # every failure is reported; none may reach Bolt (see docstring)
            if reporter is None:
                raise
            acked = getattr(ack, "response", None) is not None
            if acked or body.get("type") == "view_submission":
                # A view submission that failed before its ack keeps Bolt's 500: Slack then shows its
                # own "trouble connecting" inside the modal, which keeps what the user typed.
                if not acked:
                    raise
                reporter(error, body, None)
                return None
            text = reporter(error, body, "ack")
            if body.get("command"):
                ack(response_type="ephemeral", text=text)
            else:
                ack()
                reporter(error, body, "tell")
            return None

    listener.__name__ = getattr(func, "__name__", "listener")
    listener.__qualname__ = getattr(func, "__qualname__", listener.__name__)
    return listener


# -- routing: one Bolt listener per kind of request ----------------------------------------------------------


def _command_id(body: dict[str, Any]) -> str | None:
    return body.get("command") if payload_utils.is_slash_command(body) else None


def _shortcut_id(body: dict[str, Any]) -> str | None:
    return body.get("callback_id") if payload_utils.is_shortcut(body) else None


def _action_id(body: dict[str, Any]) -> str | None:
    # What Bolt's `app.action(str or pattern)` compares (slack_bolt.listener_matcher.builtins.action).
    if payload_utils.is_block_actions(body):
        action = payload_utils.to_action(body)
        return action.get("action_id") if action else None
    if (
        payload_utils.is_attachment_action(body)
        or payload_utils.is_dialog_submission(body)
        or payload_utils.is_dialog_cancellation(body)
        or payload_utils.is_workflow_step_edit(body)
    ):
        return body.get("callback_id")
    return None


def _view_id(body: dict[str, Any]) -> str | None:
    return body["view"].get("callback_id") if payload_utils.is_view_submission(body) else None


def _view_closed_id(body: dict[str, Any]) -> str | None:
    return body["view"].get("callback_id") if payload_utils.is_view_closed(body) else None


def _options_id(body: dict[str, Any]) -> str | None:
    if payload_utils.is_block_suggestion(body):
        return body.get("action_id")
    if payload_utils.is_dialog_suggestion(body):
        return body.get("callback_id")
    return None


_ANY = re.compile("")
Matchers = list[Callable[..., bool]]
# Per kind: the id a request carries, and the Bolt listener whose own matcher admits every request of it.
_KINDS: dict[str, tuple[Callable[[dict[str, Any]], str | None], Callable[[App, Matchers], Any]]] = {
    "command": (_command_id, lambda app, m: app.command(_ANY, matchers=m)),
    "shortcut": (_shortcut_id, lambda app, m: app.shortcut(_ANY, matchers=m)),
    "action": (_action_id, lambda app, m: app.action(_ANY, matchers=m)),
    "view": (_view_id, lambda app, m: app.view_submission(_ANY, matchers=m)),
    "view_closed": (_view_closed_id, lambda app, m: app.view_closed(_ANY, matchers=m)),
    "options": (_options_id, lambda app, m: app.options(_ANY, matchers=m)),
}

_Target = tuple[Callable[..., Any], tuple[str, ...]]  # a listener and the argument names it takes


class Routes:
    """The listeners of one kind of request by id, found as Bolt would find them, in one look-up.

    Bolt's rules: the first listener registered whose id matches wins; a string id matches exactly, a
    pattern when `re.search` finds it. A request no listener takes is not matched, so Bolt answers it as
    unhandled (404), as before.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._id_of = _KINDS[kind][0]
        self._exact: dict[str, tuple[int, _Target]] = {}
        self._patterns: list[tuple[int, re.Pattern[str], _Target]] = []
        self._count = 0

    def add(self, key: str | re.Pattern[str], listener: Callable[..., Any]) -> None:
        target = (listener, tuple(get_arg_names_of_callable(listener)))
        if isinstance(key, str):
            self._exact.setdefault(key, (self._count, target))
        else:
            self._patterns.append((self._count, key, target))
        self._count += 1

    def find(self, body: Any) -> _Target | None:
        """The listener for this request (and its argument names), or None."""
        if not isinstance(body, dict):
            return None
        request_id = self._id_of(body)
        if not isinstance(request_id, str):
            return None
        order, found = self._exact.get(request_id, (self._count, None))
        for index, pattern, target in self._patterns:
            if index > order:
                break
            if pattern.search(request_id):
                return target
        return found

    def register(self, app: App) -> None:
        """The one Bolt listener of this kind: it matches when a listener takes the request, and runs it."""
        routes = self

        def matches(body: dict[str, Any]) -> bool:
            return routes.find(body) is not None

        def route(
            ack: Any,
            body: Any,
            payload: Any,
            context: Any,
            client: Any,
            respond: Any,
            say: Any,
            logger: Any,
            request: Any,
            command: Any,
            action: Any,
            view: Any,
            event: Any,
            options: Any,
            shortcut: Any,
            message: Any,
        ) -> Any:
            given = locals()
            target = routes.find(body)
            assert target is not None  # `matches` said so
            listener, names = target
            return listener(**{name: given[name] for name in names})

        route.__name__ = route.__qualname__ = f"route_{self.kind}"
        _KINDS[self.kind][1](app, [matches])(route)
