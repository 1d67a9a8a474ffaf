"""Sending email: over SMTP when MAIL_SERVER is configured, else written to the log (development)."""

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
        log.warning(
            "MAIL_SERVER is not set; logging the message instead of sending it.\nTo: %s\nSubject: %s\n\n%s",
            to,
            subject,
            body,
        )
        return
    with smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=10) as smtp:
        if cfg.get("MAIL_USE_TLS"):
            smtp.starttls()
        if cfg.get("MAIL_USERNAME"):
            smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
        smtp.send_message(message)
