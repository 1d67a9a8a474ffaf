"""Sending email over SMTP (MAIL_SERVER), or, without a server, to the console (MAIL_TO_CONSOLE, development and
tests); anywhere else a message is reported as not sent, without its body (which may hold a password link).
Production refuses to start without a server (config.py). Only the outbox's delivery (course/outbox/delivery.py)
sends: everything else writes to the outbox."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from email.utils import formatdate

from flask import current_app

log = logging.getLogger("course.mail")


def build_message(
    *,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    """A message with a plain-text part and, when given, an HTML alternative."""
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    if message_id:
        message["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    return message


class Mailer:
    """One SMTP connection for a batch of messages, opened at the first message (`with Mailer() as mailer:`)."""

    def __init__(self) -> None:
        self.cfg = current_app.config
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                self.smtp.close()

    def send(self, message: EmailMessage) -> None:
        """Hand the message to the server; raises smtplib's errors (OSErrors) when it is not taken."""
        if not self.cfg.get("MAIL_SERVER"):
            _to_console(self.cfg, message)
            return
        if self.smtp is None:
            self.smtp = self._connect()
        try:
            self.smtp.send_message(message)
        except smtplib.SMTPServerDisconnected:
            self.smtp = None
            raise

    def _connect(self) -> smtplib.SMTP:
        cfg = self.cfg
        smtp = smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=cfg.get("MAIL_TIMEOUT", 10))
        try:
            if cfg.get("MAIL_USE_TLS"):
                smtp.starttls()
            if cfg.get("MAIL_USERNAME"):
                smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
        except BaseException:
            smtp.close()
            raise
        return smtp


def _to_console(cfg, message: EmailMessage) -> None:
    to, subject = message["To"], message["Subject"]
    if cfg.get("MAIL_TO_CONSOLE"):
        body = message.get_body(("plain",))
        text = body.get_content() if body is not None else ""
        log.warning("MAIL_SERVER is not set; the message, not sent:\nTo: %s\nSubject: %s\n\n%s", to, subject, text)
    else:
        log.warning("MAIL_SERVER is not set: a message to %s (%s) was not sent", to, subject)
