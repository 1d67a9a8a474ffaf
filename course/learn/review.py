"""The Review page of a course: the learner's due review cards one at a time (course/progress/review.py), how many
are due this week, and a chart of how much they remember, week by week.

A card is answered with a POST (CSRF-checked) that names the card and carries the signed token of the display
(course/progress/review_display.py); the learner is then sent to the page again with `?answered=<review id>`,
which shows that review's result — the explanation and a link back to the lesson — so a reload never answers
twice. A card or review of someone else is a 404.
"""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask_babel import format_date, format_percent
from flask_babel import gettext as _
from flask_login import current_user, login_required

from course import charts
from course.content.lookup import get_course_or_404
from course.content.models import Course
from course.content.question_types import QUESTION_TYPES, ResponseError
from course.extensions import db
from course.forms import EmptyForm, positive_int
from course.learn.lessons import bp
from course.progress import review as reviews
from course.progress.review_display import (
    ANSWER_FIELD,
    DISPLAY_FIELD,
    Display,
    new_display,
    read_answer,
    read_display,
    shown_options,
)
from course.progress.review_models import ReviewCard, ReviewLog

MAX_ID = 2**31 - 1


def _chart(overview: reviews.Overview) -> charts.BarChart:
    """The retention chart: one row a week (labelled with the day it starts), the share of its reviews answered
    right ("—" for a week without reviews)."""
    rows = [
        (
            format_date(week.starts, "medium"),
            week.share or 0,
            "—" if week.share is None else format_percent(week.share),
        )
        for week in overview.weeks
    ]
    return charts.horizontal_bars(rows, max_value=1, width=420, label_width=120, value_width=60)


def _render(
    course: Course,
    card: ReviewCard | None,
    display: Display | None = None,
    answered: ReviewLog | None = None,
    error: str | None = None,
    status: int = 200,
):
    overview = reviews.overview(current_user.id, course.id)
    question = reviews.question_of(card.question_id) if card is not None else None
    if card is not None and display is None:
        display = new_display(current_user.id, card.id)
    result_question = reviews.question_of(answered.question_id) if answered is not None else None
    return render_template(
        "learn/review.html",
        course=course,
        overview=overview,
        card=card,
        question=question,
        display=display,
        options=shown_options(question, display.nonce) if question is not None and display is not None else [],
        answered=answered,
        result_question=result_question,
        types=QUESTION_TYPES,
        error=error,
        chart=_chart(overview),
        answer_field=ANSWER_FIELD,
        token_field=DISPLAY_FIELD,
        form=EmptyForm(),
    ), status


@bp.route("/courses/<course_key>/review")
@login_required
def review(course_key: str):
    course = get_course_or_404(course_key)
    if "answered" in request.args:
        log_id = positive_int(request.args["answered"], 0, MAX_ID)
        answered = reviews.log_of(current_user.id, course.id, log_id) if log_id else None
        if answered is None:
            abort(404, description=_("There is no such review of yours in this course."))
        return _render(course, None, answered=answered)
    return _render(course, reviews.next_due(current_user.id, course.id))


@bp.route("/courses/<course_key>/review/<int:card_id>", methods=["POST"])
@login_required
def review_answer(course_key: str, card_id: int):
    course = get_course_or_404(course_key)
    card = reviews.card_of(current_user.id, course.id, card_id, lock=True)
    if card is None:
        abort(404, description=_("There is no such review card of yours in this course."))
    try:
        display = read_display(request.form.get(DISPLAY_FIELD, ""), current_user.id, card.id)
    except reviews.ReviewError as exc:
        return _render(course, card, error=str(exc), status=400)
    try:  # before the answer is read: a card not due is refused whatever was sent (answer() checks it again)
        reviews.check_due(card, display.nonce)
    except reviews.ReviewError as exc:
        return _render(course, reviews.next_due(current_user.id, course.id), error=str(exc), status=409)
    question = reviews.question_of(card.question_id)
    try:
        response = read_answer(question, display.nonce, request.form)
    except ResponseError as exc:
        return _render(course, card, display=display, error=str(exc), status=400)
    try:
        log, _created = reviews.answer(card, question, response, display.nonce)
    except reviews.ReviewError as exc:
        db.session.rollback()
        return _render(course, reviews.next_due(current_user.id, course.id), error=str(exc), status=409)
    db.session.commit()
    return redirect(url_for("learn.review", course_key=course.key, answered=log.id, _anchor="review-result"))
