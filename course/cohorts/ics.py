"""A learner's calendar feed as iCalendar (RFC 5545), built with the `icalendar` package: an all-day event for each
chapter release date of their cohort, one for the cohort's last day and, if they have an extension, one for their
own last day — in the learner's language.

Every event keeps its UID (the cohort and chapter, or the cohort's end, or the learner's extension), so a calendar
app that refreshes the feed moves an event whose date changed instead of adding a second one. A chapter opens at
the school's midnight (`course.clock`) and the cohort's last day ends at the next one, so the events are dates,
not times.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from course.accounts.models import User
from course.cohorts.calendar_models import CalendarFeed
from course.cohorts.chapter_text import chapter_contents, chapter_title, chapter_url
from course.cohorts.models import Cohort, Enrolment
from course.cohorts.schedule import release_dates
from course.content.i18n import content_language_for, tr
from course.content.models import Course
from course.content.outline import course_outline
from course.db_types import utcnow
from course.extensions import db
from course.links import external_url

if TYPE_CHECKING:
    from icalendar import Calendar

PRODID = "-//Founder Course//Cohort calendar//EN"
REFRESH = timedelta(hours=12)  # how often a calendar app is asked to fetch the feed again


def feed_calendar(feed: CalendarFeed) -> bytes:
    """The feed's calendar, as the bytes of an .ics file, in its learner's language."""
    user = db.session.get(User, feed.user_id)
    cohort = db.session.get(Cohort, feed.cohort_id)
    course = db.session.get(Course, cohort.course_id)
    extension = db.session.scalar(
        select(Enrolment.extension_days).where(Enrolment.user_id == user.id, Enrolment.cohort_id == cohort.id)
    )
    language = user.language or current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(language):
        return cohort_calendar(cohort, course, language, user.id, extension or 0).to_ical()


def cohort_calendar(cohort: Cohort, course: Course, language: str, user_id: int, extension_days: int) -> Calendar:
    outline_url = external_url("learn.outline", course_key=course.key)
    host = urlsplit(outline_url).hostname or "localhost"
    stamp = utcnow()
    course_title = tr(course, "title", lang=content_language_for(language))
    from icalendar import Calendar, Event  # loaded by a request for a feed, not by every web worker at start

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", _("%(cohort)s · %(course)s", cohort=cohort.name, course=course_title))
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT12H")

    def event(uid: str, day: date, summary: str, description: str, url: str) -> None:
        item = Event()
        item.add("uid", f"{uid}@{host}")
        item.add("dtstamp", stamp)
        item.add("dtstart", day)
        item.add("dtend", day + timedelta(days=1))
        item.add("summary", summary)
        item.add("description", f"{description}\n{url}")
        item.add("url", url)
        item.add("transp", "TRANSPARENT")  # a date to remember, not a time the learner is busy
        calendar.add_component(item)

    opens = release_dates(cohort)
    for chapter in course_outline(course).chapters:
        if (day := opens.get(chapter.chapter.id)) is None:
            continue
        summary = _("Opens: %(title)s", title=chapter_title(chapter, language))
        event(f"cohort-{cohort.id}-chapter-{chapter.chapter.id}", day, summary, chapter_contents(chapter),
              chapter_url(course, chapter))  # fmt: skip
    event(
        f"cohort-{cohort.id}-end",
        cohort.ends_on,
        _("Last day of %(cohort)s", cohort=cohort.name),
        _("Quizzes can be submitted until the end of this day."),
        outline_url,
    )
    if extension_days > 0:
        event(
            f"cohort-{cohort.id}-user-{user_id}-extension",
            cohort.ends_on + timedelta(days=extension_days),
            _("Your extended last day in %(cohort)s", cohort=cohort.name),
            _("Your extension: you can submit quizzes until the end of this day."),
            outline_url,
        )
    return calendar
