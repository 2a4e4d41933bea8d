"""The playground's mail server: aiosmtpd on loopback, keeping what it is sent, so the page can show the
invitation emails the bot sends to people not in Slack yet (nothing ever leaves this computer).

The playground points `SMTP_HOST`/`SMTP_PORT` at it with `SMTP_STARTTLS` off and no login, so the bot's real
mailer and invitation job run unchanged.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, cast

from aiosmtpd.controller import Controller

MAX_MESSAGE = 1_000_000  # the server refuses (552) a message over this many bytes
MAX_KEPT = 200  # the server keeps this many, the newest (the page shows the last few)
# aiosmtpd reports a port it could not bind only when this wait for its server ends: short, as start() tries
# again on another port.
READY_TIMEOUT = 3.0


def shown_on_page(mail_from: str, rcpt_tos: list[str], data: bytes) -> dict[str, Any]:
    """One email as the page shows it: from, to, subject, date and the plain-text body."""
    message = message_from_bytes(data, policy=policy.default)
    part = message.get_body(("plain",))
    body = str(cast(EmailMessage, part).get_content()) if part is not None else ""
    return {
        "from": str(message.get("From") or mail_from),
        "to": list(rcpt_tos),
        "subject": str(message.get("Subject") or ""),
        "date": str(message.get("Date") or ""),
        "body": body,
    }


class Mailbox:
    """A loopback SMTP server and the mails it kept (`start()`, `port`, `mails()`, `stop()`)."""

    def __init__(self, on_mail: Callable[[], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._mails: list[dict[str, Any]] = []  # as the page shows them (parsed once, when kept)
        self._on_mail = on_mail
        self._controller: Controller | None = None

    def start(self, attempts: int = 5) -> Mailbox:
        """Start on a free loopback port (aiosmtpd needs the number up front, so another process may take it
        before the server binds it: a few attempts, each stopped cleanly when it fails)."""
        for attempt in range(1, attempts + 1):
            controller = Controller(
                _Handler(self),
                hostname="127.0.0.1",
                port=_free_port(),
                data_size_limit=MAX_MESSAGE,
                ready_timeout=READY_TIMEOUT,
            )
            try:
                controller.start()
            except Exception:
                controller.stop(no_assert=True)
                if attempt == attempts:
                    raise
                continue
            self._controller = controller
            break
        return self

    @property
    def port(self) -> int:
        assert self._controller is not None
        return int(self._controller.port)

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def keep(self, mail_from: str, rcpt_tos: list[str], data: bytes) -> None:
        """Keep one accepted email as the page shows it."""
        shown = shown_on_page(mail_from, rcpt_tos, data)
        with self._lock:
            self._mails.append(shown)
            del self._mails[:-MAX_KEPT]
        if self._on_mail is not None:
            self._on_mail()

    def mails(self) -> list[dict[str, Any]]:
        """What the page shows, oldest first."""
        with self._lock:
            return [dict(m, to=list(m["to"])) for m in self._mails]


class _Handler:
    """aiosmtpd's handler: every accepted message goes to the mailbox."""

    def __init__(self, box: Mailbox) -> None:
        self._box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self._box.keep(str(envelope.mail_from), list(envelope.rcpt_tos), bytes(envelope.content))
        return "250 OK: kept by the playground"


def _free_port() -> int:
    # aiosmtpd's Controller needs a port number up front; the OS picks a free one.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
