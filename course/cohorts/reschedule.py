"""Moving a cohort's schedule with its start date.

When an instructor moves a cohort's start, the edit form offers (ticked by default) to move every chapter's
release date by the same number of days, so the schedule keeps its shape: one chapter a week stays one chapter
a week. The dates move in the transaction that saves the new start, through `schedule.set_schedule`, which
checks them and records the change in the audit log as any schedule change.

The form's sentence says by how many days; the page's script (static/js/cohort_form.js) updates it while the
instructor types a new date, from the variants `shift_sentences` gives it.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import format_date, ngettext
from flask_babel import gettext as _

from course.cohorts.errors import CohortError
from course.cohorts.models import Cohort
from course.cohorts.schedule import release_dates, schedule_rows, set_schedule
from course.content.i18n import tr

FIELD = "shift_schedule"  # the edit form's checkbox, which a refusal marks
SAMPLE_DAYS = 987654321  # stands for the number in a sentence the page's script fills in


def shift_schedule(cohort: Cohort, days: int) -> int:
    """Move every release date of `cohort` by `days` (the cohort's new dates already set). Returns how many
    chapter dates moved. Refused, naming the first chapter in course order, when a moved date would fall outside
    the cohort's dates."""
    dates = release_dates(cohort)
    if not days or not dates:
        return 0
    moved = {chapter_id: _moved(day, days) for chapter_id, day in dates.items()}
    for row in schedule_rows(cohort):
        day = moved.get(row.chapter.id)
        if day is None:
            continue
        title = tr(row.chapter, "title")
        if day > cohort.ends_on:
            raise CohortError(
                _(
                    "Moved with the start date, “%(title)s” would open on %(date)s, after the cohort ends on "
                    "%(end)s. Move the end date too, or leave the chapter dates where they are.",
                    title=title,
                    date=format_date(day, "long"),
                    end=format_date(cohort.ends_on, "long"),
                ),
                field=FIELD,
            )
        if day < cohort.starts_on:
            raise CohortError(
                _(
                    "Moved with the start date, “%(title)s” would open on %(date)s, before the cohort starts on "
                    "%(start)s. Change its date in the schedule, or leave the chapter dates where they are.",
                    title=title,
                    date=format_date(day, "long"),
                    start=format_date(cohort.starts_on, "long"),
                ),
                field=FIELD,
            )
    set_schedule(cohort, moved)
    return len(moved)


def _moved(day: date, days: int) -> date:
    """`day` moved by `days`; past the calendar's last day, that last day (after any cohort's end: refused)."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.max if days > 0 else date.min


def has_schedule(cohort: Cohort) -> bool:
    return bool(release_dates(cohort))


def shift_sentence(days: int) -> str:
    """What ticking the box does, for a start date moved by `days`."""
    if days > 0:
        return ngettext(
            "The start date moves %(num)d day later: every chapter date moves %(num)d day later with it.",
            "The start date moves %(num)d days later: every chapter date moves %(num)d days later with it.",
            days,
        )
    if days < 0:
        return ngettext(
            "The start date moves %(num)d day earlier: every chapter date moves %(num)d day earlier with it.",
            "The start date moves %(num)d days earlier: every chapter date moves %(num)d days earlier with it.",
            -days,
        )
    return _("When you change the start date, every chapter date moves by the same number of days.")


def shift_sentences(starts_on: date) -> dict[str, str]:
    """The sentence's variants as data attributes for the page's script: the cohort's saved start, the sentence
    without a change, and for one day and for any other number (SAMPLE_DAYS, to be replaced), later and earlier."""
    return {
        "data-starts-on": starts_on.isoformat(),
        "data-same": shift_sentence(0),
        "data-later-one": shift_sentence(1),
        "data-later-other": shift_sentence(SAMPLE_DAYS),
        "data-earlier-one": shift_sentence(-1),
        "data-earlier-other": shift_sentence(-SAMPLE_DAYS),
        "data-sample": str(SAMPLE_DAYS),
    }


def shifted_message(days: int) -> str:
    """After saving: what happened to the schedule."""
    if days > 0:
        return ngettext(
            "Every chapter date moved %(num)d day later with the start date.",
            "Every chapter date moved %(num)d days later with the start date.",
            days,
        )
    return ngettext(
        "Every chapter date moved %(num)d day earlier with the start date.",
        "Every chapter date moved %(num)d days earlier with the start date.",
        -days,
    )
