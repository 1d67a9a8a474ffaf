"""Which optional emails a user gets: the account page's "Emails" section, and the unsubscribe link in every
optional email (course/outbox: announcements, chapter releases, reminders, the weekly digest).

The unsubscribe link needs no login: it carries a signed (user, kind). Opening it shows a button (a link
scanner that follows it unsubscribes nobody); a mail program's one-click unsubscribe (RFC 8058) POSTs
`List-Unsubscribe=One-Click` to the same URL, without a CSRF token — the signed link is its proof.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from course.accounts.models import User
from course.accounts.sessions import signed_in_user
from course.auth.account import account_page, account_post
from course.auth.forms import KIND_NAMES, NotificationsForm, kinds_for
from course.auth.routes import bp
from course.extensions import csrf, db
from course.outbox.messages import read_unsubscribe_token, set_opted_out


@bp.route("/account/notifications", methods=["POST"])
@account_post
def account_notifications():
    user = signed_in_user()
    form = NotificationsForm(prefix="notify")
    if not form.validate_on_submit():
        form.shown = [form[kind.value] for kind in kinds_for(user)]
        return account_page(400, notifications_form=form)
    for kind in kinds_for(user):
        set_opted_out(user.id, kind, not form[kind.value].data)
    db.session.commit()
    flash(_("Your email settings are saved."), "success")
    return redirect(url_for("auth.account", _anchor="account-emails"), 303)


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # a mail program's one-click POST carries no CSRF token: the signed link is the proof
def unsubscribe(token: str):
    found = read_unsubscribe_token(token)
    user = db.session.get(User, found[0]) if found else None
    if user is None or user.deleted_at is not None:
        abort(404)
    kind = found[1]
    if request.method == "GET":
        return render_template("auth/unsubscribe.html", token=token, kind_name=KIND_NAMES[kind], done=False)
    set_opted_out(user.id, kind, True)
    db.session.commit()
    if request.form.get("List-Unsubscribe") == "One-Click":
        return "", 204
    return render_template("auth/unsubscribe.html", token=token, kind_name=KIND_NAMES[kind], done=True)
