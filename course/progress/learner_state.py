"""Everything of one learner's that their outline shows, read in one statement: their progress in each lesson,
their attempts at each quiz (count, best score, passed), their completion, their cohort and its release dates; and
what one page shows besides: a lesson page, their workbook answers to the lesson's prompts; the outline, how many of
their review cards are due. A learner's page names the course by its key: its row (what names the process's copy of
the course) comes with the rest, instead of by a statement of its own before it.

A page runs it on every request, so it is one UNION ALL of plain rows, built once (building a statement costs
more than running it). Each branch is one kind of row (`RowKind`) and fills the columns it does not use with
NULL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from functools import cache
from typing import NamedTuple

from sqlalchemy import (
    CompoundSelect,
    Date,
    Float,
    Integer,
    Select,
    String,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement

from course import clock
from course.cohorts.models import ChapterRelease, Cohort, Enrolment
from course.cohorts.schedule import LearnerSchedule
from course.content.models import Course, Lesson, Question, Quiz, WorkbookPrompt
from course.db_types import UTCDateTime
from course.extensions import db
from course.progress.models import Completion, LessonProgress, WorkbookAnswer
from course.progress.review_models import ReviewCard
from course.quiz.models import Attempt


class RowKind(StrEnum):
    PROGRESS = "progress"  # a lesson's progress row
    ATTEMPTS = "attempts"  # a quiz's attempts, summed up
    COMPLETION = "completion"  # the course's completion
    ENROLMENT = "enrolment"  # their cohort: its last day and their extension
    RELEASE = "release"  # a chapter's release date in that cohort
    ANSWER = "answer"  # their workbook answer to a prompt of the lesson asked for (`learner_state(lesson_key=…)`)
    REVIEWS_DUE = "reviews_due"  # how many of their review cards are due now (`learner_state(reviews_due=True)`)
    COURSE = "course"  # the course's own row, when it is named by its key (`learner_state(course_key=…)`)


class Progress(NamedTuple):
    """The learner's row for a lesson (LessonProgress's columns a page shows)."""

    lesson_id: int
    first_viewed_at: datetime
    last_viewed_at: datetime
    completed_at: datetime | None
    time_spent_seconds: int


class QuizResults(NamedTuple):
    """The learner's attempts at a quiz, summed up."""

    attempts: int
    best_percent: float | None
    passed: bool


class Answer(NamedTuple):
    """The learner's workbook answer to a prompt (WorkbookAnswer's columns a lesson page shows)."""

    prompt_id: int
    text: str
    updated_at: datetime


class CompletionRecord(NamedTuple):
    """The learner's completion of the course (Completion's columns a page shows)."""

    id: int
    started_at: datetime
    completed_at: datetime
    time_spent_seconds: int
    verification_code: str


# The columns after `kind` and `row_id`, with the type a NULL takes in the first branch (the one that types them).
_VALUES = {
    "first_at": UTCDateTime(),
    "second_at": UTCDateTime(),
    "third_at": UTCDateTime(),
    "number": Integer(),
    "best": Float(),
    "passed": Integer(),
    "code": String(),
    "day": Date(),
}


def _columns(
    kind: RowKind, row_id: ColumnElement, *, first: bool = False, **values: ColumnElement
) -> list[ColumnElement]:
    """One branch's columns in the UNION's order; a column the branch does not use is NULL, typed in the `first`
    branch only: the UNION's columns take their types from it (SQLAlchemy's result, and PostgreSQL, which gives the
    untyped NULLs of the other branches the type of the column). The kind is written in the SQL, not bound.

    Short SQL is cheaper SQL here: psycopg caches how it rewrites a statement's placeholders only for statements of
    at most 4,096 characters (`psycopg._queries.MAX_CACHED_STATEMENT_LENGTH`); above it, every page ran the rewrite
    again. A lesson page's statement, every NULL typed and every kind bound, was 4,369 characters."""
    columns = [literal_column(f"'{kind.value}'", String).label("kind"), row_id.label("row_id")]
    for name, type_ in _VALUES.items():
        if name in values:
            columns.append(values[name].label(name))
        else:
            columns.append((cast(null(), type_) if first else null()).label(name))
    return columns


@cache  # built once each, at its first use (building a statement costs more than running it)
def _statement(by_key: bool, answers: bool, reviews: bool) -> CompoundSelect:
    """The UNION ALL of the branches asked for. `by_key`: the course named by its key (:course_key, a live course:
    its row comes first, none when there is no such course), not its id (:course_id)."""
    course = _COURSE_OF_KEY if by_key else bindparam("course_id")
    branches = [_course_row()] if by_key else []
    branches += [
        select(
            *_columns(
                RowKind.PROGRESS,
                LessonProgress.lesson_id,
                first=not by_key,
                first_at=LessonProgress.first_viewed_at,
                second_at=LessonProgress.last_viewed_at,
                third_at=LessonProgress.completed_at,
                number=LessonProgress.time_spent_seconds,
            )
        ).where(LessonProgress.user_id == bindparam("user_id"), LessonProgress.course_id == course),
        select(
            *_columns(
                RowKind.ATTEMPTS,
                Attempt.quiz_id,
                number=func.count(Attempt.id),
                best=func.max(Attempt.percent),
                passed=func.max(case((Attempt.passed, 1), else_=0)),
            )
        )
        .join(Quiz, Quiz.id == Attempt.quiz_id)
        .where(Attempt.user_id == bindparam("user_id"), Quiz.course_id == course)
        .group_by(Attempt.quiz_id),
        select(
            *_columns(
                RowKind.COMPLETION,
                Completion.id,
                first_at=Completion.started_at,
                second_at=Completion.completed_at,
                number=Completion.time_spent_seconds,
                code=Completion.verification_code,
            )
        ).where(Completion.user_id == bindparam("user_id"), Completion.course_id == course),
        select(*_columns(RowKind.ENROLMENT, Cohort.id, number=Enrolment.extension_days, day=Cohort.ends_on))
        .join(Cohort, Cohort.id == Enrolment.cohort_id)
        .where(Enrolment.user_id == bindparam("user_id"), Enrolment.course_id == course),
        select(*_columns(RowKind.RELEASE, ChapterRelease.chapter_id, day=ChapterRelease.opens_on))
        .join(Enrolment, Enrolment.cohort_id == ChapterRelease.cohort_id)
        .where(Enrolment.user_id == bindparam("user_id"), Enrolment.course_id == course),
    ]
    # What one page shows besides, read here rather than by a statement of its own: a lesson page's learner's answers
    # to the lesson's workbook prompts (every lesson of the course has some) …
    if answers:
        branches.append(
            select(
                *_columns(
                    RowKind.ANSWER,
                    WorkbookAnswer.prompt_id,
                    first_at=WorkbookAnswer.updated_at,
                    code=WorkbookAnswer.text,
                )
            )
            .join(WorkbookPrompt, WorkbookPrompt.id == WorkbookAnswer.prompt_id)
            .join(Lesson, Lesson.id == WorkbookPrompt.lesson_id)
            .where(
                WorkbookAnswer.user_id == bindparam("user_id"),
                Lesson.course_id == course,
                Lesson.key == bindparam("lesson_key"),
            )
        )
    # … and the outline's "N reviews due": their cards of the course's current questions due now.
    if reviews:
        branches.append(
            select(*_columns(RowKind.REVIEWS_DUE, cast(null(), Integer), number=func.count(ReviewCard.id)))
            .join(Question, Question.id == ReviewCard.question_id)
            .where(
                ReviewCard.user_id == bindparam("user_id"),
                Question.course_id == course,
                Question.archived_at.is_(None),
                ReviewCard.due <= bindparam("now", type_=UTCDateTime()),
            )
        )
    return union_all(*branches)


_LIVE_COURSE_OF_KEY = (Course.key == bindparam("course_key"), Course.archived_at.is_(None))
_COURSE_OF_KEY = select(Course.id).where(*_LIVE_COURSE_OF_KEY).scalar_subquery()


def _course_row() -> Select:
    """The live course's row: what names the process's copy of it (`course.content.cache.course`). First: it types the
    UNION's columns, and its id and load time are of the types the other branches' are."""
    columns = _columns(RowKind.COURSE, Course.id, first=True, first_at=Course.loaded_at, code=Course.content_version)
    return select(*columns).where(*_LIVE_COURSE_OF_KEY)


@dataclass
class LearnerState:
    progress: dict[int, Progress] = field(default_factory=dict)  # by lesson id
    quizzes: dict[int, QuizResults] = field(default_factory=dict)  # by quiz id
    completion: CompletionRecord | None = None
    schedule: LearnerSchedule | None = None  # their cohort's, if they are in one
    answers: dict[int, Answer] | None = None  # by prompt id: their answers to the lesson's prompts, if asked for
    answers_for: str | None = None  # that lesson's key
    reviews_due: int | None = None  # how many of their review cards are due now, if asked for
    course: CourseRow | None = None  # the course's row, when it was named by its key (None: no live course has it)


class CourseRow(NamedTuple):
    """What names the process's copy of a course (`course.content.cache.course`)."""

    id: int
    content_version: str
    loaded_at: datetime


def learner_state(
    user_id: int,
    course_id: int | None = None,
    *,
    course_key: str | None = None,
    lesson_key: str | None = None,
    reviews_due: bool = False,
) -> LearnerState:
    """Everything of the learner's that an outline shows, in one statement, of the course `course_id`, or of the live
    course `course_key` (with its row: `course`). What one page shows besides, if asked: their workbook answers to the
    prompts of the lesson `lesson_key`, how many of their review cards are due now (`reviews_due`)."""
    found = LearnerState()
    releases: dict[int, date] = {}
    params: dict = {"user_id": user_id}
    if course_key is not None:
        params["course_key"] = course_key
    else:
        params["course_id"] = course_id
    if lesson_key is not None:
        params["lesson_key"] = lesson_key
        found.answers, found.answers_for = {}, lesson_key
    if reviews_due:
        params["now"] = clock.now()
    statement = _statement(course_key is not None, lesson_key is not None, reviews_due)
    rows = db.session.connection().execute(statement, params)
    for row in rows:
        kind = row.kind
        if kind == RowKind.PROGRESS:
            found.progress[row.row_id] = Progress(row.row_id, row.first_at, row.second_at, row.third_at, row.number)
        elif kind == RowKind.ATTEMPTS:
            found.quizzes[row.row_id] = QuizResults(row.number, row.best, bool(row.passed))
        elif kind == RowKind.COMPLETION:
            found.completion = CompletionRecord(row.row_id, row.first_at, row.second_at, row.number, row.code)
        elif kind == RowKind.ENROLMENT:
            found.schedule = LearnerSchedule(row.row_id, row.day, row.number, releases)
        elif kind == RowKind.ANSWER:
            found.answers[row.row_id] = Answer(row.row_id, row.code, row.first_at)
        elif kind == RowKind.REVIEWS_DUE:
            found.reviews_due = row.number
        elif kind == RowKind.COURSE:
            found.course = CourseRow(row.row_id, row.code, row.first_at)
        elif row.day is not None:  # a chapter with a release date
            releases[row.row_id] = row.day
    return found
