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
# PostgreSQL: the attempt and all its answers in one statement (one round trip), the answers as one JSON array read
# by `json_to_recordset` (psycopg adapts one string; six arrays of the answers' columns, as before, cost the worker
# about twice as much to adapt). The answers' INSERT reads the attempt's id from the first; their foreign key is checked
# at the end of the statement, when the attempt is in.
_ANSWERS_FROM_JSON = (
    " answers AS (INSERT INTO attempt_answer (attempt_id, question_id, position, response, correct, points,"
    " max_points) SELECT attempt.id, answer.* FROM attempt, json_to_recordset(CAST(:answers AS json)) AS"
    " answer(question_id integer, position integer, response json, correct boolean, points float8,"
    " max_points float8))"
)
_ATTEMPT_COLUMNS = (
    "INSERT INTO quiz_attempt (user_id, quiz_id, number, submission_key, submitted_at, score, max_score, percent,"
    " pass_mark, passed, content_version)"
)
_ATTEMPT_VALUES = (
    " :user_id, :quiz_id, :number, :submission_key, :submitted_at, :score, :max_score, :percent, :pass_mark, :passed,"
    " :content_version"
)
_INSERT_ATTEMPT_WITH_ANSWERS = text(
    f"WITH attempt AS ({_ATTEMPT_COLUMNS} VALUES ({_ATTEMPT_VALUES}) RETURNING id),{_ANSWERS_FROM_JSON}"  # noqa: S608  # nosec B608 - constant SQL
    " SELECT id FROM attempt"
).bindparams(bindparam("submitted_at", type_=UTCDateTime()))
# PostgreSQL, when the caller knows the number the attempt should be (the one its key was issued for, as the request
# read it before its write): `_USED_AND_TWIN` and the attempt with its answers in one statement, read and written
# under the learner's lock (taken by the statement before, so this one's snapshot sees every attempt committed before
# it). The attempt is written only if it is that number and its key made none yet; the counts are returned either way.
_RECORD_IF_NEXT = text(
    "WITH used AS (SELECT count(a.id) AS used, max(CASE WHEN a.passed THEN 1 ELSE 0 END) AS passed,"  # noqa: S608  # nosec B608
    " (SELECT t.id FROM quiz_attempt t WHERE t.user_id = :user_id AND t.submission_key = :submission_key) AS twin"
    " FROM quiz_attempt a WHERE a.user_id = :user_id AND a.quiz_id = :quiz_id),"
    f" attempt AS ({_ATTEMPT_COLUMNS} SELECT{_ATTEMPT_VALUES} FROM used"
    " WHERE used.used = :number - 1 AND used.twin IS NULL RETURNING id),"
    f"{_ANSWERS_FROM_JSON}"
    " SELECT used.used, used.passed, used.twin, (SELECT id FROM attempt) FROM used"
).bindparams(bindparam("submitted_at", type_=UTCDateTime()))


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


def record(
    user_id: int, quiz: Quiz, submission: Submission, key: str, expected: int | None = None
) -> tuple[Attempt, bool]:
    """Grade and record one attempt. Returns (attempt, created); a created attempt is returned as the values
    written (not a row of the session: load it to read its answers).

    The same submission key returns the attempt it already made (a double click or a retried request is applied once).
    Otherwise the key must be the one issued for the attempt's number (`layout.attempt_key`), or `StaleKey` is
    raised: the layout an attempt is graded against is never the learner's choice. The attempt limit holds under
    races: attempt numbers are unique per learner and quiz, and no number beyond the limit is ever written.
    `expected`: the number the caller read the key was issued for (the quiz page's next attempt), if it read one.
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
    attempt_id = None
    answers = grade_submission(quiz, submission).answers if submission.ok else []
    if not on_sqlite and expected is not None and _may_be_next(user_id, quiz, submission, key, expected):
        # the usual submission: counted and written in one statement (it writes nothing if the count says otherwise)
        values = _values(user_id, quiz, submission, key, expected)
        params = {**values, "answers": json.dumps(answers)}
        used, passed_before, twin, attempt_id = rows.execute(_RECORD_IF_NEXT, params).one()
    else:
        used, passed_before, twin = rows.execute(
            _USED_AND_TWIN, {"user_id": user_id, "quiz_id": quiz.id, "key": key}
        ).one()
    used, passed_before = used or 0, bool(passed_before)
    if attempt_id is None:
        if twin is not None:  # a twin of this request may have committed while we waited
            return db.session.get(Attempt, twin), False
        _refuse_unless_next(user_id, quiz, submission, key, used)
        # Core statements, not the ORM's unit of work: a submission is the busiest write of the app. No savepoint: the
        # count above was read under the learner's lock (or SQLite's write lock), which every writer of their attempts
        # holds, so no other transaction can take the number or the key before this one commits. Were one to, the
        # unique constraints refuse the INSERT and the transaction fails whole.
        values = _values(user_id, quiz, submission, key, used + 1)
        attempt_id = _insert_attempt(rows, values, answers)
    recorded = RecordedAttempt(
        attempt_id,
        quiz.id,
        values["number"],
        values["passed"],
        answered_wrong=not all(answer["correct"] for answer in answers),
        last=quiz.max_attempts is not None and values["number"] >= quiz.max_attempts,
    )
    first_pass = values["passed"] and not passed_before
    signals.attempt_recorded.send(recorded, user_id=user_id, course_id=quiz.course_id, first_pass=first_pass)
    return Attempt(id=attempt_id, **values), True


def _may_be_next(user_id: int, quiz: Quiz, submission: Submission, key: str, number: int) -> bool:
    """Whether attempt `number` with this key would be recorded if `number - 1` attempts were made (and the key made
    none): nothing else to check under the lock (no cool-down to read)."""
    within = quiz.max_attempts is None or number <= quiz.max_attempts
    return submission.ok and not quiz.retry_after and within and key == attempt_key(user_id, quiz, number)


def _refuse_unless_next(user_id: int, quiz: Quiz, submission: Submission, key: str, used: int) -> None:
    """Raise why the submission may not be the learner's next attempt, `used` made (read under their lock)."""
    if not submission.ok:
        raise SubmissionError(_("Some answers are missing or not valid."))
    if (opens_at := next_attempt_at(user_id, quiz)) is not None:
        raise CoolingDown(opens_at)
    if quiz.max_attempts is not None and used >= quiz.max_attempts:
        raise SubmissionError(_("You have used all %(n)d attempts for this quiz.", n=quiz.max_attempts))
    if key != attempt_key(user_id, quiz, used + 1):  # each number has its one key, so its one layout
        raise StaleKey()


def _values(user_id: int, quiz: Quiz, submission: Submission, key: str, number: int) -> dict[str, Any]:
    """The attempt's row, as attempt `number` (graded before the write when the caller graded it: the quiz view)."""
    graded = grade_submission(quiz, submission)
    return {
        "user_id": user_id,
        "quiz_id": quiz.id,
        "number": number,
        "submission_key": key,
        "submitted_at": utcnow(),
        "score": graded.score,
        "max_score": graded.maximum,
        "percent": graded.percent,
        "pass_mark": quiz.pass_mark,
        "passed": graded.percent >= quiz.pass_mark,
        "content_version": quiz.version,
    }


def _insert_attempt(rows: Connection, values: dict[str, Any], answers: list[dict[str, Any]]) -> int:
    """Insert the attempt and its answers; its id."""
    if rows.dialect.name == "postgresql":
        return rows.execute(_INSERT_ATTEMPT_WITH_ANSWERS, {**values, "answers": json.dumps(answers)}).scalar_one()
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
