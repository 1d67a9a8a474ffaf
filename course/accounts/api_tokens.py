"""Personal access tokens for the JSON API (`course/api`): made on the account page with a name, scopes and an
expiry, shown once, kept only as a SHA-256 digest (a random secret of 256 bits needs no slow hash), revocable,
with their last use. The token is `fc_pat_` followed by the secret, so a leaked one is easy to recognise.

Scopes a user's role does not allow are refused when the token is made, and again at every request (a role may
change after). Services flush, never commit."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select

from course.accounts.api_token_models import ApiToken
from course.accounts.models import Role, User
from course.audit.log import Action, record
from course.db_types import utcnow
from course.extensions import db
from course.links import external_url
from course.outbox.kinds import Kind
from course.outbox.messages import enqueue

PREFIX = "fc_pat_"
MAX_DAYS = 365  # a token lives at most a year
LAST_USE_PRECISION = timedelta(minutes=1)  # last use is written at most once a minute per token
MAX_TOKENS = 20  # live tokens per user


@dataclass(frozen=True)
class Scope:
    name: str
    label: object  # a lazy string
    roles: frozenset[Role]


STAFF = frozenset({Role.INSTRUCTOR, Role.ADMIN})
SCOPES = {
    scope.name: scope
    for scope in (
        Scope("progress:read", _l("Read my progress, attempts, workbook and completion"), frozenset(Role)),
        Scope("cohorts:read", _l("Read my cohorts, their learners and numbers"), STAFF),
        Scope("enrolments:write", _l("Enrol and unenrol learners in my cohorts"), STAFF),
        Scope("users:read", _l("List every user (admins)"), frozenset({Role.ADMIN})),
    )
}
# The scopes only staff may hold: they need two-step login set up, as the pages do (course/auth/mfa.py).
STAFF_SCOPES = frozenset(name for name, scope in SCOPES.items() if Role.LEARNER not in scope.roles)


class TokenError(ValueError):
    """The token cannot be made as asked."""


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def allowed_scopes(role: Role) -> list[str]:
    """The scopes a user of `role` may give a token, in the order the account page lists them."""
    return [name for name, scope in SCOPES.items() if role in scope.roles]


def create_token(user: User, name: str, scopes: list[str], days: int) -> tuple[ApiToken, str]:
    """A new token for `user`; returns it and the token itself (shown once, never stored)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise TokenError(_l("Give the token a name of up to 100 characters."))
    wanted = list(dict.fromkeys(scopes))
    if not wanted:
        raise TokenError(_l("Choose at least one scope."))
    if set(wanted) - set(allowed_scopes(user.role)):
        raise TokenError(_l("Your role does not allow one of these scopes."))
    if not 1 <= days <= MAX_DAYS:
        raise TokenError(_l("A token expires within a year."))
    now = utcnow()
    if len(tokens_of(user.id, now)) >= MAX_TOKENS:
        raise TokenError(_l("You have too many tokens. Revoke one you no longer use first."))
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        scopes=wanted,
        token_digest=digest(secret),
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    db.session.add(token)
    db.session.flush()
    details = {"scopes": wanted, "expires_in_days": days}
    record(Action.API_TOKEN_CREATED, actor_id=user.id, target_user_id=user.id, details=details)
    notify_token_created(user, token)
    return token, secret


def notify_token_created(user: User, token: ApiToken) -> None:
    """Tell the owner a token was made (a new way into the account: docs/SECURITY.md promises a notice for every
    change to how it logs in), as the account's other notices (course/accounts/emails.py): through the outbox, in
    the caller's transaction, in the account's language, else the request's."""
    locale = get_locale()
    with force_locale(user.language or (str(locale) if locale else current_app.config["BABEL_DEFAULT_LOCALE"])):
        subject = _("A new API token was made for your Founder Course account")
        body = _(
            "Hello %(name)s,\n\nA personal access token for the Founder Course API, “%(token)s”, was made for your "
            "account. It works until %(date)s unless you revoke it.\n\n"
            "If you did not make it, revoke it on your account page and change your password at once:\n%(link)s",
            name=user.name,
            token=token.name,
            date=token.expires_at.date().isoformat(),
            link=external_url("auth.account"),
        )
        enqueue(
            event_key=f"account:api-token:{token.id}",
            kind=Kind.ACCOUNT,
            recipient=user,
            language=str(get_locale()),
            template="notice",
            subject=subject,
            body=body,
        )


def tokens_of(user_id: int, now: datetime | None = None) -> list[ApiToken]:
    """The user's tokens that still work, newest first."""
    now = now or utcnow()
    query = select(ApiToken).where(
        ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > now
    )
    return list(db.session.scalars(query.order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def revoke(user_id: int, token_id: int) -> bool:
    """Revoke one of the user's own tokens; False if they have no such token still working."""
    token = db.session.scalar(select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user_id))
    if token is None or token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    record(Action.API_TOKEN_REVOKED, actor_id=user_id, target_user_id=user_id, details={"token_id": token_id})
    db.session.flush()
    return True


_BY_DIGEST = (
    select(ApiToken, User).join(User, User.id == ApiToken.user_id).where(ApiToken.token_digest == bindparam("digest"))
)


def authenticate(token: str) -> tuple[ApiToken, User] | None:
    """The token and its user, if the token is well formed, known, not revoked or expired, and its user active."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    row = db.session.execute(_BY_DIGEST, {"digest": digest(token)}).first()
    if row is None:
        return None
    found, user = row
    if not found.live(utcnow()) or not user.active or user.deleted_at is not None:
        return None
    return found, user


def granted(token: ApiToken, user: User) -> set[str]:
    """The token's scopes that the user's role allows today."""
    return set(token.scopes) & set(allowed_scopes(user.role))


def use_is_due(token: ApiToken) -> bool:
    return token.last_used_at is None or utcnow() - token.last_used_at >= LAST_USE_PRECISION


def mark_used(token_id: int) -> None:
    db.session.execute(
        ApiToken.__table__.update().where(ApiToken.__table__.c.id == token_id).values(last_used_at=utcnow())
    )
