"""Sending email: over SMTP when MAIL_SERVER is configured. Without a server, development prints the message
to its console (MAIL_TO_CONSOLE); anywhere else it is reported as not sent, without its body (which may hold a
password-reset link). Production refuses to start without a server (config.py)."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from flask import current_app

log = logging.getLogger("course.mail")


def send_mail(to: str, subject: str, body: str) -> None:
    cfg = current_app.config
    message = EmailMessage()
    message["From"] = cfg["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    if not cfg.get("MAIL_SERVER"):
        if cfg.get("MAIL_TO_CONSOLE"):
            log.warning("MAIL_SERVER is not set; the message, not sent:\nTo: %s\nSubject: %s\n\n%s", to, subject, body)
        else:
            log.warning("MAIL_SERVER is not set: a message to %s (%s) was not sent", to, subject)
        return
    with smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=10) as smtp:
        if cfg.get("MAIL_USE_TLS"):
            smtp.starttls()
        if cfg.get("MAIL_USERNAME"):
            smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
        smtp.send_message(message)
