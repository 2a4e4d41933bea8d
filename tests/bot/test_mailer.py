"""bot/mailer.py against a real SMTP server on localhost (aiosmtpd): what arrives, and what each kind of
failure is reported as."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.mailer import (
    MailConfigError,
    PermanentMailError,
    SmtpConfig,
    TransientMailError,
    UncertainMailError,
    invitation_email,
    invitation_message_id,
    send_email,
)
from tests.smtp_server import HANG, SmtpServer, free_port, running_smtp_server

JOIN_URL = "https://join.slack.com/t/example-alumni/shared_invite/zt-abc123"
SENDER = "Alumni team <alumni@example.com>"


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with running_smtp_server() as server:
        yield server


def config(server: SmtpServer, **overrides: object) -> SmtpConfig:
    values: dict[str, object] = {
        "host": server.host,
        "port": server.port,
        "starttls": False,
        "sender": SENDER,
        "timeout": 1.0,
    }
    values.update(overrides)
    return SmtpConfig(**values)  # type: ignore[arg-type]


def invitation(language: str = "en", *, to: str = "jane@example.com", name: str = "Jane Doe") -> object:
    return invitation_email(
        language=language,
        to=to,
        sender=SENDER,
        name=name,
        join_url=JOIN_URL,
        message_id=invitation_message_id(7, 1, SENDER),
    )


def test_an_english_invitation_arrives_for_its_one_recipient(smtp_server: SmtpServer) -> None:
    send_email(config(smtp_server), invitation("en"), recipient="jane@example.com")  # type: ignore[arg-type]
    (got,) = smtp_server.received
    assert got.rcpt_tos == ["jane@example.com"] and got.mail_from == "alumni@example.com"
    message = got.message
    assert message["To"] == "jane@example.com"
    assert message["Subject"] == "You're invited to our alumni community on Slack"
    assert message["Reply-To"] == SENDER and message["Content-Language"] == "en"
    assert message["Message-ID"].startswith("<") and "alumni-invitation-7-1" in message["Message-ID"]
    assert message["Cc"] is None and message["Bcc"] is None
    text = got.body("plain")
    assert "Dear Jane Doe," in text and JOIN_URL in text
    assert "Reply to this email (alumni@example.com)" in text  # how to opt out
    assert f'<a href="{JOIN_URL}">' in got.body("html")


def test_a_japanese_invitation_is_utf8_and_in_japanese(smtp_server: SmtpServer) -> None:
    message = invitation("ja", to="taro@example.com", name="山田 太郎")
    send_email(config(smtp_server), message, recipient="taro@example.com")  # type: ignore[arg-type]
    (got,) = smtp_server.received
    assert got.message["Subject"] == "アルムナイ Slack コミュニティへのご招待"
    assert got.message["Content-Language"] == "ja"
    text = got.body("plain")
    assert "山田 太郎 様" in text and JOIN_URL in text and "ご返信ください" in text
    assert got.message.get_body(("plain",)).get_content_charset() == "utf-8"  # type: ignore[union-attr]


def test_html_part_escapes_the_name(smtp_server: SmtpServer) -> None:
    message = invitation("en", name="<script>alert(1)</script>")
    send_email(config(smtp_server), message, recipient="jane@example.com")  # type: ignore[arg-type]
    html = smtp_server.received[0].body("html")
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_only_the_envelope_recipient_gets_it_whatever_the_headers_say(smtp_server: SmtpServer) -> None:
    message = invitation("en")
    message["Cc"] = "someone-else@example.com"  # type: ignore[index]
    send_email(config(smtp_server), message, recipient="jane@example.com")  # type: ignore[arg-type]
    assert smtp_server.received[0].rcpt_tos == ["jane@example.com"]


def test_refusals_are_transient_or_permanent_by_their_code(smtp_server: SmtpServer) -> None:
    smtp_server.handler.replies_for_rcpt["busy@example.com"] = ["451 4.3.0 try again later"]
    smtp_server.handler.replies_for_rcpt["gone@example.com"] = ["550 5.1.1 no such user"]
    with pytest.raises(TransientMailError, match="451"):
        send_email(config(smtp_server), invitation(), recipient="busy@example.com")  # type: ignore[arg-type]
    with pytest.raises(PermanentMailError, match="550"):
        send_email(config(smtp_server), invitation(), recipient="gone@example.com")  # type: ignore[arg-type]
    smtp_server.handler.replies_for_data.append("554 5.6.0 message refused")
    with pytest.raises(PermanentMailError, match="554"):
        send_email(config(smtp_server), invitation(), recipient="jane@example.com")  # type: ignore[arg-type]
    assert smtp_server.received == []


def test_no_server_is_transient_and_a_server_gone_quiet_during_data_is_uncertain(
    smtp_server: SmtpServer,
) -> None:
    nowhere = SmtpConfig(host="127.0.0.1", port=free_port(), starttls=False, sender=SENDER, timeout=1.0)
    with pytest.raises(TransientMailError):
        send_email(nowhere, invitation(), recipient="jane@example.com")  # type: ignore[arg-type]
    smtp_server.handler.replies_for_data.append(HANG)
    with pytest.raises(UncertainMailError):
        send_email(config(smtp_server), invitation(), recipient="jane@example.com")  # type: ignore[arg-type]


def test_starttls_required_but_not_offered_sends_nothing(smtp_server: SmtpServer) -> None:
    with pytest.raises(MailConfigError, match="STARTTLS"):
        send_email(config(smtp_server, starttls=True), invitation(), recipient="jane@example.com")  # type: ignore[arg-type]
    with pytest.raises(MailConfigError):  # a login the server cannot take
        send_email(
            config(smtp_server, username="u", password="p"),
            invitation(),  # type: ignore[arg-type]
            recipient="jane@example.com",
        )
    assert smtp_server.received == []


def test_a_lost_claim_abandons_the_send_before_the_message_goes_out(smtp_server: SmtpServer) -> None:
    send_email(
        config(smtp_server),
        invitation(),
        recipient="jane@example.com",
        before_data=lambda: False,  # type: ignore[arg-type]
    )
    assert smtp_server.received == []
