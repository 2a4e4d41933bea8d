"""A real SMTP server on localhost for the email tests (aiosmtpd), recording what it accepted.

`replies_for_rcpt` / `replies_for_data` make it answer like a struggling or refusing server: each queued
reply is used once (`"451 …"`, `"550 …"`), or `HANG` to stop answering during DATA (after the message came).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, cast

from aiosmtpd.controller import Controller

HANG = "hang"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return cast(EmailMessage, message_from_bytes(self.data, policy=policy.default))

    def body(self, subtype: str = "plain") -> str:
        part = self.message.get_body((subtype,))
        assert part is not None, f"no text/{subtype} part"
        return str(cast(EmailMessage, part).get_content())


@dataclass
class RecordingHandler:
    received: list[Received] = field(default_factory=list)
    replies_for_rcpt: dict[str, list[str]] = field(default_factory=dict)
    replies_for_data: list[str] = field(default_factory=list)
    hang_seconds: float = 3.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        with self.lock:
            queued = self.replies_for_rcpt.get(address)
            reply = queued.pop(0) if queued else None
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            reply = self.replies_for_data.pop(0) if self.replies_for_data else None
        if reply == HANG:
            await asyncio.sleep(self.hang_seconds)  # longer than the client waits: it cannot know the outcome
            return "451 too late"
        if reply:
            return reply
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: RecordingHandler

    @property
    def received(self) -> list[Received]:
        return self.handler.received


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_smtp_server() -> Iterator[SmtpServer]:
    """A server for one test (a test module wraps it in its `smtp_server` fixture)."""
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", controller.port, handler)
    finally:
        controller.stop()
