"""Everything of one learner's that their outline shows, read in one statement: their progress in each lesson,
their attempts at each quiz (count, best score, passed), their completion, their cohort and its release dates; and
what one page shows besides: a lesson page, their workbook answers to the lesson's prompts; the outline, how many of
their review cards are due.

A page runs it on every request, so it is one UNION ALL of plain rows, built once (building a statement costs
more than running it). Each branch is one kind of row (`RowKind`) and fills the columns it does not use with
NULL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import NamedTuple

from sqlalchemy import Date, Float, Integer, String, bindparam, case, cast, func, literal, null, select, union_all
from sqlalchemy.sql.elements import ColumnElement

from course import clock
from course.cohorts.models import ChapterRelease, Cohort, Enrolment
from course.cohorts.schedule import LearnerSchedule
from course.content.models import Question, Quiz, WorkbookPrompt
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
    ANSWER = "answer"  # their workbook answer to a prompt of the lesson asked for (`learner_state(lesson_id=…)`)
    REVIEWS_DUE = "reviews_due"  # how many of their review cards are due now (`learner_state(reviews_due=True)`)


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


def _columns(kind: RowKind, row_id: ColumnElement, **values: ColumnElement) -> list[ColumnElement]:
    """One branch's columns in the UNION's order; a column the branch does not use is a typed NULL."""
    columns = [literal(kind.value).label("kind"), row_id.label("row_id")]
    for name, type_ in _VALUES.items():
        columns.append(values[name].label(name) if name in values else cast(null(), type_).label(name))
    return columns


_BRANCHES = (
    select(
        *_columns(
            RowKind.PROGRESS,
            LessonProgress.lesson_id,
            first_at=LessonProgress.first_viewed_at,
            second_at=LessonProgress.last_viewed_at,
            third_at=LessonProgress.completed_at,
            number=LessonProgress.time_spent_seconds,
        )
    ).where(LessonProgress.user_id == bindparam("user_id"), LessonProgress.course_id == bindparam("course_id")),
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
    .where(Attempt.user_id == bindparam("user_id"), Quiz.course_id == bindparam("course_id"))
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
    ).where(Completion.user_id == bindparam("user_id"), Completion.course_id == bindparam("course_id")),
    select(*_columns(RowKind.ENROLMENT, Cohort.id, number=Enrolment.extension_days, day=Cohort.ends_on))
    .join(Cohort, Cohort.id == Enrolment.cohort_id)
    .where(Enrolment.user_id == bindparam("user_id"), Enrolment.course_id == bindparam("course_id")),
    select(*_columns(RowKind.RELEASE, ChapterRelease.chapter_id, day=ChapterRelease.opens_on))
    .join(Enrolment, Enrolment.cohort_id == ChapterRelease.cohort_id)
    .where(Enrolment.user_id == bindparam("user_id"), Enrolment.course_id == bindparam("course_id")),
)
# What one page shows besides, read in the same statement rather than one of their own: a lesson page's learner's
# answers to the lesson's workbook prompts (every lesson of the course has some) …
_ANSWERS = (
    select(
        *_columns(
            RowKind.ANSWER, WorkbookAnswer.prompt_id, first_at=WorkbookAnswer.updated_at, code=WorkbookAnswer.text
        )
    )
    .join(WorkbookPrompt, WorkbookPrompt.id == WorkbookAnswer.prompt_id)
    .where(WorkbookAnswer.user_id == bindparam("user_id"), WorkbookPrompt.lesson_id == bindparam("lesson_id"))
)
# … and the outline's "N reviews due": their cards of the course's current questions due now.
_REVIEWS_DUE = (
    select(*_columns(RowKind.REVIEWS_DUE, cast(null(), Integer), number=func.count(ReviewCard.id)))
    .join(Question, Question.id == ReviewCard.question_id)
    .where(
        ReviewCard.user_id == bindparam("user_id"),
        Question.course_id == bindparam("course_id"),
        Question.archived_at.is_(None),
        ReviewCard.due <= bindparam("now", type_=UTCDateTime()),
    )
)
# Built once, one per combination (answers, reviews due).
_STATES = {
    (answers, reviews): union_all(*_BRANCHES, *([_ANSWERS] if answers else []), *([_REVIEWS_DUE] if reviews else []))
    for answers in (False, True)
    for reviews in (False, True)
}


@dataclass
class LearnerState:
    progress: dict[int, Progress] = field(default_factory=dict)  # by lesson id
    quizzes: dict[int, QuizResults] = field(default_factory=dict)  # by quiz id
    completion: CompletionRecord | None = None
    schedule: LearnerSchedule | None = None  # their cohort's, if they are in one
    answers: dict[int, Answer] | None = None  # by prompt id: their answers to the lesson's prompts, if asked for
    reviews_due: int | None = None  # how many of their review cards are due now, if asked for


def learner_state(
    user_id: int, course_id: int, lesson_id: int | None = None, reviews_due: bool = False
) -> LearnerState:
    """Everything of the learner's that an outline shows, in one statement; with `lesson_id`, their workbook answers
    to that lesson's prompts too, and with `reviews_due`, how many of their review cards are due now."""
    found = LearnerState()
    releases: dict[int, date] = {}
    params: dict = {"user_id": user_id, "course_id": course_id}
    if lesson_id is not None:
        params["lesson_id"] = lesson_id
        found.answers = {}
    if reviews_due:
        params["now"] = clock.now()
    rows = db.session.connection().execute(_STATES[lesson_id is not None, reviews_due], params)
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
        elif row.day is not None:  # a chapter with a release date
            releases[row.row_id] = row.day
    return found
