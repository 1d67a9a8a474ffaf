"""One learner of a cohort, as the instructor sees them: progress per chapter and lesson (with dates), every
quiz attempt with its answers marked right or wrong, and the workbook.

The outline comes from `build_outline`, the same code that draws the learner's own outline (so the numbers
agree); attempts, answers, questions and workbook answers are one query each. Titles, prompts and options are
in the reader's content language, as the learner pages show them (the template translates the outline's).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from course.accounts.models import User
from course.cohorts.models import Cohort, Enrolment
from course.content import cache as content_cache
from course.content.i18n import content_language, tr
from course.content.models import Course, Lesson, Question, Quiz, WorkbookPrompt
from course.content.question_types import QUESTION_TYPES
from course.extensions import db
from course.progress.models import WorkbookAnswer
from course.progress.outline import LearnerOutline, build_outline
from course.quiz.models import Attempt, AttemptAnswer


@dataclass
class OptionView:
    text: str
    picked: bool
    right: bool


@dataclass
class AnswerView:
    prompt: str
    type_label: Any
    correct: bool
    text: str | None = None  # a typed answer
    accepted: str | None = None
    options: list[OptionView] = field(default_factory=list)


@dataclass
class AttemptView:
    attempt: Attempt
    quiz_title: str
    answers: list[AnswerView] = field(default_factory=list)


@dataclass
class WorkbookView:
    lesson_title: str
    prompt: str
    text: str
    updated_at: datetime


@dataclass
class LearnerDetail:
    user: User
    enrolment: Enrolment
    course: Course
    outline: LearnerOutline
    attempts: list[AttemptView]
    workbook: list[WorkbookView]


def learner_detail(cohort: Cohort, enrolment: Enrolment, user: User, lang: str | None = None) -> LearnerDetail:
    """The learner's progress, attempts and workbook in the cohort's course, texts in `lang` (default: the
    reader's content language)."""
    lang = content_language() if lang is None else lang
    course = db.session.get(Course, cohort.course_id)
    outline = build_outline(course, user.id)
    course_quizzes = select(Quiz.id).where(Quiz.course_id == course.id)

    attempts = db.session.execute(
        select(Attempt, Quiz)
        .join(Quiz, Quiz.id == Attempt.quiz_id)
        .where(Attempt.user_id == user.id, Attempt.quiz_id.in_(course_quizzes))
        .order_by(Attempt.submitted_at, Attempt.id)
    ).all()
    # Rows, not objects: only read (a learner of ten attempts has about eighty answers).
    answers = db.session.execute(
        select(AttemptAnswer.attempt_id, AttemptAnswer.question_id, AttemptAnswer.response, AttemptAnswer.correct)
        .join(Attempt, Attempt.id == AttemptAnswer.attempt_id)
        .where(Attempt.user_id == user.id, Attempt.quiz_id.in_(course_quizzes))
        .order_by(AttemptAnswer.attempt_id, AttemptAnswer.position)
    ).all()
    questions = _questions(course, {quiz for _attempt, quiz in attempts}, {a.question_id for a in answers})
    by_attempt: dict[int, list[AnswerView]] = {}
    for answer in answers:
        view = _answer_view(answer, questions.get(answer.question_id), lang)
        by_attempt.setdefault(answer.attempt_id, []).append(view)
    # newest first within a quiz, quizzes in course order
    order = {status.quiz.id: i for i, status in enumerate(outline.quizzes)}
    attempt_views = [AttemptView(a, tr(quiz, "title", lang=lang), by_attempt.get(a.id, [])) for a, quiz in attempts]
    attempt_views.sort(key=lambda v: (order.get(v.attempt.quiz_id, len(order)), -v.attempt.number))

    workbook_rows = db.session.execute(
        select(WorkbookAnswer, WorkbookPrompt, Lesson.title, Lesson.i18n, Lesson.id)
        .join(WorkbookPrompt, WorkbookPrompt.id == WorkbookAnswer.prompt_id)
        .join(Lesson, Lesson.id == WorkbookPrompt.lesson_id)
        .where(WorkbookAnswer.user_id == user.id, WorkbookPrompt.course_id == course.id)
        .order_by(WorkbookPrompt.position)
    ).all()
    lesson_order = {ls.lesson.id: i for i, ls in enumerate(outline.lessons)}
    workbook_rows = sorted(workbook_rows, key=lambda r: lesson_order.get(r.id, len(lesson_order)))
    workbook = [
        WorkbookView(
            tr(SimpleNamespace(title=row.title, i18n=row.i18n), "title", lang=lang),  # the lesson's title only
            tr(row.WorkbookPrompt, "prompt", lang=lang),
            row.WorkbookAnswer.text,
            row.WorkbookAnswer.updated_at,
        )
        for row in workbook_rows
    ]
    return LearnerDetail(user, enrolment, course, outline, attempt_views, workbook)


def _questions(course: Course, quizzes: set[Quiz], wanted: set[int]) -> dict[int, Question]:
    """The questions answered (`wanted`, by id) with their options: the quizzes' live questions from the process's
    content cache (as the quiz pages read them), any others (since archived) from the database."""
    questions: dict[int, Question] = {}
    for quiz in sorted(quizzes, key=lambda q: q.id):
        questions.update((q.id, q) for q in content_cache.quiz_with_questions(course, quiz).questions)
    missing = sorted(wanted - questions.keys())
    if missing:
        stmt = select(Question).where(Question.id.in_(missing)).options(selectinload(Question.options))
        questions.update((q.id, q) for q in db.session.scalars(stmt))
    return questions


def _answer_view(answer: Any, question: Question | None, lang: str) -> AnswerView:
    """`answer`: a row of an answer's attempt id, question id, response and correctness."""
    if question is None:  # cannot happen with foreign keys; keep the page up if it ever does
        return AnswerView(prompt="", type_label="", correct=answer.correct, text=str(answer.response))
    kind = QUESTION_TYPES[question.type]
    view = AnswerView(prompt=tr(question, "prompt", lang=lang), type_label=kind.label, correct=answer.correct)
    if kind.input_kind == "text":
        view.text = answer.response if isinstance(answer.response, str) else str(answer.response)
        accepted = tr(question, "accepted", lang=lang)  # the first accepted answer, as in the reader's language
        view.accepted = str(accepted[0]) if accepted else str(kind.correct_response(question))
        return view
    picked = set(answer.response or [])
    right = set(kind.correct_response(question))
    # The options as the type shows them (true and false are the app's words), their texts already in `lang`.
    translated = SimpleNamespace(
        options=[SimpleNamespace(key=o.key, text=tr(o, "text", lang=lang), correct=o.correct) for o in question.options]
    )
    view.options = [OptionView(str(o.text), o.key in picked, o.key in right) for o in kind.shown_options(translated)]
    return view
