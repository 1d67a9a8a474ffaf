"""The emails an account receives: a password-reset link, and notices that its email or password changed.

Written in the language of the request that causes them. A notice reports a change that is already saved, so a
mail server that is down is logged, not shown as an error.
"""

from __future__ import annotations

import logging

from flask import url_for
from flask_babel import gettext as _

from course.accounts.models import User
from course.accounts.tokens import RESET_PASSWORD, make_token
from course.mail import send_mail

log = logging.getLogger(__name__)


def send_password_reset(user: User) -> None:
    link = url_for("auth.reset_password", token=make_token(user, RESET_PASSWORD), _external=True)
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
            link=url_for("auth.forgot_password", _external=True),
        ),
    )


def _send_notice(to: str, subject: str, body: str) -> None:
    try:
        send_mail(to, subject, body)
    except OSError:  # smtplib's errors are OSErrors
        log.exception("could not send the account notice to %s", to)
