"""Delivering the outbox: claim a due message, hand it to the mail server, record the outcome.

At least once, and once in practice:
- A worker *claims* a message with one conditional UPDATE (pending and due, or claimed by a worker whose lease
  ran out) that sets `status = 'sending'` and a lease (OUTBOX_LEASE_SECONDS). Two workers never hold the same
  message; a worker killed mid-delivery leaves its message to be claimed again when the lease ends.
- Each message is recorded `sent` in its own commit as soon as the server took it. A message is sent twice only
  if the worker dies in the instant between the server's "250 OK" and that commit; it then goes again with the
  same Message-ID.
- A temporary failure (the server is down, a 4xx reply) puts the message back, due again after a backoff that
  doubles from OUTBOX_RETRY_SECONDS up to six hours; a permanent one (5xx, e.g. an unknown recipient) or the
  OUTBOX_MAX_ATTEMPTS-th failure marks it failed, with the error.
- The bodies of transactional messages (they hold password links) are blanked once sent or failed for good; the
  row stays as a record.

Runs on its own database session (`Session(db.engine)`), so it can run right after another session's commit.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from course.db_types import utcnow
from course.extensions import db
from course.mail import Mailer, build_message
from course.outbox.kinds import OPTIONAL
from course.outbox.models import OutboxMessage

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=6)


@dataclass
class Delivery:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def _due(now: datetime):
    return or_(
        and_(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == "sending", OutboxMessage.lease_until < now),
    )


def deliver_due(limit: int = 200) -> Delivery:
    """Deliver up to `limit` due messages, oldest first, over one SMTP connection."""
    result = Delivery()
    with Session(db.engine) as session, Mailer() as mailer:
        ids = session.scalars(select(OutboxMessage.id).where(_due(utcnow())).order_by(OutboxMessage.id).limit(limit))
        for message_id in list(ids):
            message = _claim(session, message_id)
            if message is None:
                continue  # another worker has it
            outcome = _send(session, mailer, message)
            setattr(result, outcome, getattr(result, outcome) + 1)
    return result


def pending_count() -> int:
    with Session(db.engine) as session:
        waiting = OutboxMessage.status.in_(("pending", "sending"))
        return session.scalar(select(func.count()).select_from(OutboxMessage).where(waiting)) or 0


def _claim(session: Session, message_id: int) -> OutboxMessage | None:
    now = utcnow()
    lease = now + timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])
    claimed = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, _due(now))
        .values(status="sending", lease_until=lease, attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return session.get(OutboxMessage, message_id, populate_existing=True) if claimed == 1 else None


def _send(session: Session, mailer: Mailer, message: OutboxMessage) -> str:
    headers = {}
    if message.unsubscribe_url:  # RFC 2369 and RFC 8058: one-click unsubscribe for everything optional
        headers["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    try:
        email = build_message(
            to=message.to_address,
            subject=message.subject,
            text=message.text_body,
            html=message.html_body,
            message_id=message.message_id,
            headers=headers,
        )
    except ValueError as error:  # e.g. a line break in a header: no retry would make it sendable
        return _failed(session, message, error, permanent=True)
    try:
        mailer.send(email)
    except (OSError, smtplib.SMTPException) as error:  # smtplib's errors are OSErrors
        return _failed(session, message, error)
    message.status, message.sent_at, message.lease_until, message.last_error = "sent", utcnow(), None, None
    if message.kind not in OPTIONAL:
        message.text_body = message.html_body = ""
    session.commit()
    return "sent"


def _failed(session: Session, message: OutboxMessage, error: Exception, permanent: bool = False) -> str:
    cfg = current_app.config
    code = getattr(error, "smtp_code", None)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [reply[0] for reply in error.recipients.values()]
        code = max(codes) if codes else None
    permanent = permanent or (code is not None and 500 <= code < 600)
    message.last_error = _said(error)[:500]
    message.lease_until = None
    if permanent or message.attempts >= cfg["OUTBOX_MAX_ATTEMPTS"]:
        message.status = "failed"
        if message.kind not in OPTIONAL:  # its password link is of no use now, and a secret
            message.text_body = message.html_body = ""
        log.error("outbox message %s to %s failed for good: %s", message.id, message.to_address, message.last_error)
        outcome = "failed"
    else:
        delay = timedelta(seconds=cfg["OUTBOX_RETRY_SECONDS"] * 2 ** (message.attempts - 1))
        message.status, message.next_attempt_at = "pending", utcnow() + min(delay, MAX_BACKOFF)
        log.warning(
            "outbox message %s: attempt %s failed, retrying: %s", message.id, message.attempts, message.last_error
        )
        outcome = "retried"
    session.commit()
    return outcome


def _said(error: Exception) -> str:
    """What went wrong, as an admin reads it: the server's reply ("550 5.1.1 mailbox unavailable"), else the error."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{code} {_text(reply)}" for code, reply in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_text(error.smtp_error)}"
    return f"{type(error).__name__}: {error}"


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
