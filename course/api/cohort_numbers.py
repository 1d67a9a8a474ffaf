"""A cohort's learners and the dashboard's headline numbers, read from the progress roll-up (one row per learner
and course, kept by `course/progress/rollup.py`): the roster is one statement per page, the overview one
aggregate and one column of numbers, whatever the size of the cohort.

Definitions as the dashboard's (`course/dashboard/learners.py`; the median is its very function,
`course/progress/cohort_overview.py`; tests/test_api.py checks every number against the dashboard's overview):
progress counts lessons completed and quizzes passed over the current outline's items; started: opened a lesson;
active: a lesson view or an attempt in the last 7 days; a learner's average best is the mean of their best score
on each quiz they tried."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Row, Select, and_, case, func, or_, select

from course.accounts.models import User
from course.api import schemas
from course.cohorts.models import Cohort, Enrolment
from course.content.models import Course
from course.content.outline import course_outline
from course.db_types import utcnow
from course.extensions import db
from course.progress.cohort_overview import median_percent_of
from course.progress.models import Completion, LearnerCourseStats
from course.progress.outline import percent

ACTIVE_DAYS = 7


def _learners(cohort: Cohort) -> Select:
    stats, completion = LearnerCourseStats, Completion
    return (
        select(
            Enrolment.user_id,
            User.name,
            User.email,
            Enrolment.enrolled_at,
            Enrolment.source,
            (func.coalesce(stats.lessons_done, 0) + func.coalesce(stats.quizzes_passed, 0)).label("items_done"),
            stats.last_viewed_at,
            stats.last_attempt_at,
            stats.best_sum,
            stats.best_count,
            completion.completed_at,
        )
        .join(User, User.id == Enrolment.user_id)
        .outerjoin(stats, and_(stats.user_id == Enrolment.user_id, stats.course_id == Enrolment.course_id))
        .outerjoin(
            completion,
            and_(
                completion.user_id == Enrolment.user_id,
                completion.course_id == Enrolment.course_id,
                completion.withdrawn_at.is_(None),
            ),
        )
        .where(Enrolment.cohort_id == cohort.id)
    )


def roster_query(cohort: Cohort) -> Select:
    return _learners(cohort).order_by(User.name, Enrolment.user_id)


def roster_entry(row: Row, course: Course) -> schemas.RosterEntry:
    total = course_outline(course).items_total
    times = [moment for moment in (row.last_viewed_at, row.last_attempt_at) if moment is not None]
    return schemas.RosterEntry(
        user_id=row.user_id,
        name=row.name,
        email=row.email,
        enrolled_at=row.enrolled_at,
        source=row.source,
        percent=percent(row.items_done, total),
        items_done=row.items_done,
        items_total=total,
        last_active_at=max(times) if times else None,
        completed_at=row.completed_at,
    )


def overview(cohort: Cohort, course: Course) -> schemas.Overview:
    learners = _learners(cohort).subquery()
    c = learners.c
    since = utcnow() - timedelta(days=ACTIVE_DAYS)
    active = or_(c.last_viewed_at >= since, c.last_attempt_at >= since)
    best = case((c.best_count > 0, c.best_sum / c.best_count))
    totals = db.session.execute(
        select(
            func.count(),
            func.count(c.last_viewed_at),
            func.count(c.completed_at),
            func.sum(case((active, 1), else_=0)),
            func.avg(best),
        )
    ).one()
    done = list(db.session.scalars(select(c.items_done)))
    items_total = course_outline(course).items_total
    shares = [min(100.0, 100 * n / items_total) for n in done] if items_total else []
    middle = median_percent_of(done, items_total)  # the dashboard's own median (course/progress/cohort_overview.py)
    return schemas.Overview(
        enrolled=totals[0],
        started=totals[1],
        completed=totals[2],
        active_last_7_days=totals[3] or 0,
        average_percent=round(sum(shares) / len(shares), 1) if shares else None,
        median_percent=round(middle, 1) if middle is not None else None,
        average_best_quiz_percent=round(float(totals[4]), 1) if totals[4] is not None else None,
    )
