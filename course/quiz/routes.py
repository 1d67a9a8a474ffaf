"""End-of-chapter quizzes: take, submit, see the result, see the history."""

from __future__ import annotations

import secrets

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user, login_required

from course.auth.forms import EmptyForm
from course.content.cache import quiz_with_questions
from course.learn.access import get_course_or_404, refuse_if_locked
from course.progress.outline import build_outline
from course.progress.services import maybe_complete_course
from course.quiz import services
from course.quiz.types import QUESTION_TYPES
from course.ratelimit import limit, user_or_address
from course.sql import reads_first, writing

bp = Blueprint("quiz", __name__)


def _load(course_key: str, quiz_key: str):  # noqa: ANN202
    course = get_course_or_404(course_key)
    outline = build_outline(course, current_user.id)
    found = outline.find_quiz(quiz_key)
    if found is None:
        abort(404)
    chapter, status = found
    refuse_if_locked(chapter)
    status.quiz = quiz_with_questions(course, status.quiz)  # with its questions and options
    return course, outline, chapter, status


def _render_quiz(course, outline, chapter, status, submission=None, form_values=None, status_code=200):  # noqa: ANN001, ANN202
    return render_template(
        "quiz/quiz.html",
        course=course,
        outline=outline,
        chapter=chapter,
        status=status,
        quiz=status.quiz,
        types=QUESTION_TYPES,
        submission=submission,
        values=form_values,
        submission_key=secrets.token_urlsafe(16),
        form=EmptyForm(),
    ), status_code


@bp.route("/courses/<course_key>/quizzes/<quiz_key>", methods=["GET"])
@login_required
def quiz(course_key: str, quiz_key: str):
    course, outline, chapter, status = _load(course_key, quiz_key)
    return _render_quiz(course, outline, chapter, status)


@bp.route("/courses/<course_key>/quizzes/<quiz_key>", methods=["POST"])
@login_required
@limit("quiz", key_func=user_or_address)
@reads_first
def submit(course_key: str, quiz_key: str):
    course, outline, chapter, status = _load(course_key, quiz_key)
    quiz = status.quiz
    key = request.form.get("submission_key", "")
    refusal = _refusal(outline, status)
    submission = services.read_submission(quiz, request.form) if refusal is None else None
    if refusal is not None or not submission.ok:
        # The same submission sent again (a retry after its answer was lost) shows its result, even when the
        # attempt it made is what now closes the quiz, or the quiz changed since; a new one is refused.
        # (A twin of a submission that would be accepted is found by `services.submit`, under the write lock.)
        already = services.find_by_key(current_user.id, key) if key else None
        if already is not None:
            flash(_("This attempt was already submitted; here is its result."), "info")
            return redirect(url_for("quiz.attempt", course_key=course.key, quiz_key=quiz.key, number=already.number))
    if refusal is not None:
        message, status_code = refusal
        flash(message, "error")
        return _render_quiz(course, outline, chapter, status, status_code=status_code)
    if not submission.ok:
        return _render_quiz(course, outline, chapter, status, submission, request.form, status_code=400)
    # The course can only be complete now if everything but this quiz already was (else skip the re-count).
    others_done = all(ls.completed for ls in outline.lessons) and all(
        q.passed for q in outline.quizzes if q.quiz.id != quiz.id
    )
    # Graded from reads without SQLite's write lock; the write checks the key and the attempt count again.
    try:
        with writing():
            attempt, created = services.submit(current_user.id, quiz, submission, key)
            passed_last = created and attempt.passed and others_done
            completion = maybe_complete_course(current_user.id, course) if passed_last else None
    except services.SubmissionError as exc:
        flash(str(exc), "error")
        return _render_quiz(course, outline, chapter, status, submission, request.form, status_code=409)
    if not created:
        flash(_("This attempt was already submitted; here is its result."), "info")
    elif completion is not None and outline.completion is None:
        flash(_("Congratulations — you have completed the course!"), "success")
    return redirect(url_for("quiz.attempt", course_key=course.key, quiz_key=quiz.key, number=attempt.number))


def _refusal(outline, status) -> tuple[str, int] | None:  # noqa: ANN001 - a CourseOutline and its QuizStatus
    """Why the learner may not submit this quiz now (a message and a status code), if they may not."""
    if outline.schedule is not None and outline.schedule.closed():
        message = _(
            "Your cohort ended on %(date)s: quizzes are closed. Ask your instructor for an extension.",
            date=format_date(outline.schedule.deadline, "long"),
        )
        return message, 403
    if not status.open:
        return _("Finish the chapter's lessons first: the quiz opens when they are complete."), 403
    if status.attempts_left == 0:
        return _("You have used all %(n)d attempts for this quiz.", n=status.quiz.max_attempts), 409
    return None


@bp.route("/courses/<course_key>/quizzes/<quiz_key>/attempts")
@login_required
def history(course_key: str, quiz_key: str):
    course, outline, chapter, status = _load(course_key, quiz_key)
    attempts = services.history(current_user.id, status.quiz)
    return render_template(
        "quiz/history.html", course=course, chapter=chapter, status=status, quiz=status.quiz, attempts=attempts
    )


@bp.route("/courses/<course_key>/quizzes/<quiz_key>/attempts/<int:number>")
@login_required
def attempt(course_key: str, quiz_key: str, number: int):
    course, outline, chapter, status = _load(course_key, quiz_key)
    attempt = services.get_attempt(current_user.id, status.quiz, number)
    if attempt is None:
        abort(404)
    level = services.reveal_level(status.quiz, status.passed)
    questions = services.questions_by_id([a.question_id for a in attempt.answers])
    next_step = outline.next_step()
    return render_template(
        "quiz/result.html",
        course=course,
        outline=outline,
        chapter=chapter,
        status=status,
        quiz=status.quiz,
        attempt=attempt,
        level=level,
        questions=questions,
        types=QUESTION_TYPES,
        next_step=next_step,
    )
