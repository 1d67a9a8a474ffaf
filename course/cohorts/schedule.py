"""A cohort's release schedule: the date each chapter opens, and the schedule as a learner's pages see it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import NamedTuple

from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import delete, select

from course.audit.log import Action, record
from course.clock import today
from course.cohorts.errors import CohortError, FieldError
from course.cohorts.models import ChapterRelease, Cohort
from course.content.i18n import tr
from course.content.models import Chapter, Course, Module
from course.content.outline import course_outline
from course.extensions import db


def default_schedule(course: Course, starts_on: date) -> dict[int, date]:
    """One chapter a week from the start; reference chapters (the appendix) open on day one."""
    schedule: dict[int, date] = {}
    week = 0
    for chapter in course_outline(course).chapters:
        if chapter.reference:
            schedule[chapter.chapter.id] = starts_on
        else:
            schedule[chapter.chapter.id] = starts_on + timedelta(weeks=week)
            week += 1
    return schedule


class ScheduleRow(NamedTuple):
    module: Module
    chapter: Chapter
    opens_on: date | None  # None: the schedule does not name the chapter (it opens with the cohort)


def release_dates(cohort: Cohort) -> dict[int, date]:
    """Chapter id → the date it opens for the cohort (the chapters its schedule names)."""
    rows = db.session.execute(
        select(ChapterRelease.chapter_id, ChapterRelease.opens_on).where(ChapterRelease.cohort_id == cohort.id)
    )
    return dict(rows.all())


def schedule_rows(cohort: Cohort) -> list[ScheduleRow]:
    """The cohort's course, chapter by chapter in course order, with each chapter's release date."""
    releases = release_dates(cohort)
    outline = course_outline(db.session.get(Course, cohort.course_id))
    return [ScheduleRow(c.module, c.chapter, releases.get(c.chapter.id)) for c in outline.chapters]


def date_field(chapter: Chapter) -> str:
    """The name and id of the chapter's date field in the schedule form."""
    return f"chapter-{chapter.key}"


def schedule_problems(cohort: Cohort, dates: Mapping[int, date]) -> dict[int, str]:
    """Chapter id → what is wrong with its date, in course order, each message naming the chapter."""
    problems: dict[int, str] = {}
    for chapter in course_outline(db.session.get(Course, cohort.course_id)).chapters:
        opens_on = dates.get(chapter.chapter.id)
        if opens_on is None:
            continue
        title = tr(chapter.chapter, "title")
        if opens_on < cohort.starts_on:
            start = format_date(cohort.starts_on, "long")
            problems[chapter.chapter.id] = _(
                "“%(title)s”: the date is before the cohort’s start (%(date)s).", title=title, date=start
            )
        elif opens_on > cohort.ends_on:
            end = format_date(cohort.ends_on, "long")
            problems[chapter.chapter.id] = _(
                "“%(title)s”: the date is after the cohort’s end (%(date)s).", title=title, date=end
            )
    return problems


def set_schedule(cohort: Cohort, dates: dict[int, date]) -> None:
    """Replace the release dates. Every date falls within the cohort's dates; unknown chapters are refused."""
    rows = {c.chapter.id: c.chapter for c in course_outline(db.session.get(Course, cohort.course_id)).chapters}
    if set(dates) - set(rows):
        raise CohortError(_("The schedule names a chapter that is not in this course."))
    problems = schedule_problems(cohort, dates)
    if problems:
        chapter_id, message = next(iter(problems.items()))  # the first in course order
        raise CohortError(message, field=date_field(rows[chapter_id]))
    before = release_dates(cohort)
    db.session.execute(delete(ChapterRelease).where(ChapterRelease.cohort_id == cohort.id))
    for chapter_id, opens_on in dates.items():
        db.session.add(ChapterRelease(cohort_id=cohort.id, chapter_id=chapter_id, opens_on=opens_on))
    db.session.flush()
    changed = sorted(chapter for chapter in set(before) | set(dates) if before.get(chapter) != dates.get(chapter))
    if changed:  # the dates of the chapters that changed, by chapter id
        record(
            Action.SCHEDULE_CHANGED,
            cohort_id=cohort.id,
            before={str(chapter): _iso(before.get(chapter)) for chapter in changed},
            after={str(chapter): _iso(dates.get(chapter)) for chapter in changed},
        )


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


@dataclass
class ScheduleForm:
    """The schedule form as posted: a date field per chapter, read and checked chapter by chapter, so that each
    problem names its chapter and marks its field (`errors`, in course order)."""

    dates: dict[int, date] = field(default_factory=dict)  # chapter id → the date it opens
    errors: list[FieldError] = field(default_factory=list)


def read_schedule_form(cohort: Cohort, form: Mapping[str, str]) -> ScheduleForm:
    """The posted form's dates, and a problem for each chapter whose date is not a date or not in the cohort's."""
    read = ScheduleForm()
    unreadable: dict[int, str] = {}
    chapters = [c.chapter for c in course_outline(db.session.get(Course, cohort.course_id)).chapters]
    for chapter in chapters:
        try:
            read.dates[chapter.id] = date.fromisoformat(form.get(date_field(chapter), "").strip())
        except ValueError:
            unreadable[chapter.id] = _("“%(title)s”: enter a date as YYYY-MM-DD.", title=tr(chapter, "title"))
    problems = {**schedule_problems(cohort, read.dates), **unreadable}
    read.errors = [FieldError(date_field(c), problems[c.id]) for c in chapters if c.id in problems]
    return read


@dataclass
class LearnerSchedule:
    """A learner's cohort as their pages need it (read with their progress: course.progress.learner_state)."""

    cohort_id: int
    ends_on: date  # the cohort's last day
    extension_days: int  # the learner's extension
    opens: dict[int, date]  # chapter id → date it opens

    @property
    def deadline(self) -> date:
        """The last day quizzes can be submitted: the cohort's end plus the learner's extension."""
        return self.ends_on + timedelta(days=self.extension_days)

    def is_open(self, chapter_id: int, on: date | None = None) -> bool:
        opens_on = self.opens.get(chapter_id)
        return opens_on is None or (on or today()) >= opens_on

    def closed(self, on: date | None = None) -> bool:
        return (on or today()) > self.deadline
