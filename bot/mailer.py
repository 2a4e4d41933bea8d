"""Email: one message at a time over SMTP (stdlib `smtplib`), and the invitation email in ja or en.

`send_email` talks to the server step by step (EHLO, STARTTLS, login, MAIL, RCPT, DATA) rather than with
`send_message`, because what a failure means depends on the step:
- before DATA nothing was handed over, so a retry cannot duplicate anything: a 4xx answer, a refused or
  timed-out connection is `TransientMailError`; a 5xx answer (unknown recipient, refused sender) is
  `PermanentMailError`;
- settings that cannot work for any message (no STARTTLS although `SMTP_STARTTLS` is on, a refused login)
  are `MailConfigError`: the caller keeps its queue for when the settings are fixed;
- during DATA the server may already hold the message: an explicit refusal is transient or permanent as
  above, but a broken connection or a timeout is `UncertainMailError` (the message may be delivered).
The message goes to exactly one envelope recipient, whatever its headers say.
"""

from __future__ import annotations

import html
import secrets
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate, parseaddr

from bot.config import Settings
from bot.i18n import Translator

DEFAULT_TIMEOUT = 30.0  # seconds for the connection and each SMTP answer


class MailError(Exception):
    """Sending failed; the subclass says whether trying again can help."""


class TransientMailError(MailError):
    """Nothing was handed over and the cause may pass (4xx, network): try again later."""


class PermanentMailError(MailError):
    """The server refused this message for good (5xx): trying again cannot help."""


class MailConfigError(MailError):
    """The SMTP settings cannot work (no STARTTLS, login refused): nothing can be sent until they change."""


class UncertainMailError(MailError):
    """The connection broke while the server had the message: it may or may not be delivered."""


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send (from `Settings`)."""

    host: str
    port: int = 587
    username: str | None = None
    password: str | None = None
    starttls: bool = True
    sender: str = ""
    timeout: float = DEFAULT_TIMEOUT

    @classmethod
    def from_settings(cls, settings: Settings, *, timeout: float = DEFAULT_TIMEOUT) -> SmtpConfig | None:
        """The SMTP settings, or None when no server or sender is configured."""
        if not settings.smtp_host or not settings.smtp_from:
            return None
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            sender=settings.smtp_from,
            timeout=timeout,
        )

    @property
    def sender_address(self) -> str:
        return parseaddr(self.sender)[1]


def _code_error(code: int, text: str) -> MailError:
    return (TransientMailError if 400 <= code < 500 else PermanentMailError)(f"{code} {text}"[:255])


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def send_email(
    config: SmtpConfig,
    message: EmailMessage,
    *,
    recipient: str,
    before_data: Callable[[], bool] | None = None,
) -> None:
    """Send `message` to `recipient` only. `before_data` runs right before the message is handed over;
    returning False abandons the send (the caller lost its claim). Raises a `MailError` subclass."""
    try:
        server = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
    except (OSError, smtplib.SMTPException) as exc:
        raise TransientMailError(f"connect: {type(exc).__name__}: {exc}"[:255]) from exc
    try:
        _handshake(server, config)
        try:
            code, reply = server.mail(config.sender_address)
            if code != 250:
                raise _code_error(code, _text(reply))
            code, reply = server.rcpt(recipient)
            if code not in (250, 251):
                raise _code_error(code, _text(reply))
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            raise TransientMailError(f"envelope: {type(exc).__name__}: {exc}"[:255]) from exc
        if before_data is not None and not before_data():
            server.rset()
            return
        try:
            # SMTP wants CRLF line ends (`smtplib` leaves bytes as they are; `send_message` would do this).
            code, reply = server.data(message.as_bytes(policy=SMTP_POLICY))
        except smtplib.SMTPDataError as exc:  # an explicit answer: the server did not take it
            raise _code_error(exc.smtp_code, _text(exc.smtp_error)) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise UncertainMailError(f"data: {type(exc).__name__}: {exc}"[:255]) from exc
        if code != 250:  # an explicit answer after the message: the server did not take it
            raise _code_error(code, _text(reply))
    finally:
        try:
            server.quit()
        except (OSError, smtplib.SMTPException):
            server.close()  # the message's fate was decided above; a failed goodbye changes nothing


def _handshake(server: smtplib.SMTP, config: SmtpConfig) -> None:
    try:
        server.ehlo()
        if config.starttls:
            if not server.has_extn("starttls"):
                raise MailConfigError("the SMTP server does not offer STARTTLS (SMTP_STARTTLS is on)")
            server.starttls(context=ssl.create_default_context())
            server.ehlo()
        if config.username and config.password:
            server.login(config.username, config.password)
    except smtplib.SMTPAuthenticationError as exc:
        raise MailConfigError(f"login refused: {exc.smtp_code}") from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise MailConfigError(f"not supported by the server: {exc}"[:255]) from exc
    except ssl.SSLCertVerificationError as exc:
        raise MailConfigError(f"the server's TLS certificate: {exc.verify_message}"[:255]) from exc
    except smtplib.SMTPResponseException as exc:
        raise _code_error(exc.smtp_code, _text(exc.smtp_error)) from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise TransientMailError(f"handshake: {type(exc).__name__}: {exc}"[:255]) from exc


def invitation_email(
    *,
    language: str,
    to: str,
    sender: str,
    name: str,
    join_url: str,
    message_id: str,
) -> EmailMessage:
    """The invitation in `language`: plain text plus a simple HTML part, UTF-8. Replies go to `sender`
    (which is how people opt out). `name` is the person's name as HR's roster has it."""
    tr = Translator(language)
    reply_to = parseaddr(sender)[1]
    lines = [
        tr("invitations.email.greeting", name=name) if name else tr("invitations.email.greeting_no_name"),
        "",
        tr("invitations.email.intro"),
        "",
        tr("invitations.email.join", url=join_url),
        "",
        tr("invitations.email.what"),
        "",
        tr("invitations.email.opt_out", reply_to=reply_to),
        "",
        tr("invitations.email.signature"),
    ]
    message = EmailMessage()
    message["Subject"] = tr("invitations.email.subject")
    message["From"] = sender
    message["To"] = to
    message["Reply-To"] = sender
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id
    message.set_content("\n".join(lines), charset="utf-8")
    paragraphs = "".join(
        f"<p>{_html_line(line, join_url)}</p>" for line in "\n".join(lines).split("\n\n") if line
    )
    message.add_alternative(
        f'<!DOCTYPE html><html lang="{html.escape(language)}"><body>{paragraphs}</body></html>',
        subtype="html",
        charset="utf-8",
    )
    # After the parts exist: making the message multipart moves every Content-* header into its first part.
    message["Content-Language"] = language
    return message


def _html_line(text: str, join_url: str) -> str:
    escaped = html.escape(text).replace("\n", "<br>")
    safe_url = html.escape(join_url, quote=True)
    return escaped.replace(html.escape(join_url), f'<a href="{safe_url}">{safe_url}</a>')


def invitation_message_id(invitation_id: int, send_number: int, sender: str) -> str:
    """A Message-ID naming the invitation and which send of it this is (for tracing in mail logs)."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    # Short enough to stay on one header line (`make_msgid`'s would be folded).
    return f"<alumni-invitation-{invitation_id}-{send_number}.{secrets.token_hex(6)}@{domain}>"
