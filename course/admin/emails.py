"""The outbox, for admins: every email the app wrote, newest first, by state — waiting, being sent, sent, failed
with the mail server's last answer — and a failed one sent again. Account emails and invitations that failed
have no body any more (their password links are secrets): a new link is sent from the user list instead."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select

from course.admin.routes import admin_required, bp
from course.audit.log import Action, record
from course.db_types import utcnow
from course.extensions import db
from course.forms import positive_int
from course.outbox.models import OutboxMessage

PAGE_SIZE = 50
MAX_PAGE = 100_000
STATUS_NAMES = {
    "pending": _l("Waiting"),
    "sending": _l("Being sent"),
    "sent": _l("Sent"),
    "failed": _l("Failed"),
}


@bp.route("/emails")
@admin_required
def emails():
    status = request.args.get("status", "")
    if status and status not in STATUS_NAMES:
        abort(400, description=_("Unknown state: choose one of the list."))
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if status:
        query = query.where(OutboxMessage.status == status)
    page = positive_int(request.args.get("page"), 1, MAX_PAGE)
    found = db.paginate(query, page=page, per_page=PAGE_SIZE, error_out=False, count=True)
    counts = dict(db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    return render_template(
        "admin/emails.html",
        found=found,
        status=status,
        statuses=STATUS_NAMES,
        counts=counts,
        form=FlaskForm(),
    )


@bp.route("/emails/<int:message_id>/retry", methods=["POST"])
@admin_required
def retry_email(message_id: int):
    """Send a failed email again: due now, with a fresh count of attempts."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        abort(404)
    if message.status != "failed" or not message.text_body:
        flash(_("Only a failed email that still has its text can be sent again."), "error")
        return redirect(url_for("admin.emails", status="failed"), 303)
    message.status, message.attempts, message.next_attempt_at, message.last_error = "pending", 0, utcnow(), None
    record(Action.EMAIL_RETRIED, target_user_id=message.user_id, details={"message": message.id, "kind": message.kind})
    db.session.info["outbox_new"] = True  # wake the worker after the commit, as for a new message
    db.session.commit()
    flash(_("The email to %(email)s will be sent again.", email=message.to_address), "success")
    return redirect(url_for("admin.emails", status="failed"), 303)
