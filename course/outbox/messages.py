"""Writing a message to the outbox: `enqueue`, in the caller's transaction.

The message is rendered at once, in its recipient's language, from two templates: `templates/emails/<name>.txt`
(its first line is the subject, then a blank line, then the plain-text body) and `templates/emails/<name>.html`
(the HTML part, extending emails/_layout.html). Links in them come from `course.links.external_url`.

The language is the caller's `language`, else the recipient's own, else the site's (`recipient_language`): a
message someone else causes is never in the language of the request that caused it.

`enqueue` returns None and writes nothing when the event already has its message (`event_key` is unique: an
event makes one message, however often it is reported), when the recipient turned this kind of message off,
or when the account was deleted. When the caller's transaction commits, the worker is woken
(`outbox_committed`); if it rolls back, the message is gone with the event that caused it.
"""

from __future__ import annotations

import hashlib
import re
from email.utils import make_msgid
from typing import Any, Protocol
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_babel import force_locale
from itsdangerous import BadSignature, URLSafeSerializer
from markupsafe import Markup, escape
from sqlalchemy import event, exists, select
from sqlalchemy.orm import Session

from course.extensions import db
from course.links import external_url
from course.outbox.kinds import OPTIONAL, Kind
from course.outbox.models import NotificationOptOut, OutboxMessage
from course.signals import outbox_committed
from course.sql import insert_ignore_returning


class Recipient(Protocol):
    id: int
    email: str
    name: str
    language: str | None


def enqueue(
    *,
    event_key: str,
    kind: Kind,
    recipient: Recipient,
    template: str,
    to: str | None = None,
    language: str | None = None,
    **context: Any,
) -> int | None:
    """Write the message `template` for `recipient` (to `to`, else their email) caused by `event_key`; its id, or
    None when nothing was written (see the module's note). `context` is passed to both templates, with
    `recipient` and, for an optional kind, `unsubscribe_url`."""
    if getattr(recipient, "deleted_at", None) is not None:
        return None
    if kind in OPTIONAL and is_opted_out(recipient.id, kind):
        return None
    if db.session.scalar(select(exists().where(OutboxMessage.event_key == event_key))):
        return None
    language = language or recipient_language(recipient)
    with force_locale(language):
        unsubscribe = (
            external_url("auth.unsubscribe", token=unsubscribe_token(recipient.id, kind)) if kind in OPTIONAL else None
        )
        subject, text, html = render_email(template, recipient=recipient, unsubscribe_url=unsubscribe, **context)
    values = {
        "event_key": event_key,
        "kind": str(kind),
        "user_id": recipient.id,
        "to_address": to or recipient.email,
        "language": language,
        "subject": subject[:300],
        "text_body": text,
        "html_body": html,
        "unsubscribe_url": unsubscribe,
        "message_id": _message_id(event_key),
    }
    # INSERT … ON CONFLICT (event_key) DO NOTHING: two transactions reporting the same event at once write one
    # message, without an error in either.
    message_id = insert_ignore_returning(OutboxMessage, values, ["event_key"])
    if message_id is not None:
        db.session.info["outbox_new"] = True
    return message_id


def render_email(name: str, **context: Any) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of `templates/emails/<name>.{txt,html}`, in the current locale."""
    head, _, body = render_template(f"emails/{name}.txt", **context).strip().partition("\n")
    return " ".join(head.split()), body.strip() + "\n", render_template(f"emails/{name}.html", **context)


def is_opted_out(user_id: int, kind: Kind) -> bool:
    return db.session.get(NotificationOptOut, (user_id, str(kind))) is not None


def opted_out_kinds(user_id: int) -> set[str]:
    return set(db.session.scalars(select(NotificationOptOut.kind).where(NotificationOptOut.user_id == user_id)))


def set_opted_out(user_id: int, kind: Kind, opted_out: bool) -> bool:
    """Turn a kind of optional message off (or on again) for a user; True when that changed something."""
    row = db.session.get(NotificationOptOut, (user_id, str(kind)))
    if opted_out and row is None:
        db.session.add(NotificationOptOut(user_id=user_id, kind=str(kind)))
        return True
    if not opted_out and row is not None:
        db.session.delete(row)
        return True
    return False


# -- unsubscribe links: signed (user, kind), valid until the secret key changes ---------------------------------
def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="unsubscribe")


def unsubscribe_token(user_id: int, kind: Kind) -> str:
    return _serializer().dumps([user_id, str(kind)])


def read_unsubscribe_token(token: str) -> tuple[int, Kind] | None:
    """The (user id, kind) a link is for, or None for a link that is not one of ours."""
    try:
        user_id, kind = _serializer().loads(token)
        return int(user_id), Kind(kind)
    except (BadSignature, ValueError, TypeError):
        return None


# -- helpers -----------------------------------------------------------------------------------------------------
def recipient_language(recipient: Recipient) -> str:
    """The language of a message someone else causes (an instructor, a job): the recipient's own, else the site's.
    Never the language of the request that caused it: an instructor's English is not the learner's."""
    chosen = recipient.language
    return chosen if chosen in current_app.config["LANGUAGES"] else current_app.config["BABEL_DEFAULT_LOCALE"]


def _message_id(event_key: str) -> str:
    domain = urlsplit(current_app.config.get("PUBLIC_URL") or "http://localhost").hostname or "localhost"
    return make_msgid(idstring=hashlib.sha256(event_key.encode()).hexdigest()[:16], domain=domain)


@event.listens_for(Session, "after_commit")
def _wake_the_worker(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: the transaction that holds the messages is still open
    if not session.info.pop("outbox_new", False):
        return
    app = current_app._get_current_object()
    if app.config.get("OUTBOX_IMMEDIATE"):
        from course.outbox.delivery import deliver_due

        deliver_due()
    else:
        outbox_committed.send(app)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    if not session.in_nested_transaction():  # a savepoint's rollback leaves the messages written before it
        session.info.pop("outbox_new", None)


_URL = re.compile(r"https?://[^\s<>\"]+")


def email_links(text: str) -> Markup:
    """Plain text for an HTML email: escaped, its URLs made links, its line breaks kept (the `email_links` filter)."""
    out, last = [], 0
    for match in _URL.finditer(text):
        out.append(escape(text[last : match.start()]))
        url = match.group(0)
        out.append(Markup('<a href="{0}" style="color:#1d4ed8;word-break:break-all;">{0}</a>').format(url))
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out).replace("\n", Markup("<br>\n"))
