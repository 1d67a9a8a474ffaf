"""End-of-chapter quizzes: take, submit, see the result, see the history.

The quiz page shows the learner's next attempt as its layout has it (`course.quiz.layout`: the questions drawn, the
options shuffled under opaque tokens), keyed by the attempt's submission key, which the server issues
(`journey.next_attempt_key`); a form sent back with errors is shown again with that key, so the same order and the
learner's choices. A form with any other key is a replay of an attempt made (its result is shown) or a stale page
(409, shown again as it now is). Inside the quiz's cool-down the page says when the next attempt opens and shows no
form; a submission then is refused (429).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError

from course.content.question_types import QUESTION_TYPES
from course.learn.loading import LoadedQuiz, load_quiz_or_404, status_of
from course.learn.quiz_texts import quiz_texts
from course.progress import journey
from course.quiz import attempts
from course.quiz.layout import layout
from course.ratelimit import limit, user_or_address
from course.sql import reads_first, writing

bp = Blueprint("quiz", __name__)


def _render_quiz(loaded: LoadedQuiz, submission=None, form_values=None, status_code=200, key: str = ""):
    course, outline, chapter, status = loaded
    if not key or len(key) > attempts.MAX_KEY_LENGTH:
        key = journey.next_attempt_key(current_user.id, status)
    texts = quiz_texts(status.quiz)
    return render_template(
        "quiz/quiz.html",
        course=course,
        outline=outline,
        chapter=chapter,
        status=status,
        quiz=status.quiz,
        types=QUESTION_TYPES,
        texts=texts,
        served=layout(current_user.id, status.quiz, key).served(texts.options),
        opens_at=attempts.next_attempt_at(current_user.id, status.quiz),
        submission=submission,
        values=form_values,
        submission_key=key,
    ), status_code


def _result(loaded: LoadedQuiz, number: int):
    return redirect(
        url_for("quiz.attempt", course_key=loaded.course.key, quiz_key=loaded.status.quiz.key, number=number)
    )


@bp.route("/courses/<course_key>/quizzes/<quiz_key>", methods=["GET"])
@login_required
def quiz(course_key: str, quiz_key: str):
    return _render_quiz(load_quiz_or_404(course_key, quiz_key))


@bp.route("/courses/<course_key>/quizzes/<quiz_key>", methods=["POST"])
@login_required
@limit("quiz", key_func=user_or_address)
@reads_first
def submit(course_key: str, quiz_key: str):
    loaded = load_quiz_or_404(course_key, quiz_key)
    course, outline, _chapter, status = loaded
    checked = journey.check_submission(current_user.id, outline, status, request.form)
    if checked.earlier is not None:
        flash(_("This attempt was already submitted; here is its result."), "info")
        return _result(loaded, checked.earlier.number)
    key = request.form.get("submission_key", "")
    if checked.refusal is not None:
        flash(checked.refusal.message, "error")
        return _render_quiz(loaded, status_code=status_of(checked.refusal))
    if not checked.ready:
        return _render_quiz(loaded, checked.submission, request.form, status_code=400, key=key)
    # Graded from reads without SQLite's write lock; the write checks the key, the attempt count and the cool-down
    # again.
    try:
        with writing():
            recorded = journey.record_submission(current_user.id, course, outline, status, checked.submission, key)
    except attempts.CoolingDown as exc:
        flash(str(exc), "error")
        return _render_quiz(loaded, status_code=429)
    except attempts.StaleKey as exc:  # another page's submission took this attempt's number meanwhile
        flash(str(exc), "error")
        return _render_quiz(loaded, status_code=409)
    except attempts.SubmissionError as exc:
        flash(str(exc), "error")
        return _render_quiz(loaded, checked.submission, request.form, status_code=409, key=key)
    except IntegrityError:
        # The unique constraints refused the attempt's number or key: another transaction took it (the learner's
        # lock makes this all but impossible; `writing` has rolled this one back). Its result if it was this key's.
        earlier = attempts.find_by_key(current_user.id, key)
        if earlier is not None:
            flash(_("This attempt was already submitted; here is its result."), "info")
            return _result(loaded, earlier.number)
        flash(attempts.stale_message(), "error")
        return _render_quiz(loaded, status_code=409)
    if not recorded.created:
        flash(_("This attempt was already submitted; here is its result."), "info")
    elif recorded.completed_course:
        flash(_("Congratulations — you have completed the course!"), "success")
    return _result(loaded, recorded.attempt.number)


@bp.route("/courses/<course_key>/quizzes/<quiz_key>/attempts")
@login_required
def history(course_key: str, quiz_key: str):
    course, _outline, chapter, status = load_quiz_or_404(course_key, quiz_key)
    return render_template(
        "quiz/history.html",
        course=course,
        chapter=chapter,
        status=status,
        quiz=status.quiz,
        attempts=attempts.history(current_user.id, status.quiz),
    )


@bp.route("/courses/<course_key>/quizzes/<quiz_key>/attempts/<int:number>")
@login_required
def attempt(course_key: str, quiz_key: str, number: int):
    course, outline, chapter, status = load_quiz_or_404(course_key, quiz_key)
    found = attempts.get_attempt(current_user.id, status.quiz, number)
    if found is None:
        abort(404)
    level = attempts.reveal_level(status.quiz, status.passed, status.attempts_left)
    return render_template(
        "quiz/result.html",
        course=course,
        outline=outline,
        chapter=chapter,
        status=status,
        quiz=status.quiz,
        attempt=found,
        level=level,
        withheld=attempts.withheld_notice(status.quiz, level),
        questions=attempts.questions_by_id([a.question_id for a in found.answers]),
        types=QUESTION_TYPES,
        opens_at=attempts.next_attempt_at(current_user.id, status.quiz),
        next_step=outline.next_step(),
    )
