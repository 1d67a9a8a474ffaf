"""The emails an account receives: a password-reset link, and a notice after each change to how it logs in —
its email, its password (changed, or reset from a link), its two-step login (turned on, off, or reset by an
administrator) — so that a change its owner did not make is noticed (ASVS 5.0 6.3.7); and what an administrator
sends: the link of a new account, a password-reset link.

Written in the language of the request that causes them; a notice caused by someone else (an administrator, the
command line) in the account's own language when it has chosen one. A notice reports a change that is already
saved, so a mail server that is down is logged, not shown as an error.
"""

from __future__ import annotations

import logging

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from course.accounts.models import User
from course.accounts.tokens import RESET_PASSWORD, SET_PASSWORD, make_token
from course.links import external_url
from course.mail import send_mail

log = logging.getLogger(__name__)


def send_password_reset(user: User) -> None:
    link = external_url("auth.reset_password", token=make_token(user, RESET_PASSWORD))
    send_mail(
        user.email,
        _("Reset your Founder Course password"),
        _(
            "Hello %(name)s,\n\nOpen this link within an hour to choose a new password:\n%(link)s\n\n"
            "If you did not ask for it, ignore this email; your password stays as it is.",
            name=user.name,
            link=link,
        ),
    )


def notify_email_changed(user: User, old: str) -> None:
    """To the old address: the account moved to `user.email`."""
    _send_notice(
        old,
        _("Your Founder Course email was changed"),
        _(
            "Hello %(name)s,\n\nThe email address of your Founder Course account was changed from %(old)s to "
            "%(new)s. From now on, log in with the new address.\n\n"
            "If you did not make this change, tell the course's administrators at once.",
            name=user.name,
            old=old,
            new=user.email,
        ),
    )


def notify_password_changed(user: User) -> None:
    _send_notice(
        user.email,
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
    _send_notice(
        user.email,
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
                user.email,
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
    subject = {
        "on": _("Two-step login is on for your Founder Course account"),
        "off": _("Two-step login is off for your Founder Course account"),
    }[change]
    body = {
        "on": _(
            "Hello %(name)s,\n\nTwo-step login was turned on for your Founder Course account: from now on, each "
            "login asks for a code from your authenticator app (or a recovery code), and your other sessions were "
            "logged out.\n\nIf you did not make this change, tell the course's administrators at once.",
            name=user.name,
        ),
        "off": _(
            "Hello %(name)s,\n\nTwo-step login was turned off for your Founder Course account: from now on, "
            "you log in with your password alone, and your other sessions were logged out.\n\n"
            "If you did not make this change, reset your password at once and tell the course's administrators.",
            name=user.name,
        ),
    }[change]
    _send_notice(user.email, subject, body)


# -- sent on an administrator's behalf: in the account's language (the site's when it has chosen none) ---------
def send_account_created(user: User) -> bool:
    """To an account an administrator created, and again while its password is not set: a link to choose it
    (valid seven days). False if the mail server did not take the message."""
    with _their_language(user):
        return _sent(
            user.email,
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
    """A reset link an administrator sent (valid PASSWORD_RESET_MAX_AGE, an hour). False if the mail server did
    not take the message."""
    with _their_language(user):
        return _sent(
            user.email,
            _("Reset your Founder Course password"),
            _(
                "Hello %(name)s,\n\nAn administrator of Founder Course sent you this link to choose a new "
                "password. Open it within an hour:\n%(link)s\n\n"
                "If you did not expect it, ignore this email; your password stays as it is.",
                name=user.name,
                link=external_url("auth.reset_password", token=make_token(user, RESET_PASSWORD)),
            ),
        )


def _sent(to: str, subject: str, body: str) -> bool:
    try:
        send_mail(to, subject, body)
    except OSError:  # smtplib's errors are OSErrors
        log.exception("could not send the account email to %s", to)
        return False
    return True


def _their_language(user: User):
    """Translate in the account's own language (the site's when it has chosen none): for a message someone else
    causes (an administrator, the command line)."""
    return force_locale(user.language or current_app.config["BABEL_DEFAULT_LOCALE"])


def _send_notice(to: str, subject: str, body: str) -> None:
    try:
        send_mail(to, subject, body)
    except OSError:  # smtplib's errors are OSErrors
        log.exception("could not send the account notice to %s", to)
