"""The account page: the signed-in user's own name, email, password, language and time zone (never anyone
else's: no user id in the URLs). Each form posts to its own URL; a form with errors re-renders the whole page
with status 400."""

from __future__ import annotations

from functools import wraps

from flask import flash, redirect, render_template, session, url_for
from flask_babel import get_locale, refresh
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, logout_user
from wtforms import PasswordField

from course.accounts.api_tokens import tokens_of
from course.accounts.emails import notify_email_changed, notify_password_changed
from course.accounts.models import Role, User
from course.accounts.services import (
    AccountError,
    change_email,
    change_password,
    check_password,
    rename,
    set_preferences,
)
from course.accounts.sessions import signed_in_user
from course.auth.forms import ChangePasswordForm, EmailForm, NameForm, PreferencesForm, notifications_form
from course.auth.routes import bp, start_session
from course.auth.token_forms import token_form
from course.extensions import db
from course.ratelimit import limit, release_login_attempt, reserve_login_attempt, user_or_address

ROLE_NAMES = {Role.LEARNER: _l("Learner"), Role.INSTRUCTOR: _l("Instructor"), Role.ADMIN: _l("Admin")}


def account_post(view):
    """login_required for the account forms, except that a logged-out request (e.g. the second of a double
    submit whose first changed the password, and so the session token) is sent to the account page, not back
    to a POST-only URL after logging in."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=url_for("auth.account")))
        return view(*args, **kwargs)

    return wrapper


def account_page(status: int = 200, **forms):
    user = signed_in_user()
    forms.setdefault("name_form", NameForm(formdata=None, prefix="profile", name=user.name))
    forms.setdefault("email_form", EmailForm(formdata=None, prefix="email"))
    forms.setdefault("password_form", ChangePasswordForm(formdata=None, prefix="pw"))
    forms.setdefault(
        "preferences_form",
        PreferencesForm(
            formdata=None, prefix="prefs", language=user.language or str(get_locale()), time_zone=user.time_zone or ""
        ),
    )
    forms.setdefault("notifications_form", notifications_form(user))
    forms.setdefault("token_form", token_form(user))
    return render_template(
        "auth/account.html", user=user, role=ROLE_NAMES[user.role], api_tokens=tokens_of(user.id), **forms
    ), status


def password_refused(user: User, field: PasswordField) -> int | None:
    """Check the current password typed in `field`, throttled like logins (the same per-account counter: a
    wrong password here counts as a failed login). The status to answer with if it is refused, else None."""
    if not reserve_login_attempt(user.email):
        field.errors.append(_("Too many failed attempts for this account. Try again in 15 minutes."))
        return 429
    if not check_password(user, field.data):
        field.errors.append(_("This is not your current password."))
        return 400
    release_login_attempt(user.email)
    return None


@bp.route("/account")
@login_required
def account():
    return account_page()


@bp.route("/account/name", methods=["POST"])
@account_post
def account_name():
    form = NameForm(prefix="profile")
    if not form.validate_on_submit():
        return account_page(400, name_form=form)
    rename(signed_in_user(), form.name.data)
    db.session.commit()
    flash(_("Your name is now %(name)s.", name=current_user.name), "success")
    return redirect(url_for("auth.account"), 303)


@bp.route("/account/email", methods=["POST"])
@account_post
@limit("account", key_func=user_or_address)  # each checks a password (argon2); email tells whether one is taken
def account_email():
    form = EmailForm(prefix="email")
    if not form.validate_on_submit():
        return account_page(400, email_form=form)
    user = signed_in_user()
    if refused := password_refused(user, form.password):
        return account_page(refused, email_form=form)
    try:
        old = change_email(user, form.email.data)
    except AccountError:
        # As at registration: say so (only someone who knows this account's password gets this far).
        db.session.rollback()
        form.email.errors.append(_("Another account already uses this email."))
        return account_page(400, email_form=form)
    if old != user.email:
        notify_email_changed(user, old)
    db.session.commit()
    flash(_("Your email is now %(email)s.", email=user.email), "success")
    return redirect(url_for("auth.account"), 303)


@bp.route("/account/password", methods=["POST"])
@account_post
@limit("account", key_func=user_or_address)  # each checks a password (argon2)
def account_password():
    form = ChangePasswordForm(prefix="pw")
    if not form.validate_on_submit():
        return account_page(400, password_form=form)
    user = signed_in_user()
    if refused := password_refused(user, form.current):
        return account_page(refused, password_form=form)
    if not change_password(user, form.password.data):
        db.session.rollback()  # another request changed it first: this session has ended with it
        return redirect(url_for("auth.account"), 303)
    notify_password_changed(user)
    db.session.commit()
    logout_user()
    start_session(user, signed_in_by=None)  # this browser stays logged in, with a new login session
    flash(_("Your password is changed. You are logged out on every other device."), "success")
    return redirect(url_for("auth.account"), 303)


@bp.route("/account/preferences", methods=["POST"])
@account_post
def account_preferences():
    form = PreferencesForm(prefix="prefs")
    if not form.validate_on_submit():
        return account_page(400, preferences_form=form)
    user = signed_in_user()
    set_preferences(user, form.language.data, form.time_zone.data or None)
    db.session.commit()
    session["lang"] = user.language  # this browser keeps it after logging out
    refresh()  # the message below, in the language just chosen
    flash(_("Your language and time zone are saved."), "success")
    return redirect(url_for("auth.account"), 303)
