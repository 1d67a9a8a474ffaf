"""The completion summary, its printable view, and the public verification page."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required

from course.learn.loading import learner_outline
from course.progress.completion import completion_by_code, verification
from course.progress.workbook import workbook_plan

bp = Blueprint("progress", __name__)


def _summary_context(course_key: str) -> dict:
    outline = learner_outline(course_key)
    return {
        "course": outline.course,
        "outline": outline,
        "plan": workbook_plan(outline, current_user.id),
        "completion": outline.completion,
    }


@bp.route("/courses/<course_key>/summary")
@login_required
def summary(course_key: str):
    return render_template("progress/summary.html", **_summary_context(course_key))


@bp.route("/courses/<course_key>/summary/print")
@login_required
def summary_print(course_key: str):
    context = _summary_context(course_key)
    if context["completion"] is None:
        abort(404)
    return render_template("progress/summary_print.html", **context)


@bp.route("/verify/<code>")
def verify(code: str):
    found = completion_by_code(code)
    if found is None:
        abort(404)
    completion, course = found
    if completion.withdrawn_at is not None:  # its learner deleted their account: no name, no scores
        return render_template("progress/withdrawn.html"), 410
    return render_template("progress/verify.html", verified=verification(completion, course))
