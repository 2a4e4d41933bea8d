"""The playground's mail server: what the bot's mailer sends is kept for the page, and a port taken between
picking it and binding it does not stop the playground from starting."""

from __future__ import annotations

import smtplib
import socket
from email.message import EmailMessage

import pytest

from bot.playground import mailbox
from bot.playground.mailbox import Mailbox


def _send(port: int, subject: str) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "hr@example.com", "leaver@example.net", subject
    message.set_content("参加リンク: https://join.example/abc")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(message)


def test_a_sent_email_is_kept_for_the_page_with_its_japanese_body() -> None:
    box = Mailbox().start()
    try:
        _send(box.port, "アルムナイへのご招待")
        [mail] = box.mails()
    finally:
        box.stop()
    assert mail["subject"] == "アルムナイへのご招待" and mail["to"] == ["leaver@example.net"]
    assert "https://join.example/abc" in mail["body"]


def test_the_mailbox_starts_on_another_port_when_its_first_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = int(taken.getsockname()[1])
        ports = iter([busy, mailbox._free_port()])
        monkeypatch.setattr(mailbox, "_free_port", lambda: next(ports))
        box = Mailbox().start()
        try:
            assert box.port != busy
            _send(box.port, "second port")
            assert [m["subject"] for m in box.mails()] == ["second port"]
        finally:
            box.stop()
