"""When a chapter the learner's cohort has not opened yet opens, as its reader reads it.

A chapter opens at the school's midnight on its release date (`course.clock`), the same moment for everyone. A
reader sees that moment in their own time zone and language: the date alone when it is midnight for them too, else
the date and the time it is where they are ("March 2, 2025, 4:00 PM" for a reader in London).
"""

from __future__ import annotations

from datetime import date, datetime, time

import pytz
from flask import current_app
from flask_babel import format_date, format_time, get_locale, to_user_timezone


def opening_moment(day: date) -> datetime:
    """The moment a chapter released on `day` opens: the school's midnight, as an aware UTC datetime."""
    school = pytz.timezone(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return school.localize(datetime.combine(day, time.min)).astimezone(pytz.utc)


def format_opening(day: date) -> str:
    """When a chapter released on `day` opens, in the reader's time zone and language."""
    local = to_user_timezone(opening_moment(day))
    on = format_date(local.date(), "long")
    if local.time() == time.min:
        return on
    # The language's own way of joining a date and a time ("{1} 'at' {0}", "{1} {0}"), as Babel's formats do.
    joined = get_locale().datetime_formats["long"]
    return joined.replace("'", "").replace("{1}", on).replace("{0}", format_time(local, "short"))
