"""Spaced review of what a learner got wrong, scheduled with FSRS (the `fsrs` package: `Scheduler`, `Card`,
`review_card`).

- Cards: every question a learner answered wrong in a quiz attempt becomes their review card (so does a question
  they got right only after a retry: it was wrong first). Cards are made when an attempt is recorded, by a receiver
  of `attempt_recorded` in the attempt's transaction (`make_cards`) — an attempt that answered a question wrong
  or opened its quiz's answers (its first pass, its last attempt); a card that exists is never made twice (the
  unique (user, question) decides). A new card is due at once.
- Reviews: a right answer is rated Good, a wrong one Again; FSRS schedules the next review. The scheduler works in
  days: no same-day learning steps (a card answered today comes back on another day), and no fuzz, so a schedule
  can be tested. A review never changes a quiz attempt, a score or a completion: it is its own record
  (`review_log`), written once per shown card (`submission_key`).
- Time is `course.clock.now()`, which tests move forward with the `CLOCK_OFFSET_DAYS` setting.
- Mastered: a card whose last review scheduled the next one `MASTERED_DAYS` (21) days or more ahead. The
  completion summary counts them; the dashboard counts, per question, a cohort's learners whose card is not
  mastered yet ("still in review").

Services flush, never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from fsrs import Card, Rating, Scheduler, State
from sqlalchemy import and_, bindparam, case, func, select
from sqlalchemy.orm import selectinload

from course import clock, signals
from course.cohorts.models import Enrolment
from course.content.models import Question, Quiz
from course.content.question_types import question_type
from course.extensions import db
from course.progress.review_models import ReviewCard, ReviewLog
from course.quiz.attempts import RecordedAttempt, reveal_level
from course.quiz.models import Attempt, AttemptAnswer
from course.sql import insert_ignore

SCHEDULER = Scheduler(learning_steps=(), relearning_steps=(), enable_fuzzing=False)
MASTERED_DAYS = 21
CHART_WEEKS = 8


class ReviewError(ValueError):
    """A review that cannot be recorded (the card is not due, the page is too old …); nothing was written."""


# -- making cards ---------------------------------------------------------------------------------------------
# The learner's wrong answers to the course's questions that have no card yet. Every quiz submission runs it
# (`attempt_recorded`): built once, with `bindparam`s.
_WRONG_WITHOUT_CARD = (
    select(AttemptAnswer.question_id, Attempt.quiz_id)
    .join(Attempt, Attempt.id == AttemptAnswer.attempt_id)
    .join(Question, Question.id == AttemptAnswer.question_id)
    .where(
        Attempt.user_id == bindparam("user_id"),
        Question.course_id == bindparam("course_id"),
        AttemptAnswer.correct.is_(False),
        ~select(ReviewCard.id)
        .where(ReviewCard.user_id == bindparam("user_id"), ReviewCard.question_id == AttemptAnswer.question_id)
        .exists(),
    )
    .distinct()
)


def make_cards(user_id: int, course_id: int) -> int:
    """Give the learner a card for every question of the course they ever answered wrong and have no card for — in
    the quizzes whose answers they may see now (`reveal_level` "full": passed, or the last attempt used, under the
    default policy). Before that, a review would show the correct answer the quiz still withholds; a quiz that never
    reveals them makes no cards. Returns how many were made."""
    wrong = db.session.execute(_WRONG_WITHOUT_CARD, {"user_id": user_id, "course_id": course_id}).all()
    revealed = _quizzes_revealed(user_id, {quiz_id for _question, quiz_id in wrong})
    missing = {question_id for question_id, quiz_id in wrong if quiz_id in revealed}
    now = clock.now()
    made = 0
    for question_id in sorted(missing):
        values = {
            "user_id": user_id,
            "question_id": question_id,
            "state": Card(card_id=question_id, due=now).to_dict(),
            "due": now,
            "interval_days": 0,
            "reps": 0,
            "lapses": 0,
            "created_at": now,
        }
        made += insert_ignore(ReviewCard, values, ["user_id", "question_id"])
    return made


def _quizzes_revealed(user_id: int, quiz_ids: set[int]) -> set[int]:
    """Of `quiz_ids`, those whose correct answers the learner may see now."""
    if not quiz_ids:
        return set()
    rows = db.session.execute(
        select(Attempt.quiz_id, func.count(), func.max(case((Attempt.passed, 1), else_=0)))
        .where(Attempt.user_id == user_id, Attempt.quiz_id.in_(quiz_ids))
        .group_by(Attempt.quiz_id)
    ).all()
    quizzes = {quiz.id: quiz for quiz in db.session.scalars(select(Quiz).where(Quiz.id.in_(quiz_ids)))}
    shown = set()
    for quiz_id, attempts, passed in rows:
        quiz = quizzes[quiz_id]
        left = None if quiz.max_attempts is None else max(quiz.max_attempts - attempts, 0)
        if reveal_level(quiz, bool(passed), left) == "full":
            shown.add(quiz_id)
    return shown


@signals.attempt_recorded.connect
def _attempt_recorded(sender: object, user_id: int, course_id: int, first_pass: bool = False, **_details: Any) -> None:
    # An attempt can make cards for its own quiz only: of the questions it answered wrong, or — when it opened the
    # quiz's answers (its first pass, its last attempt) — of the earlier attempts' wrong ones. One that did neither
    # (all right, at a quiz passed before or still withholding its answers) makes none: the search is skipped.
    if isinstance(sender, RecordedAttempt) and not (sender.answered_wrong or first_pass or sender.last):
        return
    make_cards(user_id, course_id)


# -- what is due ------------------------------------------------------------------------------------------------
def _course_cards(user_id: int, course_id: int):
    """The learner's cards of the course's current questions (a question removed from the course is not reviewed)."""
    return (
        select(ReviewCard)
        .join(Question, Question.id == ReviewCard.question_id)
        .where(ReviewCard.user_id == user_id, Question.course_id == course_id, Question.archived_at.is_(None))
    )


@dataclass(frozen=True)
class Week:
    starts: datetime
    reviews: int
    right: int

    @property
    def share(self) -> float | None:
        return self.right / self.reviews if self.reviews else None


@dataclass(frozen=True)
class Overview:
    due_now: int
    due_this_week: int  # due within the next 7 days, those due now included
    cards: int
    mastered: int
    weeks: list[Week]  # the last CHART_WEEKS weeks, oldest first: reviews and right answers


def overview(user_id: int, course_id: int) -> Overview:
    now = clock.now()
    cards = _course_cards(user_id, course_id).subquery()
    due_now, due_week, total, mastered = db.session.execute(
        select(
            func.count(case((cards.c.due <= now, 1))),
            func.count(case((cards.c.due <= now + timedelta(days=7), 1))),
            func.count(),
            func.count(case((cards.c.interval_days >= MASTERED_DAYS, 1))),
        )
    ).one()
    start = now - timedelta(weeks=CHART_WEEKS)
    logs = db.session.execute(
        select(ReviewLog.reviewed_at, ReviewLog.correct)
        .join(Question, Question.id == ReviewLog.question_id)
        .where(ReviewLog.user_id == user_id, Question.course_id == course_id, ReviewLog.reviewed_at > start)
    ).all()
    counts = [[0, 0] for _ in range(CHART_WEEKS)]
    for reviewed_at, correct in logs:
        index = min(int((reviewed_at - start) / timedelta(weeks=1)), CHART_WEEKS - 1)
        counts[index][0] += 1
        counts[index][1] += bool(correct)
    weeks = [Week(start + timedelta(weeks=i), n, right) for i, (n, right) in enumerate(counts)]
    return Overview(due_now or 0, due_week or 0, total or 0, mastered or 0, weeks)


def next_due(user_id: int, course_id: int) -> ReviewCard | None:
    """The learner's card of the course due the longest, if one is due now."""
    query = _course_cards(user_id, course_id).where(ReviewCard.due <= clock.now())
    return db.session.scalar(query.order_by(ReviewCard.due, ReviewCard.id).limit(1))


def card_of(user_id: int, course_id: int, card_id: int, lock: bool = False) -> ReviewCard | None:
    """The learner's card `card_id` of the course, or None (someone else's card is None too); with `lock`, its row
    stays locked until the transaction ends (PostgreSQL), so two answers to it are recorded one at a time."""
    query = _course_cards(user_id, course_id).where(ReviewCard.id == card_id)
    return db.session.scalar(query.with_for_update(of=ReviewCard) if lock else query)


def log_of(user_id: int, course_id: int, log_id: int) -> ReviewLog | None:
    """The learner's review `log_id` of a question of the course, or None."""
    return db.session.scalar(
        select(ReviewLog)
        .join(Question, Question.id == ReviewLog.question_id)
        .where(ReviewLog.id == log_id, ReviewLog.user_id == user_id, Question.course_id == course_id)
    )


def question_of(question_id: int) -> Question:
    """The question of a card or a review, with its current options."""
    query = select(Question).options(selectinload(Question.options)).where(Question.id == question_id)
    return db.session.scalars(query).one()


# -- answering ------------------------------------------------------------------------------------------------
def answer(card: ReviewCard, question: Question, response: Any, key: str) -> tuple[ReviewLog, bool]:
    """Grade a review of `card` with the question's own type and reschedule it: right → Good, wrong → Again.
    Returns (the review's record, created). The same `key` (one per shown card) returns the review it already
    recorded; a card that is not due is refused (ReviewError)."""
    existing = _by_key(card.id, key)
    if existing is not None:
        return existing, False
    check_due(card, key)
    now = clock.now()
    correct = question_type(question.type).is_correct(question, response)
    before = Card.from_dict(card.state)
    after, _log = SCHEDULER.review_card(before, Rating.Good if correct else Rating.Again, review_datetime=now)
    interval = max(0, round((after.due - now) / timedelta(days=1)))
    values = {
        "card_id": card.id,
        "user_id": card.user_id,
        "question_id": card.question_id,
        "submission_key": key,
        "rating": int(Rating.Good if correct else Rating.Again),
        "correct": correct,
        "interval_days": interval,
        "reviewed_at": now,
    }
    if not insert_ignore(ReviewLog, values, ["card_id", "submission_key"]):  # a twin request recorded it first
        return _by_key(card.id, key), False
    card.state = after.to_dict()
    card.due = after.due
    card.interval_days = interval
    card.reps += 1
    card.lapses += 0 if correct or before.state != State.Review else 1
    card.last_reviewed_at = now
    db.session.flush()
    return _by_key(card.id, key), True


def check_due(card: ReviewCard, key: str) -> None:
    """ReviewError unless the card is due, or this display (`key`) of it was answered already (sent again)."""
    if card.due > clock.now() and _by_key(card.id, key) is None:
        raise ReviewError(_("This card is not due for review yet."))


def _by_key(card_id: int, key: str) -> ReviewLog | None:
    return db.session.scalar(select(ReviewLog).where(ReviewLog.card_id == card_id, ReviewLog.submission_key == key))


# -- the completion summary and the dashboard --------------------------------------------------------------
@dataclass(frozen=True)
class Record:
    cards: int
    mastered: int


def record(user_id: int, course_id: int) -> Record:
    """The learner's review record in the course: their cards, and how many are mastered."""
    cards = _course_cards(user_id, course_id).subquery()
    total, mastered = db.session.execute(
        select(func.count(), func.count(case((cards.c.interval_days >= MASTERED_DAYS, 1))))
    ).one()
    return Record(total or 0, mastered or 0)


def learners_in_review(cohort_id: int, question_ids: list[int]) -> dict[int, int]:
    """Per question: how many of the cohort's learners have its card and have not mastered it. One query."""
    if not question_ids:
        return {}
    rows = db.session.execute(
        select(ReviewCard.question_id, func.count())
        .join(Enrolment, and_(Enrolment.user_id == ReviewCard.user_id, Enrolment.cohort_id == cohort_id))
        .where(ReviewCard.question_id.in_(question_ids), ReviewCard.interval_days < MASTERED_DAYS)
        .group_by(ReviewCard.question_id)
    ).all()
    return {question_id: count for question_id, count in rows}
