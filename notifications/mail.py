"""Delivering rendered e-mails: SMTP when SMTP_HOST is set, else printed to the console.

One connection serves a whole batch (1,000 e-mails must go in seconds); a connection that
cannot be made fails the batch, which the sender puts back with a back-off.
"""

from __future__ import annotations

import smtplib
import sys
from email.header import Header
from email.message import Message
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid
from typing import Any, TextIO

from core.config import public_host


class Mailer:
    """Opened once per batch with `with`; `send(message)` delivers one message."""

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def send(self, message: Message) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class ConsoleMailer(Mailer):
    """`make run` without SMTP_HOST: each e-mail is printed, so a developer sees what is sent."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stdout

    def send(self, message: Message) -> None:
        self.stream.write(f"----- e-mail (not sent: SMTP_HOST is not set) -----\n{message.as_string()}\n")
        self.stream.flush()


class SmtpMailer(Mailer):
    def __init__(self, cfg: dict[str, Any]):
        self.cfg = cfg
        self.conn: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpMailer:
        cfg = self.cfg
        self.conn = smtplib.SMTP(cfg["SMTP_HOST"], int(cfg.get("SMTP_PORT") or 25),
                                 timeout=float(cfg.get("SMTP_TIMEOUT") or 10))
        try:
            if cfg.get("SMTP_STARTTLS"):
                self.conn.starttls()
            if cfg.get("SMTP_USER"):
                self.conn.login(cfg["SMTP_USER"], cfg.get("SMTP_PASSWORD") or "")
        except Exception:
            self.conn.close()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.conn is not None:
            try:
                self.conn.quit()
            except (smtplib.SMTPException, OSError):
                self.conn.close()

    def send(self, message: Message) -> None:
        assert self.conn is not None, "use the mailer in a with block"
        self.conn.send_message(message)


def mailer_for(cfg: dict[str, Any]) -> Mailer:
    return SmtpMailer(cfg) if cfg.get("SMTP_HOST") else ConsoleMailer()


def mail_from(cfg: dict[str, Any]) -> str:
    return cfg.get("MAIL_FROM") or f"no-reply@{public_host(cfg['PUBLIC_URL'])}"


def new_message_id(host: str) -> str:
    """A Message-ID made once per outbox row and stored, so a resend carries the same one."""
    return make_msgid(domain=host)


def build_message(cfg: dict[str, Any], to: str, subject: str, body: str, message_id: str | None = None) -> Message:
    """A plain-text UTF-8 message (compat32: the modern header policy cost 5 ms a message);
    `message_id`: the outbox row's stored one (a new one when None)."""
    msg = MIMEText(body, "plain", "utf-8")
    msg["From"] = mail_from(cfg)
    msg["To"] = to
    msg["Subject"] = subject if subject.isascii() else Header(subject, "utf-8")
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id or new_message_id(public_host(cfg["PUBLIC_URL"]))
    return msg
