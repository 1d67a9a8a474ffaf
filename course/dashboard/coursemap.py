"""The shape of a cohort's course, as the dashboard counts it: the course's outline (`course.content.outline`,
from the process's cache) with each lesson and quiz numbered in course order and each chapter with the date the
cohort's schedule opens it, and the ids of every lesson and quiz row (for id ranges in SQL).

Titles are in the reader's content language (`course.content.i18n`), as the learner pages show them: the map is
built for each request from the cached outline, so two readers of the same cohort in two languages each get
their own. Three statements (the course, the cohort's release dates, the ids), never lesson bodies.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import false, literal, or_, select, union_all
from sqlalchemy.sql.elements import ColumnElement

from course.cohorts.models import Cohort
from course.cohorts.schedule import release_dates
from course.content.i18n import content_language, tr
from course.content.models import Course, Lesson, Quiz
from course.content.outline import course_outline
from course.extensions import db


@dataclass(frozen=True)
class LessonInfo:
    id: int
    key: str
    title: str
    chapter_id: int
    index: int  # position in course order, from 0


@dataclass(frozen=True)
class QuizInfo:
    id: int
    key: str
    title: str
    pass_mark: int
    chapter_id: int
    index: int  # position among the course's quizzes, from 0


@dataclass
class ChapterInfo:
    id: int
    key: str
    title: str
    module_title: str
    reference: bool  # a reference module (the appendix): no schedule pressure
    opens_on: date  # the cohort's release date (its start date if the schedule does not name the chapter)
    index: int  # position among the course's chapters, from 0
    lessons: list[LessonInfo] = field(default_factory=list)
    quiz: QuizInfo | None = None
    # False for a chapter the cohort's schedule does not name (added to the course after the cohort was made):
    # open to learners, but no one is behind on it
    scheduled: bool = True

    @property
    def lesson_ids(self) -> list[int]:
        return [lesson.id for lesson in self.lessons]

    @property
    def items_total(self) -> int:
        return len(self.lessons) + (1 if self.quiz else 0)


def id_ranges(wanted: Iterable[int], universe: Sequence[int]) -> list[tuple[int, int]]:
    """`wanted` as the fewest runs (lo, hi) of consecutive ids of `universe` (every id that exists).

    A run never spans an id outside `wanted`, so `id BETWEEN lo AND hi` matches exactly the wanted rows. Content
    loaded in course order gives one run per chapter and one for the course, which SQLite answers with an index
    range scan instead of an IN-list probe per id.
    """
    wanted = set(wanted)
    runs: list[tuple[int, int]] = []
    start = prev = None
    for i in sorted(set(universe) | wanted):
        if i in wanted:
            start = i if start is None else start
            prev = i
        elif start is not None:
            runs.append((start, prev))
            start = None
    if start is not None:
        runs.append((start, prev))
    return runs


def in_ranges(column: ColumnElement, runs: list[tuple[int, int]]) -> ColumnElement:
    if not runs:
        return false()
    parts = [column == lo if lo == hi else column.between(lo, hi) for lo, hi in runs]
    return parts[0] if len(parts) == 1 else or_(*parts)


@dataclass
class CourseMap:
    course_id: int
    course_key: str
    course_title: str
    chapters: list[ChapterInfo]
    all_lesson_ids: list[int] = field(default_factory=list)  # every lesson row, any course, archived too
    all_quiz_ids: list[int] = field(default_factory=list)

    def lesson_runs(self, lesson_ids: Iterable[int] | None = None) -> list[tuple[int, int]]:
        return id_ranges(self.lesson_ids if lesson_ids is None else lesson_ids, self.all_lesson_ids)

    def quiz_runs(self, quiz_ids: Iterable[int] | None = None) -> list[tuple[int, int]]:
        return id_ranges(self.quiz_ids if quiz_ids is None else quiz_ids, self.all_quiz_ids)

    @property
    def lessons(self) -> list[LessonInfo]:
        return [lesson for chapter in self.chapters for lesson in chapter.lessons]

    @property
    def quizzes(self) -> list[QuizInfo]:
        return [chapter.quiz for chapter in self.chapters if chapter.quiz]

    @property
    def lesson_ids(self) -> list[int]:
        return [lesson.id for lesson in self.lessons]

    @property
    def quiz_ids(self) -> list[int]:
        return [quiz.id for quiz in self.quizzes]

    @property
    def items_total(self) -> int:
        """Lessons plus quizzes: what a learner's progress percentage is counted against (as on the outline)."""
        return sum(chapter.items_total for chapter in self.chapters)

    def quiz_by_key(self, key: str) -> QuizInfo | None:
        return next((quiz for quiz in self.quizzes if quiz.key == key), None)


_EVERY_ID = union_all(select(Lesson.id, literal(0).label("is_quiz")), select(Quiz.id, literal(1)))  # every row


def load_course_map(cohort: Cohort, lang: str | None = None) -> CourseMap:
    """The cohort's course map, its titles in `lang` (default: the reader's content language)."""
    lang = content_language() if lang is None else lang
    course = db.session.get(Course, cohort.course_id)
    outline = course_outline(course)
    releases = release_dates(cohort)
    chapters, quiz_index = [], 0
    for c in outline.chapters:
        chapter = ChapterInfo(
            id=c.chapter.id,
            key=c.chapter.key,
            title=tr(c.chapter, "title", lang=lang),
            module_title=tr(c.module, "title", lang=lang),
            reference=c.reference,
            opens_on=releases.get(c.chapter.id) or cohort.starts_on,
            scheduled=c.chapter.id in releases,
            index=c.index,
            lessons=[
                LessonInfo(
                    lesson.id,
                    lesson.key,
                    tr(lesson, "title", lang=lang),
                    lesson.chapter_id,
                    outline.lesson_index[lesson.id],
                )
                for lesson in c.lessons
            ],
        )
        if c.quiz is not None:
            quiz = c.quiz
            title = tr(quiz, "title", lang=lang)
            chapter.quiz = QuizInfo(quiz.id, quiz.key, title, quiz.pass_mark, quiz.chapter_id, quiz_index)
            quiz_index += 1
        chapters.append(chapter)
    lesson_ids, quiz_ids = [], []
    for row_id, is_quiz in db.session.execute(_EVERY_ID):
        (quiz_ids if is_quiz else lesson_ids).append(row_id)
    title = tr(course, "title", lang=lang)
    return CourseMap(course.id, course.key, title, chapters, sorted(lesson_ids), sorted(quiz_ids))
