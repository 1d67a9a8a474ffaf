"""Links to a course's lessons, quizzes and workbook prompts for a page that shows many (the outline lists every
lesson): the URL up to the item's key, built once with `url_for`, to which a template appends the key. A content key
is `[a-z0-9-]` (course/content/schema.py), which a URL carries as it is, so `prefix ~ key` is exactly what `url_for`
builds — about thirty microseconds less for each link (tests/test_progress_costs.py and tests/test_lesson_page.py
check that they agree)."""

from __future__ import annotations

from typing import Any, NamedTuple

from flask import url_for

from course.content.models import Course
from course.links import built_for

_PLACEHOLDER = "k"


class ItemLinks(NamedTuple):
    lesson: str  # "/courses/<course>/lessons/"
    quiz: str  # "/courses/<course>/quizzes/"
    workbook: str  # "/courses/<course>/workbook/": where a prompt's answer is saved
    outline: str  # "/courses/<course>": the course's outline itself


# course key → (what they were built for: course/links.py `built_for`, the links): the routes do not change while
# the process runs, so each course's are built once (again for another app, or under another root behind a proxy).
_known: dict[str, tuple[tuple[Any, str], ItemLinks]] = {}


def item_links(course: Course) -> ItemLinks:
    """The course's lesson and quiz URLs without their key."""
    target = built_for()
    kept = _known.get(course.key)
    if kept is not None and kept[0] == target:
        return kept[1]
    lesson = url_for("learn.lesson", course_key=course.key, lesson_key=_PLACEHOLDER)
    quiz = url_for("quiz.quiz", course_key=course.key, quiz_key=_PLACEHOLDER)
    workbook = url_for("learn.save_workbook", course_key=course.key, prompt_key=_PLACEHOLDER)
    cut = len(_PLACEHOLDER)
    links = ItemLinks(lesson[:-cut], quiz[:-cut], workbook[:-cut], url_for("learn.outline", course_key=course.key))
    _known[course.key] = (target, links)
    return links
