"""Recording a learner's graded attempts at a quiz, and reading them back.

`record` applies a submission once however often it is sent (its key), never gives two attempts the same number
and never writes one beyond the quiz's limit — one learner's submissions are recorded one at a time, under their
row's lock (SQLite: the write lock), and the unique constraints refuse anything that got past it — nor one inside
the quiz's cool-down (`retry_after`: read from the attempts table under the learner's lock, so it holds across
instances). Services flush, never commit.

What a result page reveals (`reveal_level`) follows the quiz's `reveal` policy (its own, else its course's
`quiz_reveal`): `after_pass_or_last` (the default) shows which questions were wrong after each attempt, and the
correct answers and explanations only once the learner has passed or used their last attempt.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import Connection, bindparam, case, func, insert, select, text
from sqlalchemy.orm import selectinload

from course import signals
from course.accounts.models import User
from course.content.models import Question, Quiz
from course.db_types import UTCDateTime, utcnow
from course.extensions import db
from course.quiz.grading import Submission, grade_submission
from course.quiz.layout import attempt_key
from course.quiz.models import Attempt, AttemptAnswer

MAX_KEY_LENGTH = 64


class RecordedAttempt(NamedTuple):
    """An attempt just written, as `signals.attempt_recorded` sends it (its sender): what a receiver may need to
    know to tell whether it has anything to do."""

    id: int
    quiz_id: int
    number: int
    passed: bool
    answered_wrong: bool  # at least one question was answered wrong
    last: bool  # it used the quiz's last attempt (`max_attempts`)


class SubmissionError(ValueError):
    """The submission as a whole is refused; nothing was recorded."""


class StaleKey(SubmissionError):
    """The submission key is not the one issued for the attempt it would become: an old or forged page."""

    def __init__(self):
        super().__init__(stale_message())


def stale_message() -> str:
    return _("This page was out of date: the quiz was submitted from another page since. Here it is again.")


class CoolingDown(SubmissionError):
    """Submitted inside the quiz's cool-down: the next attempt opens at `opens_at`."""

    def __init__(self, opens_at: datetime):
        super().__init__(cool_down_message(opens_at))
        self.opens_at = opens_at


def cool_down_message(opens_at: datetime) -> str:
    """When the next attempt opens, in the reader's time zone."""
    return _("Please wait before trying again: your next attempt opens at %(time)s.", time=format_datetime(opens_at))


# Run on every submission: built once.
_ATTEMPTS_USED = select(func.count(Attempt.id), func.max(case((Attempt.passed, 1), else_=0))).where(
    Attempt.user_id == bindparam("user_id"), Attempt.quiz_id == bindparam("quiz_id")
)
_LAST_SUBMITTED = select(func.max(Attempt.submitted_at)).where(
    Attempt.user_id == bindparam("user_id"), Attempt.quiz_id == bindparam("quiz_id")
)
_BY_KEY = select(Attempt).where(Attempt.user_id == bindparam("user_id"), Attempt.submission_key == bindparam("key"))
# What recording a submission reads under the learner's lock, in one round trip: the attempts used and whether one
# passed (`_ATTEMPTS_USED`), and the id of the attempt this same key made already, if any (`_BY_KEY`).
_USED_AND_TWIN = select(
    func.count(Attempt.id),
    func.max(case((Attempt.passed, 1), else_=0)),
    select(Attempt.id)
    .where(Attempt.user_id == bindparam("user_id"), Attempt.submission_key == bindparam("key"))
    .correlate(None)  # its own scan of the learner's attempts, whatever quiz
    .scalar_subquery(),
).where(Attempt.user_id == bindparam("user_id"), Attempt.quiz_id == bindparam("quiz_id"))
_LOCK_LEARNER = select(User.id).where(User.id == bindparam("user_id")).with_for_update()
# Core statements on the tables, not ORM bulk inserts: compiled once and cached (the ORM's bulk path compiles
# a submission's INSERTs again every time).
_INSERT_ATTEMPT = insert(Attempt.__table__).returning(Attempt.__table__.c.id)
_INSERT_ANSWERS = insert(AttemptAnswer.__table__)
# PostgreSQL: the attempt and all its answers in one statement (one round trip), each answers' column an array of
# the answers' values. Through psycopg an `executemany` is a pipeline of one INSERT per answer, each bound, executed
# and answered on its own: for a quiz of eight questions, eight executions on the server (pg_stat_statements:
# 210-300 microseconds of its time, against about 210 for an INSERT … SELECT FROM unnest). The answers' INSERT reads
# the attempt's id from the first; their foreign key is checked at the end of the statement, when the attempt is in.
_INSERT_ATTEMPT_WITH_ANSWERS = text(
    "WITH attempt AS (INSERT INTO quiz_attempt (user_id, quiz_id, number, submission_key, submitted_at, score,"
    " max_score, percent, pass_mark, passed, content_version) VALUES (:user_id, :quiz_id, :number, :submission_key,"
    " :submitted_at, :score, :max_score, :percent, :pass_mark, :passed, :content_version) RETURNING id),"
    " answers AS (INSERT INTO attempt_answer (attempt_id, question_id, position, response, correct, points,"
    " max_points) SELECT attempt.id, answer.* FROM attempt, unnest(CAST(:question_id AS integer[]),"
    " CAST(:position AS integer[]), CAST(:response AS json[]), CAST(:correct AS boolean[]),"
    " CAST(:points AS float8[]), CAST(:max_points AS float8[])) AS answer)"
    " SELECT id FROM attempt"
).bindparams(bindparam("submitted_at", type_=UTCDateTime()))
_ANSWER_COLUMNS = ("question_id", "position", "response", "correct", "points", "max_points")


def attempts_so_far(user_id: int, quiz: Quiz) -> tuple[int, bool]:
    """How many attempts the learner has made at the quiz, and whether one of them passed."""
    used, passed = db.session.execute(_ATTEMPTS_USED, {"user_id": user_id, "quiz_id": quiz.id}).one()
    return used or 0, bool(passed)


def next_attempt_at(user_id: int, quiz: Quiz) -> datetime | None:
    """When the quiz's cool-down after the learner's last attempt ends, if it has not ended yet."""
    if not quiz.retry_after:
        return None
    last = db.session.scalar(_LAST_SUBMITTED, {"user_id": user_id, "quiz_id": quiz.id})
    if last is None:
        return None
    opens = last + timedelta(seconds=quiz.retry_after)
    return opens if opens > utcnow() else None


def find_by_key(user_id: int, key: str) -> Attempt | None:
    """The attempt a submission with this key made, if one did."""
    return db.session.scalar(_BY_KEY, {"user_id": user_id, "key": key})


def record(user_id: int, quiz: Quiz, submission: Submission, key: str) -> tuple[Attempt, bool]:
    """Grade and record one attempt. Returns (attempt, created); a created attempt is returned as the values
    written (not a row of the session: load it to read its answers).

    The same submission key returns the attempt it already made (a double click or a retried request is applied once).
    Otherwise the key must be the one issued for the attempt's number (`layout.attempt_key`), or `StaleKey` is
    raised: the layout an attempt is graded against is never the learner's choice. The attempt limit holds under
    races: attempt numbers are unique per learner and quiz, and no number beyond the limit is ever written.
    """
    if not key or len(key) > MAX_KEY_LENGTH:
        raise SubmissionError(_("This form is incomplete; please reload the quiz."))
    # One learner's submissions are graded one at a time: lock their account row (PostgreSQL; on SQLite a
    # writing transaction holds the database's write lock already), so parallel tabs queue instead of racing
    # for attempt numbers.
    rows = db.session.connection()
    on_sqlite = rows.dialect.name == "sqlite"
    if not on_sqlite:
        rows.execute(_LOCK_LEARNER, {"user_id": user_id})
    params = {"user_id": user_id, "quiz_id": quiz.id, "key": key}
    used, passed_before, twin = rows.execute(_USED_AND_TWIN, params).one()
    if twin is not None:  # a twin of this request may have committed while we waited
        return db.session.get(Attempt, twin), False
    if not submission.ok:
        raise SubmissionError(_("Some answers are missing or not valid."))
    if (opens_at := next_attempt_at(user_id, quiz)) is not None:
        raise CoolingDown(opens_at)
    graded = grade_submission(quiz, submission)  # made before the write when the caller graded it (the quiz view)
    used, passed_before = used or 0, bool(passed_before)
    if quiz.max_attempts is not None and used >= quiz.max_attempts:
        raise SubmissionError(_("You have used all %(n)d attempts for this quiz.", n=quiz.max_attempts))
    if key != attempt_key(user_id, quiz, used + 1):  # each number has its one key, so its one layout
        raise StaleKey()
    values = {
        "user_id": user_id,
        "quiz_id": quiz.id,
        "number": used + 1,
        "submission_key": key,
        "submitted_at": utcnow(),
        "score": graded.score,
        "max_score": graded.maximum,
        "percent": graded.percent,
        "pass_mark": quiz.pass_mark,
        "passed": graded.percent >= quiz.pass_mark,
        "content_version": quiz.version,
    }
    # Core statements, not the ORM's unit of work: a submission is the busiest write of the app. No savepoint: the
    # count above was read under the learner's lock (or SQLite's write lock), which every writer of their attempts
    # holds, so no other transaction can take the number or the key before this one commits. Were one to, the
    # unique constraints refuse the INSERT and the transaction fails whole.
    attempt_id = _insert_attempt(rows, values, graded.answers)
    recorded = RecordedAttempt(
        attempt_id,
        quiz.id,
        values["number"],
        values["passed"],
        answered_wrong=not all(answer["correct"] for answer in graded.answers),
        last=quiz.max_attempts is not None and values["number"] >= quiz.max_attempts,
    )
    first_pass = values["passed"] and not passed_before
    signals.attempt_recorded.send(recorded, user_id=user_id, course_id=quiz.course_id, first_pass=first_pass)
    return Attempt(id=attempt_id, **values), True


def _insert_attempt(rows: Connection, values: dict[str, Any], answers: list[dict[str, Any]]) -> int:
    """Insert the attempt and its answers; its id."""
    if rows.dialect.name == "postgresql":
        columns = {name: [answer[name] for answer in answers] for name in _ANSWER_COLUMNS}
        columns["response"] = [json.dumps(response) for response in columns["response"]]
        return rows.execute(_INSERT_ATTEMPT_WITH_ANSWERS, {**values, **columns}).scalar_one()
    # SQLite: two statements in the same process, no round trip; its executemany runs one prepared statement for
    # every answer, in C
    attempt_id = rows.execute(_INSERT_ATTEMPT, values).scalar_one()
    rows.execute(_INSERT_ANSWERS, [{"attempt_id": attempt_id, **answer} for answer in answers])
    return attempt_id


def history(user_id: int, quiz: Quiz) -> list[Attempt]:
    return list(
        db.session.scalars(
            select(Attempt).where(Attempt.user_id == user_id, Attempt.quiz_id == quiz.id).order_by(Attempt.number)
        )
    )


def get_attempt(user_id: int, quiz: Quiz, number: int) -> Attempt | None:
    """The learner's attempt `number` at the quiz, with its answers."""
    return db.session.scalar(
        select(Attempt)
        .options(selectinload(Attempt.answers))
        .where(Attempt.user_id == user_id, Attempt.quiz_id == quiz.id, Attempt.number == number)
    )


def reveal_level(quiz: Quiz, has_passed: bool, attempts_left: int | None = None) -> str:
    """What a result page may show: "full" (the correct answers and explanations), "correctness" (which questions
    were right, with the learner's own answers), or "score". `attempts_left` 0: the learner used their last."""
    if quiz.reveal == "after_each_attempt":
        return "full"
    if quiz.reveal == "after_pass":
        return "full" if has_passed else "correctness"
    if quiz.reveal == "after_pass_or_last":
        return "full" if has_passed or attempts_left == 0 else "correctness"
    return "score"


def withheld_notice(quiz: Quiz, level: str) -> str | None:
    """What a result page at `level` says about the answers it does not show yet, and when it will."""
    if level != "correctness":
        return None
    if quiz.reveal == "after_pass_or_last":
        return _("The correct answers and explanations are shown once you pass this quiz or use your last attempt.")
    return _("The correct answers and explanations are shown once you pass this quiz.")


def questions_by_id(ids: list[int]) -> dict[int, Question]:
    """The questions an attempt answered (archived ones too), with their options."""
    if not ids:
        return {}
    query = select(Question).options(selectinload(Question.options)).where(Question.id.in_(ids))
    return {q.id: q for q in db.session.scalars(query)}
