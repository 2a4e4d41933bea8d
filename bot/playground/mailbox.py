"""The playground's mail server: a tiny SMTP server on loopback that keeps what it is sent, so the page can
show the invitation emails the bot sends to people not in Slack yet (nothing ever leaves this computer).

It speaks the part of SMTP (RFC 5321) `bot.mailer` uses without TLS or login: EHLO/HELO, MAIL, RCPT, DATA
(with dot-unstuffing), RSET, NOOP, QUIT. The playground points `SMTP_HOST`/`SMTP_PORT` at it with
`SMTP_STARTTLS` off, so the bot's real mailer and invitation job run unchanged.
"""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, cast

MAX_MESSAGE = 1_000_000
MAX_KEPT = 200


@dataclass
class Mail:
    """One message the server accepted."""

    mail_from: str
    rcpt_to: list[str]
    data: bytes

    def for_page(self) -> dict[str, Any]:
        message = message_from_bytes(self.data, policy=policy.default)
        part = message.get_body(("plain",))
        body = str(cast(EmailMessage, part).get_content()) if part is not None else ""
        return {
            "from": str(message.get("From") or self.mail_from),
            "to": list(self.rcpt_to),
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
        self._server: _Server | None = None

    def start(self) -> Mailbox:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.mailbox = self
        self._server = server
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="playground-smtp", daemon=True
        ).start()
        return self

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def keep(self, mail: Mail) -> None:
        shown = mail.for_page()
        with self._lock:
            self._mails.append(shown)
            del self._mails[:-MAX_KEPT]
        if self._on_mail is not None:
            self._on_mail()

    def mails(self) -> list[dict[str, Any]]:
        """What the page shows, oldest first."""
        with self._lock:
            return [dict(m, to=list(m["to"])) for m in self._mails]


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    mailbox: Mailbox


class _Handler(socketserver.StreamRequestHandler):
    timeout = 30

    def _reply(self, line: str) -> None:
        self.wfile.write(line.encode("ascii") + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        server = cast(_Server, self.server)
        self._reply("220 playground ESMTP")
        sender: str | None = None
        recipients: list[str] = []
        while True:
            raw = self.rfile.readline(4096)
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb = line[:4].upper()
            argument = line[4:].strip()
            if verb == "EHLO":
                self.wfile.write(b"250-playground\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n")
                self._reply(f"250 SIZE {MAX_MESSAGE}")
            elif verb == "HELO":
                self._reply("250 playground")
            elif verb == "MAIL":
                sender, recipients = _address(argument), []
                self._reply("250 OK")
            elif verb == "RCPT":
                if sender is None:
                    self._reply("503 MAIL first")
                    continue
                recipients.append(_address(argument))
                self._reply("250 OK")
            elif verb == "DATA":
                if sender is None or not recipients:
                    self._reply("503 MAIL and RCPT first")
                    continue
                self._reply("354 End data with <CR><LF>.<CR><LF>")
                data = self._read_data()
                if data is None:
                    return
                if len(data) > MAX_MESSAGE:
                    self._reply("552 message too big")
                else:
                    server.mailbox.keep(Mail(mail_from=sender, rcpt_to=recipients, data=data))
                    self._reply("250 OK: kept by the playground")
                sender, recipients = None, []
            elif verb == "RSET":
                sender, recipients = None, []
                self._reply("250 OK")
            elif verb == "NOOP":
                self._reply("250 OK")
            elif verb == "QUIT":
                self._reply("221 bye")
                return
            else:
                self._reply("502 command not implemented")

    def _read_data(self) -> bytes | None:
        lines: list[bytes] = []
        size = 0
        while True:
            raw = self.rfile.readline(MAX_MESSAGE)
            if not raw:
                return None
            if raw in (b".\r\n", b".\n"):
                return b"".join(lines)
            if raw.startswith(b"."):
                raw = raw[1:]  # RFC 5321 4.5.2: a line starting with a dot was sent with one more
            size += len(raw)
            if size <= MAX_MESSAGE:
                lines.append(raw)


def _address(argument: str) -> str:
    """The address of `FROM:<a@b>` / `TO:<a@b> SIZE=...`."""
    _, _, rest = argument.partition(":")
    rest = rest.strip()
    if rest.startswith("<"):
        return rest[1 : rest.find(">")] if ">" in rest else rest[1:]
    return rest.split(" ", 1)[0]
