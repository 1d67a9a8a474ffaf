"""Signing up, logging in and out, the language switch, and setting a password from an emailed link.
CSRFProtect checks every POST before these views run."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.exceptions import BadRequest

from course.accounts.emails import notify_password_reset, send_password_reset
from course.accounts.mfa import has_factor, is_required
from course.accounts.models import User
from course.accounts.pending_login import hold_login
from course.accounts.services import (
    AccountError,
    adopt_language,
    authenticate,
    create_user,
    end_all_sessions,
    find_user,
    is_safe_next,
    login_throttled,
    record_login,
    set_language,
    set_password,
)
from course.accounts.sessions import clear_session, close_session, mark_login, open_session, signed_in_user
from course.accounts.tokens import RESET_PASSWORD, SET_PASSWORD, user_for_token
from course.audit.log import Action, record
from course.auth.forms import ForgotPasswordForm, LoginForm, RegisterForm, SetPasswordForm
from course.cohorts.invitations import joined_cohorts
from course.cohorts.invites import join_through_invite_link
from course.content.lookup import course_key_of
from course.extensions import db
from course.ratelimit import limit, release_login_attempt, reserve_login_attempt

bp = Blueprint("auth", __name__)


def next_url(form_value: str | None = None) -> str:
    target = form_value or request.args.get("next")
    return target if is_safe_next(target) else url_for("learn.catalogue")


def start_session(user: User, signed_in_by: str | None = "password") -> None:
    """A fresh session at login: a new login session's secret in the cookie, and nothing from before but this
    device's language choice. `signed_in_by`: how the user proved who they are, recorded as their login (None:
    a session renewed for a user already signed in). Commits the new login session."""
    if signed_in_by is not None:
        record_login(user, signed_in_by)
    open_session(user)
    db.session.commit()
    clear_session()
    login_user(user)
    mark_login()


def end_session() -> None:
    """Log this browser out: its login session ends on the server too (a copy of the cookie is refused)."""
    close_session(current_user.get_id() if current_user.is_authenticated else None)
    db.session.commit()
    logout_user()
    clear_session()


def form_status(form: FlaskForm) -> int:
    """400 for a submitted form with errors, else 200."""
    return 400 if form.is_submitted() and form.errors else 200


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
            target = next_url(form.next.data)
            joined = join_through_invite_link(user, target)  # registered from an invite link: in that cohort
            adopt_language(user, session.get("lang"))
            db.session.commit()
            start_session(user, signed_in_by="registration")
            flash(_("Welcome, %(name)s! Your account is ready.", name=user.name), "success")
            if joined.problem:
                flash(joined.problem, "error")
            if joined.cohort is not None:
                flash(_("You joined “%(name)s”.", name=joined.cohort.name), "success")
                return redirect(url_for("learn.outline", course_key=course_key_of(joined.cohort.course_id)))
            return redirect(target)
    return render_template("auth/register.html", form=form), form_status(form)


@bp.route("/login", methods=["GET", "POST"])
@limit("login")
def login():
    if current_user.is_authenticated:
        return redirect(next_url())
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        if not reserve_login_attempt(form.email.data):
            login_throttled(form.email.data)
            db.session.commit()
            # Same answer whether or not the account exists: the email typed is what is throttled.
            form.password.errors.append(_("Too many failed attempts for this account. Try again in 15 minutes."))
            return render_template("auth/login.html", form=form), 429
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            adopt_language(user, session.get("lang"))  # chosen before logging in: now on every device
            db.session.commit()
            release_login_attempt(form.email.data)
            target = next_url(form.next.data)
            if has_factor(user.id):  # no login session yet: the code page opens it (course/auth/mfa.py)
                hold_login(user, target)
                return redirect(url_for("auth.login_code"))
            start_session(user)
            if is_required(user):  # staff without two-step login: nothing else until it is set up
                return redirect(url_for("auth.mfa_setup", next=target))
            return redirect(target)
        db.session.commit()  # the failure's audit entry
        form.password.errors.append(_("The email or password is not right."))
    return render_template("auth/login.html", form=form), form_status(form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    end_session()
    flash(_("You are logged out."), "info")
    return redirect(url_for("learn.catalogue"))


@bp.route("/logout/everywhere", methods=["POST"])
@login_required
def logout_everywhere():
    user = signed_in_user()
    end_all_sessions(user)
    record(Action.LOGGED_OUT_EVERYWHERE, actor_id=user.id, target_user_id=user.id)
    db.session.commit()
    logout_user()
    clear_session()
    flash(_("You are logged out on every device."), "info")
    return redirect(url_for("learn.catalogue"))


@bp.route("/language", methods=["POST"], endpoint="set_language")
def switch_language():
    """The switch in every page's header: this browser's choice, and a signed-in user's on every device."""
    lang = request.form.get("lang", "")
    if lang not in current_app.config["LANGUAGES"]:
        raise BadRequest(_("Unknown language."))
    session["lang"] = lang
    if current_user.is_authenticated:
        set_language(signed_in_user(), lang)
        db.session.commit()
    return redirect(next_url(request.form.get("next")))


@bp.route("/password/set/<token>", methods=["GET", "POST"], endpoint="set_password")
def set_password_page(token: str):
    """Set a password from a signed, expiring, single-use link (accounts created by CSV enrolment)."""
    return _password_from_link(token, SET_PASSWORD)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Choose a new password from the link of a reset email (valid an hour, once)."""
    return _password_from_link(token, RESET_PASSWORD)


def _password_from_link(token: str, purpose: str):
    user = user_for_token(token, purpose)
    if user is None:
        abort(404, description=_("This link has expired or was already used. Ask for a new one."))
    form = SetPasswordForm()
    if form.validate_on_submit():
        first_login = user.last_login_at is None
        set_password(user, form.password.data)  # rotates the session token: old sessions and links end
        record(Action.PASSWORD_SET, actor_id=user.id, target_user_id=user.id, details={"link": purpose})
        adopt_language(user, session.get("lang"))
        if purpose == RESET_PASSWORD:  # a first password (an enrolment's link) changes nothing the owner had
            notify_password_reset(user)
        db.session.commit()
        logout_user()
        if has_factor(user.id):  # the link proves the email address, not the second factor
            hold_login(user, url_for("learn.catalogue"))
            flash(_("Your password is set. Enter a code from your app to log in."), "success")
            return redirect(url_for("auth.login_code"))
        start_session(user, signed_in_by="password link")
        flash(_("Your password is set. Welcome, %(name)s!", name=user.name), "success")
        return redirect(_first_page(user) if first_login else url_for("learn.catalogue"))
    joined = joined_cohorts(user)
    return render_template("auth/set_password.html", form=form, user=user, joined=joined), form_status(form)


def _first_page(user: User) -> str:
    """After the first login: which cohorts the learner joined, and the course of the one they joined."""
    joined = joined_cohorts(user)
    for cohort in joined:
        flash(cohort.message, "success")
    return url_for("learn.outline", course_key=joined[0].course_key) if len(joined) == 1 else url_for("learn.catalogue")


@bp.route("/password/forgot", methods=["GET", "POST"])
@limit("reset")
def forgot_password():
    """Email a reset link. The answer is the same whether or not the email has an account."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        user = find_user(form.email.data)
        emailed = user is not None and user.active
        record(Action.PASSWORD_RESET_REQUESTED, target_user_id=user.id if user else None, details={"emailed": emailed})
        if emailed:
            send_password_reset(user)
        db.session.commit()
        flash(
            _(
                "If an account exists for %(email)s, we have sent it a link to reset the password.",
                email=form.email.data,
            ),
            "info",
        )
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot_password.html", form=form), form_status(form)
