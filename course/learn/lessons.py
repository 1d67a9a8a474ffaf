"""The learner's journey through a course: catalogue, outline, lessons, workbook.

CSRF is checked for every POST by CSRFProtect before a view runs.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from course.cohorts.announcements import unread_for
from course.cohorts.calendar import calendar_links
from course.content.cache import lesson_with_body
from course.content.lookup import live_courses
from course.extensions import db
from course.learn.forms import WorkbookForm
from course.learn.links import item_links
from course.learn.loading import LoadedLesson, learner_outline, load_lesson_or_404, refuse_if_locked
from course.learn.outline_html import ChapterSections
from course.learn.titles import item_titles
from course.progress import journey
from course.progress.opening import format_opening
from course.progress.outline import build_outline
from course.progress.reading import record_view, view_is_due
from course.progress.workbook import save_workbook_answer, workbook_answers
from course.sql import reads_first, writing

bp = Blueprint("learn", __name__)
bp.add_app_template_filter(format_opening, "opening")  # `chapter.opens_on|opening`: when a locked chapter opens


@bp.route("/")
def index():
    return redirect(url_for("learn.catalogue"))


@bp.route("/courses")
def catalogue():
    user_id = current_user.id if current_user.is_authenticated else None
    outlines = [build_outline(course, user_id) for course in live_courses()]
    return render_template("learn/catalogue.html", outlines=outlines)


@bp.route("/courses/<course_key>")
def outline(course_key: str):
    outline = learner_outline(course_key, reviews_due=True)
    calendar = calendar_links(current_user.id, outline.schedule) if current_user.is_authenticated else None
    # Announcements are made to cohorts: a learner in none (their outline read no cohort) has none to read.
    in_a_cohort = current_user.is_authenticated and outline.schedule is not None
    announcements = unread_for(current_user.id, outline.course.id) if in_a_cohort else []
    reviews_due = outline.reviews_due or 0  # read with the outline
    links, titles = item_links(outline.course), item_titles(outline.outline)
    return render_template(
        "learn/outline.html",
        course=outline.course,
        outline=outline,
        next_step=outline.next_step(),
        calendar=calendar,
        announcements=announcements,
        reviews_due=reviews_due,
        titles=titles,
        chapters=ChapterSections(outline.outline, titles, links, current_user.is_authenticated),
    )


def _render_lesson(loaded: LoadedLesson, rejected: tuple[int, WorkbookForm] | None = None, status_code: int = 200):
    course, outline, chapter, status = loaded
    status.lesson = lesson_with_body(course, status.lesson)
    prompts = outline.prompts_of(status.lesson)
    answers = outline.answers.get(status.lesson.key)  # read with the outline (`load_lesson_or_404`), else now
    if answers is None:
        answers = workbook_answers(current_user.id, [p.id for p in prompts])
    # Each prompt's form is written by the template, with the learner's answer, as `WorkbookForm(prefix=f"wb-{key}")`
    # would render it, and the CSRF token under the name that form's own field has (what a save is checked
    # against). A form sent and refused is shown as it came back, with its errors.
    forms = dict([rejected]) if rejected is not None else {}
    previous, following = outline.neighbours(status.lesson.key)
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
        links=item_links(course),
    ), status_code


@bp.route("/courses/<course_key>/lessons/<lesson_key>")
@login_required
def lesson(course_key: str, lesson_key: str):
    loaded = load_lesson_or_404(course_key, lesson_key)
    # Viewing is recorded (first viewed, last viewed, to the minute): it is what "continue where you left off"
    # and reading time are made of. It is idempotent and changes nothing the learner can see or lose.
    if view_is_due(loaded.status.progress):
        with writing():  # a GET reads without SQLite's write lock; this one write waits its turn for it
            record_view(current_user.id, loaded.status.lesson)
    return _render_lesson(loaded)


@bp.route("/courses/<course_key>/lessons/<lesson_key>/complete", methods=["POST"])
@login_required
@reads_first
def complete(course_key: str, lesson_key: str):
    course, outline, chapter, status = load_lesson_or_404(course_key, lesson_key, page=False)
    # Read without SQLite's write lock: a lesson that was complete already (a second click, a page from before) is
    # answered from that read alone. Otherwise the write runs in a block of its own, which checks again.
    if journey.nothing_to_complete(outline, status):
        done = journey.lesson_completed(outline, chapter, status, completed_course=False)
    else:
        with writing():
            done = journey.complete_lesson(current_user.id, outline, chapter, status)
    if done.completed_course:
        flash(_("Congratulations — you have completed the course!"), "success")
        return redirect(url_for("progress.summary", course_key=course.key))
    if done.quiz_opened is not None:
        flash(_("Chapter read — the chapter quiz is open."), "success")
        return redirect(url_for("quiz.quiz", course_key=course.key, quiz_key=done.quiz_opened.key))
    if done.following is not None:
        return redirect(url_for("learn.lesson", course_key=course.key, lesson_key=done.following.key))
    return redirect(url_for("learn.outline", course_key=course.key))


@bp.route("/courses/<course_key>/workbook/<prompt_key>", methods=["POST"])
@login_required
def save_workbook(course_key: str, prompt_key: str):
    outline = learner_outline(course_key)
    found = journey.find_prompt(outline, prompt_key)
    if found is None:
        abort(404)
    chapter, status, prompt = found
    refuse_if_locked(outline, chapter)
    form = WorkbookForm(prefix=f"wb-{prompt.key}")
    if not form.validate_on_submit():
        loaded = LoadedLesson(outline.course, outline, chapter, status)
        return _render_lesson(loaded, rejected=(prompt.id, form), status_code=400)
    saved = save_workbook_answer(current_user.id, prompt, form.answer.data or "")
    db.session.commit()
    flash(_("Your answer is saved.") if saved else _("Your answer is cleared."), "success")
    course = outline.course
    return redirect(url_for("learn.lesson", course_key=course.key, lesson_key=status.lesson.key) + f"#wb-{prompt.key}")
