"""Register, log in, log out, language choice, the account page. CSRFProtect checks every POST before these
views run."""

from __future__ import annotations

import logging
from functools import wraps

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale, refresh
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.exceptions import BadRequest

from course.auth.forms import (
    ChangePasswordForm,
    EmailForm,
    ForgotPasswordForm,
    LoginForm,
    NameForm,
    PreferencesForm,
    RegisterForm,
    SetPasswordForm,
)
from course.auth.models import Role
from course.auth.services import (
    AccountError,
    adopt_language,
    authenticate,
    change_email,
    change_password,
    check_password,
    create_user,
    end_all_sessions,
    find_user,
    is_safe_next,
    rename,
    set_preferences,
)
from course.auth.services import (
    set_language as set_user_language,
)
from course.auth.services import (
    set_password as set_user_password,
)
from course.auth.sessions import clear_session, mark_login
from course.auth.tokens import RESET_PASSWORD, SET_PASSWORD, make_token, user_for_token
from course.extensions import db
from course.mail import send_mail
from course.ratelimit import limit, login_blocked, record_login_failure, user_or_address

bp = Blueprint("auth", __name__)
log = logging.getLogger(__name__)


def _next_url(form_value: str | None = None) -> str:
    target = form_value or request.args.get("next")
    return target if is_safe_next(target) else url_for("learn.catalogue")


def _start_session(user) -> None:  # noqa: ANN001
    """A fresh session at login: nothing from before carries over but this device's language choice."""
    clear_session()
    login_user(user)
    mark_login()


@bp.route("/register", methods=["GET", "POST"])
@limit("register")
def register():
    if current_user.is_authenticated:
        return redirect(url_for("learn.catalogue"))
    form = RegisterForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        try:
            user = create_user(form.email.data, form.password.data, name=form.name.data)
        except AccountError:
            form.email.errors.append(_("An account with this email already exists. Log in instead?"))
        else:
            target = _next_url(form.next.data)
            joined = _join_from_invite(user, target)
            adopt_language(user, session.get("lang"))
            db.session.commit()
            _start_session(user)
            flash(_("Welcome, %(name)s! Your account is ready.", name=user.name), "success")
            if joined is not None:
                flash(_("You joined “%(name)s”.", name=joined.name), "success")
                return redirect(url_for("learn.outline", course_key=joined_course_key(joined)))
            return redirect(target)
    status = 400 if form.is_submitted() and form.errors else 200
    return render_template("auth/register.html", form=form), status


def _join_from_invite(user, target: str):  # noqa: ANN001, ANN202
    """A visitor who registered from an invite link lands in that cohort (if it still has room)."""
    from course.cohorts.services import CohortError, cohort_by_invite, enrol

    if not target.startswith("/join/"):
        return None
    cohort = cohort_by_invite(target.removeprefix("/join/").split("/")[0])
    if cohort is None:
        return None
    try:
        enrol(cohort, user, source="invite")
    except CohortError as exc:
        flash(str(exc), "error")
        return None
    return cohort


def joined_course_key(cohort) -> str:  # noqa: ANN001
    from course.content.models import Course

    return db.session.get(Course, cohort.course_id).key


@bp.route("/login", methods=["GET", "POST"])
@limit("login")
def login():
    if current_user.is_authenticated:
        return redirect(_next_url())
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        if login_blocked(form.email.data):
            # Same answer whether or not the account exists: the email typed is what is throttled.
            form.password.errors.append(_("Too many failed attempts for this account. Try again in 15 minutes."))
            return render_template("auth/login.html", form=form), 429
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            adopt_language(user, session.get("lang"))  # chosen before logging in: now on every device
            db.session.commit()
            _start_session(user)
            return redirect(_next_url(form.next.data))
        record_login_failure(form.email.data)
        form.password.errors.append(_("The email or password is not right."))
    status = 400 if form.is_submitted() and form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    clear_session()
    flash(_("You are logged out."), "info")
    return redirect(url_for("learn.catalogue"))


@bp.route("/logout/everywhere", methods=["POST"])
@login_required
def logout_everywhere():
    end_all_sessions(current_user._get_current_object())
    db.session.commit()
    logout_user()
    clear_session()
    flash(_("You are logged out on every device."), "info")
    return redirect(url_for("learn.catalogue"))


@bp.route("/language", methods=["POST"])
def set_language():
    """The switch in every page's header: this browser's choice, and a signed-in user's on every device."""
    lang = request.form.get("lang", "")
    if lang not in current_app.config["LANGUAGES"]:
        raise BadRequest(_("Unknown language."))
    session["lang"] = lang
    if current_user.is_authenticated:
        set_user_language(current_user._get_current_object(), lang)
        db.session.commit()
    return redirect(_next_url(request.form.get("next")))


@bp.route("/password/set/<token>", methods=["GET", "POST"])
def set_password(token: str):
    """Set a password from a signed, expiring, single-use link (accounts created by CSV enrolment)."""
    return _password_from_link(token, SET_PASSWORD)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Choose a new password from the link of a reset email (valid an hour, once)."""
    return _password_from_link(token, RESET_PASSWORD)


def _password_from_link(token: str, purpose: str):  # noqa: ANN202
    user = user_for_token(token, purpose)
    if user is None:
        abort(404, description=_("This link has expired or was already used. Ask for a new one."))
    form = SetPasswordForm()
    if form.validate_on_submit():
        set_user_password(user, form.password.data)  # rotates the session token: old sessions and links end
        adopt_language(user, session.get("lang"))
        db.session.commit()
        logout_user()
        _start_session(user)
        flash(_("Your password is set. Welcome, %(name)s!", name=user.name), "success")
        return redirect(url_for("learn.catalogue"))
    status = 400 if form.is_submitted() and form.errors else 200
    return render_template("auth/set_password.html", form=form, user=user), status


@bp.route("/password/forgot", methods=["GET", "POST"])
@limit("reset")
def forgot_password():
    """Email a reset link. The answer is the same whether or not the email has an account."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        user = find_user(form.email.data)
        if user is not None and user.active:
            link = url_for("auth.reset_password", token=make_token(user, RESET_PASSWORD), _external=True)
            send_mail(
                user.email,
                _("Reset your Founder Course password"),
                _("Hello %(name)s,\n\nOpen this link within an hour to choose a new password:\n%(link)s\n\n"
                  "If you did not ask for it, ignore this email; your password stays as it is.",
                  name=user.name, link=link),
            )
        flash(_("If an account exists for %(email)s, we have sent it a link to reset the password.",
                email=form.email.data), "info")
        return redirect(url_for("auth.login"))
    status = 400 if form.is_submitted() and form.errors else 200
    return render_template("auth/forgot_password.html", form=form), status


# -- the account page: the logged-in user's own name, email and password (never anyone else's: no user id in
# the URLs). Each form posts to its own URL; a form with errors re-renders the whole page with status 400.
ROLE_NAMES = {Role.LEARNER: _l("Learner"), Role.INSTRUCTOR: _l("Instructor"), Role.ADMIN: _l("Admin")}


def _account_post(view):  # noqa: ANN001, ANN201
    """login_required for the account forms, except that a logged-out request (e.g. the second of a double
    submit whose first changed the password, and so the session token) is sent to the account page, not back
    to a POST-only URL after logging in."""

    @wraps(view)
    def wrapper(*args, **kwargs):  # noqa: ANN202
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=url_for("auth.account")))
        return view(*args, **kwargs)

    return wrapper


def _account_page(status: int = 200, **forms):  # noqa: ANN003, ANN202
    user = current_user._get_current_object()
    forms.setdefault("name_form", NameForm(formdata=None, prefix="profile", name=user.name))
    forms.setdefault("email_form", EmailForm(formdata=None, prefix="email"))
    forms.setdefault("password_form", ChangePasswordForm(formdata=None, prefix="pw"))
    forms.setdefault(
        "preferences_form",
        PreferencesForm(
            formdata=None, prefix="prefs", language=user.language or str(get_locale()), time_zone=user.time_zone or ""
        ),
    )
    return render_template("auth/account.html", user=user, role=ROLE_NAMES[user.role], **forms), status


def _password_refused(field) -> int | None:  # noqa: ANN001
    """Check the current password typed in `field`, throttled like logins (the same per-account counter: a
    wrong password here counts as a failed login). The status to answer with if it is refused, else None."""
    user = current_user._get_current_object()
    if login_blocked(user.email):
        field.errors.append(_("Too many failed attempts for this account. Try again in 15 minutes."))
        return 429
    if not check_password(user, field.data):
        record_login_failure(user.email)
        field.errors.append(_("This is not your current password."))
        return 400
    return None


def _send_notice(to: str, subject: str, body: str) -> None:
    """A security notice by email. The change it reports is already saved, so a mail server that is down is
    logged, not shown as an error."""
    try:
        send_mail(to, subject, body)
    except OSError:  # smtplib's errors are OSErrors
        log.exception("could not send the account notice to %s", to)


@bp.route("/account")
@login_required
def account():
    return _account_page()


@bp.route("/account/name", methods=["POST"])
@_account_post
def account_name():
    form = NameForm(prefix="profile")
    if not form.validate_on_submit():
        return _account_page(400, name_form=form)
    rename(current_user._get_current_object(), form.name.data)
    db.session.commit()
    flash(_("Your name is now %(name)s.", name=current_user.name), "success")
    return redirect(url_for("auth.account"), 303)


@bp.route("/account/email", methods=["POST"])
@_account_post
@limit("account", key_func=user_or_address)  # each checks a password (argon2); email tells whether one is taken
def account_email():
    form = EmailForm(prefix="email")
    if not form.validate_on_submit():
        return _account_page(400, email_form=form)
    if refused := _password_refused(form.password):
        return _account_page(refused, email_form=form)
    user = current_user._get_current_object()
    try:
        old = change_email(user, form.email.data)
    except AccountError:
        # As at registration: say so (only someone who knows this account's password gets this far).
        db.session.rollback()
        form.email.errors.append(_("Another account already uses this email."))
        return _account_page(400, email_form=form)
    db.session.commit()
    if old != user.email:
        _send_notice(
            old,
            _("Your Founder Course email was changed"),
            _("Hello %(name)s,\n\nThe email address of your Founder Course account was changed from %(old)s to "
              "%(new)s. From now on, log in with the new address.\n\n"
              "If you did not make this change, tell the course's administrators at once.",
              name=user.name, old=old, new=user.email),
        )
    flash(_("Your email is now %(email)s.", email=user.email), "success")
    return redirect(url_for("auth.account"), 303)


@bp.route("/account/password", methods=["POST"])
@_account_post
@limit("account", key_func=user_or_address)  # each checks a password (argon2); email tells whether one is taken
def account_password():
    form = ChangePasswordForm(prefix="pw")
    if not form.validate_on_submit():
        return _account_page(400, password_form=form)
    if refused := _password_refused(form.current):
        return _account_page(refused, password_form=form)
    user = current_user._get_current_object()
    if not change_password(user, form.password.data):
        db.session.rollback()  # another request changed it first: this session has ended with it
        return redirect(url_for("auth.account"), 303)
    db.session.commit()
    logout_user()
    _start_session(user)  # this browser stays logged in, with the new token and a new session
    _send_notice(
        user.email,
        _("Your Founder Course password was changed"),
        _("Hello %(name)s,\n\nThe password of your Founder Course account was changed, and every other "
          "session of the account was logged out.\n\n"
          "If you did not make this change, reset your password at once:\n%(link)s",
          name=user.name, link=url_for("auth.forgot_password", _external=True)),
    )
    flash(_("Your password is changed. You are logged out on every other device."), "success")
    return redirect(url_for("auth.account"), 303)


@bp.route("/account/preferences", methods=["POST"])
@_account_post
def account_preferences():
    form = PreferencesForm(prefix="prefs")
    if not form.validate_on_submit():
        return _account_page(400, preferences_form=form)
    user = current_user._get_current_object()
    set_preferences(user, form.language.data, form.time_zone.data or None)
    db.session.commit()
    session["lang"] = user.language  # this browser keeps it after logging out
    refresh()  # the message below, in the language just chosen
    flash(_("Your language and time zone are saved."), "success")
    return redirect(url_for("auth.account"), 303)
