"""The completion summary, its printable view, and the public verification page."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required
from sqlalchemy import select

from course.content.models import Course
from course.extensions import db
from course.learn.access import get_course_or_404
from course.progress import services
from course.progress.models import Completion
from course.progress.outline import build_outline, prompts_by_lesson

bp = Blueprint("progress", __name__)


def _summary_context(course_key: str) -> dict:
    course = get_course_or_404(course_key)
    outline = build_outline(course, current_user.id)
    prompts = prompts_by_lesson(course)
    all_prompts = [p for ls in outline.lessons for p in prompts.get(ls.lesson.id, [])]
    answers = services.workbook_answers(current_user.id, [p.id for p in all_prompts])
    plan = [
        (ls.lesson, [(p, answers[p.id]) for p in prompts.get(ls.lesson.id, []) if p.id in answers])
        for ls in outline.lessons
    ]
    plan = [(lesson, items) for lesson, items in plan if items]
    return {"course": course, "outline": outline, "plan": plan, "completion": outline.completion}


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
    if len(code) > 64:
        abort(404)
    row = db.session.execute(
        select(Completion, Course)
        .join(Course, Course.id == Completion.course_id)
        .where(Completion.verification_code == code)
    ).first()
    if row is None:
        abort(404)
    completion, course = row
    return render_template("progress/verify.html", verified=services.verification(completion, course))
