"""One row per learner of a cohort, computed in SQL: the SELECT every dashboard page builds on.

The numbers come from the learner's roll-up row (course/progress/models.py, kept up to date by the write
paths: course/progress/rollup.py), joined by primary key, and, for the schedule, a count of the learner's
complete chapters among those released (one index seek and their few rows). Nothing is computed from the ~40
progress rows and ~10 attempts of every learner on a request, and there is never a query per learner from
Python. Only the numbers a page asks for are read. The chapter cells of a page of learners (`pivot`) are
still read from the progress and attempt rows: a few hundred rows for a page.

Definitions (the pages repeat them):
- progress: lessons completed plus chapter quizzes passed, over the lessons and quizzes of the current
  outline (as on the learner's own outline page), so it never exceeds 100 %.
- started: opened at least one lesson. completed: has the course's completion record.
- last active: the latest lesson view or quiz attempt in this course.
- active: last active within the last 7 days.
- idle since: last active, or for a learner who never was, the later of their enrolment and the cohort's start.
- unfinished: the chapters the cohort's schedule has released to the learner (a chapter counts the learner's
  extension days after it opens; reference chapters, the appendix, never) that are not complete (every lesson
  complete and its quiz passed). chapters behind: unfinished minus one (the chapter just released is not
  behind). behind (not on schedule): at least one chapter behind.
- the at-risk reasons (inactive, far behind, failing) and their order: course/dashboard/risk.py.
- furthest lesson: the last lesson in course order the learner opened (the drop-off funnel counts a learner
  as having reached every lesson up to it).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import pytz
from flask import current_app
from sqlalchemy import Integer, Select, and_, bindparam, case, func, literal, not_, select
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Subquery

from course.accounts.models import User
from course.clock import school_date
from course.cohorts.models import Cohort, Enrolment
from course.dashboard.coursemap import ChapterInfo, CourseMap, in_ranges
from course.dashboard.risk import RISK_CHAPTERS_BEHIND
from course.db_types import UTCDateTime
from course.extensions import db
from course.progress.models import Completion, LearnerChapterDone, LearnerCourseStats, LessonProgress
from course.quiz.models import Attempt

ACTIVE_DAYS = 7  # active: seen within this many days
DEFAULT_INACTIVE_DAYS = 7  # a cohort's `inactive_after_days` unless its instructor sets another


def released_chapters(cm: CourseMap, today: date) -> list[ChapterInfo]:
    """The chapters the schedule counts that have opened by `today`: not reference chapters (the appendix),
    not chapters without lessons or a quiz."""
    return [c for c in cm.chapters if not c.reference and c.scheduled and c.items_total and c.opens_on <= today]


def school_midnight(day: date) -> datetime:
    """The moment `day` begins where the school is (a cohort starts, a chapter opens), as an aware datetime."""
    zone = pytz.timezone(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return zone.localize(datetime.combine(day, time.min)).astimezone(pytz.utc)


class LearnerQuery:
    """Builds the per-learner SELECT for one cohort (see the module docstring for what each number means)."""

    # What each number a page may ask for is computed from: the raw per-learner columns it needs.
    RAW: dict[str, tuple[str, ...]] = {
        "lessons_done": ("lessons_done",),
        "quizzes_passed": ("quizzes_passed",),
        "items_done": ("lessons_done", "quizzes_passed"),
        "last_active": ("last_view", "last_attempt"),
        "idle_since": ("last_view", "last_attempt"),
        "started": ("last_view",),
        "active": ("last_view", "last_attempt"),
        "unfinished": ("unfinished",),
        "chapters_behind": ("unfinished",),
        "behind": ("unfinished",),
        "far_behind": ("unfinished", "completed"),
        "inactive": ("last_view", "last_attempt", "released_left", "completed"),
        "failing": ("quizzes_failing", "completed"),
        "reasons": ("last_view", "last_attempt", "unfinished", "released_left", "completed", "quizzes_failing"),
        "completed": ("completed",),
        "furthest": ("furthest",),
        "best_avg": ("best_avg",),
    }
    # The raw columns read from the learner's roll-up row (the others: the completion, the schedule check).
    ROLLUP = {"lessons_done", "quizzes_passed", "last_view", "last_attempt", "quizzes_failing", "furthest", "best_avg"}

    def __init__(self, cohort: Cohort, cm: CourseMap, now: datetime, inactive_days: int | None = None) -> None:
        self.cohort = cohort
        self.cm = cm
        self.now = now
        self.today = school_date(now)  # the schedule's dates are the school's
        self.inactive_days = inactive_days or cohort.inactive_after_days or DEFAULT_INACTIVE_DAYS
        self.starts_at = school_midnight(cohort.starts_on)
        # The schedule: the chapters released by today, and how many days each has been open. A learner with an
        # extension of E days counts the chapters open for E days or more: one set per distinct number of days,
        # each nested in the one before.
        self.released = released_chapters(cm, self.today)
        self.thresholds = sorted({self._days_open(c) for c in self.released})

    def _days_open(self, chapter: ChapterInfo) -> int:
        return (self.today - chapter.opens_on).days

    def shape(self, metrics: tuple[str, ...]) -> tuple:
        """Everything the statements of `select(metrics, user_ids=…)` and `pivot(…)` are built from but the
        moment and the learners, which are bind parameters (`params`): statements built for one shape can run
        again for another request of the same shape (`course.dashboard.lists.learner_rows` keeps them)."""
        chapters = tuple(
            (
                c.id,
                c.index,
                c.reference,
                c.scheduled,
                c.opens_on,
                tuple(c.lesson_ids),
                c.quiz and (c.quiz.id, c.quiz.index),
            )
            for c in self.cm.chapters
        )
        cm = (self.cm.course_id, chapters, tuple(self.cm.all_lesson_ids), tuple(self.cm.all_quiz_ids))
        return (self.cohort.id, self.starts_at, self.today, self.inactive_days, metrics, cm)

    def params(self, user_ids: list[int]) -> dict[str, Any]:
        """The bind parameters of statements built for this query's shape, for `user_ids` and this moment."""
        return {"user_ids": user_ids, **self._moments()}

    def _moments(self) -> dict[str, datetime]:
        """The moments the numbers are compared with: active since, inactive before."""
        return {
            "active_since": self.now - timedelta(days=ACTIVE_DAYS),
            "inactive_since": self.now - timedelta(days=self.inactive_days),
        }

    def _moment(self, name: str) -> ColumnElement:
        return bindparam(name, self._moments()[name], type_=UTCDateTime())

    # -- raw numbers: columns of the roll-up row, or a short index range of the learner's complete chapters ------
    def _unfinished(self) -> ColumnElement:
        """How many chapters released to this learner (given their extension) are not complete. One CASE branch
        per threshold, each counting the learner's complete chapters among that threshold's released set (a few
        index entries); SQL evaluates only the branch that applies."""
        branches = []
        for threshold in self.thresholds:
            ids = [c.id for c in self.released if self._days_open(c) >= threshold]
            done = (
                select(func.count())
                # `+ 0`: one index seek to the learner, then their few rows, instead of one seek per chapter
                .where(LearnerChapterDone.user_id == Enrolment.user_id, (LearnerChapterDone.chapter_id + 0).in_(ids))
                .correlate(Enrolment)
                .scalar_subquery()
            )
            branches.append((Enrolment.extension_days <= threshold, literal(len(ids), Integer) - done))
        return case(*branches, else_=0) if branches else _zero()

    def _released_left(self) -> ColumnElement:
        """How many chapters the schedule has released are not complete, whatever the learner's extension: an
        extension moves when they are behind, not whether they have stopped (the inactivity reason)."""
        ids = [c.id for c in self.released]
        if not ids:
            return _zero()
        done = (
            select(func.count())
            .where(LearnerChapterDone.user_id == Enrolment.user_id, (LearnerChapterDone.chapter_id + 0).in_(ids))
            .correlate(Enrolment)
            .scalar_subquery()
        )
        return literal(len(ids), Integer) - done

    def raw(self, name: str) -> ColumnElement:
        if name == "lessons_done":
            return func.coalesce(LearnerCourseStats.lessons_done, 0)
        if name == "quizzes_passed":
            return func.coalesce(LearnerCourseStats.quizzes_passed, 0)
        if name == "last_view":
            return LearnerCourseStats.last_viewed_at
        if name == "last_attempt":
            return LearnerCourseStats.last_attempt_at
        if name == "quizzes_failing":
            return func.coalesce(LearnerCourseStats.quizzes_failing, 0)
        if name == "furthest":
            return LearnerCourseStats.furthest_lesson
        if name == "best_avg":
            return case(
                (LearnerCourseStats.best_count > 0, LearnerCourseStats.best_sum / LearnerCourseStats.best_count)
            )
        if name == "completed":
            return _flag(Completion.id.is_not(None))
        if name == "unfinished":
            return self._unfinished()
        if name == "released_left":
            return self._released_left()
        raise KeyError(name)

    # -- the SELECT ------------------------------------------------------------------------------------------
    def select(self, metrics: tuple[str, ...], user_ids: list[int] | None = None) -> Select:
        """user_id, name, email, enrolled_at, extension_days and the named metrics, one row per learner.

        The raw numbers are read once per learner in a MATERIALIZED CTE (the learner's roll-up row, joined by
        primary key; the schedule check); the others (progress, last active, flags) are expressions over its
        columns. Without the CTE, SQLite would run the schedule subquery again for every expression using it.
        """
        raw = sorted({r for name in metrics for r in self.RAW[name]})
        identity = (
            Enrolment.user_id.label("user_id"),
            User.name.label("name"),
            User.email.label("email"),
            Enrolment.enrolled_at.label("enrolled_at"),
            Enrolment.extension_days.label("extension_days"),
        )
        base = select(*identity, *[self.raw(name).label(name) for name in raw])
        base = base.join(User, User.id == Enrolment.user_id).where(Enrolment.cohort_id == self.cohort.id)
        if self.ROLLUP & set(raw):
            base = base.outerjoin(
                LearnerCourseStats,
                and_(
                    LearnerCourseStats.user_id == Enrolment.user_id, LearnerCourseStats.course_id == self.cm.course_id
                ),
            )
        if "completed" in raw:
            base = base.outerjoin(
                Completion, and_(Completion.user_id == Enrolment.user_id, Completion.course_id == self.cm.course_id)
            )
        if user_ids is not None:
            base = base.where(Enrolment.user_id.in_(_ids(user_ids)))
        b = base.cte("learner_base").prefix_with("MATERIALIZED")
        derived = self._derived(b.c)
        stmt = select(
            b.c.user_id,
            b.c.name,
            b.c.email,
            b.c.enrolled_at,
            b.c.extension_days,
            *[(derived[name] if name in derived else b.c[name]).label(name) for name in metrics],
        )
        return stmt

    def pivot(
        self, user_ids: list[int] | None = None, statements: tuple[Select, ...] | None = None
    ) -> dict[int, dict[str, Any]]:
        """Per learner: per chapter `done_<i>` (lessons completed) and per quiz `best_<i>`, `passed_<i>`,
        `fails_<i>`, `attempts_<i>`. Two statements (a GROUP BY over progress, one over attempts), merged here
        by user id: joining them to the learner rows in SQL lets SQLite pick a nested scan when it has no
        statistics (a 10,000-learner export took seconds). `statements`: `pivot_statements` built earlier for
        this query's shape, run again for `user_ids`."""
        out: dict[int, dict[str, Any]] = {}
        params = self.params(user_ids) if user_ids is not None else None
        for stmt in statements or self.pivot_statements(user_ids):
            for row in db.session.execute(stmt, params):
                values = row._asdict()
                out.setdefault(values.pop("user_id"), {}).update(values)
        return out

    def pivot_statements(self, user_ids: list[int] | None = None) -> tuple[Select, ...]:
        """`pivot`'s two statements."""
        return select(self._pivot_progress(user_ids)), select(self._pivot_attempts(user_ids))

    def with_cells(self, learners: Subquery) -> Select:
        """SELECT every column of `learners` (a subquery of `select`) and each one's chapter cells (`pivot`'s
        columns), in one statement: the two GROUP BYs computed once each (MATERIALIZED) and joined by user id,
        which SQLite does through an automatic index. What an export streams: nothing held per learner in Python."""
        progress = self._pivot_progress(None, cte=True)
        attempts = self._pivot_attempts(None, cte=True)
        cells = [c for sq in (progress, attempts) for c in sq.c if c.key != "user_id"]
        return (
            select(learners, *cells)
            .outerjoin(progress, progress.c.user_id == learners.c.user_id)
            .outerjoin(attempts, attempts.c.user_id == learners.c.user_id)
        )

    def _derived(self, c: Any) -> dict[str, ColumnElement]:
        """The numbers computed from the raw ones, as expressions over the CTE's columns `c` (only those whose
        raw columns the query has)."""
        out: dict[str, ColumnElement] = {}
        has = set(c.keys())
        if {"lessons_done", "quizzes_passed"} <= has:
            out["items_done"] = c.lessons_done + c.quizzes_passed
        if "last_view" in has:
            out["started"] = _flag(c.last_view.is_not(None))
        going = c.completed == 0 if "completed" in has else None  # the at-risk reasons: never after completing
        if "unfinished" in has:
            unfinished = c.unfinished
            out["chapters_behind"] = case((unfinished > 1, unfinished - 1), else_=0)
            out["behind"] = _flag(unfinished > 1)
            if going is not None:
                out["far_behind"] = _flag(and_(going, unfinished - 1 >= RISK_CHAPTERS_BEHIND))
        if "quizzes_failing" in has and going is not None:
            out["failing"] = _flag(and_(going, c.quizzes_failing > 0))
        if {"last_view", "last_attempt"} <= has:
            view, attempt = c.last_view, c.last_attempt
            last = case((attempt.is_(None), view), (view.is_(None), attempt), (view >= attempt, view), else_=attempt)
            start = literal(self.starts_at, UTCDateTime())
            idle_since = func.coalesce(last, case((c.enrolled_at > start, c.enrolled_at), else_=start))
            out["last_active"] = last
            out["idle_since"] = idle_since
            out["active"] = _flag(last >= self._moment("active_since"))
            if going is not None and "released_left" in has:
                since = self._moment("inactive_since")
                out["inactive"] = _flag(and_(going, c.released_left > 0, idle_since < since))
        if {"inactive", "far_behind", "failing"} <= set(out):
            out["reasons"] = out["inactive"] + out["far_behind"] + out["failing"]
        return out

    def _members(self, user_ids: list[int] | None) -> Select:
        members = select(Enrolment.user_id).where(Enrolment.cohort_id == self.cohort.id)
        return members.where(Enrolment.user_id.in_(_ids(user_ids))) if user_ids is not None else members

    def _pivot_progress(self, user_ids: list[int] | None, cte: bool = False) -> Any:
        done = LessonProgress.completed_at.is_not(None)
        cols = [
            func.sum(
                case((and_(done, in_ranges(LessonProgress.lesson_id, self.cm.lesson_runs(ch.lesson_ids))), 1), else_=0)
            ).label(f"done_{ch.index}")
            for ch in self.cm.chapters
            if ch.lessons
        ]
        stmt = (
            select(LessonProgress.user_id.label("user_id"), *cols)
            .where(
                LessonProgress.user_id.in_(self._members(user_ids)),
                in_ranges(LessonProgress.lesson_id, self.cm.lesson_runs()),
            )
            .group_by(LessonProgress.user_id)
        )
        return stmt.cte("pivot_lp").prefix_with("MATERIALIZED") if cte else stmt.subquery("pivot_lp")

    def _pivot_attempts(self, user_ids: list[int] | None, cte: bool = False) -> Any:
        cols: list[Any] = []
        for quiz in self.cm.quizzes:
            this, i = Attempt.quiz_id == quiz.id, quiz.index
            cols += [
                func.max(case((this, Attempt.percent))).label(f"best_{i}"),
                func.max(case((and_(this, Attempt.passed), 1), else_=0)).label(f"passed_{i}"),
                func.sum(case((and_(this, not_(Attempt.passed)), 1), else_=0)).label(f"fails_{i}"),
                func.sum(case((this, 1), else_=0)).label(f"attempts_{i}"),
            ]
        stmt = (
            select(Attempt.user_id.label("user_id"), *cols)
            .where(Attempt.user_id.in_(self._members(user_ids)), in_ranges(Attempt.quiz_id, self.cm.quiz_runs()))
            .group_by(Attempt.user_id)
        )
        return stmt.cte("pivot_at").prefix_with("MATERIALIZED") if cte else stmt.subquery("pivot_at")


def _ids(user_ids: list[int]) -> Any:
    """The chosen learners, as one bind parameter (`LearnerQuery.params` gives it again)."""
    return bindparam("user_ids", user_ids, expanding=True)


def _flag(condition: ColumnElement) -> ColumnElement:
    return case((condition, 1), else_=0)


def _zero() -> ColumnElement:
    return literal(0, Integer)


def urgency_order(c: Any) -> tuple[ColumnElement, ...]:
    """ORDER BY for learners most at risk first, over the columns `c` of a select with `reasons`, `idle_since`
    and `chapters_behind`: most reasons, then the longest without activity, then the furthest behind."""
    return (c.reasons.desc(), c.idle_since.asc(), c.chapters_behind.desc(), c.name, c.user_id)
