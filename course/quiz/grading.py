"""Reading a learner's answers from a submitted quiz form and grading them, with the question types of
`course.content.question_types`. Nothing here writes.

A form from the quiz page names options by the tokens of its attempt's layout (`course.quiz.layout`): read with
that layout, only the questions it served are read and graded, and a value that is not one of their tokens is an
invalid answer. Read without one (services and tests), options are named by their ids and every question is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from course.content.models import Question, Quiz
from course.content.question_types import ResponseError, question_type
from course.quiz.layout import Layout

RESERVED_FIELDS = {"csrf_token", "submission_key"}


@dataclass
class Submission:
    """Answers read from a form, with per-question errors; `ok` when every question has a valid answer."""

    responses: dict[int, Any] = field(default_factory=dict)  # question id → the stored response
    errors: dict[str, str] = field(default_factory=dict)  # question key → message
    general: list[str] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)  # the questions read: the attempt's served ones
    graded: Graded | None = None  # its grade, once `grade_submission` made it

    @property
    def ok(self) -> bool:
        return not self.errors and not self.general


def read_submission(quiz: Quiz, form: MultiDict, layout: Layout | None = None) -> Submission:
    questions = layout.questions if layout is not None else list(quiz.questions)
    sub = Submission(questions=questions)
    known = {q.key for q in questions}
    foreign = [name for name in form if name not in known and name not in RESERVED_FIELDS]
    if foreign:
        sub.general.append(
            _(
                "This quiz has changed since the page was opened, or the form was altered: please review your "
                "answers and submit again."
            )
        )
    for question in questions:
        values = form.getlist(question.key)
        if layout is not None:
            values = layout.read_values(question, values)
        try:
            response = question_type(question.type).read(question, values)
        except ResponseError as exc:
            sub.errors[question.key] = str(exc)
            continue
        if not response:
            sub.errors[question.key] = _("Please answer this question.")
            continue
        sub.responses[question.id] = response
    return sub


class Graded(NamedTuple):
    answers: list[dict[str, Any]]  # each answer's row: question_id, position, response, correct, points, max_points
    score: float
    maximum: float

    @property
    def percent(self) -> float:
        return round(100 * self.score / self.maximum, 2) if self.maximum else 0.0


def grade_submission(quiz: Quiz, submission: Submission) -> Graded:
    """The grade of a submission read from `quiz`'s form (every answer valid: `ok`), made once and kept with it. A
    grade depends on the quiz and the answers alone, so it is made before the attempt's write (course.learn's
    view, outside SQLite's write lock), not in it, where a second writer would wait for it."""
    if submission.graded is None:
        submission.graded = grade(quiz, submission.responses, submission.questions)
    return submission.graded


def grade(quiz: Quiz, responses: dict[int, Any], questions: list[Question] | None = None) -> Graded:
    """Grade a response to every question of `quiz` — or of the `questions` an attempt served (question id →
    response): all or nothing per question."""
    answers, score, maximum = [], 0.0, 0.0
    for position, question in enumerate(questions or quiz.questions, start=1):
        response = responses[question.id]
        correct = question_type(question.type).is_correct(question, response)
        points = float(question.points) if correct else 0.0
        answers.append(
            {
                "question_id": question.id,
                "position": position,
                "response": response,
                "correct": correct,
                "points": points,
                "max_points": float(question.points),
            }
        )
        score += points
        maximum += question.points
    return Graded(answers, score, maximum)
