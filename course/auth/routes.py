"""Register, log in, log out, language choice. CSRFProtect checks every POST before these views run."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.exceptions import BadRequest

from course.auth.forms import LoginForm, RegisterForm
from course.auth.services import AccountError, authenticate, create_user, end_all_sessions, is_safe_next
from course.extensions import db

bp = Blueprint("auth", __name__)


def _next_url(form_value: str | None = None) -> str:
    target = form_value or request.args.get("next")
    return target if is_safe_next(target) else url_for("learn.catalogue")


def _start_session(user) -> None:  # noqa: ANN001
    session.clear()  # a fresh session at login: nothing from before carries over
    login_user(user)


@bp.route("/register", methods=["GET", "POST"])
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
            db.session.commit()
            _start_session(user)
            flash(_("Welcome, %(name)s! Your account is ready.", name=user.name), "success")
            return redirect(_next_url(form.next.data))
    status = 400 if form.is_submitted() and form.errors else 200
    return render_template("auth/register.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(_next_url())
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            db.session.commit()
            _start_session(user)
            return redirect(_next_url(form.next.data))
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
