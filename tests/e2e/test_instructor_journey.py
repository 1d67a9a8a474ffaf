"""An instructor's journey in the browser: create a cohort → copy its invite link → learners join from their own
browsers → the dashboard, the learner grid and its CSV export."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import timedelta
from pathlib import Path

from conftest import DEFAULT_PASSWORD

from course.clock import today

from .actions import expect, login, register

GRID_COLUMNS = [
    "Full name",
    "Email",
    "Enrolled (Asia/Shanghai)",  # times in the reader's zone, named in the header
    "Progress %",
    "Lessons done",
    "Last active (Asia/Shanghai)",
    "Completed",
    "Extension days",
]


def test_an_instructor_runs_a_cohort_from_creation_to_the_csv_export(site, new_context, screenshot) -> None:
    instructor = site.account("instructor", name="Grace Instructor")
    page = new_context().new_page()
    login(page, instructor)

    # A new cohort of the mini course, starting today.
    page.get_by_role("link", name="Cohorts", exact=True).click()
    page.get_by_role("link", name="New cohort").click()
    screenshot(page, "12-cohort-new")
    name = f"Spring {uuid.uuid4().hex[:6]}"
    page.get_by_label("Course").select_option(label="Mini Founder Course")
    page.get_by_label("Name").fill(name)
    with site.app.app_context():  # the app's today (the school's time zone), so the first chapter is open
        start = today()
    page.get_by_label("Starts on").fill(start.isoformat())
    page.get_by_label("Ends on").fill((start + timedelta(weeks=10)).isoformat())
    page.get_by_role("button", name="Save").click()
    expect(page.locator("h1")).to_have_text(name)
    expect(page.locator(".flash-success")).to_contain_text("created")
    cohort_url = page.url
    assert re.search(r"/cohorts/\d+$", cohort_url), cohort_url

    # The invite link, as the instructor would copy it from the page.
    invite = page.locator("#invite-link").input_value().strip()
    assert re.fullmatch(rf"{re.escape(site.url)}/join/[\w-]+", invite), invite

    # A new visitor opens it, registers and lands in the cohort; a learner with an account joins with one click.
    newcomer = new_context().new_page()
    newcomer.goto(invite)
    expect(newcomer.locator("h1")).to_contain_text(name)
    newcomer.get_by_role("link", name="Register and join").click()
    register(newcomer, "Nora Newcomer", f"nora-{uuid.uuid4().hex[:6]}@example.com", DEFAULT_PASSWORD, path=newcomer.url)
    expect(newcomer.locator(".flash-success").nth(1)).to_contain_text(f"You joined “{name}”")
    newcomer.get_by_role("link", name="Start: 1.1 Welcome").click()
    newcomer.get_by_role("button", name="Mark complete and continue").click()
    expect(newcomer.locator("h1")).to_have_text("1.2 Models")

    member = site.account(name="Mo Member")
    other = new_context(locale="zh-CN").new_page()
    login(other, member)
    other.goto(invite)
    other.locator("main form button[type=submit]").click()  # in Chinese: this browser asks for zh-CN
    expect(other.locator(".flash-success")).to_contain_text(name)

    # The instructor sees them on the cohort page, then in the dashboard.
    page.reload()
    expect(page.locator("#learners tbody tr")).to_have_count(2)
    screenshot(page, "13-cohort")
    page.get_by_role("link", name="Dashboard").click()
    expect(page.locator("h1")).to_be_visible()
    expect(page.locator(".dash-facts").first).to_contain_text("2")
    charts = page.locator("section:has(> figure.chart)")
    expect(charts).to_have_count(2)
    for n in range(2):  # each chart's numbers are also a table, one click away
        charts.nth(n).locator("details summary").click()
        expect(charts.nth(n).locator("details table tbody tr").first).to_be_visible()
    screenshot(page, "14-dashboard")

    page.locator(".dash-nav").get_by_role("link", name="Learners").click()
    grid = page.locator("table.grid tbody tr")
    expect(grid).to_have_count(2)
    expect(grid.first).to_contain_text("Mo Member")
    expect(grid.nth(1)).to_contain_text("Nora Newcomer")
    screenshot(page, "15-dashboard-learners")

    with page.expect_download() as info:
        page.get_by_role("link", name="Download the whole grid (CSV)").click()
    download = info.value
    assert download.suggested_filename.endswith(".csv"), download.suggested_filename
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8-sig"))))
    header = rows[0]
    assert header[: len(GRID_COLUMNS)] == GRID_COLUMNS, header
    assert "Chapter 1 Introduction: lessons done (of 2)" in header, header
    assert {row[0] for row in rows[1:]} == {"Mo Member", "Nora Newcomer"}
    nora = next(row for row in rows[1:] if row[0] == "Nora Newcomer")
    assert nora[header.index("Lessons done")] == "1"
