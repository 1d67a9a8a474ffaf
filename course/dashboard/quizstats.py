"""Item statistics for one quiz over one cohort, as Moodle's quiz statistics report computes them.

- Which attempts: each learner's FIRST attempt (Moodle's default): later attempts are taken by learners who
  have seen the feedback, which would make every question look easier than it is.
- Facility: the share of those attempts that got the question right.
- Discrimination: the Pearson correlation between the score on this question (0 or 1) and the score on the
  REST of the attempt (the other questions, as a fraction of their points) — a point-biserial correlation,
  Moodle's "discrimination index". Near 0: the question does not separate stronger from weaker learners;
  negative: stronger learners get it wrong more often, which usually means a wrong key or a trick question.
- How often each option was chosen (choice questions), also by the strongest learners (the top 27 % by
  first-attempt score, ties to the earlier attempt), and the most common answers (short answers).
- Flags, each with its evidence, only when the evidence is real: `course.dashboard.itemflags`.
- Texts (prompts, options) in the reader's content language, as the learner's quiz shows them.

Three statements, whatever the size of the cohort: the questions with their options, the first attempts'
summary, and the answers grouped by question, correctness, response and whether the attempt is among the
strongest (counts and sums of the rest score, from which Python computes the option counts, the common short
answers and the correlation). The last returns one row per distinct response (twice at most: among the
strongest or not), which grows with the variety of typed answers, not with the number of learners.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Select, Text, and_, case, cast, func, literal, select

from course.cohorts.models import Cohort, Enrolment
from course.content.i18n import content_language, tr
from course.content.models import Question, QuestionOption
from course.content.question_types import QUESTION_TYPES
from course.content.short_answer import normalise
from course.dashboard.cache import ATTEMPTS, cached
from course.dashboard.coursemap import CourseMap, QuizInfo, in_ranges
from course.dashboard.itemflags import Flag, clearly_more, flags_for, upper_group_size
from course.extensions import db
from course.quiz.models import Attempt, AttemptAnswer

TOP_ANSWERS = 5


@dataclass
class OptionStat:
    key: str
    text: str
    keyed: bool  # a correct option
    chosen: int = 0
    share: float = 0.0  # of the learners who answered
    chosen_upper: int = 0  # by the strongest learners


@dataclass
class TextAnswer:
    text: str
    count: int
    correct: bool


@dataclass
class QuestionStat:
    id: int
    key: str
    type: str
    prompt: str
    position: int
    responses: int = 0
    correct: int = 0
    discrimination: float | None = None
    upper_responses: int = 0  # answers from the strongest learners
    options: list[OptionStat] = field(default_factory=list)
    answers: list[TextAnswer] = field(default_factory=list)  # short answers: the most common ones
    flags: list[Flag] = field(default_factory=list)
    lures: list[OptionStat] = field(default_factory=list)  # wrong options the strongest preferred to a correct one

    @property
    def facility(self) -> float | None:
        return self.correct / self.responses if self.responses else None

    @property
    def flag_kinds(self) -> list[str]:
        return list(dict.fromkeys(flag.kind for flag in self.flags))

    @property
    def label(self) -> Any:
        return QUESTION_TYPES[self.type].label

    @property
    def has_options(self) -> bool:
        return QUESTION_TYPES[self.type].input_kind != "text"

    @property
    def several_answers(self) -> bool:
        """Learners may tick several options (so option shares add up to more than 100 %)."""
        return QUESTION_TYPES[self.type].input_kind == "checkbox"


@dataclass
class ResponseSums:
    """A question's first-attempt answers summed up for the correlation: x is the question's score (1 or 0), y
    the score on the rest of the attempt."""

    responses: int = 0
    correct: int = 0  # Σx (= Σx², x being 0 or 1)
    rest: float = 0.0  # Σy
    rest_squared: float = 0.0  # Σy²
    rest_when_correct: float = 0.0  # Σxy


@dataclass
class QuizStats:
    quiz: QuizInfo
    attempts: int  # first attempts counted
    average: float | None  # mean first-attempt score, %
    questions: list[QuestionStat]
    upper_group: int = 0  # how many of those attempts are the strongest learners'

    @property
    def flagged(self) -> int:
        return sum(1 for q in self.questions if q.flags)


def _first_attempts(cohort: Cohort, quiz: QuizInfo) -> Select:
    """FROM the cohort's enrolments JOIN each one's first attempt at the quiz: the cohort drives the query,
    one index seek a learner (the unique (user, quiz, number)), whatever statistics SQLite has."""
    return (
        select()
        .select_from(Enrolment)
        .join(Attempt, and_(Attempt.user_id == Enrolment.user_id, Attempt.quiz_id == quiz.id, Attempt.number == 1))
        .where(Enrolment.cohort_id == cohort.id)
    )


@dataclass
class _Reduced:
    """One question's first-attempt answers, reduced to what the page shows (what `cached` keeps: no raw rows)."""

    sums: ResponseSums = field(default_factory=ResponseSums)
    upper_responses: int = 0
    chosen: dict[str, list[int]] = field(default_factory=dict)  # option key: [learners, of them the strongest]
    answers: list[TextAnswer] = field(default_factory=list)  # short answers: the `TOP_ANSWERS` most common


def quiz_stats(cohort: Cohort, quiz: QuizInfo, lang: str | None = None) -> QuizStats:
    """The quiz's item statistics over the cohort's first attempts, texts in `lang` (default: the reader's)."""
    questions = _questions(quiz, content_language() if lang is None else lang)
    kinds = {q.id: q.has_options for q in questions}
    key = (cohort.id, quiz.id, tuple(kinds.items()))
    compute = lambda: _reduce(*_first_attempt_sums(cohort, quiz), kinds)  # noqa: E731
    count, average, reduced = cached("quiz_stats", cohort.course_id, key, compute, ATTEMPTS)
    for q in questions:
        r = reduced.get(q.id, _Reduced())
        total = r.sums
        q.responses, q.correct, q.upper_responses = total.responses, total.correct, r.upper_responses
        q.discrimination = pearson(
            total.responses, total.correct, total.rest, total.correct, total.rest_squared, total.rest_when_correct
        )
        for option in q.options:
            option.chosen, option.chosen_upper = r.chosen.get(option.key, (0, 0))
        q.answers = [TextAnswer(a.text, a.count, a.correct) for a in r.answers]
        _finish(q)
    return QuizStats(quiz, count, average, questions, upper_group_size(count or 0))


def _reduce(count: int, average: float | None, rows: list[Any], kinds: dict[int, bool]) -> tuple:
    """The first attempts' answer rows summed per current question (`kinds`: whether it has options)."""
    reduced: dict[int, _Reduced] = {}
    for row in rows:
        if row.question_id not in kinds:  # an answer to a question archived since
            continue
        r = reduced.setdefault(row.question_id, _Reduced())
        total = r.sums
        total.responses += row.learners
        total.rest += row.rest or 0.0
        total.rest_squared += row.rest_squared or 0.0
        if row.correct:
            total.correct += row.learners
            total.rest_when_correct += row.rest or 0.0
        r.upper_responses += row.learners if row.upper else 0
        if kinds[row.question_id]:
            _count_options(r.chosen, row.response, row.learners, bool(row.upper))
        else:
            _add_text_answer(r.answers, row.response, bool(row.correct), row.learners)
    for r in reduced.values():
        r.answers = sorted(r.answers, key=lambda a: -a.count)[:TOP_ANSWERS]
    return count, average, reduced


def _first_attempt_sums(cohort: Cohort, quiz: QuizInfo) -> tuple[int, float | None, list[Any]]:
    """How many first attempts, their average score, and their answers summed by question, correctness, response
    and whether the attempt is among the strongest: the two statements that read every learner's first attempt
    (kept by `cached` until the next attempt or enrolment change)."""
    first = _first_attempts(cohort, quiz)
    count, average = db.session.execute(first.add_columns(func.count(), func.avg(Attempt.percent))).one()
    upper = upper_group_size(count or 0)

    # One pass over the first attempts' answers, grouped by question, right or wrong, the stored response and
    # whether the attempt is among the `upper` best (ties: the earlier attempt): the response counts give the
    # option counts (also the strongest learners') and the common short answers, the sums of the rest score give
    # the correlation. Grading is all or nothing, so a question's score x is 1 when correct, else 0 (so Σx = Σx²
    # = the number correct, and Σxy = Σy over the correct answers).
    rank = func.row_number().over(order_by=(Attempt.percent.desc(), Attempt.submitted_at, Attempt.id))
    ranked = first.add_columns(
        Attempt.id.label("attempt_id"),
        Attempt.score.label("score"),
        Attempt.max_score.label("max_score"),
        case((rank <= literal(upper), 1), else_=0).label("upper"),
    ).subquery("ranked")
    rest_max = ranked.c.max_score - AttemptAnswer.max_points
    rest_score = case((rest_max > 0, (ranked.c.score - AttemptAnswer.points) / rest_max), else_=0.0)
    response = cast(AttemptAnswer.response, Text)
    rows = db.session.execute(
        select(
            AttemptAnswer.question_id,
            AttemptAnswer.correct,
            response.label("response"),
            ranked.c.upper,
            func.count().label("learners"),
            func.sum(rest_score).label("rest"),
            func.sum(rest_score * rest_score).label("rest_squared"),
        )
        .select_from(ranked)
        .join(AttemptAnswer, AttemptAnswer.attempt_id == ranked.c.attempt_id)
        .group_by(AttemptAnswer.question_id, AttemptAnswer.correct, response, ranked.c.upper)
    ).all()
    return count or 0, float(average) if average is not None else None, rows


def _count_options(chosen: dict[str, list[int]], raw: str, n: int, upper: bool) -> None:
    """Add `n` learners who gave the stored response `raw` (a JSON list of option keys) to its options."""
    try:
        keys = json.loads(raw)
    except (TypeError, ValueError):
        return
    for key in set(keys) if isinstance(keys, list) else {keys}:
        counts = chosen.setdefault(str(key), [0, 0])
        counts[0] += n
        counts[1] += n if upper else 0


def pearson(n: int, sx: float, sy: float, sxx: float, syy: float, sxy: float) -> float | None:
    """The correlation of x and y from their sums; None when either does not vary (or n < 2)."""
    if n < 2:
        return None
    vx, vy = n * sxx - sx * sx, n * syy - sy * sy
    if vx <= 1e-12 or vy <= 1e-12:
        return None
    return max(-1.0, min(1.0, (n * sxy - sx * sy) / math.sqrt(vx * vy)))


def _questions(quiz: QuizInfo, lang: str) -> list[QuestionStat]:
    """The quiz's current questions in order, with their current options, texts in `lang`: one statement."""
    rows = db.session.execute(
        select(
            Question.id,
            Question.key,
            Question.type,
            Question.prompt,
            Question.i18n,
            Question.position,
            QuestionOption.key,
            QuestionOption.text,
            QuestionOption.i18n,
            QuestionOption.correct,
        )
        .outerjoin(
            QuestionOption,
            and_(QuestionOption.question_id == Question.id, QuestionOption.archived_at.is_(None)),
        )
        .where(Question.quiz_id == quiz.id, Question.archived_at.is_(None))
        .order_by(Question.position, QuestionOption.position)
    ).all()
    questions: dict[int, QuestionStat] = {}
    for qid, qkey, qtype, prompt, qi18n, position, okey, otext, oi18n, ocorrect in rows:
        q = questions.get(qid)
        if q is None:
            q = questions[qid] = QuestionStat(qid, qkey, qtype, _translated("prompt", prompt, qi18n, lang), position)
        if okey is not None and q.has_options:
            q.options.append(OptionStat(okey, _translated("text", otext, oi18n, lang), bool(ocorrect)))
    for q in questions.values():
        # Shown texts come from the type (true/false are labelled by the app, not stored text).
        shown = {o.key: o.text for o in QUESTION_TYPES[q.type].shown_options(_Shim(q.options))}
        for option in q.options:
            option.text = str(shown.get(option.key, option.text))
    return list(questions.values())


def _translated(field_name: str, text: str, i18n: dict | None, lang: str) -> str:
    """`text`, or its translation into `lang` from the row's `i18n`, by the learner pages' rule (`tr`)."""
    return tr(SimpleNamespace(**{field_name: text, "i18n": i18n}), field_name, lang=lang)


@dataclass
class _Shim:
    """What a question type's `shown_options` reads: `options` with key and text."""

    options: list[OptionStat]


def _add_text_answer(answers: list[TextAnswer], raw: str, correct: bool, n: int) -> None:
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        value = raw
    text = str(value) if not isinstance(value, list) else ", ".join(map(str, value))
    if not text:  # erased with its author's account (course/privacy): counted above, but no common answer
        return
    norm = normalise(text)
    for answer in answers:  # answers the grader sees as the same (case, width, punctuation …) count together
        if normalise(answer.text) == norm and answer.correct == correct:
            answer.count += n
            return
    answers.append(TextAnswer(text, n, correct))


def _finish(q: QuestionStat) -> None:
    for option in q.options:
        option.share = option.chosen / q.responses if q.responses else 0.0
    q.answers = sorted(q.answers, key=lambda a: -a.count)[:TOP_ANSWERS]
    q.flags = flags_for(q)
    if any(flag.evidence == "strong_chose_wrong" for flag in q.flags):
        least_keyed = min(o.chosen_upper for o in q.options if o.keyed)
        q.lures = [o for o in q.options if not o.keyed and clearly_more(o.chosen_upper, least_keyed)]


# -- every quiz of the cohort, summed up ------------------------------------------------------------------
@dataclass
class QuizSummary:
    quiz: QuizInfo
    learners: int  # who attempted it
    passed: int
    average_best: float | None
    average_first: float | None
    attempts: int


def quiz_summaries(cohort: Cohort, cm: CourseMap) -> list[QuizSummary]:
    """Per quiz: learners who tried it, passed it, their average best and first-attempt scores. One query (kept by
    `cached` until the next attempt or enrolment change)."""
    key = (cohort.id, tuple(cm.quiz_runs()))
    found = cached("quiz_summaries", cohort.course_id, key, lambda: _summary_rows(cohort, cm), ATTEMPTS)
    summaries = []
    for quiz in cm.quizzes:
        row = found.get(quiz.id)
        if row is None:
            summaries.append(QuizSummary(quiz, 0, 0, None, None, 0))
        else:
            summaries.append(
                QuizSummary(
                    quiz,
                    row.learners,
                    int(row.passed or 0),
                    _float(row.average_best),
                    _float(row.average_first),
                    int(row.attempts or 0),
                )
            )
    return summaries


def _summary_rows(cohort: Cohort, cm: CourseMap) -> dict[int, Any]:
    per_learner = (
        select(
            Attempt.quiz_id.label("quiz_id"),
            func.max(Attempt.percent).label("best"),
            func.max(case((Attempt.number == 1, Attempt.percent))).label("first"),
            func.max(case((Attempt.passed, 1), else_=0)).label("passed"),
            func.count().label("attempts"),
        )
        .where(
            Attempt.user_id.in_(select(Enrolment.user_id).where(Enrolment.cohort_id == cohort.id)),
            in_ranges(Attempt.quiz_id, cm.quiz_runs()),
        )
        .group_by(Attempt.user_id, Attempt.quiz_id)
        .subquery()
    )
    learner = per_learner.c
    rows = db.session.execute(
        select(
            learner.quiz_id,
            func.count().label("learners"),
            func.sum(learner.passed).label("passed"),
            func.avg(learner.best).label("average_best"),
            func.avg(learner.first).label("average_first"),
            func.sum(learner.attempts).label("attempts"),
        ).group_by(learner.quiz_id)
    ).all()
    return {row.quiz_id: row for row in rows}


def _float(value: Any) -> float | None:
    return float(value) if value is not None else None
