"""One row per learner of a cohort, computed in SQL: the SELECT every dashboard page builds on.

Each number is a correlated scalar subquery over a covering index (migration 0003): per learner a few index
seeks or a short index range (their ~40 progress rows), never a scan of the whole progress table, and never a
query per learner from Python. Only the numbers a page asks for are computed.

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

from sqlalchemy import Integer, Select, and_, case, distinct, exists, func, literal, not_, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from course.auth.models import User
from course.cohorts.models import Cohort, Enrolment
from course.dashboard.coursemap import ChapterInfo, CourseMap, QuizInfo, in_ranges
from course.extensions import db
from course.progress.models import Completion, LessonProgress
from course.quiz.models import Attempt

ACTIVE_DAYS = 7

LP = LessonProgress
A = Attempt


class LearnerQuery:
    """Builds the per-learner SELECT for one cohort (see the module docstring for what each number means)."""

    # What each number a page may ask for is computed from: the raw per-learner subqueries it needs.
    RAW: dict[str, tuple[str, ...]] = {
        "lessons_done": ("done_due", "done_rest"),
        "quizzes_passed": ("passed_due", "passed_rest"),
        "items_done": ("done_due", "done_rest", "passed_due", "passed_rest"),
        "last_active": ("last_view", "last_attempt"),
        "started": ("last_view",),
        "active": ("last_view", "last_attempt"),
        "inactive": ("last_view", "last_attempt"),
        "failing": ("failing",),
        "behind": ("done_due", "passed_due", "behind_late"),
        "reasons": ("last_view", "last_attempt", "failing", "done_due", "passed_due", "behind_late"),
        "completed": ("completed",),
        "furthest": ("furthest",),
        "best_avg": ("best_avg",),
    }

    def __init__(self, cohort: Cohort, cm: CourseMap, now: datetime, inactive_days: int = ACTIVE_DAYS) -> None:
        self.cohort = cohort
        self.cm = cm
        self.now = now
        self.today = now.date()
        self.inactive_days = inactive_days
        # The schedule: chapters due for a learner without an extension (D1, from `threshold` days past due),
        # and for learners with an extension, nested smaller sets, one per later threshold.
        self.due = [c for c in cm.due_chapters(self.today) if c.items_total]
        self.thresholds = sorted({c.slack_days(self.today) for c in self.due})
        first = self._due_from(self.thresholds[0]) if self.thresholds else []
        self.due_lessons = [i for c in first for i in c.lesson_ids]
        self.due_quizzes = [c.quiz.id for c in first if c.quiz]

    def _due_from(self, threshold: int) -> list[ChapterInfo]:
        return [c for c in self.due if c.slack_days(self.today) >= threshold]

    # -- raw numbers: correlated scalar subqueries on the enrolment row ------------------------------------
    def _scalar(self, stmt: Select) -> ColumnElement:
        return stmt.correlate(Enrolment).scalar_subquery()

    def lessons_done_in(self, lesson_ids: list[int]) -> ColumnElement:
        if not lesson_ids:
            return _zero()
        return self._scalar(
            select(func.count()).where(
                LP.user_id == Enrolment.user_id,
                in_ranges(LP.lesson_id, self.cm.lesson_runs(lesson_ids)),
                LP.completed_at.is_not(None),
            )
        )

    def quizzes_passed_in(self, quiz_ids: list[int]) -> ColumnElement:
        if not quiz_ids:
            return _zero()
        return self._scalar(
            select(func.count(distinct(A.quiz_id))).where(
                A.user_id == Enrolment.user_id, A.passed, in_ranges(A.quiz_id, self.cm.quiz_runs(quiz_ids))
            )
        )

    def _incomplete(self, chapters: list[ChapterInfo]) -> ColumnElement:
        lesson_ids = [i for c in chapters for i in c.lesson_ids]
        quiz_ids = [c.quiz.id for c in chapters if c.quiz]
        return or_(
            self.lessons_done_in(lesson_ids) < len(lesson_ids), self.quizzes_passed_in(quiz_ids) < len(quiz_ids)
        )

    def raw(self, name: str) -> ColumnElement:
        cm, quizzes = self.cm, in_ranges(A.quiz_id, self.cm.quiz_runs())
        if name == "lessons_done":
            return self.lessons_done_in(cm.lesson_ids)
        if name == "quizzes_passed":
            return self.quizzes_passed_in(cm.quiz_ids)
        if name == "done_due":
            return self.lessons_done_in(self.due_lessons)
        if name == "done_rest":
            return self.lessons_done_in([i for i in cm.lesson_ids if i not in set(self.due_lessons)])
        if name == "passed_due":
            return self.quizzes_passed_in(self.due_quizzes)
        if name == "passed_rest":
            return self.quizzes_passed_in([i for i in cm.quiz_ids if i not in set(self.due_quizzes)])
        if name == "last_view":
            return self._scalar(
                select(func.max(LP.last_viewed_at)).where(LP.user_id == Enrolment.user_id, LP.course_id == cm.course_id)
            )
        if name == "last_attempt":
            return self._scalar(select(func.max(A.submitted_at)).where(A.user_id == Enrolment.user_id, quizzes))
        if name == "completed":
            return _flag(Completion.id.is_not(None))
        if name == "failing":
            passed = aliased(Attempt)
            return _flag(
                exists()
                .where(
                    A.user_id == Enrolment.user_id,
                    quizzes,
                    A.number >= 2,  # attempts are numbered 1, 2, …: a second one and no pass is two failures
                    not_(exists().where(passed.user_id == A.user_id, passed.quiz_id == A.quiz_id, passed.passed)),
                )
                .correlate(Enrolment)
            )
        if name == "behind_late":
            # Learners with an extension of at least the first threshold: their (smaller) due set, one CASE
            # branch per later threshold; SQL evaluates only the branch that applies.
            if len(self.thresholds) < 2:
                return _zero()
            branches = [(Enrolment.extension_days < self.thresholds[0], _zero())]  # decided from done_due, passed_due
            branches += [
                (Enrolment.extension_days < t, _flag(self._incomplete(self._due_from(t)))) for t in self.thresholds[1:]
            ]
            return case(*branches, else_=0)
        if name == "furthest":
            where = (LP.user_id == Enrolment.user_id, in_ranges(LP.lesson_id, cm.lesson_runs()))
            if cm.ids_in_course_order:
                return self._scalar(select(func.max(LP.lesson_id)).where(*where))
            position = case({lesson.id: lesson.index for lesson in cm.lessons}, value=LP.lesson_id)
            return self._scalar(select(func.max(position)).where(*where))
        if name == "best_avg":
            best = (
                select(func.max(A.percent).label("best"))
                .where(A.user_id == Enrolment.user_id, quizzes)
                .group_by(A.quiz_id)
                .correlate(Enrolment)
                .subquery()
            )
            return self._scalar(select(func.avg(best.c.best)))
        raise KeyError(name)

    # -- the SELECT ------------------------------------------------------------------------------------------
    def select(self, metrics: tuple[str, ...], user_ids: list[int] | None = None) -> Select:
        """user_id, name, email, enrolled_at, extension_days and the named metrics, one row per learner.

        The raw numbers (correlated subqueries) are computed once per learner in a MATERIALIZED CTE; the others
        (progress, last active, flags) are expressions over its columns. Without the CTE, SQLite would run a
        subquery again for every expression that mentions it.
        """
        raw = {r for name in metrics for r in self.RAW[name]}
        if not raw & {"behind_late"}:  # no schedule check: count progress in one subquery, not due + rest
            for part, whole in (("done", "lessons_done"), ("passed", "quizzes_passed")):
                if f"{part}_due" in raw:
                    raw -= {f"{part}_due", f"{part}_rest"}
                    raw.add(whole)
        raw = sorted(raw)
        identity = (
            Enrolment.user_id.label("user_id"),
            User.name.label("name"),
            User.email.label("email"),
            Enrolment.enrolled_at.label("enrolled_at"),
            Enrolment.extension_days.label("extension_days"),
        )
        base = select(*identity, *[self.raw(name).label(name) for name in raw])
        base = base.join(User, User.id == Enrolment.user_id).where(Enrolment.cohort_id == self.cohort.id)
        if "completed" in raw:
            base = base.outerjoin(
                Completion, and_(Completion.user_id == Enrolment.user_id, Completion.course_id == self.cm.course_id)
            )
        if user_ids is not None:
            base = base.where(Enrolment.user_id.in_(user_ids))
        b = base.cte("learner_base").prefix_with("MATERIALIZED")
        derived = self._derived(b.c)
        stmt = select(
            b.c.user_id, b.c.name, b.c.email, b.c.enrolled_at, b.c.extension_days,
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
        if {"done_due", "done_rest"} <= has:
            out["lessons_done"] = c.done_due + c.done_rest
        elif "lessons_done" in has:
            out["lessons_done"] = c.lessons_done
        if {"passed_due", "passed_rest"} <= has:
            out["quizzes_passed"] = c.passed_due + c.passed_rest
        elif "quizzes_passed" in has:
            out["quizzes_passed"] = c.quizzes_passed
        if {"lessons_done", "quizzes_passed"} <= set(out):
            out["items_done"] = out["lessons_done"] + out["quizzes_passed"]
        if {"done_due", "passed_due", "behind_late"} <= has:
            if self.thresholds:
                on_time = and_(c.done_due >= len(self.due_lessons), c.passed_due >= len(self.due_quizzes))
                out["behind"] = case((c.extension_days < self.thresholds[0], _flag(not_(on_time))), else_=c.behind_late)
            else:
                out["behind"] = c.behind_late
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

    def _pivot_progress(self, user_ids: list[int] | None):  # noqa: ANN202 - a Subquery
        done = LP.completed_at.is_not(None)
        cols = [
            func.sum(case((and_(done, in_ranges(LP.lesson_id, self.cm.lesson_runs(ch.lesson_ids))), 1), else_=0)).label(
                f"done_{ch.index}"
            )
            for ch in self.cm.chapters
            if ch.lessons
        ]
        return (
            select(LP.user_id.label("user_id"), *cols)
            .where(LP.user_id.in_(self._members(user_ids)), in_ranges(LP.lesson_id, self.cm.lesson_runs()))
            .group_by(LP.user_id)
            .subquery("pivot_lp")
        )

    def _pivot_attempts(self, user_ids: list[int] | None):  # noqa: ANN202 - a Subquery
        cols: list[Any] = []
        for quiz in self.cm.quizzes:
            this, i = A.quiz_id == quiz.id, quiz.index
            cols += [
                func.max(case((this, A.percent))).label(f"best_{i}"),
                func.max(case((and_(this, A.passed), 1), else_=0)).label(f"passed_{i}"),
                func.sum(case((and_(this, not_(A.passed)), 1), else_=0)).label(f"fails_{i}"),
                func.sum(case((this, 1), else_=0)).label(f"attempts_{i}"),
            ]
        return (
            select(A.user_id.label("user_id"), *cols)
            .where(A.user_id.in_(self._members(user_ids)), in_ranges(A.quiz_id, self.cm.quiz_runs()))
            .group_by(A.user_id)
            .subquery("pivot_at")
        )


def _flag(condition: ColumnElement) -> ColumnElement:
    return case((condition, 1), else_=0)


def _zero() -> ColumnElement:
    return literal(0, Integer)


# -- rows as Python objects ---------------------------------------------------------------------------------

ROW_METRICS = ("items_done", "lessons_done", "last_active", "started", "completed", "active", "inactive",
               "failing", "behind")


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
        return min(100, round(100 * self.items_done / self.items_total)) if self.items_total else 0

    @property
    def reasons(self) -> list[str]:
        return [name for name, on in (("inactive", self.inactive), ("quiz", self.failing), ("schedule", self.behind))
                if on]


def to_row(row: Any, cm: CourseMap, now: datetime, pivot: dict[str, Any] | None = None) -> LearnerRow:
    """A LearnerRow from a row of `LearnerQuery.select(ROW_METRICS)` and the learner's `LearnerQuery.pivot()`."""
    m = {**row._mapping, **(pivot or {})}
    learner = LearnerRow(
        user_id=m["user_id"],
        name=m["name"],
        email=m["email"],
        enrolled_at=m["enrolled_at"],
        extension_days=m["extension_days"] or 0,
        items_total=cm.items_total,
        items_done=m.get("items_done") or 0,
        lessons_done=m.get("lessons_done") or 0,
        last_active=m.get("last_active"),
        started=bool(m.get("started")),
        completed=bool(m.get("completed")),
        active=bool(m.get("active")),
        inactive=bool(m.get("inactive")),
        failing=bool(m.get("failing")),
        behind=bool(m.get("behind")),
    )
    since = learner.last_active or learner.enrolled_at
    learner.idle_days = max((now - since).days, 0) if since else None
    today = now.date()
    for chapter in cm.chapters:
        quiz = chapter.quiz
        cell = ChapterCell(
            chapter=chapter,
            lessons_done=(m.get(f"done_{chapter.index}") or 0) if chapter.lessons else 0,
            best=m.get(f"best_{quiz.index}") if quiz else None,
            passed=bool(m.get(f"passed_{quiz.index}")) if quiz else False,
            attempts=(m.get(f"attempts_{quiz.index}") or 0) if quiz else 0,
        )
        learner.cells.append(cell)
        if quiz and (m.get(f"fails_{quiz.index}") or 0) >= 2 and not cell.passed:
            learner.failed_quizzes.append(quiz)
        if (
            not chapter.reference
            and chapter.items_total
            and learner.extension_days < chapter.slack_days(today)
            and not cell.complete
        ):
            learner.overdue.append(chapter)
    return learner
