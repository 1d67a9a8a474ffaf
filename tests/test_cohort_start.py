"""A learner's side of a cohort's release schedule: a cohort that has not started yet, chapters that open later,
the locked page, and what joining a cohort keeps open (the release rule in course.progress.outline)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from html import unescape
from zoneinfo import ZoneInfo

from conftest import FIXTURE_COURSE, RIGHT_ANSWERS, complete_lessons, lesson_url, quiz_url, submit_quiz
from sqlalchemy import select

from config import TestingConfig
from course.accounts.models import User
from course.clock import site_today
from course.cohorts import services
from course.cohorts.enrolment import enrol
from course.cohorts.models import Cohort
from course.cohorts.schedule import release_dates, set_schedule
from course.content.models import Chapter, Course
from course.extensions import db as _db

SCHOOL = ZoneInfo(TestingConfig.BABEL_DEFAULT_TIMEZONE)
TODAY = site_today(TestingConfig.BABEL_DEFAULT_TIMEZONE)  # the school's today
OUTLINE = f"/courses/{FIXTURE_COURSE}"
LOCKED_PAGE = "Back to the course outline"


def long_date(day: date) -> str:
    """A date as the English pages write it ("March 9, 2025")."""
    return f"{day:%B} {day.day}, {day.year}"


def text_of(response) -> str:
    return unescape(response.get_data(as_text=True))


def start_cohort(app, starts_on: date) -> int:
    """A cohort of the fixture course with the default schedule: chapter 1 on `starts_on`, one chapter a week."""
    with app.app_context():
        course = _db.session.scalar(select(Course).where(Course.key == FIXTURE_COURSE))
        settings = services.CohortSettings(name="Pilot", starts_on=starts_on, ends_on=starts_on + timedelta(weeks=8))
        cohort = services.create_cohort(course, settings, [])
        _db.session.commit()
        return cohort.id


def join(app, cohort_id: int, user: User) -> None:
    with app.app_context():
        enrol(_db.session.get(Cohort, cohort_id), _db.session.get(User, user.id), check_window=False)
        _db.session.commit()


def locked_chapters(outline: str) -> list[str]:
    """When each locked chapter of the outline opens, as it says beside the chapter's title."""
    return re.findall(r'<span class="chapter-status"><span class="badge">Locked</span> Opens ([^<]+)</span>', outline)


def primary_links(page: str) -> list[str]:
    return re.findall(r'<a class="button button-primary" href="([^"]+)"', page)


# -- a cohort that starts next week -------------------------------------------------------------------------
def test_a_cohort_that_starts_next_week_says_when_the_course_opens_and_links_to_nothing_locked(
    app, loaded_course, client, learner
):
    starts = TODAY + timedelta(days=7)
    join(app, start_cohort(app, starts), learner)

    outline = text_of(client.get(OUTLINE))
    assert f"The course opens for your cohort on {long_date(starts)}." in outline
    assert primary_links(outline) == []  # no "Start" button to a locked lesson…
    assert f'<span class="step-opens">Opens on {long_date(starts)}</span>' in outline  # …but when it opens
    assert f"Opens {long_date(starts + timedelta(days=7))}" in outline  # chapter 2, beside its title
    assert f'href="{lesson_url("welcome")}"' not in outline

    for locked in (lesson_url("welcome"), quiz_url("intro-quiz")):
        page = client.get(locked)
        assert page.status_code == 403
        body = text_of(page)
        assert f"This chapter opens on {long_date(starts)}." in body
        assert f'<a class="button" href="{OUTLINE}">{LOCKED_PAGE}</a>' in body
        assert 'class="site-header"' in body and "Chapter 1 Introduction" in body
    refused = client.post(f"{lesson_url('welcome')}/complete")
    assert refused.status_code == 403 and LOCKED_PAGE in text_of(refused)


def test_the_opening_is_shown_in_the_readers_time_zone(app, loaded_course, client, learner):
    starts = TODAY + timedelta(days=7)
    join(app, start_cohort(app, starts), learner)
    with app.app_context():
        _db.session.get(User, learner.id).time_zone = "America/New_York"
        _db.session.commit()
    # The school's midnight, where the reader is: the evening or afternoon before, in New York.
    there = datetime.combine(starts, time.min, tzinfo=SCHOOL).astimezone(ZoneInfo("America/New_York"))
    moment = f"{long_date(there.date())}, {there:%-I}:{there:%M}\u202f{there:%p}"
    page = text_of(client.get(lesson_url("welcome")))
    assert f"This chapter opens on {moment}." in page
    assert f"Opens on {moment}" in text_of(client.get(OUTLINE))


# -- chapters that open later -------------------------------------------------------------------------------
def test_when_the_open_chapters_are_done_continue_says_when_the_next_one_opens(app, loaded_course, client, learner):
    join(app, start_cohort(app, TODAY), learner)  # chapter 1 today, chapter 2 next week
    next_week = long_date(TODAY + timedelta(days=7))
    lesson = text_of(client.get(lesson_url("models")))
    assert 'rel="prev"' in lesson and 'rel="next"' not in lesson  # "next" would be chapter 2's first lesson

    complete_lessons(client, "welcome", "models")
    result = submit_quiz(client, "intro-quiz", RIGHT_ANSWERS["intro-quiz"])
    result_page = text_of(client.get(result.headers["Location"]))
    assert f"The next chapter opens on {next_week}" in result_page
    assert lesson_url("data") not in result_page

    outline = text_of(client.get(OUTLINE))
    assert primary_links(outline) == []
    assert f'<span class="step-opens">The next chapter opens on {next_week}</span>' in outline
    assert "The course opens for your cohort" not in outline  # it has opened
    assert f'href="{OUTLINE}/summary">Your summary</a>' in outline


# -- joining keeps what was started open ---------------------------------------------------------------------
def test_joining_a_cohort_keeps_open_what_the_learner_had_started(app, loaded_course, client, learner):
    # Self-paced: chapter 1 read, chapter 3 begun; chapter 2 never opened.
    complete_lessons(client, "welcome", "models")
    assert client.get(lesson_url("pricing")).status_code == 200
    # Then they join a cohort that opens chapter 1 today, chapter 2 next week and chapter 3 the week after.
    cohort_id = start_cohort(app, TODAY)
    join(app, cohort_id, learner)

    outline = text_of(client.get(OUTLINE))
    assert "2 of 9 items done" in outline  # the progress made before joining is all there
    assert primary_links(outline) == [lesson_url("pricing")]  # where they left off, open
    assert locked_chapters(outline) == [long_date(TODAY + timedelta(days=7))]  # chapter 2 only
    for started in (lesson_url("welcome"), lesson_url("pricing"), lesson_url("growth"), quiz_url("launch-quiz")):
        assert client.get(started).status_code == 200, started  # the whole started chapter, its quiz too
    for untouched in (lesson_url("data"), quiz_url("training-quiz")):
        assert client.get(untouched).status_code == 403, untouched
    assert 'rel="next" href="{}"'.format(lesson_url("pricing")) in text_of(client.get(lesson_url("models")))

    # Chapter 2 opens on its date: here the instructor moves it to today.
    with app.app_context():
        cohort = _db.session.get(Cohort, cohort_id)
        training = _db.session.scalar(select(Chapter.id).where(Chapter.key == "training"))
        set_schedule(cohort, {**release_dates(cohort), training: TODAY})
        _db.session.commit()
    assert client.get(lesson_url("data")).status_code == 200
    assert locked_chapters(text_of(client.get(OUTLINE))) == []


def test_a_chapter_whose_date_moves_later_stays_open_to_who_started_it(app, loaded_course, client, learner):
    cohort_id = start_cohort(app, TODAY - timedelta(days=7))  # chapter 2 opened today
    join(app, cohort_id, learner)
    client.get(lesson_url("data"))
    with app.app_context():
        cohort = _db.session.get(Cohort, cohort_id)
        training = _db.session.scalar(select(Chapter.id).where(Chapter.key == "training"))
        set_schedule(cohort, {**release_dates(cohort), training: TODAY + timedelta(days=3)})
        _db.session.commit()
    assert client.get(lesson_url("data")).status_code == 200
    assert client.get(lesson_url("tuning")).status_code == 200
