"""The school's calendar: what day it is where the school is (BABEL_DEFAULT_TIMEZONE).

Chapters open and cohorts close at the school's midnight, the same moment for every learner, whatever time
zone they chose for their own pages. Times are stored in UTC (`course.db_types.utcnow`).

`now()` is the moment the review schedule (course/progress/review.py) works with: the real time, moved forward
by the `CLOCK_OFFSET_DAYS` setting (0 unless a test sets it), so a test can move days ahead without waiting.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytz
from flask import current_app

from course.db_types import utcnow


def today() -> date:
    """Today where the school is."""
    return site_today(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def now() -> datetime:
    """The current moment (aware, UTC), moved by `CLOCK_OFFSET_DAYS` (a number of days; tests set it)."""
    return utcnow() + timedelta(days=float(current_app.config.get("CLOCK_OFFSET_DAYS", 0)))


def site_today(time_zone: str) -> date:
    return datetime.now(pytz.timezone(time_zone)).date()


def school_date(moment: datetime) -> date:
    """The date of an aware `moment` where the school is (what `today()` is at that moment)."""
    return moment.astimezone(pytz.timezone(current_app.config["BABEL_DEFAULT_TIMEZONE"])).date()
