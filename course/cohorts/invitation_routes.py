"""Inviting learners from the cohort page: "add a learner" (an account is made for a new address) and "send the
invitation again" to a learner who has not chosen a password yet. Routes of the cohorts blueprint; like every
page of a cohort, a 404 for anyone who does not run it. The CSV enrolment invites its learners too
(course/cohorts/csv_import.py)."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from course.cohorts import invitations, services
from course.cohorts.errors import CohortError
from course.cohorts.forms import AddLearnerForm
from course.cohorts.routes import bp, learner_changed, refused, render_detail, staff_cohort
from course.extensions import db
from course.ratelimit import limit, user_or_address


@bp.route("/cohorts/<int:cohort_id>/learners/add", methods=["POST"])
@login_required
@limit("upload", key_func=user_or_address)
def add_learner(cohort_id: int):
    """Enrol one learner by email and email them their invitation; a double submit enrols and emails once."""
    cohort = staff_cohort(cohort_id)
    form = AddLearnerForm()
    if not form.validate_on_submit():
        return render_detail(cohort, 400, add=form)
    try:
        invited = invitations.add_learner(cohort, form.email.data, form.name.data or "", form.language.data)
    except CohortError as exc:
        db.session.rollback()
        form.email.errors.append(str(exc))
        return render_detail(cohort, 400, add=form)
    db.session.commit()
    if invited.emailed:
        flash(_("%(email)s is in the cohort and was emailed their invitation.", email=invited.user.email), "success")
    else:
        flash(_("%(email)s is in the cohort. %(reason)s", email=invited.user.email, reason=invited.reason), "info")
    return redirect(url_for("cohorts.detail", cohort_id=cohort.id) + "#learners")


@bp.route("/cohorts/<int:cohort_id>/learners/<int:user_id>/invitation", methods=["POST"])
@login_required
@limit("account", key_func=user_or_address)
def resend_invitation(cohort_id: int, user_id: int):
    """The invitation again, with a fresh link to choose a password: once per form shown (its one-time
    `submission_key`), so a double click sends one message; rate-limited."""
    cohort = staff_cohort(cohort_id)
    enrolment, user = services.get_learner_enrolment_or_404(cohort, user_id)
    key = request.form.get("submission_key", "")
    if not invitations.RESEND_KEY.fullmatch(key):
        return refused(cohort, CohortError(_("This form is incomplete; please reload the page.")))
    try:
        invitations.resend(enrolment, user, cohort, key)
    except CohortError as exc:
        return refused(cohort, exc)
    return learner_changed(cohort, _("The invitation was emailed to %(email)s again.", email=user.email))
