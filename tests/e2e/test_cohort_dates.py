"""Moving a cohort's start date in the browser: the sentence under the ticked "Move the chapter dates with the
start date" says by how many days while the new date is typed, and saving moves every chapter date with it."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from course.clock import today
from course.cohorts.models import ChapterRelease
from course.cohorts.services import CohortSettings, create_cohort
from course.content.models import Course

from .actions import expect, login


def test_moving_the_start_date_says_by_how_many_days_and_moves_the_schedule(site, new_context) -> None:
    """With the Content-Security-Policy on (the script is a file of the site's); tests/e2e/test_accessibility.py
    runs axe on the edit form."""
    instructor = site.account("instructor", name="Dana Dates")
    with site.session() as session:
        course = session.scalar(select(Course).where(Course.key == "mini-course"))
        start = today() + timedelta(days=14)
        settings = CohortSettings(
            name=f"Dates {uuid.uuid4().hex[:6]}", starts_on=start, ends_on=start + timedelta(weeks=8)
        )
        cohort = create_cohort(course, settings, [instructor.id])
        session.flush()
        cohort_id = cohort.id
        weekly = sorted(session.scalars(select(ChapterRelease.opens_on).where(ChapterRelease.cohort_id == cohort_id)))

    page = new_context().new_page()
    login(page, instructor)
    page.goto(f"/cohorts/{cohort_id}/edit")
    box = page.get_by_label("Move the chapter dates with the start date")
    help_text = page.locator("#shift_schedule-help")
    expect(box).to_be_checked()
    expect(help_text).to_have_text(
        "When you change the start date, every chapter date moves by the same number of days."
    )

    page.get_by_label("Starts on").fill((start + timedelta(days=9)).isoformat())
    expect(help_text).to_have_text("The start date moves 9 days later: every chapter date moves 9 days later with it.")
    page.get_by_label("Starts on").fill((start - timedelta(days=1)).isoformat())
    expect(help_text).to_have_text(
        "The start date moves 1 day earlier: every chapter date moves 1 day earlier with it."
    )

    page.get_by_label("Starts on").fill((start + timedelta(days=9)).isoformat())
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash-success").nth(1)).to_have_text(
        "Every chapter date moved 9 days later with the start date."
    )
    with site.session() as session:
        moved = sorted(session.scalars(select(ChapterRelease.opens_on).where(ChapterRelease.cohort_id == cohort_id)))
    assert moved == [day + timedelta(days=9) for day in weekly]
