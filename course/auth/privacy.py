"""The account page's "Your data": download everything stored about you (JSON) and your workbook (Markdown), and
delete your account after typing your password (never the last active admin's). POST only for the downloads: each
is recorded in the audit log, and a GET changes nothing."""

from __future__ import annotations

import json

from flask import Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import login_required, logout_user

from course.accounts.services import AccountError
from course.accounts.sessions import clear_session, signed_in_user
from course.auth.account import account_post, password_refused
from course.auth.forms import DeleteAccountForm
from course.auth.routes import bp, form_status
from course.clock import today
from course.extensions import db
from course.privacy.deletion import delete_account, refusal
from course.privacy.export import export_data, workbook_markdown
from course.ratelimit import limit, user_or_address


def download(body: str, mimetype: str, filename: str) -> Response:
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


@bp.route("/account/data", methods=["POST"])
@account_post
def download_data():
    document = export_data(signed_in_user())
    db.session.commit()
    body = json.dumps(document, ensure_ascii=False, indent=2)
    return download(body, "application/json", f"founder-course-data-{today().isoformat()}.json")


@bp.route("/account/workbook", methods=["POST"])
@account_post
def download_workbook():
    body = workbook_markdown(signed_in_user())
    db.session.commit()
    return download(body, "text/markdown", f"founder-course-workbook-{today().isoformat()}.md")


@bp.route("/account/delete", methods=["GET", "POST"])
@login_required
@limit("account", key_func=user_or_address)  # each checks a password (argon2)
def delete_own_account():
    user = signed_in_user()
    form = DeleteAccountForm(prefix="delete")
    if problem := refusal(user, by=user):  # the last active admin: the page says why, without the form
        status = 409 if form.is_submitted() else 200
        return render_template("auth/delete_account.html", form=form, problem=problem), status
    if form.validate_on_submit():
        if refused := password_refused(user, form.password):
            return render_template("auth/delete_account.html", form=form), refused
        try:
            delete_account(user, by=user)
        except AccountError as exc:  # another admin's account was deleted or disabled since
            db.session.rollback()
            return render_template("auth/delete_account.html", form=form, problem=str(exc)), 409
        db.session.commit()
        logout_user()
        clear_session()
        flash(_("Your account is deleted. Thank you for learning with us."), "info")
        return redirect(url_for("learn.catalogue"), 303)
    return render_template("auth/delete_account.html", form=form), form_status(form)
