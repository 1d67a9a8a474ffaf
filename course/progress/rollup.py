"""Keeping the dashboard's per-learner roll-up (`LearnerCourseStats`, `LearnerChapterDone` in
course/progress/models.py) up to date.

The write paths call one function each, in the same transaction as the write (services flush, the view
commits); the writes of lower layers reach it through signals (`course.signals`), connected at the bottom:

- a lesson opened again: `lesson_viewed` moves `last_viewed_at` (one UPDATE by primary key);
- a lesson opened for the first time, a lesson completed, a quiz passed for the first time: `refresh_learner`
  recomputes that learner's row and chapters from their own progress and attempt rows (their ~40 rows) — for a
  lesson, only the row's lesson columns (their attempts did not change), and for a first view not the chapters
  (a lesson opened is not a lesson completed);
- any other quiz attempt: `attempt_recorded` recomputes the row's quiz numbers from the learner's attempt rows
  (one UPDATE; their lessons and chapters cannot have changed: a chapter is complete only once its quiz is
  passed, and this quiz was passed before or is not passed now);
- a content load that changed the outline (lessons, quizzes, chapters or modules added, moved, archived or
  restored): `refresh_course` recomputes every learner of the course in two set-based statements.

Every refresh is a recomputation from the raw rows, never an increment, so a refresh always repairs a row
(data written around the services, e.g. the demo generator, ends with `refresh_course`). The statements are
plain SQL shared by SQLite and PostgreSQL (course/progress/rollup_sql.py); migration 0006 backfilled with its own
copy of them, as they were then.

Each of them also moves the course's counters (`touch`, table `rollup_version`: per kind of change — lesson
activity, quiz attempts, people, review cards — and shard of learners), recorded in the session and written at its
commit in one upsert (`_write_counters`: locked only for the commit, in one order, so no deadlock): the dashboard
keeps a page's expensive numbers until `version(course_id, kinds)` moves (course/dashboard/cache.py). So do the
other changes the dashboard reads, caught when the session flushes them (`_flushed`): an enrolment added,
moved, extended or removed, a course completed, a user renamed or deleted (not created: their enrolment moves
it), a review card rescheduled; and ORM
bulk updates and deletes of enrolments, users, attempts, answers (the privacy erasure) and review cards, which
move every course's counters (course 0). A write path that changes what the roll-up counts without calling the
functions here must call `touch` itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, event, func, inspect, or_, select, text, update
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction
from sqlalchemy.sql.elements import TextClause

from course import signals
from course.accounts.models import User
from course.cohorts.models import Enrolment
from course.content.models import Course
from course.db_types import UTCDateTime
from course.extensions import db
from course.progress.models import Completion, LearnerCourseStats, RollupVersion
from course.progress.review_models import ReviewCard
from course.progress.rollup_sql import ALL_DONE, LESSON_COLUMNS, LESSON_COLUMNS_ALL_DONE, QUIZ_COLUMNS, statements
from course.progress.rollup_sql import CHAPTERS as CHAPTERS  # tests/test_outline.py reads them here
from course.progress.rollup_sql import OUTLINE as OUTLINE
from course.quiz.models import Attempt, AttemptAnswer

# Run on every first view, completion and first pass: built once (parsing a statement this long into a `text()`
# cost a tenth of a lesson's first view). Per engine: the learner's row, then their chapters (one statement on
# PostgreSQL, two on SQLite).
_ONE_LEARNER = {
    engine: [text(sql) for sql in statements(one_learner=True, deletes_in_with=engine == "postgresql")]
    for engine in ("sqlite", "postgresql")
}


def refresh_learner(
    user_id: int, course_id: int, *, attempts: bool = True, chapters: bool = True, locked: bool = False
) -> bool | None:
    """Recompute one learner's roll-up in a course from their progress and attempt rows: their row, and their
    chapters unless `chapters` is False (a first view of a lesson: what completes a chapter did not change). Without
    `attempts` (their progress changed, not their attempts), only the row's lesson columns, if it has a row.
    `locked`: the caller's transaction holds the learner's row FOR NO KEY UPDATE already (see below).

    Returns, for a completion (without `attempts`, with `chapters`) of a learner who has a row, whether their row now
    counts everything of the course's current outline done (`may_be_all_done`, read by the same statement); None
    otherwise."""
    session = db.session
    session.flush()  # plain SQL below: pending ORM rows must be in the database first
    rows = session.connection()
    if rows.dialect.name != "sqlite" and not locked:
        # One learner's refreshes run one at a time, each reading the rows of the one before it: otherwise the
        # later upsert could write numbers computed without the other's new row. FOR NO KEY UPDATE on the user
        # row: it queues behind the quiz submission's FOR UPDATE, and does not conflict with the key-share lock
        # that inserting progress (a foreign key to the user) holds already. (SQLite: one writer at a time.)
        rows.execute(_LOCK_LEARNER_ROW, {"user_id": user_id})
    params = {"course_id": course_id, "user_id": user_id}
    recompute, *recompute_chapters = _ONE_LEARNER[rows.dialect.name]
    all_done, updated = None, False
    if not attempts and chapters:
        row = rows.execute(_LESSON_COLUMNS_ALL_DONE, params).first()
        if row is not None:
            all_done, updated = bool(row.all_done), True
    elif not attempts:
        updated = bool(rows.execute(_LESSON_COLUMNS, params).rowcount)
    if not updated:  # their attempts changed, or they have no row yet
        rows.execute(recompute, params)
    if chapters:
        for statement in recompute_chapters:
            rows.execute(statement, params)
    touch(course_id, user_id, ACTIVITY, QUIZZES)
    return all_done


_LESSON_COLUMNS = text(LESSON_COLUMNS)
_LESSON_COLUMNS_ALL_DONE = text(LESSON_COLUMNS_ALL_DONE)
_LOCK_LEARNER_ROW = select(User.id).where(User.id == bindparam("user_id")).with_for_update(key_share=True)


_QUIZ_COLUMNS = text(QUIZ_COLUMNS)


def attempt_recorded(user_id: int, course_id: int, *, first_pass: bool) -> None:
    """A quiz attempt was recorded: `first_pass` when it passed a quiz the learner had not passed before (their
    chapters may be complete now: everything is recomputed), else only the row's quiz numbers.

    No lock is taken here: the quiz submission that calls this holds the learner's row FOR UPDATE (PostgreSQL) or the
    database's write lock (SQLite) already, so their refreshes run one at a time."""
    if first_pass:
        refresh_learner(user_id, course_id, locked=True)
        return
    db.session.flush()
    if not db.session.connection().execute(_QUIZ_COLUMNS, {"course_id": course_id, "user_id": user_id}).rowcount:
        refresh_learner(user_id, course_id, locked=True)  # no row yet: a first attempt before any lesson was opened
        return
    touch(course_id, user_id, QUIZZES)


def refresh_course(course_id: int) -> None:
    """Recompute the roll-up of every learner of a course (after a content load changed its outline)."""
    db.session.flush()
    for sql in statements(one_learner=False, deletes_in_with=db.session.get_bind().dialect.name == "postgresql"):
        db.session.execute(text(sql), {"course_id": course_id})
    touch(course_id, 0, *KINDS)


def lesson_viewed(user_id: int, course_id: int, at: datetime) -> None:
    """A lesson the learner had opened before was opened again at `at`: move their last view."""
    params = {"learner": user_id, "course": course_id, "at": at}
    if not db.session.connection().execute(_LAST_VIEWED, params).rowcount:
        # no row yet (data written around the services) or a clock that went back
        refresh_learner(user_id, course_id)
    else:
        touch(course_id, user_id, ACTIVITY)


_STATS = LearnerCourseStats.__table__
_LAST_VIEWED = (
    update(_STATS)
    .where(
        _STATS.c.user_id == bindparam("learner"),
        _STATS.c.course_id == bindparam("course"),
        or_(_STATS.c.last_viewed_at.is_(None), _STATS.c.last_viewed_at < bindparam("at", type_=UTCDateTime())),
    )
    .values(last_viewed_at=bindparam("at", type_=UTCDateTime()))
)


# The outline counted in the same statement, not taken from the caller's earlier read: a content load between that
# read and this write (a lesson archived) must not make a learner who has done everything look unfinished.
_DONE = text(
    f"SELECT {ALL_DONE.format(row='s')} AS all_done"  # noqa: S608  # nosec B608 - constant SQL
    f" FROM {LearnerCourseStats.__tablename__} s WHERE s.user_id = :user_id AND s.course_id = :course_id"
)


def may_be_all_done(user_id: int, course_id: int) -> bool:
    """Whether the learner's row may count every lesson of the course's current outline complete and every quiz
    passed: False only when it is there and counts fewer (read after `refresh_learner`, it counts the transaction's
    writes)."""
    done = db.session.connection().execute(_DONE, {"user_id": user_id, "course_id": course_id}).scalar()
    return done is None or bool(done)


OUTLINE_KINDS = ("module", "chapter", "lesson", "quiz")
OUTLINE_ACTIONS = ("added", "moved", "archived", "restored")


def refresh_after_load(plan: Any) -> None:
    """After a content load (`plan`: the load's `LoadPlan`): recompute every course's roll-up if the load added,
    moved, archived or restored a module, chapter, lesson or quiz; a load that only changed texts costs nothing."""
    if any(plan.count(kind, action) for kind in OUTLINE_KINDS for action in OUTLINE_ACTIONS):
        for course_id in db.session.scalars(select(Course.id).order_by(Course.id)).all():
            refresh_course(course_id)


# -- the dashboard's cache key ---------------------------------------------------------------------------------
SHARDS = 16  # rows per course and kind: two learners' writes wait for each other's counter one time in 16
EVERY_COURSE = 0
# What changed, so that a page reads only the counters of what it shows: lesson views and completions (the
# busiest: a repeat view), quiz attempts, who is in which cohort (enrolments, names), review cards.
ACTIVITY, QUIZZES, PEOPLE, REVIEWS = KINDS = (0, 1, 2, 3)
_PENDING = "rollup_pending"  # session.info: the (course_id, shard) counters this transaction moves


def _upsert(session: Session, pending: list[tuple[int, int]]) -> None:
    """One INSERT … ON CONFLICT DO UPDATE of every counter in `pending`, in its order."""
    params = {}
    for i, (course_id, shard) in enumerate(pending):
        params[f"c{i}"] = course_id
        params[f"s{i}"] = shard
    session.execute(_upsert_statement(len(pending)), params)


# Plain SQL that SQLite (3.24+) and PostgreSQL both run, one per number of rows, so that SQLAlchemy compiles it once
# and reuses it: the dialects' `insert().on_conflict_do_update()` is never cached (as course/ratelimit.py says), and
# compiling it again cost a sixth of a quiz submission.
_UPSERTS: dict[int, TextClause] = {}


def _upsert_statement(rows: int) -> TextClause:
    stmt = _UPSERTS.get(rows)
    if stmt is None:
        values = ", ".join(f"(:c{i}, :s{i}, 1)" for i in range(rows))
        stmt = text(  # only placeholders are put in
            f"INSERT INTO rollup_version (course_id, shard, version) VALUES {values}"  # noqa: S608  # nosec B608
            " ON CONFLICT (course_id, shard) DO UPDATE SET version = rollup_version.version + 1"
        )
        if rows <= SHARDS * len(KINDS):  # the usual few; a content load's many are built for it alone
            _UPSERTS[rows] = stmt
    return stmt


def _pending(session: Session) -> set[tuple[int, int]]:
    return session.info.setdefault(_PENDING, set())


def touch(course_id: int, user_id: int, *kinds: int) -> None:
    """Move the course's counters of `kinds` (`EVERY_COURSE`: every course's) when the caller's transaction
    commits: what the dashboard reads of them changed. A learner's writes move their shard's rows (by their id).
    Only recorded here; `_write_counters` writes them all at the commit, in one statement."""
    _pending(db.session).update((course_id, kind * SHARDS + user_id % SHARDS) for kind in kinds)


def version(course_id: int, kinds: tuple[int, ...] = KINDS) -> int:
    """The course's counters of `kinds`: their sum moves, never comes back, with every committed change of those
    kinds (one statement; the count of rows makes a table emptied and refilled give new numbers)."""
    v = RollupVersion
    shards = or_(*(v.shard.between(kind * SHARDS, kind * SHARDS + SHARDS - 1) for kind in kinds))
    total = db.session.execute(
        select(func.coalesce(func.sum(v.version), 0), func.count()).where(
            v.course_id.in_((course_id, EVERY_COURSE)), shards
        )
    ).one()
    return int(total[0]) * 1000 + int(total[1])


_WATCHED_BULK = (Enrolment, User, Attempt, AttemptAnswer, ReviewCard)


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _context: object) -> None:
    """Enrolments, completions, users' names and review cards changed by this flush move their counters."""
    touched: set[tuple[int, int]] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Enrolment | Completion):
            if obj in session.dirty and not session.is_modified(obj, include_collections=False):
                continue
            kind = PEOPLE if isinstance(obj, Enrolment) else ACTIVITY
            touched.add((obj.course_id, kind * SHARDS + obj.user_id % SHARDS))
        elif (
            isinstance(obj, User)
            and obj not in session.new
            and (obj in session.deleted or _changed(obj, "name", "email"))
        ):
            # not a new user: until enrolled they are in no cohort, and the enrolment's flush moves its course's
            # counter (a roster sync creating users under the cohort's row lock takes no site-wide counter)
            touched.add((EVERY_COURSE, PEOPLE * SHARDS + (obj.id or 0) % SHARDS))
        elif isinstance(obj, ReviewCard) and (obj not in session.dirty or _changed(obj, "interval_days")):
            # a card does not name its course: every course's review counter (only review counts read it)
            touched.add((EVERY_COURSE, REVIEWS * SHARDS + (obj.user_id or 0) % SHARDS))
    _pending(session).update(touched)


def _changed(obj: object, *names: str) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


@event.listens_for(Session, "do_orm_execute")
def _bulk(state: ORMExecuteState) -> None:
    """An ORM bulk UPDATE or DELETE of enrolments, users, attempts, answers (the privacy erasure) or review cards
    moves every course's counters."""
    if (state.is_update or state.is_delete) and state.bind_mapper is not None:
        if state.bind_mapper.class_ in _WATCHED_BULK:
            _pending(state.session).update((EVERY_COURSE, kind * SHARDS) for kind in KINDS)


@event.listens_for(Session, "before_commit")
def _write_counters(session: Session) -> None:
    """At the commit of the outermost transaction, the counters it moved, in one upsert, in one order (course 0
    first): they are locked only from here to the commit, and two transactions never wait for each other's."""
    if session.in_nested_transaction():
        return  # a savepoint's release: its records stay for the outer commit
    session.flush()  # the last flush's records (the commit would flush after this event)
    pending = sorted(session.info.pop(_PENDING, ()))
    if pending:
        _upsert(session, pending)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    """A transaction rolled back moves nothing; records of a savepoint rolled back stay (a needless move costs
    one cache miss, a missed one shows old numbers)."""
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


# -- what the lower layers report ---------------------------------------------------------------------------
@signals.content_loaded.connect
def _content_loaded(_sender: object, plan: Any) -> None:
    refresh_after_load(plan)


@signals.attempt_recorded.connect
def _attempt_recorded(_sender: object, user_id: int, course_id: int, first_pass: bool) -> None:
    attempt_recorded(user_id, course_id, first_pass=first_pass)
