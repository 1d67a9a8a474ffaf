"""The school's calendar: what day it is where the school is (BABEL_DEFAULT_TIMEZONE).

Chapters open and cohorts close at the school's midnight, the same moment for every learner, whatever time
zone they chose for their own pages. Times are stored in UTC (`course.db_types.utcnow`).
"""

from __future__ import annotations

from datetime import date, datetime

import pytz
from flask import current_app


def today() -> date:
    """Today where the school is."""
    return site_today(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def site_today(time_zone: str) -> date:
    return datetime.now(pytz.timezone(time_zone)).date()


def school_date(moment: datetime) -> date:
    """The date of an aware `moment` where the school is (what `today()` is at that moment)."""
    return moment.astimezone(pytz.timezone(current_app.config["BABEL_DEFAULT_TIMEZONE"])).date()
