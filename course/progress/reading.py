"""Recording a learner's reading: lesson views (first and last, to the minute), lessons completed, and the
time spent reading. Services flush, never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Integer, Row, Select, Update, bindparam, func, literal_column, select, true, update

from course.accounts.models import User
from course.content.models import Lesson
from course.db_types import UTCDateTime, utcnow
from course.extensions import db
from course.progress import rollup
from course.progress.learner_state import Progress
from course.progress.models import LessonProgress
from course.sql import insert_ignore


def _ensure_progress_row(user_id: int, lesson: Lesson, now: datetime, completed_at: datetime | None = None) -> bool:
    """Create the (learner, lesson) row if missing (complete at `completed_at`, if given); True if this call
    created it."""
    return insert_ignore(
        LessonProgress,
        {
            "user_id": user_id,
            "lesson_id": lesson.id,
            "course_id": lesson.course_id,
            "first_viewed_at": now,
            "last_viewed_at": now,
            "completed_at": completed_at,
            "time_spent_seconds": 0,
        },
        ["user_id", "lesson_id"],
    )


# -- reading time ------------------------------------------------------------------------------------------
# The time from a recorded view to the learner's next action in the course (a recorded view, a lesson marked
# complete, a workbook answer saved; not a quiz submission) is credited to the lesson viewed last, capped at
# LESSON_TIME_CAP_SECONDS, and moves its `time_credited_until`: no interval counts twice (README, "How progress
# and completion work").

_READING = (
    select(
        LessonProgress.id,
        LessonProgress.lesson_id,
        LessonProgress.last_viewed_at,
        LessonProgress.time_credited_until,
    )
    .where(LessonProgress.user_id == bindparam("user_id"), LessonProgress.course_id == bindparam("course_id"))
    .order_by(LessonProgress.last_viewed_at.desc(), LessonProgress.id.desc())
    .limit(1)
)


def _lesson_being_read(user_id: int, course_id: int, lock: Select | None = None) -> Row | None:
    """The learner's progress row of the lesson they viewed last in the course, read after their other writes.

    PostgreSQL: a learner's credits run one at a time, each reading the rows of the one before it (and taking
    the locks of two progress rows in the same order): FOR NO KEY UPDATE on the user row, the lock the dashboard's
    roll-up takes, held to the commit (its refresh after this write need not take it again). (SQLite: one writer at
    a time.) `lock`: the statement that takes it, if not `_LOCK_LEARNER`.
    """
    db.session.flush()  # the statements below and after it run on the connection: pending rows go in first
    rows = db.session.connection()
    if rows.dialect.name != "sqlite":
        rows.execute(_LOCK_LEARNER if lock is None else lock, {"user_id": user_id})
    return rows.execute(_READING, {"user_id": user_id, "course_id": course_id}).first()


# The writes below run on every view and completion: core statements on the table, built once (an ORM UPDATE built
# per call cost more than running it), each run on the session's connection.
_LOCK_LEARNER = select(User.id).where(User.id == bindparam("user_id")).with_for_update(key_share=True)
# A view's transaction, on PostgreSQL, commits without waiting for the disk: `synchronous_commit` off for this
# transaction alone (`set_config(…, true)`, SET LOCAL's function, in the statement that takes the lock: no round trip
# of its own; a transaction pooler keeps it to the transaction too). A crash of the database server may then lose the
# views of its last fraction of a second (at most three times `wal_writer_delay`, 0.6 s by default) with the reading
# time they credited, never anything else and never the database's consistency: PostgreSQL's "asynchronous commit",
# meant for writes like these. The learner's next view records them again; completions, workbook answers and
# attempts still wait for the disk. (SQLite's `synchronous=NORMAL` is the same bargain, there for every write, with
# power loss as its only risk.) Waiting for the disk left a tenth of the two cores idle while views were recorded
# (docs/PERFORMANCE.md, "Round ten").
_LOCK_LEARNER_FOR_A_VIEW = (
    select(User.id, func.set_config(literal_column("'synchronous_commit'"), literal_column("'off'"), true()))
    .where(User.id == bindparam("user_id"))
    .with_for_update(key_share=True)
)
_ROWS = LessonProgress.__table__
_AT = UTCDateTime()


def _credit_statement(moves_view: bool, completes: bool = False) -> Update:
    """Credit a `_READING` row (:row_id, as read: :seen_at, :credited) with :spent seconds, its credit reaching
    :until; when `moves_view`, its last view moves to :viewed_at too; when `completes`, it is completed at
    :completed_at, if it was not complete (else nothing is written)."""
    c = _ROWS.c
    moved = {"last_viewed_at": bindparam("viewed_at", type_=_AT)} if moves_view else {}
    if completes:
        moved["completed_at"] = bindparam("completed_at", type_=_AT)
    return (
        update(_ROWS)
        .where(
            c.id == bindparam("row_id"),
            c.last_viewed_at == bindparam("seen_at", type_=_AT),
            c.time_credited_until.is_not_distinct_from(bindparam("credited", type_=_AT)),
            *([c.completed_at.is_(None)] if completes else []),
        )
        .values(
            time_spent_seconds=c.time_spent_seconds + bindparam("spent", type_=Integer),
            time_credited_until=bindparam("until", type_=_AT),
            **moved,
        )
    )


_CREDIT, _CREDIT_AND_VIEW = _credit_statement(False), _credit_statement(True)
_CREDIT_AND_COMPLETE = _credit_statement(False, completes=True)
_VIEWED_AGAIN = (
    update(_ROWS)
    .where(_ROWS.c.user_id == bindparam("learner"), _ROWS.c.lesson_id == bindparam("lesson"))
    .values(last_viewed_at=bindparam("at", type_=_AT), time_credited_until=None)
)
_COMPLETE = (
    update(_ROWS)
    .where(
        _ROWS.c.user_id == bindparam("learner"),
        _ROWS.c.lesson_id == bindparam("lesson"),
        _ROWS.c.completed_at.is_(None),
    )
    .values(completed_at=bindparam("at", type_=_AT))
)


def _credit(reading: Row, now: datetime, *, viewed: bool = False) -> bool:
    """Credit `reading` (a `_READING` row) with the time from where its count stands to `now`, capped, in one
    UPDATE — which, when `viewed`, also moves its last view to `now` (and its credit starts again from there).
    False if the row changed since it was read (then nothing is written)."""
    params = _credit_params(reading, now, viewed=viewed)
    if params is None:
        return True  # under half a second: left to the next credit
    return bool(db.session.connection().execute(_CREDIT_AND_VIEW if viewed else _CREDIT, params).rowcount)


def _credit_and_complete(reading: Row, now: datetime) -> bool:
    """Credit `reading` as `_credit` does and complete it at `now`, in one UPDATE: True if that UPDATE did both. False
    when it wrote nothing: no time to credit, the row changed since it was read, or it was complete already."""
    params = _credit_params(reading, now)
    if params is None:
        return False
    params["completed_at"] = now
    return bool(db.session.connection().execute(_CREDIT_AND_COMPLETE, params).rowcount)


def _credit_params(reading: Row, now: datetime, *, viewed: bool = False) -> dict | None:
    """What a credit of `reading` up to `now` binds; None when there is nothing to credit (under half a second, and
    no view to move)."""
    since = reading.time_credited_until or reading.last_viewed_at
    cap = current_app.config["LESSON_TIME_CAP_SECONDS"]
    spent = round(min(max((now - since).total_seconds(), 0), cap))
    if not spent and not viewed:
        return None
    params = {
        "row_id": reading.id,
        "seen_at": reading.last_viewed_at,
        "credited": reading.time_credited_until,
        "spent": spent,
        "until": None if viewed else max(now, since),
    }
    if viewed:
        params["viewed_at"] = now
    return params


def credit_reading(user_id: int, course_id: int) -> None:
    """The learner acted in the course (e.g. saved a workbook answer): credit the lesson they were reading."""
    reading = _lesson_being_read(user_id, course_id)
    if reading is not None:
        _credit(reading, utcnow())


VIEW_RESOLUTION = timedelta(minutes=1)


def view_is_due(known: Progress | None) -> bool:
    """Whether a view of the lesson should be recorded, given the learner's row as the page read it: views
    are recorded to the minute, so a reload or a click back from the quiz writes nothing."""
    return known is None or utcnow() - known.last_viewed_at >= VIEW_RESOLUTION


def record_view(user_id: int, lesson: Lesson) -> None:
    """First view creates the (learner, lesson) row; later views move `last_viewed_at`. The lesson read until
    now is credited its reading time (in the same UPDATE when it is this one)."""
    reading = _lesson_being_read(user_id, lesson.course_id, lock=_LOCK_LEARNER_FOR_A_VIEW)
    now = utcnow()
    if reading is not None:
        again = reading.lesson_id == lesson.id
        moved = _credit(reading, now, viewed=again)
        if again and moved:
            rollup.lesson_viewed(user_id, lesson.course_id, now)
            return
    if not _ensure_progress_row(user_id, lesson, now):
        db.session.connection().execute(_VIEWED_AGAIN, {"learner": user_id, "lesson": lesson.id, "at": now})
        rollup.lesson_viewed(user_id, lesson.course_id, now)
    else:  # a first view: their row counts it; their chapters cannot have changed (a lesson not complete)
        rollup.refresh_learner(user_id, lesson.course_id, attempts=False, chapters=False, locked=True)


@dataclass(frozen=True)
class Marked:
    """What marking a lesson complete did."""

    newly: bool  # complete now, not before (False: it was, and nothing was written)
    # Newly complete: whether the learner's roll-up row, recomputed under the write lock, may now count everything of
    # the course's current outline done (`rollup.may_be_all_done`; read by the refresh's own statement). Else False.
    may_be_all_done: bool = False


def mark_complete(user_id: int, lesson: Lesson) -> Marked:
    """Mark a lesson complete. Idempotent: `newly` is False if it already was.

    An action like any other for reading time: the lesson being read (this one, unless another was opened
    since) is credited the time since its last view or credit, capped.
    """
    reading = _lesson_being_read(user_id, lesson.course_id)
    now = utcnow()
    # The lesson being read is usually the one marked complete: its credit and its completion in one UPDATE. Else
    # (another lesson, nothing to credit, or that UPDATE wrote nothing) the credit, then the completion.
    completed = reading is not None and reading.lesson_id == lesson.id and _credit_and_complete(reading, now)
    if reading is not None and not completed:
        _credit(reading, now)
    # The learner's row usually exists (the lesson was viewed): completed by one UPDATE; else created complete.
    params = {"learner": user_id, "lesson": lesson.id, "at": now}
    completed = completed or bool(db.session.connection().execute(_COMPLETE, params).rowcount)
    if not completed:  # no row yet, or complete already (then the INSERT does nothing)
        completed = _ensure_progress_row(user_id, lesson, now, completed_at=now)
    if not completed:  # nothing changed: the roll-up stands
        return Marked(newly=False)
    all_done = rollup.refresh_learner(user_id, lesson.course_id, attempts=False, locked=True)
    if all_done is None:  # their row was created just now (a lesson completed before any was opened)
        all_done = rollup.may_be_all_done(user_id, lesson.course_id)
    return Marked(True, all_done)
