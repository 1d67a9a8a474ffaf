"""Keeping the dashboard's per-learner roll-up (`LearnerCourseStats`, `LearnerChapterDone` in
course/progress/models.py) up to date.

The write paths call one function each, in the same transaction as the write (services flush, the view
commits); the writes of lower layers reach it through signals (`course.signals`), connected at the bottom:

- a lesson opened again: `lesson_viewed` moves `last_viewed_at` (one UPDATE by primary key);
- a lesson opened for the first time, a lesson completed, a quiz passed for the first time: `refresh_learner`
  recomputes that learner's row and chapters from their own progress and attempt rows (their ~40 rows);
- any other quiz attempt: `attempt_recorded` recomputes the row's quiz numbers from the learner's attempt rows
  (one UPDATE; their lessons and chapters cannot have changed: a chapter is complete only once its quiz is
  passed, and this quiz was passed before or is not passed now);
- a content load that changed the outline (lessons, quizzes, chapters or modules added, moved, archived or
  restored): `refresh_course` recomputes every learner of the course in two set-based statements.

Every refresh is a recomputation from the raw rows, never an increment, so a refresh always repairs a row
(data written around the services, e.g. the demo generator, ends with `refresh_course`). The statements are
plain SQL shared by SQLite and PostgreSQL; migration 0006 backfills with the same statements.

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

from sqlalchemy import event, func, inspect, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from course import signals
from course.accounts.models import User
from course.cohorts.models import Enrolment
from course.content.models import Course
from course.extensions import db
from course.progress.models import Completion, LearnerCourseStats, RollupVersion
from course.progress.review_models import ReviewCard
from course.quiz.models import Attempt, AttemptAnswer

# The quizzes of the current outline of :course_id (the quizzes of chapters and modules not archived).
QUIZZES = """
    SELECT q.id AS quiz_id, q.chapter_id AS chapter_id
    FROM quiz q JOIN chapter c ON c.id = q.chapter_id JOIN module m ON m.id = c.module_id
    WHERE q.course_id = :course_id AND c.course_id = :course_id
      AND q.archived_at IS NULL AND c.archived_at IS NULL AND m.archived_at IS NULL
"""

# The current outline of :course_id (course.content.outline, restated in SQL; tests/test_outline.py checks that
# they agree): lessons numbered in course order from 0, and its quizzes.
_OUTLINE_OF = """
lessons AS (
    SELECT l.id AS lesson_id, l.chapter_id AS chapter_id,
           ROW_NUMBER() OVER (ORDER BY m.position, m.id, c.position, c.id, l.position, l.id) - 1 AS pos
    FROM lesson l JOIN chapter c ON c.id = l.chapter_id JOIN module m ON m.id = c.module_id
    WHERE l.course_id = :course_id AND c.course_id = :course_id
      AND l.archived_at IS NULL AND c.archived_at IS NULL AND m.archived_at IS NULL
),
quizzes AS (QUIZZES)"""
OUTLINE = _OUTLINE_OF.replace("QUIZZES", QUIZZES)

# Each learner's results per current quiz, and their totals: the quiz columns of a learner's row.
PER_QUIZ = """
    SELECT a.user_id AS user_id, a.quiz_id AS quiz_id, MAX(CASE WHEN a.passed THEN 1 ELSE 0 END) AS passed,
           MAX(a.number) AS tries, MAX(a.percent) AS best, MAX(a.submitted_at) AS last_at
    FROM {quizzes} q JOIN quiz_attempt a ON a.quiz_id = q.quiz_id
    WHERE TRUE {only_a}
    GROUP BY a.user_id, a.quiz_id
"""
QUIZ_TOTALS = """
    SELECT user_id, SUM(passed) AS quizzes_passed,
           SUM(CASE WHEN passed = 0 AND tries >= 2 THEN 1 ELSE 0 END) AS quizzes_failing,
           SUM(best) AS best_sum, COUNT(*) AS best_count, MAX(last_at) AS last_attempt_at
    FROM {per_quiz} per_quiz
    GROUP BY user_id
"""

# One row per learner with any progress in the course or any attempt at one of its quizzes (archived ones
# too, so that a row never has to disappear: it is upserted, never deleted).
STATS = """
WITH{outline},
viewed AS (
    SELECT p.user_id AS user_id, MAX(p.last_viewed_at) AS last_viewed_at
    FROM lesson_progress p
    WHERE p.course_id = :course_id {only_p}
    GROUP BY p.user_id
),
current_lessons AS (
    SELECT p.user_id AS user_id, SUM(CASE WHEN p.completed_at IS NOT NULL THEN 1 ELSE 0 END) AS lessons_done,
           MAX(l.pos) AS furthest_lesson
    FROM lessons l JOIN lesson_progress p ON p.lesson_id = l.lesson_id
    WHERE TRUE {only_p}
    GROUP BY p.user_id
),
per_quiz AS ({per_quiz}),
attempts AS ({quiz_totals}),
learners AS (
    SELECT user_id FROM viewed
    UNION
    SELECT a.user_id FROM quiz q JOIN quiz_attempt a ON a.quiz_id = q.id WHERE q.course_id = :course_id {only_a}
)
INSERT INTO learner_course_stats (user_id, course_id, lessons_done, quizzes_passed, quizzes_failing, best_sum,
                                  best_count, furthest_lesson, last_viewed_at, last_attempt_at)
SELECT u.user_id, :course_id, COALESCE(c.lessons_done, 0), COALESCE(a.quizzes_passed, 0),
       COALESCE(a.quizzes_failing, 0), COALESCE(a.best_sum, 0), COALESCE(a.best_count, 0), c.furthest_lesson,
       v.last_viewed_at, a.last_attempt_at
FROM learners u
LEFT JOIN viewed v ON v.user_id = u.user_id
LEFT JOIN current_lessons c ON c.user_id = u.user_id
LEFT JOIN attempts a ON a.user_id = u.user_id
WHERE TRUE
ON CONFLICT (user_id, course_id) DO UPDATE SET
    lessons_done = excluded.lessons_done, quizzes_passed = excluded.quizzes_passed,
    quizzes_failing = excluded.quizzes_failing, best_sum = excluded.best_sum, best_count = excluded.best_count,
    furthest_lesson = excluded.furthest_lesson, last_viewed_at = excluded.last_viewed_at,
    last_attempt_at = excluded.last_attempt_at
"""

# The chapters each learner has complete: as many of its items (current lessons completed, current quiz
# passed) as the chapter has.
CHAPTERS = """
WITH{outline},
chapters AS (
    SELECT chapter_id, COUNT(*) AS items
    FROM (SELECT chapter_id FROM lessons UNION ALL SELECT chapter_id FROM quizzes) outline_items
    GROUP BY chapter_id
),
items AS (
    SELECT p.user_id AS user_id, l.chapter_id AS chapter_id
    FROM lessons l JOIN lesson_progress p ON p.lesson_id = l.lesson_id
    WHERE p.completed_at IS NOT NULL {only_p}
    UNION ALL
    SELECT user_id, chapter_id
    FROM (SELECT DISTINCT a.user_id AS user_id, a.quiz_id AS quiz_id, q.chapter_id AS chapter_id
          FROM quizzes q JOIN quiz_attempt a ON a.quiz_id = q.quiz_id
          WHERE a.passed {only_a}) passed
)
INSERT INTO learner_chapter_done (user_id, chapter_id, course_id)
SELECT user_id, chapter_id, :course_id
FROM (SELECT i.user_id AS user_id, i.chapter_id AS chapter_id
      FROM items i JOIN chapters c ON c.chapter_id = i.chapter_id
      GROUP BY i.user_id, i.chapter_id, c.items
      HAVING COUNT(*) >= c.items) complete
WHERE TRUE
ON CONFLICT (user_id, chapter_id) DO NOTHING
"""


DELETE_CHAPTERS = "DELETE FROM learner_chapter_done WHERE course_id = :course_id"
ONE_LEARNER = {"only_p": "AND p.user_id = :user_id", "only_a": "AND a.user_id = :user_id"}
EVERY_LEARNER = {"only_p": "", "only_a": ""}


def statements(one_learner: bool) -> list[str]:
    """The SQL that recomputes the roll-up of :course_id (of :user_id only, when `one_learner`)."""
    only = ONE_LEARNER if one_learner else EVERY_LEARNER
    per_quiz = PER_QUIZ.format(quizzes="quizzes", only_a=only["only_a"])
    return [
        STATS.format(outline=OUTLINE, per_quiz=per_quiz, quiz_totals=QUIZ_TOTALS.format(per_quiz="per_quiz"), **only),
        DELETE_CHAPTERS + (" AND user_id = :user_id" if one_learner else ""),
        CHAPTERS.format(outline=OUTLINE, **only),
    ]


def refresh_learner(user_id: int, course_id: int) -> None:
    """Recompute one learner's roll-up in a course from their progress and attempt rows."""
    db.session.flush()  # plain SQL below: pending ORM rows must be in the database first
    if db.session.get_bind().dialect.name != "sqlite":
        # One learner's refreshes run one at a time, each reading the rows of the one before it: otherwise the
        # later upsert could write numbers computed without the other's new row. FOR NO KEY UPDATE on the user
        # row: it queues behind the quiz submission's FOR UPDATE, and does not conflict with the key-share lock
        # that inserting progress (a foreign key to the user) holds already. (SQLite: one writer at a time.)
        db.session.execute(select(User.id).where(User.id == user_id).with_for_update(key_share=True))
    for sql in statements(one_learner=True):
        db.session.execute(text(sql), {"course_id": course_id, "user_id": user_id})
    touch(course_id, user_id, ACTIVITY, QUIZZES)


# The quiz columns of one learner's row, recomputed from their attempts at the course's current quizzes (the
# same numbers as STATS's `attempts`). No WITH: Python's sqlite3 reports no row count for a statement that
# does not begin with UPDATE, and the count tells whether the learner has a row yet.
_QUIZ_COLUMNS_OF = """
UPDATE learner_course_stats
SET quizzes_passed = s.quizzes_passed, quizzes_failing = s.quizzes_failing, best_sum = s.best_sum,
    best_count = s.best_count, last_attempt_at = s.last_attempt_at
FROM (SELECT COALESCE(SUM(quizzes_passed), 0) AS quizzes_passed,
             COALESCE(SUM(quizzes_failing), 0) AS quizzes_failing, COALESCE(SUM(best_sum), 0) AS best_sum,
             COALESCE(SUM(best_count), 0) AS best_count, MAX(last_attempt_at) AS last_attempt_at
      FROM ({totals}) totals) s
WHERE learner_course_stats.user_id = :user_id AND learner_course_stats.course_id = :course_id
"""
_ONE_LEARNERS_QUIZZES = PER_QUIZ.format(quizzes=f"({QUIZZES})", only_a="AND a.user_id = :user_id")
QUIZ_COLUMNS = _QUIZ_COLUMNS_OF.format(totals=QUIZ_TOTALS.format(per_quiz=f"({_ONE_LEARNERS_QUIZZES})"))
_QUIZ_COLUMNS = text(QUIZ_COLUMNS)


def attempt_recorded(user_id: int, course_id: int, *, first_pass: bool) -> None:
    """A quiz attempt was recorded: `first_pass` when it passed a quiz the learner had not passed before (their
    chapters may be complete now: everything is recomputed), else only the row's quiz numbers."""
    if first_pass:
        refresh_learner(user_id, course_id)
        return
    db.session.flush()
    # No lock here: the quiz submission that calls this holds the learner's row FOR UPDATE (PostgreSQL) or the
    # database's write lock (SQLite) already, so their refreshes run one at a time.
    if not db.session.execute(_QUIZ_COLUMNS, {"course_id": course_id, "user_id": user_id}).rowcount:
        refresh_learner(user_id, course_id)  # no row yet: a first attempt before any lesson was opened
        return
    touch(course_id, user_id, QUIZZES)


def refresh_course(course_id: int) -> None:
    """Recompute the roll-up of every learner of a course (after a content load changed its outline)."""
    db.session.flush()
    for sql in statements(one_learner=False):
        db.session.execute(text(sql), {"course_id": course_id})
    touch(course_id, 0, *KINDS)


def lesson_viewed(user_id: int, course_id: int, at: datetime) -> None:
    """A lesson the learner had opened before was opened again at `at`: move their last view."""
    s = LearnerCourseStats
    result = db.session.execute(
        update(s)
        .where(s.user_id == user_id, s.course_id == course_id, or_(s.last_viewed_at.is_(None), s.last_viewed_at < at))
        .values(last_viewed_at=at)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # no row yet (data written around the services) or a clock that went back
        refresh_learner(user_id, course_id)
    else:
        touch(course_id, user_id, ACTIVITY)


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
    v = RollupVersion
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    rows = [{"course_id": course_id, "shard": shard, "version": 1} for course_id, shard in pending]
    stmt = insert(v).values(rows)
    session.execute(stmt.on_conflict_do_update(index_elements=[v.course_id, v.shard], set_={"version": v.version + 1}))


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
