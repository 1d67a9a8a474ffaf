"""The learner's journey through a course: catalogue, outline, lessons, workbook.

CSRF is checked for every POST by CSRFProtect before a view runs.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from course.content.cache import lesson_with_body
from course.content.models import Course, WorkbookPrompt
from course.extensions import db
from course.learn.access import get_course_or_404, refuse_if_locked
from course.learn.forms import WorkbookForm
from course.progress import services as progress
from course.progress.outline import CourseOutline, build_outline, lesson_prompts
from course.sql import writing

bp = Blueprint("learn", __name__)


def _user_id() -> int | None:
    return current_user.id if current_user.is_authenticated else None


@bp.route("/")
def index():
    return redirect(url_for("learn.catalogue"))


@bp.route("/courses")
def catalogue():
    courses = db.session.scalars(select(Course).where(Course.archived_at.is_(None)).order_by(Course.title)).all()
    outlines = [build_outline(course, _user_id()) for course in courses]
    return render_template("learn/catalogue.html", outlines=outlines)


@bp.route("/courses/<course_key>")
def outline(course_key: str):
    course = get_course_or_404(course_key)
    outline = build_outline(course, _user_id())
    return render_template("learn/outline.html", course=course, outline=outline, next_step=outline.next_step())


def _render_lesson(
    course: Course,
    outline: CourseOutline,
    lesson_key: str,
    rejected: tuple[int, WorkbookForm] | None = None,
    status_code: int = 200,
):
    found = outline.find_lesson(lesson_key)
    if found is None:
        abort(404)
    chapter, status = found
    status.lesson = lesson_with_body(course, status.lesson)
    prompts = lesson_prompts(course, status.lesson)
    answers = progress.workbook_answers(current_user.id, [p.id for p in prompts])
    # Shown, not validated: the page writes the CSRF token itself (the one `csrf_token()` made for this request)
    # under the name the form's own field would have, which is what a save is checked against.
    forms = {
        p.id: WorkbookForm(
            prefix=f"wb-{p.key}",
            formdata=None,
            answer=answers[p.id].text if p.id in answers else "",
            meta={"csrf": False},
        )
        for p in prompts
    }
    if rejected is not None:
        forms[rejected[0]] = rejected[1]
    previous, following = outline.neighbours(lesson_key)
    return render_template(
        "learn/lesson.html",
        course=course,
        outline=outline,
        chapter=chapter,
        status=status,
        prompts=prompts,
        answers=answers,
        forms=forms,
        previous=previous,
        following=following,
    ), status_code


@bp.route("/courses/<course_key>/lessons/<lesson_key>")
@login_required
def lesson(course_key: str, lesson_key: str):
    course = get_course_or_404(course_key)
    outline = build_outline(course, current_user.id)
    found = outline.find_lesson(lesson_key)
    if found is None:
        abort(404)
    refuse_if_locked(found[0])
    # Viewing is recorded (first viewed, last viewed, to the minute): it is what "continue where you left off"
    # and reading time are made of. It is idempotent and changes nothing the learner can see or lose.
    if progress.view_is_due(found[1].progress):
        with writing():  # a GET reads without SQLite's write lock; this one write waits its turn for it
            progress.record_view(current_user.id, found[1].lesson)
    return _render_lesson(course, outline, lesson_key)


@bp.route("/courses/<course_key>/lessons/<lesson_key>/complete", methods=["POST"])
@login_required
def complete(course_key: str, lesson_key: str):
    course = get_course_or_404(course_key)
    outline = build_outline(course, current_user.id)
    found = outline.find_lesson(lesson_key)
    if found is None:
        abort(404)
    chapter, status = found
    refuse_if_locked(chapter)
    progress.mark_complete(current_user.id, status.lesson)
    completion = progress.maybe_complete_course(current_user.id, course)
    db.session.commit()
    if completion is not None and outline.completion is None:
        flash(_("Congratulations — you have completed the course!"), "success")
        return redirect(url_for("progress.summary", course_key=course.key))
    chapter_read = all(ls.completed or ls.lesson.key == lesson_key for ls in chapter.lessons)
    if chapter.quiz and chapter_read and not chapter.quiz.passed:
        flash(_("Chapter read — the chapter quiz is open."), "success")
        return redirect(url_for("quiz.quiz", course_key=course.key, quiz_key=chapter.quiz.quiz.key))
    _previous, following = outline.neighbours(lesson_key)
    if following is not None:
        return redirect(url_for("learn.lesson", course_key=course.key, lesson_key=following.key))
    return redirect(url_for("learn.outline", course_key=course.key))


@bp.route("/courses/<course_key>/workbook/<prompt_key>", methods=["POST"])
@login_required
def save_workbook(course_key: str, prompt_key: str):
    course = get_course_or_404(course_key)
    prompt = db.session.scalar(
        select(WorkbookPrompt).where(
            WorkbookPrompt.course_id == course.id,
            WorkbookPrompt.key == prompt_key,
            WorkbookPrompt.archived_at.is_(None),
        )
    )
    if prompt is None:
        abort(404)
    outline = build_outline(course, current_user.id)
    found = next(((c, ls) for c in outline.chapters for ls in c.lessons if ls.lesson.id == prompt.lesson_id), None)
    if found is None:
        abort(404)
    refuse_if_locked(found[0])
    lesson_key = found[1].lesson.key
    form = WorkbookForm(prefix=f"wb-{prompt.key}")
    if not form.validate_on_submit():
        return _render_lesson(course, outline, lesson_key, rejected=(prompt.id, form), status_code=400)
    saved = progress.save_workbook_answer(current_user.id, prompt, form.answer.data or "")
    db.session.commit()
    flash(_("Your answer is saved.") if saved else _("Your answer is cleared."), "success")
    return redirect(url_for("learn.lesson", course_key=course.key, lesson_key=lesson_key) + f"#wb-{prompt.key}")
