"""Loading what a learner's URL names — course → the learner's outline → the lesson or quiz → 404 if it is not
there, 403 if their cohort has not opened its chapter (the locked page: when it opens, the way back to the outline
and on to what is open) — in one place for every learner page."""

from __future__ import annotations

from typing import NamedTuple

from flask import abort, make_response, render_template
from flask_login import current_user

from course.content.cache import quiz_with_questions
from course.content.lookup import get_course_or_404
from course.content.models import Course
from course.progress.journey import Refusal, Refused, chapter_refusal
from course.progress.outline import (
    ChapterStatus,
    LearnerOutline,
    LessonStatus,
    QuizStatus,
    build_outline,
    build_outline_of_key,
)


class LoadedLesson(NamedTuple):
    course: Course
    outline: LearnerOutline
    chapter: ChapterStatus
    status: LessonStatus


class LoadedQuiz(NamedTuple):
    course: Course
    outline: LearnerOutline
    chapter: ChapterStatus
    status: QuizStatus  # its quiz with its questions and their options


def learner_outline(course_key: str, answers_for: str | None = None, reviews_due: bool = False) -> LearnerOutline:
    """The signed-in learner's outline of the course (anonymous readers see it with nothing started); with what the
    page shows besides, if asked: their workbook answers to the lesson `answers_for` (its key), how many of their
    review cards are due (`build_outline_of_key`)."""
    if not current_user.is_authenticated:
        return build_outline(get_course_or_404(course_key), None)
    outline = build_outline_of_key(course_key, current_user.id, answers_for, reviews_due)  # the course read with it
    if outline is None:
        abort(404)
    return outline


# What each refusal answers: forbidden for now, or in conflict with what the learner already did.
REFUSAL_STATUS = {
    Refused.LOCKED: 403,
    Refused.ENDED: 403,
    Refused.NOT_OPEN: 403,
    Refused.USED_UP: 409,
    Refused.COOLING_DOWN: 429,  # too soon after their last attempt (the quiz's `retry_after`)
    Refused.STALE: 409,  # a quiz form from an old page (or a forged key): shown again as it now is
}


def status_of(refusal: Refusal) -> int:
    return REFUSAL_STATUS[refusal.reason]


def refuse_if_locked(outline: LearnerOutline, chapter: ChapterStatus) -> None:
    """A chapter the learner's cohort has not opened yet: the locked page, with a 403."""
    if refusal := chapter_refusal(chapter):
        page = render_template(
            "learn/locked.html",
            course=outline.course,
            outline=outline,
            chapter=chapter,
            message=refusal.message,
            next_step=outline.next_step(),
        )
        abort(make_response(page, status_of(refusal)))


def load_lesson_or_404(course_key: str, lesson_key: str, page: bool = True) -> LoadedLesson:
    """The lesson, in the learner's outline; for its `page`, with the learner's workbook answers to it (read with the
    outline: `LearnerOutline.answers`)."""
    outline = learner_outline(course_key, answers_for=lesson_key if page else None)
    found = outline.find_lesson(lesson_key)
    if found is None:
        abort(404)
    refuse_if_locked(outline, found[0])
    return LoadedLesson(outline.course, outline, *found)


def load_quiz_or_404(course_key: str, quiz_key: str) -> LoadedQuiz:
    outline = learner_outline(course_key)
    found = outline.find_quiz(quiz_key)
    if found is None:
        abort(404)
    chapter, status = found
    refuse_if_locked(outline, chapter)
    status.quiz = quiz_with_questions(outline.course, status.quiz)
    return LoadedQuiz(outline.course, outline, chapter, status)
