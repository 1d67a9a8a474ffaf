"""Lists of a cohort's learners: a page of the learner × chapter grid (searched, sorted), a page of the
at-risk list (filtered by reason), full rows for chosen learners, and every learner of either list streamed for
the CSV exports. Each is a fixed number of statements: the learners are chosen in SQL, then their rows read."""

from __future__ import annotations

import threading
from array import array
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Select, or_, select

from course.accounts.models import User
from course.cohorts.models import Cohort, Enrolment
from course.dashboard import search
from course.dashboard.cache import EVERYTHING, NAMES, cached, cohort_key, minute
from course.dashboard.coursemap import CourseMap
from course.dashboard.learners import LearnerQuery, urgency_order
from course.dashboard.rows import ROW_METRICS, LearnerRow, to_row
from course.extensions import db
from course.forms import positive_int

PAGE_SIZE = 60  # a demo-sized cohort on one page


# -- paging and query parameters ------------------------------------------------------------------------------


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
    cohort: Cohort, cm: CourseMap, now: datetime, user_ids: list[int], inactive_days: int | None = None
) -> list[LearnerRow]:
    """Full rows (numbers and chapter cells) for the given learners, in the given order; inactive after the
    cohort's `inactive_after_days` unless `inactive_days` says otherwise. Three statements (the numbers, then the
    chapter and quiz pivot), even for an empty list."""
    ids = user_ids or [-1]
    query = LearnerQuery(cohort, cm, now, inactive_days)
    numbers, *pivots = _built(query, ids)
    rows = db.session.execute(numbers, query.params(ids)).all()
    pivot = query.pivot(ids, tuple(pivots))
    found = {r.user_id: to_row(r, cm, now, pivot.get(r.user_id)) for r in rows}
    return [found[uid] for uid in user_ids if uid in found]


# `learner_rows`' three statements, per shape (`LearnerQuery.shape`: the cohort, its course map and schedule, the
# day): building them cost more than running them for one page of learners (about 5 ms of a learner's page). The
# learners and the moment are bind parameters. A few shapes per process: cohorts looked at today.
_BUILT: OrderedDict[tuple, tuple[Select, ...]] = OrderedDict()
_BUILT_MAX = 16
_built_lock = threading.Lock()


def _built(query: LearnerQuery, ids: list[int]) -> tuple[Select, ...]:
    key = query.shape(ROW_METRICS)
    with _built_lock:
        found = _BUILT.get(key)
        if found is not None:
            _BUILT.move_to_end(key)
            return found
    built = (query.select(ROW_METRICS, user_ids=ids), *query.pivot_statements(ids))
    with _built_lock:
        _BUILT[key] = built
        while len(_BUILT) > _BUILT_MAX:
            _BUILT.popitem(last=False)
    return built


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
    """One page of the learner × chapter grid: the learners chosen in SQL (sorted) — their ids in order, kept by
    `cached` until a change — and those a search finds among them (course/dashboard/search.py), then one query for
    the page's learners' numbers."""
    found = search.matching(cohort, params.q) if params.q else None
    if params.q and found is None:  # a search in SQL (course/dashboard/search.py says when): not kept
        ids = _grid_ids(cohort, cm, now, params)
    else:
        ids = _ordered(cohort, cm, now, params, found)
    total = len(ids)
    pages = _pages(total)
    page = min(params.page, pages)
    chosen = ids[(page - 1) * PAGE_SIZE : page * PAGE_SIZE].tolist()
    return Page(learner_rows(cohort, cm, now, chosen), total, page, pages)


def _ordered(cohort: Cohort, cm: CourseMap, now: datetime, params: GridParams, found: list[int] | None) -> array:
    """Every learner in the page's order, kept until a change; for a search, those it `found` (searches are not kept:
    one entry per string typed would fill the cache), which come in the default order, by name."""
    if found is not None and (params.sort, params.direction) == ("name", "asc"):
        return array("i", found)
    everyone = replace(params, q="", page=1)
    key = (cohort_key(cohort, cm), params.sort, params.direction, "")
    depends = NAMES if params.sort in ("name", "email") else EVERYTHING
    ids = cached("grid", cohort.course_id, key, lambda: _grid_ids(cohort, cm, now, everyone), depends)
    if found is None:
        return ids
    chosen = set(found)
    return array("i", (user_id for user_id in ids if user_id in chosen))


def _grid_ids(cohort: Cohort, cm: CourseMap, now: datetime, params: GridParams) -> array:
    """Every learner of the grid (searched), in the page's order: one statement."""
    members = _search(
        select(Enrolment.user_id).join(User, User.id == Enrolment.user_id).where(Enrolment.cohort_id == cohort.id),
        params.q,
    )
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
    return array("i", db.session.scalars(stmt))


# -- at risk ------------------------------------------------------------------------------------------------

REASONS = ("inactive", "schedule", "quiz")  # the at-risk reasons (course/dashboard/risk.py), as the page filters them
AT_RISK_METRICS = ("reasons", "inactive", "far_behind", "failing", "idle_since", "chapters_behind")


@dataclass(frozen=True)
class AtRiskParams:
    days: int = 0  # inactive after this many days; 0: the cohort's setting (`Cohort.inactive_after_days`)
    reason: str = ""
    page: int = 1

    @classmethod
    def from_args(cls, args: Any) -> AtRiskParams:
        """?days=&reason=&page=; anything unexpected falls back to the default."""
        reason = args.get("reason", "")
        return cls(
            days=positive_int(args.get("days"), 0, 365),
            reason=reason if reason in REASONS else "",
            page=positive_int(args.get("page"), 1, 1_000_000),
        )

    def args(self, **changes: Any) -> dict[str, Any]:
        values = {"days": self.days, "reason": self.reason, "page": self.page, **changes}
        defaults = {"days": 0, "reason": "", "page": 1}
        return {k: v for k, v in values.items() if v != defaults[k]}

    def inactive_days(self, cohort: Cohort) -> int:
        """The number of days without activity that counts as inactive: the page's, else the cohort's."""
        return self.days or cohort.inactive_after_days


def _at_risk_select(cohort: Cohort, cm: CourseMap, now: datetime, params: AtRiskParams, full: bool = False):
    query = LearnerQuery(cohort, cm, now, inactive_days=params.inactive_days(cohort))
    learners = query.select(ROW_METRICS + ("reasons",) if full else AT_RISK_METRICS).subquery("l")
    return learners, _reason_condition(learners.c, params.reason), urgency_order(learners.c)


def _reason_condition(c: Any, reason: str) -> Any:
    """WHERE the learner (columns `c`) has any at-risk reason, or the chosen one."""
    condition = {"": c.reasons > 0, "inactive": c.inactive == 1, "schedule": c.far_behind == 1, "quiz": c.failing == 1}
    return condition[reason]


def at_risk(cohort: Cohort, cm: CourseMap, now: datetime, params: AtRiskParams) -> Page:
    """Learners with at least one reason (or the chosen one), most urgent first (`urgency_order`: most reasons,
    then the longest without activity, then the furthest behind): their ids in order, kept by `cached` for a
    minute or until a change, then the page's learners' details."""
    key = (cohort_key(cohort, cm), params.inactive_days(cohort), params.reason)
    ids = cached("at_risk", cohort.course_id, key, lambda: _at_risk_ids(cohort, cm, now, params), at=minute(now))
    total = len(ids)
    page = params.page if (params.page - 1) * PAGE_SIZE < total else 1  # past the end (a stale link): the first
    chosen = ids[(page - 1) * PAGE_SIZE : page * PAGE_SIZE].tolist()
    days = params.inactive_days(cohort)
    return Page(learner_rows(cohort, cm, now, chosen, days), total, page, _pages(total))


def _at_risk_ids(cohort: Cohort, cm: CourseMap, now: datetime, params: AtRiskParams) -> array:
    learners, condition, order = _at_risk_select(cohort, cm, now, params)
    return array("i", db.session.scalars(select(learners.c.user_id).where(condition).order_by(*order)))


# -- exports: every learner, streamed -----------------------------------------------------------------------


def all_learner_rows(cohort: Cohort, cm: CourseMap, now: datetime) -> Iterator[LearnerRow]:
    """Every learner of the cohort with their chapter cells, by name: one statement, read in batches."""
    query = LearnerQuery(cohort, cm, now)
    learners = query.select(ROW_METRICS).subquery("l")
    stmt = query.with_cells(learners).order_by(learners.c.name, learners.c.user_id)
    yield from _streamed(stmt, cm, now)


def all_at_risk_rows(cohort: Cohort, cm: CourseMap, now: datetime, params: AtRiskParams) -> Iterator[LearnerRow]:
    """Every at-risk learner (as on the at-risk page, without paging), with their details: one statement."""
    query = LearnerQuery(cohort, cm, now, inactive_days=params.inactive_days(cohort))
    learners, _condition, _order = _at_risk_select(cohort, cm, now, params, full=True)
    # Joined first, then filtered: with the filter beside the join, SQLite expects few learners and scans the
    # chapter numbers once per learner instead of indexing them (quadratic: 2 minutes for 100,000 learners).
    joined = query.with_cells(learners).cte("with_cells").prefix_with("MATERIALIZED")
    stmt = select(joined).where(_reason_condition(joined.c, params.reason)).order_by(*urgency_order(joined.c))
    yield from _streamed(stmt, cm, now)


def _streamed(stmt: Select, cm: CourseMap, now: datetime) -> Iterator[LearnerRow]:
    """Rows read in batches (a server-side cursor on PostgreSQL), closed even when the download is abandoned
    half-way (the generator is closed, and with it the cursor): memory does not grow with the cohort."""
    result = db.session.execute(stmt.execution_options(yield_per=500))
    try:
        for row in result:
            yield to_row(row, cm, now)
    finally:
        result.close()
