"""Reminding learners from the dashboard: "Remind these learners…" on the at-risk list and "Send a reminder…" on a
learner's page. A GET shows the preview — how many will be emailed, who, who will not (reminders turned off, or a
disabled account), and the message in the reader's language (each learner gets it in theirs) — and the form, which
carries the ids of the learners shown; the POST sends to those, checked again, not to whoever is at risk by then
(course/dashboard/nudges.py). Access as every dashboard page: the cohort's instructors and admins, 404 for anyone
else and for a learner not in the cohort."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import partial

from flask import abort, flash, redirect, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required

from course.accounts.sessions import signed_in_user
from course.cohorts.models import Cohort
from course.cohorts.services import get_learner_enrolment_or_404
from course.dashboard import lists, nudges
from course.dashboard.coursemap import CourseMap
from course.dashboard.forms import ReminderForm
from course.dashboard.labels import name_list
from course.dashboard.routes import bp, load_cohort, render_page
from course.db_types import utcnow
from course.extensions import db


@bp.route("/cohorts/<int:cohort_id>/dashboard/at-risk/remind", methods=["GET", "POST"])
@login_required
def remind_at_risk(cohort_id: int):
    """The at-risk list as its page was filtered (?days=&reason=), every page of it."""
    cohort, cm = load_cohort(cohort_id)
    params = lists.AtRiskParams.from_args(request.args)
    back = url_for("dashboard.at_risk", cohort_id=cohort.id, **params.args(page=1))
    shown = partial(nudges.at_risk_recipients, cohort, cm, utcnow(), params.reason, params.days)
    return _remind(cohort, cm, shown, back, "at_risk")


@bp.route("/cohorts/<int:cohort_id>/learners/<int:user_id>/remind", methods=["GET", "POST"])
@login_required
def remind_learner(cohort_id: int, user_id: int):
    cohort, cm = load_cohort(cohort_id)
    _enrolment, user = get_learner_enrolment_or_404(cohort, user_id)
    back = url_for("dashboard.learner", cohort_id=cohort.id, user_id=user.id)
    shown = partial(nudges.learner_recipients, cohort, cm, utcnow(), user.id)
    return _remind(cohort, cm, shown, back, "learners", learner=user)


def _remind(cohort: Cohort, cm: CourseMap, shown: Callable[[], nudges.Recipients], back: str, section: str, **extra):
    """GET: the preview of `shown()`, its learners' ids in the form. POST: to those learners (`_send`)."""
    form = ReminderForm()
    if request.method == "GET":
        form.key.data = secrets.token_hex(16)
    elif form.validate_on_submit():
        return _send(cohort, cm, form, back)
    recipients = shown()
    form.learners.data = ",".join(str(person.user.id) for person in recipients.to_email)
    sample = recipients.to_email[0] if recipients.to_email else None
    subject = text = None
    if sample is not None:
        placeholder = _("[Your note, if you write one, appears here.]")
        subject, text = nudges.preview(cohort, sample, str(get_locale()), current_user, placeholder)
    status = 400 if form.is_submitted() else 200
    page = render_page(
        "dashboard/nudge.html", cohort, cm, section,
        recipients=recipients, form=form, subject=subject, text=text, sample=sample, back_url=back, **extra,
    )  # fmt: skip
    return page, status


def _send(cohort: Cohort, cm: CourseMap, form: ReminderForm, back: str):
    """To exactly the learners the preview showed, checked again: who since turned reminders off or was disabled is
    left out and named; an id that is not a learner of the cohort refuses the form (400), nothing sent."""
    recipients = nudges.previewed_recipients(cohort, cm, utcnow(), form.learner_ids())
    if recipients is None:
        abort(400, description=_("Some of these learners are not in this cohort any more. Open the reminder again."))
    if recipients.to_email:
        note = (form.note.data or "").strip()
        sender = signed_in_user()
        written = nudges.send_reminders(cohort, recipients, key=form.key.data, note=note, sender=sender)
        db.session.commit()
        if written:
            flash(
                ngettext("Reminder sent to %(num)d learner.", "Reminder sent to %(num)d learners.", written), "success"
            )
        else:
            flash(_("This reminder was sent already: nothing was sent again."), "success")
    else:
        flash(_("No one to remind: no learner here can be emailed."), "error")
    if recipients.skipped:
        names = name_list(person.user.name for person, _why in recipients.skipped)
        count = len(recipients.skipped)
        flash(
            ngettext(
                "Not sent to %(num)d learner who can no longer be emailed (reminders turned off or account disabled"
                " since the preview): %(names)s.",
                "Not sent to %(num)d learners who can no longer be emailed (reminders turned off or account disabled"
                " since the preview): %(names)s.",
                count,
                names=names,
            ),
            "info",
        )
    return redirect(back)
