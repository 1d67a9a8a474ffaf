"""Register, log in, log out, language choice. CSRFProtect checks every POST before these views run."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.exceptions import BadRequest

from course.auth.forms import ForgotPasswordForm, LoginForm, RegisterForm, SetPasswordForm
from course.auth.services import (
    AccountError,
    authenticate,
    create_user,
    end_all_sessions,
    find_user,
    is_safe_next,
)
from course.auth.services import (
    set_password as set_user_password,
)
from course.auth.sessions import mark_login
from course.auth.tokens import RESET_PASSWORD, SET_PASSWORD, make_token, user_for_token
from course.extensions import db
from course.mail import send_mail
from course.ratelimit import limit, login_blocked, record_login_failure

bp = Blueprint("auth", __name__)


def _next_url(form_value: str | None = None) -> str:
    target = form_value or request.args.get("next")
    return target if is_safe_next(target) else url_for("learn.catalogue")


def _start_session(user) -> None:  # noqa: ANN001
    session.clear()  # a fresh session at login: nothing from before carries over
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
    session.clear()
    flash(_("You are logged out."), "info")
    return redirect(url_for("learn.catalogue"))


@bp.route("/logout/everywhere", methods=["POST"])
@login_required
def logout_everywhere():
    end_all_sessions(current_user._get_current_object())
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are logged out on every device."), "info")
    return redirect(url_for("learn.catalogue"))


@bp.route("/language", methods=["POST"])
def set_language():
    lang = request.form.get("lang", "")
    if lang not in current_app.config["LANGUAGES"]:
        raise BadRequest(_("Unknown language."))
    session["lang"] = lang
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
