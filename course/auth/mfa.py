"""Two-step login pages, on the auth blueprint: the code asked after the password (`login_code`), setting up the
authenticator app (`mfa_setup`), and the account's two-step login page (`mfa`: new recovery codes, turning it
off). Plus the rule that a staff account without its app may do nothing else (`require_staff_mfa`).

The domain is `course/accounts/mfa.py`; the login waiting for its code, `course/accounts/pending_login.py`.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import Field

from course.accounts import mfa
from course.accounts.emails import notify_two_step_login
from course.accounts.models import User
from course.accounts.pending_login import has_pending_login, pending_login
from course.accounts.services import AccountError
from course.accounts.sessions import signed_in_user
from course.auth.account import account_post, password_refused
from course.auth.forms import ConfirmForm, LoginCodeForm, SetupCodeForm
from course.auth.routes import bp, form_status, next_url, start_session
from course.extensions import db
from course.ratelimit import limit, release_mfa_attempt, reserve_mfa_attempt, user_or_address

ENROLMENT = "mfa_enrolment"  # the session's key for the secret being set up (encrypted)
# What a staff account without its app may still open: the set-up page, logging out, the language switch, files.
OPEN_UNTIL_SET_UP = frozenset(
    {"auth.mfa_setup", "auth.logout", "auth.set_language", "static", "ops.favicon", "ops.healthz"}
)


def too_many_codes() -> str:
    return _("Too many wrong codes for this account. Try again in 15 minutes.")


def wrong_code() -> str:
    return _("This code is not right, or was already used.")


@bp.before_app_request
def require_staff_mfa():
    """A staff account without two-step login is sent to set it up, from every page; a POST does nothing."""
    if request.endpoint in OPEN_UNTIL_SET_UP or not current_user.is_authenticated:
        return None
    if request.path == "/api" or request.path.startswith("/api/"):
        return None  # a token, not a session: the API answers its staff operations with a 403 problem instead
    if not mfa.needs_setup(current_user):
        return None
    if request.method in ("GET", "HEAD"):
        return redirect(url_for("auth.mfa_setup", next=request.full_path.rstrip("?")))
    flash(_("Set up two-step login first: your role requires it."), "error")
    return redirect(url_for("auth.mfa_setup"), 303)


# -- the second step of a login ---------------------------------------------------------------------------------
@bp.route("/login/code", methods=["GET", "POST"])
@limit("login")
def login_code():
    if current_user.is_authenticated:
        return redirect(next_url())
    had_one = has_pending_login()
    pending = pending_login()
    if pending is None:
        if had_one:
            flash(_("Your login has expired. Please log in again."), "info")
        return redirect(url_for("auth.login"))
    user = pending.user
    form = LoginCodeForm()
    if form.validate_on_submit():
        if not reserve_mfa_attempt(user.id):
            mfa.code_throttled(user)
            db.session.commit()
            form.code.errors.append(too_many_codes())
            return render_template("auth/login_code.html", form=form), 429
        check = mfa.verify_second_factor(user, form.code.data)
        db.session.commit()  # the code's step or the spent recovery code, and the audit entry
        if check.accepted:
            release_mfa_attempt(user.id)
            start_session(user, signed_in_by="second factor")
            if check.recovery_codes_left is not None:
                flash(
                    _(
                        "You used a recovery code: %(left)d left. Make a new set on your account page.",
                        left=check.recovery_codes_left,
                    ),
                    "info",
                )
            return redirect(next_url(pending.next))
        form.code.errors.append(wrong_code())
    return render_template("auth/login_code.html", form=form), form_status(form)


# -- setting up the app ---------------------------------------------------------------------------------------
def enrolment_secret() -> str:
    """The secret being set up in this browser: kept (encrypted) in its session until the app's code proves it,
    so that opening the page again shows the same QR code. Nothing is stored before that."""
    secret = mfa.decrypt_secret(session[ENROLMENT]) if ENROLMENT in session else None
    if secret is None:
        secret = mfa.new_secret()
        session[ENROLMENT] = mfa.encrypt_secret(secret)
    return secret


@bp.route("/account/mfa/setup", methods=["GET", "POST"])
@login_required
def mfa_setup():
    user = signed_in_user()
    target = next_url() if request.args.get("next") else url_for("auth.mfa")
    if mfa.has_factor(user.id):
        return redirect(url_for("auth.mfa"))
    secret = enrolment_secret()
    form = SetupCodeForm()
    if form.validate_on_submit():
        try:
            codes = mfa.enrol(user, secret, form.code.data)
        except AccountError:  # a second request turned it on first
            db.session.rollback()
            return redirect(url_for("auth.mfa"), 303)
        if codes is not None:
            notify_two_step_login(user, "on")
            db.session.commit()
            session.pop(ENROLMENT, None)
            flash(_("Two-step login is on."), "success")
            return render_template("auth/recovery_codes.html", codes=codes, next=target)
        form.code.errors.append(_("This is not the code the app shows now. Check that you added this account."))
    return render_template(
        "auth/mfa_setup.html",
        form=form,
        required=mfa.is_required(user),
        secret=mfa.grouped(secret),
        qr_code=mfa.qr_code(mfa.provisioning_uri(secret, user)),
    ), form_status(form)


# -- the account's two-step login page ----------------------------------------------------------------------------
def manage_page(status: int = 200, **forms):
    user = signed_in_user()
    factor = mfa.factor_of(user.id)
    forms.setdefault("codes_form", ConfirmForm(formdata=None, prefix="codes"))
    forms.setdefault("off_form", ConfirmForm(formdata=None, prefix="off"))
    return render_template(
        "auth/mfa.html",
        factor=factor,
        codes_left=mfa.recovery_codes_left(user.id) if factor else 0,
        required=mfa.is_required(user),
        **forms,
    ), status


def proof_refused(user: User, field: Field) -> int | None:
    """Check the password or current code typed in `field`, each throttled like its own kind of login. The status
    to answer with if it is refused, else None."""
    if not mfa.looks_like_code(field.data):
        return password_refused(user, field)
    if not reserve_mfa_attempt(user.id):
        mfa.code_throttled(user)
        db.session.commit()
        field.errors.append(too_many_codes())
        return 429
    accepted = mfa.verify_second_factor(user, field.data).accepted
    db.session.commit()  # the code's step, or the failure's audit entry
    if not accepted:
        field.errors.append(wrong_code())
        return 400
    release_mfa_attempt(user.id)
    return None


@bp.route("/account/mfa", endpoint="mfa")
@login_required
def mfa_page():
    return manage_page()


@bp.route("/account/mfa/recovery-codes", methods=["POST"])
@account_post
@limit("account", key_func=user_or_address)  # each checks a password (argon2) or a code
def mfa_recovery_codes():
    user = signed_in_user()
    if not mfa.has_factor(user.id):
        return redirect(url_for("auth.mfa_setup"), 303)
    form = ConfirmForm(prefix="codes")
    if not form.validate_on_submit():
        return manage_page(400, codes_form=form)
    if refused := proof_refused(user, form.proof):
        return manage_page(refused, codes_form=form)
    codes = mfa.make_recovery_codes(user)
    db.session.commit()
    flash(_("Your new recovery codes are ready: the old ones no longer work."), "success")
    return render_template("auth/recovery_codes.html", codes=codes, next=url_for("auth.mfa"))


@bp.route("/account/mfa/disable", methods=["POST"])
@account_post
@limit("account", key_func=user_or_address)
def mfa_disable():
    user = signed_in_user()
    if mfa.is_required(user):
        flash(_("Your role requires two-step login: it cannot be turned off."), "error")
        return redirect(url_for("auth.mfa"), 303)
    form = ConfirmForm(prefix="off")
    if not form.validate_on_submit():
        return manage_page(400, off_form=form)
    if refused := proof_refused(user, form.proof):
        return manage_page(refused, off_form=form)
    mfa.disable(user)
    notify_two_step_login(user, "off")
    db.session.commit()
    flash(_("Two-step login is off. You log in with your password alone."), "success")
    return redirect(url_for("auth.mfa"), 303)
