"""The emails an account receives: a password-reset link, and a notice after each change to how it logs in —
its email, its password (changed, or reset from a link), its two-step login (turned on, off, or reset by an
administrator) — so that a change its owner did not make is noticed (ASVS 5.0 6.3.7); and what an administrator
sends: the link of a new account, a password-reset link.

Each is written to the outbox (course/outbox) in the caller's transaction — call them before the commit that
saves the change — and delivered by the worker. In the account's own language when it has chosen one, else in the
language of the request when the account's owner caused it, else the site's. Transactional: no unsubscribe link.
"""

from __future__ import annotations

import uuid

from flask import current_app
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _

from course.accounts.models import User
from course.accounts.tokens import RESET_PASSWORD, SET_PASSWORD, make_token
from course.links import external_url
from course.outbox.kinds import Kind
from course.outbox.messages import enqueue


def send_password_reset(user: User) -> None:
    with _own_language(user):
        _send_notice(
            user,
            _("Reset your Founder Course password"),
            _(
                "Hello %(name)s,\n\nOpen this link within an hour to choose a new password:\n%(link)s\n\n"
                "If you did not ask for it, ignore this email; your password stays as it is.",
                name=user.name,
                link=external_url("auth.reset_password", token=make_token(user, RESET_PASSWORD)),
            ),
        )


def notify_email_changed(user: User, old: str) -> None:
    """To the old address: the account moved to `user.email`."""
    with _own_language(user):
        _send_notice(
            user,
            _("Your Founder Course email was changed"),
            _(
                "Hello %(name)s,\n\nThe email address of your Founder Course account was changed from %(old)s to "
                "%(new)s. From now on, log in with the new address.\n\n"
                "If you did not make this change, tell the course's administrators at once.",
                name=user.name,
                old=old,
                new=user.email,
            ),
            to=old,
        )


def notify_password_changed(user: User) -> None:
    with _own_language(user):
        _send_notice(
            user,
            _("Your Founder Course password was changed"),
            _(
                "Hello %(name)s,\n\nThe password of your Founder Course account was changed, and every other "
                "session of the account was logged out.\n\n"
                "If you did not make this change, reset your password at once:\n%(link)s",
                name=user.name,
                link=external_url("auth.forgot_password"),
            ),
        )


def notify_password_reset(user: User) -> None:
    """After a password was chosen from a reset link (not the first password of an account made by enrolment)."""
    with _own_language(user):
        _send_notice(
            user,
            _("Your Founder Course password was reset"),
            _(
                "Hello %(name)s,\n\nThe password of your Founder Course account was reset from a link sent to this "
                "address, and every other session of the account was logged out.\n\n"
                "If you did not make this change, reset your password again at once and tell the course's "
                "administrators:\n%(link)s",
                name=user.name,
                link=external_url("auth.forgot_password"),
            ),
        )


def notify_two_step_login(user: User, change: str) -> None:
    """After two-step login was turned "on" or "off" by the account's owner, or "reset" by an administrator."""
    if change == "reset":
        with _their_language(user):
            _send_notice(
                user,
                _("The two-step login of your Founder Course account was reset"),
                _(
                    "Hello %(name)s,\n\nAn administrator removed the authenticator app and the recovery codes "
                    "of your Founder Course account, and every session of the account was logged out. You log in "
                    "with your password alone until you set up two-step login again (staff must, at their next "
                    "login).\n\nIf you did not ask for this, tell the course's administrators at once.",
                    name=user.name,
                ),
            )
        return
    with _own_language(user):
        subject = {
            "on": _("Two-step login is on for your Founder Course account"),
            "off": _("Two-step login is off for your Founder Course account"),
        }[change]
        body = {
            "on": _(
                "Hello %(name)s,\n\nTwo-step login was turned on for your Founder Course account: from now on, "
                "each login asks for a code from your authenticator app (or a recovery code), and your other "
                "sessions were logged out.\n\nIf you did not make this change, tell the course's administrators "
                "at once.",
                name=user.name,
            ),
            "off": _(
                "Hello %(name)s,\n\nTwo-step login was turned off for your Founder Course account: from now on, "
                "you log in with your password alone, and your other sessions were logged out.\n\n"
                "If you did not make this change, reset your password at once and tell the course's administrators.",
                name=user.name,
            ),
        }[change]
        _send_notice(user, subject, body)


# -- sent on an administrator's behalf: in the account's language (the site's when it has chosen none) ---------
def send_account_created(user: User) -> bool:
    """To an account an administrator created, and again while its password is not set: a link to choose it
    (valid seven days). True when it was written to the outbox (False: the account was deleted)."""
    with _their_language(user):
        return _send_notice(
            user,
            _("Your Founder Course account is ready"),
            _(
                "Hello %(name)s,\n\nAn administrator created a Founder Course account for you, with this email "
                "address. Open this link within seven days to choose your password:\n%(link)s\n\n"
                "If the link has expired, ask for a new one here:\n%(forgot)s",
                name=user.name,
                link=external_url("auth.set_password", token=make_token(user, SET_PASSWORD)),
                forgot=external_url("auth.forgot_password"),
            ),
        )


def send_password_reset_by_admin(user: User) -> bool:
    """A reset link an administrator sent (valid PASSWORD_RESET_MAX_AGE, an hour). True when it was written to the
    outbox."""
    with _their_language(user):
        return _send_notice(
            user,
            _("Reset your Founder Course password"),
            _(
                "Hello %(name)s,\n\nAn administrator of Founder Course sent you this link to choose a new "
                "password. Open it within an hour:\n%(link)s\n\n"
                "If you did not expect it, ignore this email; your password stays as it is.",
                name=user.name,
                link=external_url("auth.reset_password", token=make_token(user, RESET_PASSWORD)),
            ),
        )


def _their_language(user: User):
    """Translate in the account's own language (the site's when it has chosen none): for a message someone else
    causes (an administrator, the command line)."""
    return force_locale(user.language or current_app.config["BABEL_DEFAULT_LOCALE"])


def _own_language(user: User):
    """For a message the account's owner causes: their chosen language, else the one their request is in."""
    locale = get_locale()
    return force_locale(user.language or (str(locale) if locale else current_app.config["BABEL_DEFAULT_LOCALE"]))


def _send_notice(user: User, subject: str, body: str, to: str | None = None) -> bool:
    """Write one account notice (a new event each time: two reset requests are two messages) to the outbox."""
    written = enqueue(
        event_key=f"account:{uuid.uuid4().hex}",
        kind=Kind.ACCOUNT,
        recipient=user,
        to=to,
        language=str(get_locale()),
        template="notice",
        subject=subject,
        body=body,
    )
    return written is not None
