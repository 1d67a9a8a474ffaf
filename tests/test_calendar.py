"""A learner's calendar feed (course/cohorts/calendar.py, ics.py, course/learn/calendar.py): an iCalendar file at a
secret address, no login needed, with exactly their cohort's dates in their language; made and reset by the
learner on the outline, after which the old address answers 404."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from conftest import do_login, new_client
from dashboard_factories import make_cohort
from icalendar import Calendar
from sqlalchemy import func, select, update

from course.accounts.models import User
from course.clock import today
from course.cohorts.calendar_models import CalendarFeed
from course.cohorts.enrolment import enrol
from course.cohorts.models import Cohort, Enrolment
from course.content.models import Chapter
from course.extensions import db as _db

OUTLINE = "/courses/mini-course"
FEED = re.compile(r'value="(https?://[^"]+/calendar/([^"/]+)\.ics)"')


@pytest.fixture
def day(app) -> date:
    with app.app_context():
        return today()


@pytest.fixture
def cohort(app, loaded_course, day) -> int:
    """Autumn: started ten days ago, a chapter a week; chapter 2's title is Chinese with an English translation."""
    cohort_id = make_cohort(
        app,
        name="Autumn",
        starts_on=day - timedelta(days=10),
        opens={
            "intro": day - timedelta(days=10),
            "training": day - timedelta(days=3),
            "launch": day + timedelta(days=4),
        },
    )
    with app.app_context():
        chapter = _db.session.scalar(select(Chapter).where(Chapter.key == "training"))
        chapter.title, chapter.i18n = "第2章 训练", {"en": {"title": "Chapter 2 Training"}}
        _db.session.commit()  # through the ORM: the process's cached outline is dropped
    return cohort_id


def join(app, user, cohort_id: int, language: str | None = None, extension_days: int = 0) -> None:
    with app.app_context():
        member = _db.session.get(User, user.id)
        member.language = language
        enrol(_db.session.get(Cohort, cohort_id), member, check_window=False)
        _db.session.execute(update(Enrolment).where(Enrolment.user_id == user.id).values(extension_days=extension_days))
        _db.session.commit()


def logged_in(app, user):
    client = new_client(app)
    assert do_login(client, user.email).status_code == 302
    return client


def get_link(client) -> tuple[str, str]:
    """Ask for the calendar link on the outline; (its https address, its path)."""
    response = client.post(f"{OUTLINE}/calendar")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"{OUTLINE}#calendar")
    return shown_link(client)


def shown_link(client) -> tuple[str, str]:
    page = client.get(OUTLINE).get_data(as_text=True)
    found = FEED.search(page)
    assert found, "no calendar link on the outline"
    url = found.group(1)
    assert f'href="webcal://{url.split("://", 1)[1]}"' in page
    return url, f"/calendar/{found.group(2)}.ics"


def events(body: bytes) -> dict[str, tuple[date, str]]:
    calendar = Calendar.from_ical(body)
    assert str(calendar["VERSION"]) == "2.0" and calendar["PRODID"]
    return {
        str(event["UID"]): (event.decoded("DTSTART"), str(event["SUMMARY"]))
        for event in calendar.walk("VEVENT")
        if event["DTSTAMP"] and event.decoded("DTEND") == event.decoded("DTSTART") + timedelta(days=1)
    }


def test_the_feed_lists_the_cohorts_dates_in_the_learners_language(app, cohort, day, make_user):
    lena = make_user(email="lena@example.com", name="Lena")
    join(app, lena, cohort, language="en", extension_days=5)
    client = logged_in(app, lena)
    url, path = get_link(client)
    assert url.startswith("http://localhost/calendar/")
    assert get_link(client) == (url, path)  # asked again (a double click): the same link

    response = new_client(app).get(path)  # a calendar app: no login, no cookie
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"].startswith("private")
    calendar = Calendar.from_ical(response.data)
    assert str(calendar["X-WR-CALNAME"]) == "Autumn · Mini Founder Course"
    found = events(response.data)
    with app.app_context():
        chapters = dict(_db.session.execute(select(Chapter.key, Chapter.id)).all())
    assert found == {
        f"cohort-{cohort}-chapter-{chapters['intro']}@localhost": (
            day - timedelta(days=10),
            "Opens: Chapter 1 Introduction",
        ),
        f"cohort-{cohort}-chapter-{chapters['training']}@localhost": (
            day - timedelta(days=3),
            "Opens: Chapter 2 Training",
        ),
        f"cohort-{cohort}-chapter-{chapters['launch']}@localhost": (day + timedelta(days=4), "Opens: Chapter 3 Launch"),
        f"cohort-{cohort}-end@localhost": (day + timedelta(days=110), "Last day of Autumn"),
        f"cohort-{cohort}-user-{lena.id}-extension@localhost": (
            day + timedelta(days=115),
            "Your extended last day in Autumn",
        ),
    }
    (training,) = [e for e in calendar.walk("VEVENT") if "Training" in str(e["SUMMARY"])]
    assert str(training["URL"]) == "http://localhost/courses/mini-course#chapter-training"
    assert "2 lessons and a quiz." in str(training["DESCRIPTION"])
    assert new_client(app).get(str(training["URL"]).removeprefix("http://localhost")).status_code == 200

    # A date moved: the same event (its UID) with the new date, so calendar apps move it.
    with app.app_context():
        _db.session.execute(update(Enrolment).where(Enrolment.user_id == lena.id).values(extension_days=0))
        _db.session.commit()
    again = events(new_client(app).get(path).data)
    assert set(again) == set(found) - {f"cohort-{cohort}-user-{lena.id}-extension@localhost"}


def test_a_chinese_learner_gets_the_chinese_titles(app, cohort, make_user):
    wei = make_user(email="wei@example.com", name="Wei")
    join(app, wei, cohort, language="zh_Hans")
    _url, path = get_link(logged_in(app, wei))
    summaries = {summary for _day, summary in events(new_client(app).get(path).data).values()}
    assert any("第2章 训练" in summary for summary in summaries), summaries
    assert not any("Chapter 2 Training" in summary for summary in summaries)


def test_resetting_the_link_stops_the_old_one(app, cohort, make_user):
    lena = make_user(email="lena@example.com", name="Lena")
    join(app, lena, cohort)
    client = logged_in(app, lena)
    _url, old = get_link(client)
    assert new_client(app).get(old).status_code == 200
    response = client.post(f"{OUTLINE}/calendar/reset")
    assert response.status_code == 302 and response.headers["Location"].endswith("#calendar")
    _url, new = shown_link(client)
    assert new != old
    assert new_client(app).get(old).status_code == 404
    assert new_client(app).get(new).status_code == 200
    with app.app_context():  # one row per learner and cohort, holding no token
        assert _db.session.scalar(select(func.count()).select_from(CalendarFeed)) == 1
        salt = _db.session.scalar(select(CalendarFeed.token_salt))
    assert salt not in new


def test_unknown_and_tampered_tokens_are_404(app, cohort, make_user):
    lena, tom = make_user(email="lena@example.com"), make_user(email="tom@example.com")
    join(app, lena, cohort)
    join(app, tom, cohort)
    _url, lenas = get_link(logged_in(app, lena))
    _url, toms = get_link(logged_in(app, tom))
    lena_id, lena_mac = lenas.removeprefix("/calendar/").removesuffix(".ics").split("-", 1)
    tom_id, tom_mac = toms.removeprefix("/calendar/").removesuffix(".ics").split("-", 1)
    anyone = new_client(app)
    for bad in (
        f"/calendar/{lena_id}-{tom_mac}.ics",  # another learner's mac on her row
        f"/calendar/{tom_id}-{lena_mac}.ics",
        f"/calendar/{lena_id}-{lena_mac[:-1]}x.ics",
        f"/calendar/{lena_id}.ics",
        "/calendar/not-a-token.ics",
        "/calendar/999999999999999999999-abc.ics",
        "/calendar/-.ics",
    ):
        assert anyone.get(bad).status_code == 404, bad
    assert anyone.get(lenas).status_code == 200 and anyone.get(toms).status_code == 200


def test_a_learner_who_left_the_cohort_or_was_disabled_has_no_feed(app, cohort, make_user):
    lena, tom = make_user(email="lena@example.com"), make_user(email="tom@example.com")
    join(app, lena, cohort)
    join(app, tom, cohort)
    _url, lenas = get_link(logged_in(app, lena))
    _url, toms = get_link(logged_in(app, tom))
    with app.app_context():
        _db.session.execute(Enrolment.__table__.delete().where(Enrolment.user_id == lena.id))
        _db.session.execute(update(User).where(User.id == tom.id).values(active=False))
        _db.session.commit()
    assert new_client(app).get(lenas).status_code == 404
    assert new_client(app).get(toms).status_code == 404


def test_only_a_logged_in_learner_of_a_cohort_makes_or_resets_their_link(app, cohort, make_user):
    for action in ("calendar", "calendar/reset"):
        response = new_client(app).post(f"{OUTLINE}/{action}")
        assert response.status_code == 302 and "/login" in response.headers["Location"]
        outsider = logged_in(app, make_user())  # in no cohort of the course
        assert outsider.post(f"{OUTLINE}/{action}").status_code == 404
        assert outsider.post(f"/courses/no-such-course/{action}").status_code == 404
    with app.app_context():
        assert _db.session.scalar(select(func.count()).select_from(CalendarFeed)) == 0
    # Her reset changes her own link only: the URL names no one, the session says who.
    lena, tom = make_user(email="lena@example.com"), make_user(email="tom@example.com")
    join(app, lena, cohort)
    join(app, tom, cohort)
    lena_client = logged_in(app, lena)
    _url, lenas = get_link(lena_client)
    _url, toms = get_link(logged_in(app, tom))
    assert lena_client.post(f"{OUTLINE}/calendar/reset").status_code == 302
    assert new_client(app).get(toms).status_code == 200 and new_client(app).get(lenas).status_code == 404


def test_the_outline_offers_the_calendar_to_cohort_learners_only(app, cohort, make_user):
    lena = make_user(email="lena@example.com")
    join(app, lena, cohort)
    page = logged_in(app, lena).get(OUTLINE).get_data(as_text=True)
    assert 'id="calendar"' in page and "Get my calendar link" in page and "/calendar/" not in page.split("<main")[1]
    outsider = logged_in(app, make_user()).get(OUTLINE).get_data(as_text=True)
    assert 'id="calendar"' not in outsider and 'id="calendar"' not in new_client(app).get(OUTLINE).get_data(
        as_text=True
    )


def test_deleting_the_account_deletes_the_feed(app, cohort, make_user):
    from course.privacy.deletion import delete_account

    lena = make_user(email="lena@example.com")
    join(app, lena, cohort)
    _url, path = get_link(logged_in(app, lena))
    with app.app_context():
        user = _db.session.get(User, lena.id)
        delete_account(user, by=user)
        _db.session.commit()
        assert _db.session.scalar(select(func.count()).select_from(CalendarFeed)) == 0
    assert new_client(app).get(path).status_code == 404
