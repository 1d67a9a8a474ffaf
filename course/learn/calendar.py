"""A learner's calendar of their cohort: the feed a calendar app subscribes to (no login: its secret address is the
key, course.cohorts.calendar) and the outline's "Add to calendar" buttons that make and reset that address."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from course.cohorts.calendar import feed_for_token, make_feed, reset_feed
from course.cohorts.enrolment import enrolment_for
from course.cohorts.ics import feed_calendar
from course.content.lookup import get_course_or_404
from course.extensions import db
from course.learn.lessons import bp


@bp.route("/calendar/<token>.ics")
def calendar_feed(token: str):
    feed = feed_for_token(token)
    if feed is None:
        abort(404, description=_("This calendar link does not work any more. Take the new one from the course page."))
    return Response(
        feed_calendar(feed),
        mimetype="text/calendar",  # Flask adds "; charset=utf-8"
        headers={"Cache-Control": "private, max-age=3600", "Content-Disposition": 'inline; filename="course.ics"'},
    )


def _my_cohort_or_404(course_key: str) -> int:
    course = get_course_or_404(course_key)
    enrolment = enrolment_for(current_user.id, course.id)
    if enrolment is None:
        abort(404, description=_("You are not in a cohort of this course, so it has no calendar for you."))
    return enrolment.cohort_id


@bp.route("/courses/<course_key>/calendar", methods=["POST"])
@login_required
def calendar_link(course_key: str):
    make_feed(current_user.id, _my_cohort_or_404(course_key))
    db.session.commit()
    return redirect(url_for("learn.outline", course_key=course_key, _anchor="calendar"))


@bp.route("/courses/<course_key>/calendar/reset", methods=["POST"])
@login_required
def calendar_reset(course_key: str):
    reset_feed(current_user.id, _my_cohort_or_404(course_key))
    db.session.commit()
    flash(_("Your calendar has a new link: the old one no longer works. Subscribe to the new one."), "success")
    return redirect(url_for("learn.outline", course_key=course_key, _anchor="calendar"))
