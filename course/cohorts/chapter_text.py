"""A chapter as it is named away from the site — in a release notice, in a calendar event: its title in the
reader's language, its link, and what it holds. Call these inside `force_locale(the reader's language)`."""

from __future__ import annotations

from flask_babel import ngettext

from course.content.i18n import content_language_for, tr
from course.content.models import Course
from course.content.outline import OutlineChapter
from course.links import external_url


def chapter_title(chapter: OutlineChapter, language: str | None) -> str:
    return tr(chapter.chapter, "title", lang=content_language_for(language))


def chapter_url(course: Course, chapter: OutlineChapter) -> str:
    """The chapter on the course's outline (it has no page of its own)."""
    return external_url("learn.outline", course_key=course.key) + f"#chapter-{chapter.chapter.key}"


def chapter_contents(chapter: OutlineChapter) -> str:
    """What the chapter holds, in a sentence: "3 lessons and a quiz."."""
    lessons = len(chapter.lessons)
    if chapter.quiz is not None:
        return ngettext("%(num)d lesson and a quiz.", "%(num)d lessons and a quiz.", lessons)
    return ngettext("%(num)d lesson.", "%(num)d lessons.", lessons)
