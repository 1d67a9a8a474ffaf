"""Announcement pages on the cohorts blueprint: a cohort's announcements with the form that previews and posts a
new one (its instructors and admins only: a 404 for anyone else, as every page of a cohort), and the button a
learner dismisses one with on their outline (only an announcement of their own cohort: a 404 otherwise)."""

from __future__ import annotations

import secrets

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from course.accounts.sessions import signed_in_user
from course.cohorts import announcements, services
from course.cohorts.announcement_forms import AnnouncementForm
from course.cohorts.errors import CohortError
from course.cohorts.models import Cohort
from course.cohorts.routes import bp
from course.extensions import db
from course.i18n import sentences


@bp.route("/cohorts/<int:cohort_id>/announcements", methods=["GET", "POST"])
@login_required
def announcements_page(cohort_id: int):
    cohort = services.get_cohort_for_staff_or_404(cohort_id, current_user)
    form = AnnouncementForm()
    if request.method == "GET":
        form.submission_key.data = secrets.token_urlsafe(16)
    preview = None
    if form.validate_on_submit():
        try:
            draft = announcements.check_draft(form.title.data, form.body.data)
            if form.post.data:
                posted = announcements.post_announcement(cohort, signed_in_user(), draft, form.submission_key.data)
            else:
                preview = announcements.preview_html(draft)
        except CohortError as exc:
            db.session.rollback()
            (form[exc.field].errors if exc.field in form else form.form_errors).append(str(exc))
        else:
            if preview is None:
                db.session.commit()
                _flash_posted(posted)
                return redirect(url_for("cohorts.announcements_page", cohort_id=cohort.id) + "#posted")
    return _render(cohort, form, preview)


def _flash_posted(posted: announcements.Posted) -> None:
    if not posted.created:
        flash(_("This announcement was already posted."), "success")
        return
    seen = ngettext(
        "Announcement posted: %(num)d learner sees it on their course page.",
        "Announcement posted: %(num)d learners see it on their course page.",
        posted.learners,
    )
    emailed = ngettext("%(num)d email is on its way.", "%(num)d emails are on their way.", posted.emailed)
    flash(sentences([seen, emailed]), "success")


def _render(cohort: Cohort, form: AnnouncementForm, preview):
    refused = form.is_submitted() and bool(form.errors or form.form_errors)
    return render_template(
        "cohorts/announcements.html",
        cohort=cohort,
        form=form,
        preview=preview,
        audience=announcements.audience(cohort),
        posted=announcements.announcements_of(cohort),
    ), (400 if refused else 200)


@bp.route("/announcements/<int:announcement_id>/dismiss", methods=["POST"])
@login_required
def dismiss_announcement(announcement_id: int):
    found = announcements.announcement_for_learner(announcement_id, current_user.id)
    if found is None:
        abort(404)
    announcement, course_key = found
    announcements.dismiss(announcement, current_user.id)
    db.session.commit()
    flash(_("Announcement dismissed."), "success")
    return redirect(url_for("learn.outline", course_key=course_key))
