"""Links to a course's lessons and quizzes for a page that shows many (the outline lists every lesson): the URL
up to the item's key, built once with `url_for`, to which a template appends the key. A content key is
`[a-z0-9-]` (course/content/schema.py), which a URL carries as it is, so `prefix ~ key` is exactly what `url_for`
builds — about thirty microseconds less for each link (tests/test_progress_costs.py checks that they agree)."""

from __future__ import annotations

from typing import NamedTuple

from flask import url_for

from course.content.models import Course

_PLACEHOLDER = "k"


class ItemLinks(NamedTuple):
    lesson: str  # "/courses/<course>/lessons/"
    quiz: str  # "/courses/<course>/quizzes/"


def item_links(course: Course) -> ItemLinks:
    """The course's lesson and quiz URLs without their key."""
    lesson = url_for("learn.lesson", course_key=course.key, lesson_key=_PLACEHOLDER)
    quiz = url_for("quiz.quiz", course_key=course.key, quiz_key=_PLACEHOLDER)
    return ItemLinks(lesson[: -len(_PLACEHOLDER)], quiz[: -len(_PLACEHOLDER)])
