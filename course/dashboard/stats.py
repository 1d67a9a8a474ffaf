"""The numbers on the instructor dashboard: the overview, the learner grid, the at-risk list, the quiz summary.

Every function issues a fixed number of statements, whatever the size of the cohort (tests/
test_dashboard_queries.py holds them to it): per-learner numbers come from `LearnerQuery` (SQL, one row per
learner), cohort totals are aggregated again in SQL, and pages of learners are chosen in SQL. What reaches
Python is small: a histogram, a page of learners, one row per quiz (the CSV exports, which stream every
learner, also hold each learner's chapter and quiz numbers, a few integers, while they write).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Select, case, func, literal, or_, select, union_all

from course.auth.models import User
from course.cohorts.models import Cohort, Enrolment
from course.cohorts.services import school_date
from course.dashboard.coursemap import ChapterInfo, CourseMap, LessonInfo, QuizInfo, in_ranges
from course.dashboard.learners import ROW_METRICS, LearnerQuery, LearnerRow, to_row
from course.extensions import db
from course.quiz.models import Attempt

PAGE_SIZE = 50
AT_RISK_TOP = 10
DEFAULT_INACTIVE_DAYS = 7


def _percent(done: int | None, total: int) -> int:
    return min(100, round(100 * (done or 0) / total)) if total else 0


# -- the overview -------------------------------------------------------------------------------------------


@dataclass
class FunnelStep:
    lesson: LessonInfo
    chapter: ChapterInfo
    reached: int  # learners whose furthest lesson is this one or a later one
    stopped: int  # learners whose furthest lesson is this one


@dataclass
class Overview:
    enrolled: int
    started: int
    completed: int
    active: int
    behind: int
    at_risk: int
    median_percent: float | None
    # each learner's best score on each quiz they tried, averaged per learner, then over those learners
    average_best: float | None
    quiz_takers: int
    histogram: list[tuple[int, int]]  # (bucket start 0, 10, … 100, learners whose progress % falls in it)
    funnel: list[FunnelStep]
    due_chapters: list[ChapterInfo]
    top_at_risk: list[LearnerRow]

    @property
    def completion_rate(self) -> float | None:
        return self.completed / self.enrolled if self.enrolled else None

    @property
    def on_schedule(self) -> int:
        return self.enrolled - self.behind

    @property
    def on_schedule_rate(self) -> float | None:
        return self.on_schedule / self.enrolled if self.enrolled else None


OVERVIEW_METRICS = ("items_done", "furthest", "started", "completed", "active", "behind", "reasons", "last_active",
                    "best_avg")


def overview(cohort: Cohort, cm: CourseMap, now: datetime) -> Overview:
    """Totals, histogram, funnel and the top of the at-risk list from one pass over the cohort's learners.

    One statement: the per-learner rows, grouped by (progress, furthest lesson) — a few dozen rows whatever the
    size of the cohort — UNION ALL the ids of the AT_RISK_TOP learners most at risk. A second, small statement
    loads those learners' details.
    """
    learners = LearnerQuery(cohort, cm, now).select(OVERVIEW_METRICS).cte("learners")
    c = learners.c
    groups = select(
        literal("group").label("kind"),
        c.items_done,
        c.furthest,
        func.count().label("n"),
        func.sum(c.started).label("started"),
        func.sum(c.completed).label("completed"),
        func.sum(c.active).label("active"),
        func.sum(c.behind).label("behind"),
        func.sum(case((c.reasons > 0, 1), else_=0)).label("at_risk"),
        func.sum(c.best_avg).label("best_sum"),
        func.count(c.best_avg).label("best_n"),
        literal(None, Integer).label("user_id"),
    ).group_by(c.items_done, c.furthest)
    top = (
        select(c.user_id)
        .where(c.reasons > 0)
        .order_by(c.reasons.desc(), c.last_active.asc().nulls_first(), c.name, c.user_id)
        .limit(AT_RISK_TOP)
        .subquery("top")
    )
    nothing = literal(None, Integer)
    risky = select(literal("risk"), *[nothing] * 10, top.c.user_id)
    rows = db.session.execute(union_all(groups, risky)).all()
    groups = [r for r in rows if r.kind == "group"]
    top_ids = [r.user_id for r in rows if r.kind == "risk"]

    enrolled = sum(g.n for g in groups)
    histogram = [0] * 11
    by_done: dict[int, int] = {}
    for g in groups:
        histogram[_percent(g.items_done, cm.items_total) // 10] += g.n
        by_done[g.items_done or 0] = by_done.get(g.items_done or 0, 0) + g.n
    best_n = sum(g.best_n or 0 for g in groups)
    top = learner_rows(cohort, cm, now, top_ids)
    top.sort(key=lambda r: (-len(r.reasons), r.last_active is not None, r.last_active or now, r.name, r.user_id))
    return Overview(
        enrolled=enrolled,
        started=sum(g.started or 0 for g in groups),
        completed=sum(g.completed or 0 for g in groups),
        active=sum(g.active or 0 for g in groups),
        behind=sum(g.behind or 0 for g in groups),
        at_risk=sum(g.at_risk or 0 for g in groups),
        median_percent=median_percent(by_done, cm.items_total),
        average_best=sum(float(g.best_sum or 0) for g in groups) / best_n if best_n else None,
        quiz_takers=best_n,
        histogram=[(10 * i, n) for i, n in enumerate(histogram)],
        funnel=_funnel(cm, [(g.furthest, g.n) for g in groups]),
        due_chapters=cm.due_chapters(school_date(now)),
        top_at_risk=top,
    )


def median_percent(by_done: dict[int, int], total: int) -> float | None:
    """The median of learners' progress %, from {items done: learners}."""
    n = sum(by_done.values())
    if not n or not total:
        return None
    ordered = sorted(by_done.items())

    def nth(k: int) -> int:  # the k-th smallest value, counting from 0
        seen = 0
        for value, count in ordered:
            seen += count
            if k < seen:
                return value
        return ordered[-1][0]

    middle = (nth((n - 1) // 2) + nth(n // 2)) / 2
    return min(100.0, 100 * middle / total)


def _funnel(cm: CourseMap, furthest: list[tuple[int | None, int]]) -> list[FunnelStep]:
    """`furthest`: (position in course order of the furthest lesson opened, learners)."""
    stopped = [0] * len(cm.lessons)
    for index, n in furthest:
        if index is not None and 0 <= index < len(stopped):
            stopped[index] += n
    steps, reached = [], sum(stopped)
    chapters = {c.id: c for c in cm.chapters}
    for lesson in cm.lessons:
        steps.append(FunnelStep(lesson, chapters[lesson.chapter_id], reached, stopped[lesson.index]))
        reached -= stopped[lesson.index]
    return steps


# -- quizzes ------------------------------------------------------------------------------------------------


@dataclass
class QuizSummary:
    quiz: QuizInfo
    learners: int  # who attempted it
    passed: int
    average_best: float | None
    average_first: float | None
    attempts: int


def quiz_summaries(cohort: Cohort, cm: CourseMap) -> list[QuizSummary]:
    """Per quiz: learners who tried it, passed it, their average best and first-attempt scores. One query."""
    a = Attempt
    per_learner = (
        select(
            a.quiz_id.label("quiz_id"),
            func.max(a.percent).label("best"),
            func.max(case((a.number == 1, a.percent))).label("first"),
            func.max(case((a.passed, 1), else_=0)).label("passed"),
            func.count().label("attempts"),
        )
        .where(
            a.user_id.in_(select(Enrolment.user_id).where(Enrolment.cohort_id == cohort.id)),
            in_ranges(a.quiz_id, cm.quiz_runs()),
        )
        .group_by(a.user_id, a.quiz_id)
        .subquery()
    )
    p = per_learner.c
    rows = db.session.execute(
        select(p.quiz_id, func.count(), func.sum(p.passed), func.avg(p.best), func.avg(p.first), func.sum(p.attempts))
        .group_by(p.quiz_id)
    ).all()
    found = {r[0]: r for r in rows}
    summaries = []
    for quiz in cm.quizzes:
        r = found.get(quiz.id)
        if r is None:
            summaries.append(QuizSummary(quiz, 0, 0, None, None, 0))
        else:
            summaries.append(QuizSummary(
                quiz, r[1], int(r[2] or 0), _float(r[3]), _float(r[4]), int(r[5] or 0)
            ))
    return summaries


def _float(value: Any) -> float | None:
    return float(value) if value is not None else None


# -- paging and query parameters ------------------------------------------------------------------------------


def positive_int(value: Any, default: int, maximum: int) -> int:
    """`value` as an int in 1..maximum, or `default` for anything else (missing, not a number, out of range)."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return default
    return number if 1 <= number <= maximum else default


@dataclass
class Page:
    rows: list[LearnerRow]
    total: int
    page: int
    pages: int

    @property
    def first_number(self) -> int:
        return (self.page - 1) * PAGE_SIZE + 1 if self.total else 0

    @property
    def last_number(self) -> int:
        return min(self.page * PAGE_SIZE, self.total)


def _pages(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


def learner_rows(
    cohort: Cohort, cm: CourseMap, now: datetime, user_ids: list[int], inactive_days: int = DEFAULT_INACTIVE_DAYS
) -> list[LearnerRow]:
    """Full rows (numbers and chapter cells) for the given learners, in the given order. Three statements (the
    numbers, then the chapter and quiz pivot), even for an empty list."""
    ids = user_ids or [-1]
    query = LearnerQuery(cohort, cm, now, inactive_days)
    rows = db.session.execute(query.select(ROW_METRICS, user_ids=ids)).all()
    pivot = query.pivot(ids)
    found = {r.user_id: to_row(r, cm, now, pivot.get(r.user_id)) for r in rows}
    return [found[uid] for uid in user_ids if uid in found]


# -- the grid -----------------------------------------------------------------------------------------------

SORTS = ("name", "email", "progress", "last_active")


@dataclass(frozen=True)
class GridParams:
    sort: str = "name"
    direction: str = "asc"
    q: str = ""
    page: int = 1

    @classmethod
    def from_args(cls, args: Any) -> GridParams:
        """?sort=&dir=&q=&page=; anything unexpected falls back to the default."""
        sort, direction = args.get("sort", "name"), args.get("dir", "asc")
        return cls(
            sort=sort if sort in SORTS else "name",
            direction=direction if direction in ("asc", "desc") else "asc",
            q=(args.get("q") or "").strip()[:100],
            page=positive_int(args.get("page"), 1, 1_000_000),
        )

    def args(self, **changes: Any) -> dict[str, Any]:
        """Query arguments for a link to this view with some parameters changed (defaults left out)."""
        values = {"sort": self.sort, "dir": self.direction, "q": self.q, "page": self.page, **changes}
        defaults = {"sort": "name", "dir": "asc", "q": "", "page": 1}
        return {k: v for k, v in values.items() if v != defaults[k]}


def _search(stmt: Select, q: str, name: Any = User.name, email: Any = User.email) -> Select:
    if not q:
        return stmt
    return stmt.where(or_(name.icontains(q, autoescape=True), email.icontains(q, autoescape=True)))


def grid(cohort: Cohort, cm: CourseMap, now: datetime, params: GridParams) -> Page:
    """One page of the learner × chapter grid: count, then the page's learners chosen in SQL (searched, sorted,
    paginated), then one query for those learners' numbers. Three statements."""
    members = _search(
        select(Enrolment.user_id).join(User, User.id == Enrolment.user_id).where(Enrolment.cohort_id == cohort.id),
        params.q,
    )
    total = db.session.scalar(select(func.count()).select_from(members.subquery())) or 0
    pages = _pages(total)
    page = min(params.page, pages)
    desc = params.direction == "desc"
    if params.sort in ("name", "email"):
        column = User.name if params.sort == "name" else User.email
        stmt = members.order_by(column.desc() if desc else column.asc(), Enrolment.user_id)
    else:
        metric = "items_done" if params.sort == "progress" else "last_active"
        narrow = LearnerQuery(cohort, cm, now).select((metric,)).subquery("narrow")
        key = narrow.c[metric]
        stmt = _search(select(narrow.c.user_id), params.q, narrow.c.name, narrow.c.email).order_by(
            key.desc().nulls_last() if desc else key.asc().nulls_first(), narrow.c.name, narrow.c.user_id
        )
    ids = list(db.session.scalars(stmt.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
    return Page(learner_rows(cohort, cm, now, ids), total, page, pages)


# -- at risk ------------------------------------------------------------------------------------------------

REASONS = ("inactive", "quiz", "schedule")
AT_RISK_METRICS = ("reasons", "inactive", "failing", "behind", "last_active")


@dataclass(frozen=True)
class AtRiskParams:
    days: int = DEFAULT_INACTIVE_DAYS
    reason: str = ""
    page: int = 1

    @classmethod
    def from_args(cls, args: Any) -> AtRiskParams:
        """?days=&reason=&page=; anything unexpected falls back to the default."""
        reason = args.get("reason", "")
        return cls(
            days=positive_int(args.get("days"), DEFAULT_INACTIVE_DAYS, 365),
            reason=reason if reason in REASONS else "",
            page=positive_int(args.get("page"), 1, 1_000_000),
        )

    def args(self, **changes: Any) -> dict[str, Any]:
        values = {"days": self.days, "reason": self.reason, "page": self.page, **changes}
        defaults = {"days": DEFAULT_INACTIVE_DAYS, "reason": "", "page": 1}
        return {k: v for k, v in values.items() if v != defaults[k]}


def _at_risk_select(cohort: Cohort, cm: CourseMap, now: datetime, params: AtRiskParams, full: bool = False):  # noqa: ANN202
    query = LearnerQuery(cohort, cm, now, inactive_days=params.days)
    learners = query.select(ROW_METRICS + ("reasons",) if full else AT_RISK_METRICS).subquery("l")
    c = learners.c
    condition = {"": c.reasons > 0, "inactive": c.inactive == 1, "quiz": c.failing == 1, "schedule": c.behind == 1}
    order = (c.reasons.desc(), c.last_active.asc().nulls_first(), c.name, c.user_id)
    return learners, condition[params.reason], order


def at_risk(cohort: Cohort, cm: CourseMap, now: datetime, params: AtRiskParams) -> Page:
    """Learners with at least one reason (or the chosen one), most reasons first, then the longest idle.
    Two statements: the page's learners with the total (a window count), then their details."""
    learners, condition, order = _at_risk_select(cohort, cm, now, params)
    ranked = select(learners.c.user_id, func.count().over().label("total")).where(condition).order_by(*order)
    rows = db.session.execute(ranked.limit(PAGE_SIZE).offset((params.page - 1) * PAGE_SIZE)).all()
    if not rows and params.page > 1:  # past the end (a stale link): show the first page
        return at_risk(cohort, cm, now, AtRiskParams(params.days, params.reason, 1))
    total = rows[0].total if rows else 0
    ids = [r.user_id for r in rows]
    return Page(learner_rows(cohort, cm, now, ids, params.days), total, params.page if rows else 1, _pages(total))


# -- exports: every learner, streamed -----------------------------------------------------------------------


def all_learner_rows(cohort: Cohort, cm: CourseMap, now: datetime) -> Iterator[LearnerRow]:
    """Every learner of the cohort with their chapter cells, by name. Three statements: the chapter and quiz
    numbers of everyone (a few integers a learner, held in memory), then the learners, read in batches."""
    query = LearnerQuery(cohort, cm, now)
    pivot = query.pivot()
    learners = query.select(ROW_METRICS).subquery("l")
    stmt = select(learners).order_by(learners.c.name, learners.c.user_id)
    yield from _streamed(stmt, cm, now, pivot)


def all_at_risk_rows(cohort: Cohort, cm: CourseMap, now: datetime, params: AtRiskParams) -> Iterator[LearnerRow]:
    """Every at-risk learner (as on the at-risk page, without paging), with their details. Three statements."""
    pivot = LearnerQuery(cohort, cm, now, inactive_days=params.days).pivot()
    learners, condition, order = _at_risk_select(cohort, cm, now, params, full=True)
    stmt = select(learners).where(condition).order_by(*order)
    yield from _streamed(stmt, cm, now, pivot)


def _streamed(stmt: Select, cm: CourseMap, now: datetime, pivot: dict[int, dict]) -> Iterator[LearnerRow]:
    """Rows read in batches (a server-side cursor on PostgreSQL), closed even when the download is abandoned
    half-way (the generator is closed, and with it the cursor)."""
    result = db.session.execute(stmt.execution_options(yield_per=500))
    try:
        for row in result:
            yield to_row(row, cm, now, pivot.get(row.user_id))
    finally:
        result.close()
