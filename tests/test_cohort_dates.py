"""A cohort's dates on its edit form: moving the start date offers to move every chapter's release date by as
many days (ticked by default), in the same transaction and audited as a schedule change; and the at-risk list's
setting, after how many days without activity a learner counts as inactive."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from conftest import FIXTURE_COURSE, do_login, new_client
from sqlalchemy import delete, select

from config import TestingConfig
from course.audit.models import AuditEntry
from course.clock import site_today
from course.cohorts import services
from course.cohorts.errors import CohortError
from course.cohorts.models import ChapterRelease, Cohort
from course.cohorts.reschedule import SAMPLE_DAYS
from course.content.models import Chapter, Course
from course.extensions import db as _db

TODAY = site_today(TestingConfig.BABEL_DEFAULT_TIMEZONE)
START = TODAY + timedelta(days=10)
END = START + timedelta(weeks=6)  # the mini course's three chapters open on START, +1 week, +2 weeks


@pytest.fixture
def instructor(make_user):
    return make_user(email="teacher@example.com", role="instructor", name="Tess Teacher")


@pytest.fixture
def staff(app, instructor):
    client = new_client(app)
    assert do_login(client, instructor.email).status_code == 302
    return client


@pytest.fixture
def cohort_id(app, loaded_course, instructor) -> int:
    with app.app_context():
        course = _db.session.scalar(select(Course).where(Course.key == FIXTURE_COURSE))
        settings = services.CohortSettings(name="Dated", starts_on=START, ends_on=END)
        cohort = services.create_cohort(course, settings, [instructor.id])
        _db.session.commit()
        return cohort.id


def releases(app, cohort_id: int) -> dict[str, date]:
    with app.app_context():
        rows = _db.session.execute(
            select(Chapter.key, ChapterRelease.opens_on)
            .join(Chapter, Chapter.id == ChapterRelease.chapter_id)
            .where(ChapterRelease.cohort_id == cohort_id)
        )
        return dict(rows.all())


def cohort_dates(app, cohort_id: int) -> tuple[date, date, int]:
    with app.app_context():
        cohort = _db.session.get(Cohort, cohort_id)
        return cohort.starts_on, cohort.ends_on, cohort.inactive_after_days


def audit_entries(app, cohort_id: int) -> list[AuditEntry]:
    with app.app_context():
        entries = _db.session.scalars(
            select(AuditEntry).where(AuditEntry.cohort_id == cohort_id).order_by(AuditEntry.id)
        ).all()
        _db.session.expunge_all()
        return list(entries)


def chapter_ids(app) -> dict[str, int]:
    with app.app_context():
        return dict(_db.session.execute(select(Chapter.key, Chapter.id)).all())


def edit(staff, app, cohort_id: int, shift: bool | None, **changes) -> object:
    start, end, _days = cohort_dates(app, cohort_id)
    with app.app_context():
        course_id = _db.session.get(Cohort, cohort_id).course_id
    data = {"course": course_id, "name": "Dated", "starts_on": start.isoformat(), "ends_on": end.isoformat()}
    data.update({key: value.isoformat() if isinstance(value, date) else value for key, value in changes.items()})
    if shift:
        data["shift_schedule"] = "y"
    return staff.post(f"/cohorts/{cohort_id}/edit", data=data)


WEEKLY = {"intro": START, "training": START + timedelta(weeks=1), "launch": START + timedelta(weeks=2)}


def moved(days: int) -> dict[str, date]:
    return {key: day + timedelta(days=days) for key, day in WEEKLY.items()}


# -- the offer --------------------------------------------------------------------------------------------------
def checkbox(html: str) -> str | None:
    found = re.search(r'<input[^>]*id="shift_schedule"[^>]*>', html)
    return found.group(0) if found else None


def test_the_edit_form_offers_to_move_the_chapter_dates_ticked(app, cohort_id, staff):
    html = staff.get(f"/cohorts/{cohort_id}/edit").get_data(as_text=True)
    box = checkbox(html)
    assert box is not None and "checked" in box and 'type="checkbox"' in box
    assert "Move the chapter dates with the start date" in html
    assert "every chapter date moves by the same number of days" in html  # nothing moved yet
    # what the page's script needs to say the number while a new date is typed
    assert f'data-starts-on="{START.isoformat()}"' in box
    assert "The start date moves 1 day later" in box
    assert f"The start date moves {SAMPLE_DAYS} days earlier" in box
    assert re.search(r"/static/js/cohort_form(\.[0-9a-f]{12})?\.js\b", html)  # hashed once built
    # the setting of the at-risk list, with its current value
    assert re.search(r'<input[^>]*id="inactive_after_days"[^>]*value="7"', html)


def test_no_offer_without_a_schedule_or_on_a_new_cohort(app, cohort_id, staff):
    new = staff.get("/cohorts/new").get_data(as_text=True)
    assert checkbox(new) is None and "js/cohort_form" not in new
    assert 'id="inactive_after_days"' in new
    with app.app_context():
        _db.session.execute(delete(ChapterRelease).where(ChapterRelease.cohort_id == cohort_id))
        _db.session.commit()
    html = staff.get(f"/cohorts/{cohort_id}/edit").get_data(as_text=True)
    assert checkbox(html) is None and "js/cohort_form" not in html


# -- moving the schedule ----------------------------------------------------------------------------------------
def test_moving_the_start_moves_every_chapter_date_and_is_audited(app, cohort_id, staff):
    response = edit(staff, app, cohort_id, shift=True, starts_on=START + timedelta(days=7), ends_on=END + timedelta(7))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert releases(app, cohort_id) == moved(7)
    assert cohort_dates(app, cohort_id)[:2] == (START + timedelta(days=7), END + timedelta(days=7))
    page = staff.get(response.location).get_data(as_text=True)
    assert "Cohort saved." in page and "Every chapter date moved 7 days later with the start date." in page

    edited, changed = audit_entries(app, cohort_id)[-2:]
    assert edited.action == "cohort edited" and changed.action == "schedule changed"
    assert (
        edited.before["starts_on"] == START.isoformat() and edited.after["starts_on"] == moved(7)["intro"].isoformat()
    )
    ids = chapter_ids(app)
    assert changed.before == {str(ids[key]): day.isoformat() for key, day in WEEKLY.items()}
    assert changed.after == {str(ids[key]): day.isoformat() for key, day in moved(7).items()}


def test_moving_the_start_earlier_moves_the_dates_earlier(app, cohort_id, staff):
    response = edit(staff, app, cohort_id, shift=True, starts_on=START - timedelta(days=3))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert releases(app, cohort_id) == moved(-3)
    page = staff.get(response.location).get_data(as_text=True)
    assert "Every chapter date moved 3 days earlier with the start date." in page


def test_unticked_the_chapter_dates_stay(app, cohort_id, staff):
    before = len(audit_entries(app, cohort_id))
    response = edit(staff, app, cohort_id, shift=False, starts_on=START - timedelta(days=2))
    assert response.status_code == 302
    assert releases(app, cohort_id) == WEEKLY
    assert [e.action for e in audit_entries(app, cohort_id)[before:]] == ["cohort edited"]


def test_ticked_without_a_new_start_nothing_moves(app, cohort_id, staff):
    before = len(audit_entries(app, cohort_id))
    response = edit(staff, app, cohort_id, shift=True, capacity="40")
    assert response.status_code == 302
    assert releases(app, cohort_id) == WEEKLY
    assert [e.action for e in audit_entries(app, cohort_id)[before:]] == ["cohort edited"]
    assert "chapter date moved" not in staff.get(response.location).get_data(as_text=True)


def test_a_move_that_would_pass_the_end_is_refused_and_nothing_is_saved(app, cohort_id, staff):
    """Launch opens two weeks after the start: moved five weeks later with the end left where it is, it would open
    after the end. The page says which chapter, marks the checkbox, and saves neither the dates nor the start."""
    before = len(audit_entries(app, cohort_id))
    response = edit(staff, app, cohort_id, shift=True, starts_on=START + timedelta(weeks=5), capacity="12")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "“Chapter 3 Launch” would open on" in html and "after the cohort ends on" in html
    assert re.search(r'<input[^>]*aria-invalid="true"[^>]*id="shift_schedule"', html) or re.search(
        r'<input[^>]*id="shift_schedule"[^>]*aria-invalid="true"', html
    )
    assert "The start date moves 35 days later: every chapter date moves 35 days later with it." in html
    assert cohort_dates(app, cohort_id)[:2] == (START, END)
    assert releases(app, cohort_id) == WEEKLY
    assert len(audit_entries(app, cohort_id)) == before
    with app.app_context():
        assert _db.session.get(Cohort, cohort_id).capacity is None  # the rest of the form was not saved either


def test_the_service_moves_the_dates_in_the_callers_transaction(app, cohort_id, instructor):
    with app.test_request_context(method="POST"):
        cohort = _db.session.get(Cohort, cohort_id)
        settings = services.CohortSettings(name="Dated", starts_on=START + timedelta(days=1), ends_on=END)
        teacher = _db.session.get(type(instructor), instructor.id)
        assert services.update_cohort(cohort, settings, [], teacher, shift_schedule=True) == 1
        _db.session.rollback()  # the caller did not commit: nothing moved
    assert releases(app, cohort_id) == WEEKLY and cohort_dates(app, cohort_id)[0] == START


# -- the at-risk list's setting ---------------------------------------------------------------------------------
def test_the_inactivity_setting_is_saved_and_audited(app, cohort_id, staff):
    assert edit(staff, app, cohort_id, shift=False, inactive_after_days="14").status_code == 302
    assert cohort_dates(app, cohort_id)[2] == 14
    last = audit_entries(app, cohort_id)[-1]
    assert (last.before, last.after) == ({"inactive_after_days": 7}, {"inactive_after_days": 14})
    assert edit(staff, app, cohort_id, shift=False, inactive_after_days="").status_code == 302
    assert cohort_dates(app, cohort_id)[2] == 14  # left empty: unchanged


@pytest.mark.parametrize("value", ["0", "366", "-3", "abc"])
def test_a_bad_inactivity_setting_is_refused_next_to_its_field(app, cohort_id, staff, value):
    response = edit(staff, app, cohort_id, shift=False, inactive_after_days=value)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'id="inactive_after_days-error"' in html
    assert cohort_dates(app, cohort_id)[2] == 7


def test_a_new_cohort_takes_its_inactivity_setting(app, loaded_course, staff):
    with app.app_context():
        course_id = _db.session.scalar(select(Course.id).where(Course.key == FIXTURE_COURSE))
    data = {"course": course_id, "name": "Patient", "starts_on": START.isoformat(), "ends_on": END.isoformat()}
    assert staff.post("/cohorts/new", data={**data, "inactive_after_days": "21"}).status_code == 302
    assert staff.post("/cohorts/new", data={**data, "name": "Default"}).status_code == 302
    with app.app_context():
        days = dict(_db.session.execute(select(Cohort.name, Cohort.inactive_after_days)).all())
    assert days == {"Patient": 21, "Default": 7}


@pytest.mark.parametrize(
    ("field", "value"), [("starts_on", "0001-01-01"), ("ends_on", "9999-12-31"), ("enrol_opens_on", "1900-05-01")]
)
def test_a_date_outside_the_calendar_the_dashboard_can_count_is_refused(app, cohort_id, staff, field, value):
    """A typo'd year 0001 made every dashboard page of the cohort a 500 (the school's midnight overflowed)."""
    before = cohort_dates(app, cohort_id)
    response = edit(staff, app, cohort_id, shift=True, **{field: value})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html and "Choose a date between 1970 and 9998." in html
    assert cohort_dates(app, cohort_id) == before
    assert staff.get(f"/cohorts/{cohort_id}/dashboard").status_code == 200


def test_the_service_refuses_such_a_date_too(app, cohort_id, instructor):
    """The CLI and the demo generator call the service without a form."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        cohort = _db.session.get(Cohort, cohort_id)
        settings = services.CohortSettings(name="Dated", starts_on=date(1, 1, 1), ends_on=END)
        teacher = _db.session.get(type(instructor), instructor.id)
        with pytest.raises(CohortError, match="between 1970 and 9998"):
            services.update_cohort(cohort, settings, [], teacher)
