"""The overview page's numbers for a cohort: totals, the progress histogram, the drop-off funnel and the top
of the at-risk list, from one statement over the cohort's per-learner rows (`LearnerQuery`) grouped by
(progress, furthest lesson) — a few dozen rows whatever the size of the cohort — and one for the learners most
at risk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, case, func, literal, select, union_all

from course.clock import school_date
from course.cohorts.models import Cohort
from course.dashboard.cache import cached, cohort_key, minute
from course.dashboard.coursemap import ChapterInfo, CourseMap, LessonInfo
from course.dashboard.learners import LearnerQuery, released_chapters, urgency_order
from course.dashboard.lists import learner_rows
from course.dashboard.rows import LearnerRow
from course.extensions import db
from course.progress.cohort_overview import median_percent
from course.progress.outline import percent

AT_RISK_TOP = 10


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
    released_chapters: list[ChapterInfo]  # released so far: the chapters the schedule counts
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


OVERVIEW_METRICS = (
    "items_done",
    "furthest",
    "started",
    "completed",
    "active",
    "behind",
    "reasons",
    "idle_since",
    "chapters_behind",
    "best_avg",
)


def overview(cohort: Cohort, cm: CourseMap, now: datetime) -> Overview:
    """Totals, histogram, funnel and the top of the at-risk list from one pass over the cohort's learners.

    One statement: the per-learner rows, grouped by (progress, furthest lesson) — a few dozen rows whatever the
    size of the cohort — UNION ALL the ids of the AT_RISK_TOP learners most at risk, kept (course/dashboard/
    cache.py) for the minute or until the cohort's learners change. Small statements then load those learners'
    details.
    """
    rows = cached(
        "overview", cohort.course_id, cohort_key(cohort, cm), lambda: _groups_and_top(cohort, cm, now), at=minute(now)
    )
    groups = [r for r in rows if r.kind == "group"]
    top_ids = [r.user_id for r in rows if r.kind == "risk"]

    enrolled = sum(g.n for g in groups)

    histogram = [0] * 11
    by_done: dict[int, int] = {}
    for g in groups:
        histogram[percent(g.items_done or 0, cm.items_total) // 10] += g.n
        by_done[g.items_done or 0] = by_done.get(g.items_done or 0, 0) + g.n
    best_n = sum(g.best_n or 0 for g in groups)
    top = learner_rows(cohort, cm, now, top_ids)
    # as the SQL ordered them (the at-risk page's order: names in the database's collation, not Python's)
    position = {user_id: i for i, user_id in enumerate(top_ids)}
    top.sort(key=lambda r: position[r.user_id])
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
        released_chapters=released_chapters(cm, school_date(now)),
        top_at_risk=top,
    )


def _groups_and_top(cohort: Cohort, cm: CourseMap, now: datetime) -> list:
    """The one statement over every learner of the cohort (kept by `cached` for a minute, or until a change)."""
    learners = LearnerQuery(cohort, cm, now).select(OVERVIEW_METRICS).cte("learners")
    c = learners.c
    totals = {
        "items_done": c.items_done,
        "furthest": c.furthest,
        "n": func.count(),
        "started": func.sum(c.started),
        "completed": func.sum(c.completed),
        "active": func.sum(c.active),
        "behind": func.sum(c.behind),
        "at_risk": func.sum(case((c.reasons > 0, 1), else_=0)),
        "best_sum": func.sum(c.best_avg),
        "best_n": func.count(c.best_avg),
    }
    groups = select(
        literal("group").label("kind"),
        *(value.label(name) for name, value in totals.items()),
        literal(None, Integer).label("user_id"),
    ).group_by(c.items_done, c.furthest)
    top = select(c.user_id).where(c.reasons > 0).order_by(*urgency_order(c)).limit(AT_RISK_TOP).subquery("top")
    # the same columns: the totals' are NULL in a row of the top learners
    risky = select(literal("risk"), *(literal(None, Integer) for _name in totals), top.c.user_id)
    return db.session.execute(union_all(groups, risky)).all()


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
