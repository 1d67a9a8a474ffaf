"""The account page's "API tokens": make a personal access token (shown once, on the page the form answers
with), revoke one. A user sees and revokes only their own (no user id in the URLs)."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from course.accounts.api_tokens import TokenError, create_token, revoke
from course.accounts.sessions import signed_in_user
from course.auth.account import account_page, account_post, password_refused
from course.auth.routes import bp
from course.auth.token_forms import token_form
from course.extensions import db


@bp.route("/account/api-tokens", methods=["POST"])
@account_post
def create_api_token():
    user = signed_in_user()
    form = token_form(user, submitted=True)
    if not form.validate_on_submit():
        return account_page(400, token_form=form)
    if refused := password_refused(user, form.password):  # a new way into the account, as a new password
        return account_page(refused, token_form=form)
    try:
        _token, secret = create_token(user, form.name.data, form.chosen_scopes(), form.expires.data)
    except TokenError as exc:
        db.session.rollback()
        form.form_errors.append(str(exc))
        return account_page(400, token_form=form)
    db.session.commit()
    # Shown on this page only: the token is not stored, and never goes into the session or a flash message.
    return account_page(201, new_token=secret)


@bp.route("/account/api-tokens/<int:token_id>/revoke", methods=["POST"])
@account_post
def revoke_api_token(token_id: int):
    if not revoke(current_user.id, token_id):
        abort(404)
    db.session.commit()
    flash(_("The token is revoked: it no longer works."), "success")
    return redirect(url_for("auth.account") + "#account-api-tokens", 303)
