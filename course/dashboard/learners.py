"""One row per learner of a cohort, computed in SQL: the SELECT every dashboard page builds on.

The numbers come from the learner's roll-up row (course/progress/models.py, kept up to date by the write
paths: course/progress/rollup.py), joined by primary key, and, for the schedule, a count of the learner's
complete chapters among those due (one index seek and their few rows). Nothing is computed from the ~40
progress rows and ~10 attempts of every learner on a request, and there is never a query per learner from
Python. Only the numbers a page asks for are read. The chapter cells of a page of learners (`pivot`) are
still read from the progress and attempt rows: a few hundred rows for a page.

Definitions (the pages repeat them):
- progress: lessons completed plus chapter quizzes passed, over the lessons and quizzes of the current
  outline (as on the learner's own outline page), so it never exceeds 100 %.
- started: opened at least one lesson. completed: has the course's completion record.
- last active: the latest lesson view or quiz attempt in this course.
- active: last active within the last 7 days.
- inactive N days: not active for N days; a learner who never started counts once enrolled N days ago.
- failing a quiz: two or more attempts at a quiz and none passed.
- behind the schedule: a chapter that opened more than 7 days ago — plus the learner's extension — is not
  complete (every lesson complete and its quiz passed). Reference chapters (the appendix) are never due.
- furthest lesson: the last lesson in course order the learner opened (the drop-off funnel counts a learner
  as having reached every lesson up to it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, Select, and_, case, func, literal, not_, or_, select
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Subquery

from course.accounts.models import User
from course.clock import school_date
from course.cohorts.models import Cohort, Enrolment
from course.dashboard.coursemap import ChapterInfo, CourseMap, QuizInfo, in_ranges
from course.extensions import db
from course.progress.models import Completion, LearnerChapterDone, LearnerCourseStats, LessonProgress
from course.progress.outline import percent
from course.quiz.models import Attempt

ACTIVE_DAYS = 7  # active: seen within this many days
DEFAULT_INACTIVE_DAYS = 7  # the at-risk list's "inactive for N days", unless the page asks for another N


class LearnerQuery:
    """Builds the per-learner SELECT for one cohort (see the module docstring for what each number means)."""

    # What each number a page may ask for is computed from: the raw per-learner columns it needs.
    RAW: dict[str, tuple[str, ...]] = {
        "lessons_done": ("lessons_done",),
        "quizzes_passed": ("quizzes_passed",),
        "items_done": ("lessons_done", "quizzes_passed"),
        "last_active": ("last_view", "last_attempt"),
        "started": ("last_view",),
        "active": ("last_view", "last_attempt"),
        "inactive": ("last_view", "last_attempt"),
        "failing": ("failing",),
        "behind": ("behind",),
        "reasons": ("last_view", "last_attempt", "failing", "behind"),
        "completed": ("completed",),
        "furthest": ("furthest",),
        "best_avg": ("best_avg",),
    }
    # The raw columns read from the learner's roll-up row (the others: the completion, the schedule check).
    ROLLUP = {"lessons_done", "quizzes_passed", "last_view", "last_attempt", "failing", "furthest", "best_avg"}

    def __init__(
        self, cohort: Cohort, cm: CourseMap, now: datetime, inactive_days: int = DEFAULT_INACTIVE_DAYS
    ) -> None:
        self.cohort = cohort
        self.cm = cm
        self.now = now
        self.today = school_date(now)  # the schedule's dates are the school's
        self.inactive_days = inactive_days
        # The schedule: chapters due for a learner without an extension (from the first threshold of days past
        # due), and for learners with an extension, nested smaller sets, one per later threshold.
        self.due = [c for c in cm.due_chapters(self.today) if c.items_total]
        self.thresholds = sorted({c.slack_days(self.today) for c in self.due})

    def _due_from(self, threshold: int) -> list[ChapterInfo]:
        return [c for c in self.due if c.slack_days(self.today) >= threshold]

    # -- raw numbers: columns of the roll-up row, or a short index range of the learner's complete chapters ------
    def _behind(self) -> ColumnElement:
        """1 if a chapter due for this learner (given their extension) is not complete. One CASE branch per
        threshold, each counting the learner's complete chapters among that threshold's due set (a few index
        entries); SQL evaluates only the branch that applies."""
        branches = []
        for threshold in self.thresholds:
            ids = [c.id for c in self._due_from(threshold)]
            done = (
                select(func.count())
                # `+ 0`: one index seek to the learner, then their few rows, instead of one seek per due chapter
                .where(LearnerChapterDone.user_id == Enrolment.user_id, (LearnerChapterDone.chapter_id + 0).in_(ids))
                .correlate(Enrolment)
                .scalar_subquery()
            )
            branches.append((Enrolment.extension_days < threshold, _flag(done < len(ids))))
        return case(*branches, else_=0) if branches else _zero()

    def raw(self, name: str) -> ColumnElement:
        if name == "lessons_done":
            return func.coalesce(LearnerCourseStats.lessons_done, 0)
        if name == "quizzes_passed":
            return func.coalesce(LearnerCourseStats.quizzes_passed, 0)
        if name == "last_view":
            return LearnerCourseStats.last_viewed_at
        if name == "last_attempt":
            return LearnerCourseStats.last_attempt_at
        if name == "failing":
            return _flag(LearnerCourseStats.quizzes_failing > 0)
        if name == "furthest":
            return LearnerCourseStats.furthest_lesson
        if name == "best_avg":
            return case(
                (LearnerCourseStats.best_count > 0, LearnerCourseStats.best_sum / LearnerCourseStats.best_count)
            )
        if name == "completed":
            return _flag(Completion.id.is_not(None))
        if name == "behind":
            return self._behind()
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
            base = base.where(Enrolment.user_id.in_(user_ids))
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

    def pivot(self, user_ids: list[int] | None = None) -> dict[int, dict[str, Any]]:
        """Per learner: per chapter `done_<i>` (lessons completed) and per quiz `best_<i>`, `passed_<i>`,
        `fails_<i>`, `attempts_<i>`. Two statements (a GROUP BY over progress, one over attempts), merged here
        by user id: joining them to the learner rows in SQL lets SQLite pick a nested scan when it has no
        statistics (a 10,000-learner export took seconds)."""
        out: dict[int, dict[str, Any]] = {}
        for sq in (self._pivot_progress(user_ids), self._pivot_attempts(user_ids)):
            for row in db.session.execute(select(sq)):
                values = row._asdict()
                out.setdefault(values.pop("user_id"), {}).update(values)
        return out

    def _derived(self, c: Any) -> dict[str, ColumnElement]:
        """The numbers computed from the raw ones, as expressions over the CTE's columns `c` (only those whose
        raw columns the query has)."""
        out: dict[str, ColumnElement] = {}
        has = set(c.keys())
        if {"lessons_done", "quizzes_passed"} <= has:
            out["items_done"] = c.lessons_done + c.quizzes_passed
        if "behind" in has:
            out["behind"] = c.behind
        if "last_view" in has:
            out["started"] = _flag(c.last_view.is_not(None))
        if {"last_view", "last_attempt"} <= has:
            view, attempt = c.last_view, c.last_attempt
            last = case((attempt.is_(None), view), (view.is_(None), attempt), (view >= attempt, view), else_=attempt)
            since = self.now - timedelta(days=self.inactive_days)
            out["last_active"] = last
            out["active"] = _flag(last >= self.now - timedelta(days=ACTIVE_DAYS))
            out["inactive"] = _flag(or_(last < since, and_(last.is_(None), c.enrolled_at < since)))
        if {"inactive", "behind"} <= set(out) and "failing" in has:
            out["reasons"] = out["inactive"] + c.failing + out["behind"]
        return out

    def _members(self, user_ids: list[int] | None) -> Select:
        members = select(Enrolment.user_id).where(Enrolment.cohort_id == self.cohort.id)
        return members.where(Enrolment.user_id.in_(user_ids)) if user_ids is not None else members

    def _pivot_progress(self, user_ids: list[int] | None) -> Subquery:
        done = LessonProgress.completed_at.is_not(None)
        cols = [
            func.sum(
                case((and_(done, in_ranges(LessonProgress.lesson_id, self.cm.lesson_runs(ch.lesson_ids))), 1), else_=0)
            ).label(f"done_{ch.index}")
            for ch in self.cm.chapters
            if ch.lessons
        ]
        return (
            select(LessonProgress.user_id.label("user_id"), *cols)
            .where(
                LessonProgress.user_id.in_(self._members(user_ids)),
                in_ranges(LessonProgress.lesson_id, self.cm.lesson_runs()),
            )
            .group_by(LessonProgress.user_id)
            .subquery("pivot_lp")
        )

    def _pivot_attempts(self, user_ids: list[int] | None) -> Subquery:
        cols: list[Any] = []
        for quiz in self.cm.quizzes:
            this, i = Attempt.quiz_id == quiz.id, quiz.index
            cols += [
                func.max(case((this, Attempt.percent))).label(f"best_{i}"),
                func.max(case((and_(this, Attempt.passed), 1), else_=0)).label(f"passed_{i}"),
                func.sum(case((and_(this, not_(Attempt.passed)), 1), else_=0)).label(f"fails_{i}"),
                func.sum(case((this, 1), else_=0)).label(f"attempts_{i}"),
            ]
        return (
            select(Attempt.user_id.label("user_id"), *cols)
            .where(Attempt.user_id.in_(self._members(user_ids)), in_ranges(Attempt.quiz_id, self.cm.quiz_runs()))
            .group_by(Attempt.user_id)
            .subquery("pivot_at")
        )


def _flag(condition: ColumnElement) -> ColumnElement:
    return case((condition, 1), else_=0)


def _zero() -> ColumnElement:
    return literal(0, Integer)


# -- rows as Python objects ---------------------------------------------------------------------------------

ROW_METRICS = (
    "items_done",
    "lessons_done",
    "last_active",
    "started",
    "completed",
    "active",
    "inactive",
    "failing",
    "behind",
)


@dataclass
class ChapterCell:
    chapter: ChapterInfo
    lessons_done: int
    best: float | None  # best quiz %
    passed: bool
    attempts: int

    @property
    def complete(self) -> bool:
        return self.lessons_done >= len(self.chapter.lessons) and (self.chapter.quiz is None or self.passed)


@dataclass
class LearnerRow:
    user_id: int
    name: str
    email: str
    enrolled_at: datetime
    extension_days: int
    items_total: int
    items_done: int = 0
    lessons_done: int = 0
    last_active: datetime | None = None
    started: bool = False
    completed: bool = False
    active: bool = False
    inactive: bool = False
    failing: bool = False
    behind: bool = False
    cells: list[ChapterCell] = field(default_factory=list)
    failed_quizzes: list[QuizInfo] = field(default_factory=list)
    overdue: list[ChapterInfo] = field(default_factory=list)
    idle_days: int | None = None  # days since last activity (or since enrolment if never active)

    @property
    def percent(self) -> int:
        return percent(self.items_done, self.items_total)

    @property
    def reasons(self) -> list[str]:
        return [
            name for name, on in (("inactive", self.inactive), ("quiz", self.failing), ("schedule", self.behind)) if on
        ]


def to_row(row: Any, cm: CourseMap, now: datetime, pivot: dict[str, Any] | None = None) -> LearnerRow:
    """A LearnerRow from a row of `LearnerQuery.select(ROW_METRICS)` and the learner's `LearnerQuery.pivot()`."""
    values = {**row._mapping, **(pivot or {})}
    learner = LearnerRow(
        user_id=values["user_id"],
        name=values["name"],
        email=values["email"],
        enrolled_at=values["enrolled_at"],
        extension_days=values["extension_days"] or 0,
        items_total=cm.items_total,
        items_done=values.get("items_done") or 0,
        lessons_done=values.get("lessons_done") or 0,
        last_active=values.get("last_active"),
        started=bool(values.get("started")),
        completed=bool(values.get("completed")),
        active=bool(values.get("active")),
        inactive=bool(values.get("inactive")),
        failing=bool(values.get("failing")),
        behind=bool(values.get("behind")),
    )
    since = learner.last_active or learner.enrolled_at
    learner.idle_days = max((now - since).days, 0) if since else None
    today = school_date(now)
    for chapter in cm.chapters:
        quiz = chapter.quiz
        cell = ChapterCell(
            chapter=chapter,
            lessons_done=(values.get(f"done_{chapter.index}") or 0) if chapter.lessons else 0,
            best=values.get(f"best_{quiz.index}") if quiz else None,
            passed=bool(values.get(f"passed_{quiz.index}")) if quiz else False,
            attempts=(values.get(f"attempts_{quiz.index}") or 0) if quiz else 0,
        )
        learner.cells.append(cell)
        if quiz and (values.get(f"fails_{quiz.index}") or 0) >= 2 and not cell.passed:
            learner.failed_quizzes.append(quiz)
        if (
            not chapter.reference
            and chapter.items_total
            and learner.extension_days < chapter.slack_days(today)
            and not cell.complete
        ):
            learner.overdue.append(chapter)
    return learner
