"""Cohorts: creation and validation, release schedule and locks, invite links, CSV enrolment, unenrol,
move, extensions, capacity and window."""

from __future__ import annotations

import io
import logging
import re
import time
from datetime import timedelta

import pytest
from conftest import FIXTURE_COURSE, complete_lessons, do_login, lesson_url, new_client, quiz_form, quiz_url
from sqlalchemy import func, select

from config import TestingConfig
from course.accounts.models import User
from course.clock import site_today, today
from course.cohorts import services
from course.cohorts.enrolment import enrol
from course.cohorts.errors import CohortError
from course.cohorts.models import ChapterRelease, Cohort, Enrolment
from course.content.models import Chapter, Course
from course.extensions import db as _db

TODAY = site_today(TestingConfig.BABEL_DEFAULT_TIMEZONE)  # the app's today (the school's time zone)


def make_cohort(app, name="Spring", start=None, end=None, capacity=None, instructors=(), **extra) -> int:
    start = start or TODAY - timedelta(days=1)
    with app.app_context():
        course = _db.session.scalar(select(Course).where(Course.key == FIXTURE_COURSE))
        cohort = services.create_cohort(
            course,
            services.CohortSettings(
                name=name, starts_on=start, ends_on=end or start + timedelta(weeks=8), capacity=capacity, **extra
            ),
            [u.id for u in instructors],
        )
        _db.session.commit()
        return cohort.id


def cohort_row(app, cohort_id) -> Cohort:
    with app.app_context():
        cohort = _db.session.get(Cohort, cohort_id)
        _db.session.expunge(cohort)
        return cohort


def count(app, model, *where) -> int:
    with app.app_context():
        return _db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def instructor(make_user):
    return make_user(email="teacher@example.com", role="instructor", name="Tess Teacher")


@pytest.fixture
def staff_client(app, instructor):
    client = new_client(app)
    assert do_login(client, instructor.email).status_code == 302
    return client


def test_instructor_creates_a_cohort_with_a_weekly_schedule(app, loaded_course, staff_client, instructor):
    start = TODAY + timedelta(days=3)
    response = staff_client.post(
        "/cohorts/new",
        data={
            "course": _course_id(app),
            "name": "Autumn founders",
            "starts_on": start.isoformat(),
            "ends_on": (start + timedelta(weeks=6)).isoformat(),
            "capacity": "30",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        cohort = _db.session.scalar(select(Cohort).where(Cohort.name == "Autumn founders"))
        releases = _db.session.execute(
            select(Chapter.key, ChapterRelease.opens_on)
            .join(Chapter, Chapter.id == ChapterRelease.chapter_id)
            .where(ChapterRelease.cohort_id == cohort.id)
            .order_by(ChapterRelease.opens_on)
        ).all()
        assert [i.user_id for i in cohort.instructors] == [instructor.id]
    assert [d for _k, d in releases] == [start, start + timedelta(weeks=1), start + timedelta(weeks=2)]
    page = staff_client.get(f"/cohorts/{cohort.id}").get_data(as_text=True)
    assert "Autumn founders" in page and f"/join/{cohort.invite_code}" in page


def _course_id(app) -> int:
    with app.app_context():
        return _db.session.scalar(select(Course.id).where(Course.key == FIXTURE_COURSE))


@pytest.mark.parametrize(
    "change, message",
    [
        ({"ends_on": (TODAY - timedelta(days=30)).isoformat()}, "end date must be on or after"),
        ({"capacity": "0"}, "Number must be"),
        (
            {
                "enrol_opens_on": (TODAY + timedelta(days=5)).isoformat(),
                "enrol_closes_on": (TODAY + timedelta(days=1)).isoformat(),
            },
            "Enrolment must close",
        ),
    ],
)
def test_bad_cohort_settings_are_refused_with_a_message(app, loaded_course, staff_client, change, message):
    data = {
        "course": _course_id(app),
        "name": "Bad",
        "starts_on": TODAY.isoformat(),
        "ends_on": (TODAY + timedelta(weeks=4)).isoformat(),
        **change,
    }
    response = staff_client.post("/cohorts/new", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert count(app, Cohort) == 0


def test_capacity_cannot_drop_below_the_enrolled(app, loaded_course, staff_client, instructor, make_user):
    cohort_id = make_cohort(app, instructors=[instructor])
    for i in range(3):
        _enrol(app, cohort_id, make_user(email=f"l{i}@example.com"))
    cohort = cohort_row(app, cohort_id)
    response = staff_client.post(
        f"/cohorts/{cohort_id}/edit",
        data={
            "course": cohort.course_id,
            "name": cohort.name,
            "starts_on": cohort.starts_on.isoformat(),
            "ends_on": cohort.ends_on.isoformat(),
            "capacity": "2",
        },
    )
    assert response.status_code == 400
    assert "below the 3 learners already enrolled" in response.get_data(as_text=True)
    assert cohort_row(app, cohort_id).capacity is None


def _enrol(app, cohort_id, user, check_window=False):
    with app.app_context():
        cohort = _db.session.get(Cohort, cohort_id)
        enrol(cohort, _db.session.get(User, user.id), source="instructor", check_window=check_window)
        _db.session.commit()


def test_locked_chapters_show_their_date_and_refuse_direct_urls(app, loaded_course, client, learner, instructor):
    cohort_id = make_cohort(app, start=TODAY, instructors=[instructor])
    _enrol(app, cohort_id, learner)
    outline = client.get(f"/courses/{FIXTURE_COURSE}").get_data(as_text=True)
    assert "Locked" in outline
    assert client.get(lesson_url("welcome")).status_code == 200  # chapter 1 opens today
    refused = client.get(lesson_url("data"))  # chapter 2 opens next week
    assert refused.status_code == 403
    assert "This chapter opens on" in refused.get_data(as_text=True)
    assert client.get(quiz_url("training-quiz")).status_code == 403
    assert client.post(f"{lesson_url('data')}/complete").status_code == 403


def test_self_paced_learners_have_no_locks(app, loaded_course, client, learner):
    assert client.get(lesson_url("data")).status_code == 200


def test_quizzes_close_after_the_cohort_ends_unless_extended(
    app, loaded_course, client, learner, instructor, staff_client
):
    start = TODAY - timedelta(weeks=6)
    cohort_id = make_cohort(app, start=start, end=TODAY - timedelta(days=2), instructors=[instructor])
    _enrol(app, cohort_id, learner)
    complete_lessons(client, "welcome", "models")
    answers = {"intro-q1": "a", "intro-q2": ["a", "b"], "intro-q3": "false", "intro-q4": "fine-tuning"}
    closed = client.post(quiz_url("intro-quiz"), data=quiz_form(client, "intro-quiz", answers))
    assert closed.status_code == 403 and "quizzes are closed" in closed.get_data(as_text=True)
    response = staff_client.post(f"/cohorts/{cohort_id}/learners/{learner.id}/extension", data={"days": "7"})
    assert response.status_code == 302
    opened = client.post(quiz_url("intro-quiz"), data=quiz_form(client, "intro-quiz", answers))
    assert opened.status_code == 302


def test_invite_link_joins_a_signed_in_learner_once(app, loaded_course, client, learner, instructor):
    cohort_id = make_cohort(app, instructors=[instructor])
    code = cohort_row(app, cohort_id).invite_code
    assert "Join the cohort" in client.get(f"/join/{code}").get_data(as_text=True)
    assert client.post(f"/join/{code}").status_code == 302
    assert client.post(f"/join/{code}").status_code == 302  # a double click changes nothing
    assert count(app, Enrolment) == 1
    assert cohort_row(app, cohort_id).enrolled_count == 1


def test_a_new_visitor_registers_from_the_invite_and_lands_in_the_cohort(app, loaded_course, instructor):
    cohort_id = make_cohort(app, instructors=[instructor])
    code = cohort_row(app, cohort_id).invite_code
    visitor = new_client(app)
    page = visitor.get(f"/join/{code}").get_data(as_text=True)
    assert f"/register?next=/join/{code}" in page
    response = visitor.post(
        "/register",
        data={
            "name": "Newcomer",
            "email": "new@example.com",
            "password": "a long passphrase",
            "confirm": "a long passphrase",
            "next": f"/join/{code}",
        },
    )
    assert response.status_code == 302 and response.location.endswith(f"/courses/{FIXTURE_COURSE}")
    assert count(app, Enrolment, Enrolment.cohort_id == cohort_id) == 1


def test_a_visitor_who_registers_from_the_invite_of_a_full_cohort_is_told_why(
    app, loaded_course, instructor, make_user
):
    """The account is made and signed in; the cohort's refusal is shown, not lost with the old session."""
    cohort_id = make_cohort(app, capacity=1, instructors=[instructor])
    _enrol(app, cohort_id, make_user(email="first@example.com"))
    code = cohort_row(app, cohort_id).invite_code
    visitor = new_client(app)
    response = visitor.post(
        "/register",
        data={
            "name": "Late",
            "email": "late@example.com",
            "password": "a long passphrase",
            "confirm": "a long passphrase",
            "next": f"/join/{code}",
        },
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Welcome, Late!" in page and "This cohort is full." in page
    assert count(app, Enrolment, Enrolment.cohort_id == cohort_id) == 1


def test_rotated_or_disabled_invites_stop_working(app, loaded_course, staff_client, client, learner, instructor):
    cohort_id = make_cohort(app, instructors=[instructor])
    old = cohort_row(app, cohort_id).invite_code
    assert staff_client.post(f"/cohorts/{cohort_id}/invite/rotate").status_code == 302
    new = cohort_row(app, cohort_id).invite_code
    assert new != old
    assert client.get(f"/join/{old}").status_code == 404
    staff_client.post(f"/cohorts/{cohort_id}/invite/disable")
    assert client.get(f"/join/{new}").status_code == 404
    assert client.post(f"/join/{new}").status_code == 404
    assert count(app, Enrolment) == 0


def test_capacity_and_window_hold(app, loaded_course, make_user, instructor):
    full_id = make_cohort(app, name="Tiny", capacity=1, instructors=[instructor])
    first, second = make_user(email="a@example.com"), make_user(email="b@example.com")
    _enrol(app, full_id, first)
    with pytest.raises(CohortError):  # "This cohort is full."
        _enrol(app, full_id, second)
    later_id = make_cohort(
        app, name="Later", start=TODAY + timedelta(days=30), enrol_opens_on=TODAY + timedelta(days=10)
    )
    with pytest.raises(CohortError):  # "Enrolment opens on …"
        _enrol(app, later_id, second, check_window=True)
    assert count(app, Enrolment) == 1
    assert cohort_row(app, full_id).enrolled_count == 1


def test_parallel_joins_cannot_overfill_a_cohort(app, loaded_course, make_user, instructor):
    """Eight learners race for three seats, each in its own thread, session and connection."""
    import threading

    cohort_id = make_cohort(app, capacity=3, instructors=[instructor])
    users = [make_user(email=f"race{i}@example.com") for i in range(8)]
    barrier = threading.Barrier(len(users))
    outcomes: list[str] = []

    def join(user) -> None:
        barrier.wait(timeout=30)  # all threads start together, before any of them touches the database
        with app.app_context():
            try:
                cohort = _db.session.get(Cohort, cohort_id)
                learner = _db.session.get(User, user.id)
                enrol(cohort, learner, check_window=False)
                _db.session.commit()
                outcomes.append("joined")
            except CohortError:
                _db.session.rollback()
                outcomes.append("full")
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=join, args=(u,)) for u in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["full"] * 5 + ["joined"] * 3
    assert count(app, Enrolment, Enrolment.cohort_id == cohort_id) == 3
    assert cohort_row(app, cohort_id).enrolled_count == 3


def _csv(text: str) -> dict:
    return {"file": (io.BytesIO(text.encode("utf-8")), "learners.csv")}


def test_csv_with_any_bad_row_enrols_no_one_and_reports_each_line(
    app, loaded_course, staff_client, instructor, make_user
):
    cohort_id = make_cohort(app, instructors=[instructor])
    body = (
        "email,name\n"
        "good@example.com,Good One\n"
        "not-an-email,Bad Email\n"
        "good@example.com,Duplicate\n"
        "other@example.com,\n"
    )
    response = staff_client.post(f"/cohorts/{cohort_id}/enrol/csv", data=_csv(body), content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert re.search(r"<th scope=\"row\">3</th><td>.*not a valid email", page)
    assert re.search(r"<th scope=\"row\">4</th><td>.*already appears on line 2", page)
    assert re.search(r"<th scope=\"row\">5</th><td>.*name is required", page)
    assert count(app, Enrolment) == 0
    assert count(app, User, User.email == "good@example.com") == 0


@pytest.mark.parametrize(
    "body, message",
    [
        ("mail,name\na@example.com,A\n", "missing column(s): email"),
        ("email,name,cohort\na@example.com,A,No Such Cohort\n", "No cohort named"),
        ("email,name\n", "no learners"),
    ],
)
def test_csv_header_and_cohort_problems(app, loaded_course, staff_client, instructor, body, message):
    cohort_id = make_cohort(app, instructors=[instructor])
    response = staff_client.post(f"/cohorts/{cohort_id}/enrol/csv", data=_csv(body), content_type="multipart/form-data")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert count(app, Enrolment) == 0


def test_csv_that_is_not_utf8_is_refused(app, loaded_course, staff_client, instructor):
    cohort_id = make_cohort(app, instructors=[instructor])
    data = {"file": (io.BytesIO("email,name\nzh@example.com,张三\n".encode("gb18030")), "gbk.csv")}
    response = staff_client.post(f"/cohorts/{cohort_id}/enrol/csv", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "not UTF-8" in response.get_data(as_text=True)


def test_csv_over_capacity_enrols_no_one(app, loaded_course, staff_client, instructor):
    cohort_id = make_cohort(app, capacity=2, instructors=[instructor])
    body = "email,name\na@example.com,A\nb@example.com,B\nc@example.com,C\n"
    response = staff_client.post(f"/cohorts/{cohort_id}/enrol/csv", data=_csv(body), content_type="multipart/form-data")
    assert response.status_code == 400
    assert "over its capacity of 2" in response.get_data(as_text=True)
    assert count(app, Enrolment) == 0 and count(app, User, User.email == "a@example.com") == 0


def test_a_good_csv_creates_accounts_enrols_and_is_idempotent(
    app, loaded_course, staff_client, instructor, make_user, caplog
):
    cohort_id = make_cohort(app, instructors=[instructor])
    make_user(email="existing@example.com")
    body = "\ufeffEmail,Name\nExisting@Example.com,Old Hand\nfresh@example.com,张三\n"
    with caplog.at_level(logging.WARNING, logger="course.mail"):  # the invitations, delivered to the console
        first = staff_client.post(
            f"/cohorts/{cohort_id}/enrol/csv", data=_csv(body), content_type="multipart/form-data"
        )
    page = first.get_data(as_text=True)
    assert first.status_code == 200, page
    assert "Enrolled: 2" in page and "New accounts: 1" in page
    link = re.search(r"(/password/set/[\w.-]+)", caplog.text).group(1)  # emailed, no longer on the page
    again = staff_client.post(f"/cohorts/{cohort_id}/enrol/csv", data=_csv(body), content_type="multipart/form-data")
    assert "Enrolled: 0. Already enrolled (unchanged): 2. New accounts: 0" in again.get_data(as_text=True)
    assert count(app, Enrolment) == 2 and cohort_row(app, cohort_id).enrolled_count == 2
    # the new learner sets a password through the single-use link, then logs in
    newcomer = new_client(app)
    assert newcomer.get(link).status_code == 200
    done = newcomer.post(link, data={"password": "my own passphrase", "confirm": "my own passphrase"})
    assert done.status_code == 302
    assert new_client(app).get(link).status_code == 404  # used once
    assert do_login(new_client(app), "fresh@example.com", "my own passphrase").status_code == 302


def test_unenrol_and_move_keep_progress(app, loaded_course, client, learner, instructor, staff_client):
    first = make_cohort(app, name="First", instructors=[instructor])
    second = make_cohort(app, name="Second", instructors=[instructor])
    _enrol(app, first, learner)
    complete_lessons(client, "welcome")
    moved = staff_client.post(f"/cohorts/{first}/learners/{learner.id}/move", data={"target": second})
    assert moved.status_code == 302
    assert (cohort_row(app, first).enrolled_count, cohort_row(app, second).enrolled_count) == (0, 1)
    removed = staff_client.post(f"/cohorts/{second}/learners/{learner.id}/unenrol")
    assert removed.status_code == 302
    assert count(app, Enrolment) == 0
    from course.progress.models import LessonProgress

    assert count(app, LessonProgress, LessonProgress.completed_at.is_not(None)) == 1


def test_instructors_only_see_their_own_cohorts(
    app, loaded_course, make_user, instructor, staff_client, client, learner
):
    other = make_user(email="other-teacher@example.com", role="instructor")
    mine = make_cohort(app, name="Mine", instructors=[instructor])
    theirs = make_cohort(app, name="Theirs", instructors=[other])
    listing = staff_client.get("/cohorts").get_data(as_text=True)
    assert "Mine" in listing and "Theirs" not in listing
    assert staff_client.get(f"/cohorts/{theirs}").status_code == 404
    assert staff_client.post(f"/cohorts/{theirs}/invite/rotate").status_code == 404
    assert staff_client.post(f"/cohorts/{mine}/learners/{learner.id}/unenrol").status_code == 404  # not enrolled
    assert client.get("/cohorts").status_code == 403  # a learner
    assert client.get(f"/cohorts/{mine}").status_code == 404


def test_a_learner_cannot_be_moved_into_another_instructors_cohort(
    app, loaded_course, make_user, instructor, staff_client, learner
):
    other = make_user(email="other-teacher@example.com", role="instructor")
    mine = make_cohort(app, name="Mine", instructors=[instructor])
    theirs = make_cohort(app, name="Theirs", instructors=[other])
    _enrol(app, mine, learner)
    response = staff_client.post(f"/cohorts/{mine}/learners/{learner.id}/move", data={"target": theirs})
    assert response.status_code == 400
    assert count(app, Enrolment, Enrolment.cohort_id == mine) == 1


def test_bad_schedule_dates_change_nothing(app, loaded_course, staff_client, instructor):
    cohort_id = make_cohort(app, instructors=[instructor])
    before = count(app, ChapterRelease, ChapterRelease.cohort_id == cohort_id)
    response = staff_client.post(
        f"/cohorts/{cohort_id}/schedule",
        data={"chapter-intro": "not a date", "chapter-training": "2020-01-01", "chapter-launch": TODAY.isoformat()},
    )
    assert response.status_code == 400
    assert "enter a date as YYYY-MM-DD" in response.get_data(as_text=True)
    response = staff_client.post(
        f"/cohorts/{cohort_id}/schedule",
        data={
            "chapter-intro": TODAY.isoformat(),
            "chapter-training": "2020-01-01",
            "chapter-launch": TODAY.isoformat(),
        },
    )
    assert response.status_code == 400
    assert "“Chapter 2 Training”: the date is before the cohort’s start" in response.get_data(as_text=True)
    assert count(app, ChapterRelease, ChapterRelease.cohort_id == cohort_id) == before


def test_the_schedule_follows_the_schools_time_zone(app):
    """Chapters open at midnight where the school is, not at midnight UTC."""
    from datetime import UTC, datetime

    utc_today = datetime.now(UTC).date()
    with app.app_context():
        app.config["BABEL_DEFAULT_TIMEZONE"] = "Pacific/Kiritimati"  # UTC+14: always a day ahead of UTC or equal
        ahead = today()
        app.config["BABEL_DEFAULT_TIMEZONE"] = "Pacific/Pago_Pago"  # UTC-11
        behind = today()
    assert ahead > behind  # 25 hours apart: never the same date
    assert behind <= utc_today <= ahead


def test_an_extension_can_be_set_back_to_0_days(app, loaded_course, learner, instructor, staff_client):
    cohort_id = make_cohort(app, instructors=[instructor])
    _enrol(app, cohort_id, learner)
    url = f"/cohorts/{cohort_id}/learners/{learner.id}/extension"
    assert staff_client.post(url, data={"days": "7"}).status_code == 302
    assert staff_client.post(url, data={"days": "0"}).status_code == 302
    with app.app_context():
        assert _db.session.scalar(select(Enrolment.extension_days).where(Enrolment.user_id == learner.id)) == 0
    refused = staff_client.post(url, data={"days": ""})
    assert refused.status_code == 400 and "between 0 and 365" in refused.get_data(as_text=True)


def test_an_upload_over_the_request_limit_is_refused_before_it_is_read(app, loaded_course, staff_client, instructor):
    """MAX_CONTENT_LENGTH: Werkzeug refuses the request from its Content-Length, before spooling the body."""
    cohort_id = make_cohort(app, instructors=[instructor])
    huge = b"email,name\n" + b"x@example.com,X\n" * (app.config["MAX_CONTENT_LENGTH"] // 16 + 1)
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\nContent-Type: text/csv\r\n\r\n'
        + huge
        + b"\r\n--b--\r\n"
    )  # written out, so that the test client holds it in memory rather than in a temporary file
    response = staff_client.post(
        f"/cohorts/{cohort_id}/enrol/csv", data=body, content_type="multipart/form-data; boundary=b"
    )
    assert response.status_code == 413
    assert "<html" in response.get_data(as_text=True)  # the app's error page
    assert count(app, Enrolment) == 0


def test_joining_twice_at_once_for_the_last_seat_is_not_told_the_cohort_is_full(
    app, loaded_course, make_user, instructor, database_url
):
    """Two joins by the same learner for the cohort's last seat (PostgreSQL: a second tab, another instance): the
    first takes the seat; the second, which found no enrolment of theirs and then waited for the seat's row, is
    given the learner's enrolment — not "This cohort is full.", though the seat is theirs."""
    import threading

    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one write at a time: the second join sees the first's enrolment")
    cohort_id = make_cohort(app, capacity=2, instructors=[instructor])
    _enrol(app, cohort_id, make_user(email="first@example.com"))
    learner = make_user(email="twice@example.com")
    first_has_the_seat, outcomes = threading.Event(), {}

    def join(name: str, hold: bool) -> None:
        with app.test_request_context(method="POST"):
            try:
                cohort = _db.session.get(Cohort, cohort_id)
                enrolment, created = enrol(cohort, _db.session.get(User, learner.id), check_window=False)
                if hold:  # the seat taken and the row locked, not yet committed
                    first_has_the_seat.set()
                    time.sleep(0.5)  # the second join is waiting for the row meanwhile
                _db.session.commit()
                outcomes[name] = ("joined", created, enrolment.cohort_id)
            except CohortError as exc:
                outcomes[name] = ("refused", str(exc))

    first = threading.Thread(target=join, args=("first", True))
    first.start()
    assert first_has_the_seat.wait(10)
    second = threading.Thread(target=join, args=("second", False))
    second.start()
    first.join()
    second.join()
    assert outcomes == {"first": ("joined", True, cohort_id), "second": ("joined", False, cohort_id)}
    assert count(app, Enrolment, Enrolment.cohort_id == cohort_id) == 2
    assert cohort_row(app, cohort_id).enrolled_count == 2


def test_a_join_that_read_before_its_twin_committed_is_given_the_learners_seat(
    app, loaded_course, make_user, instructor, monkeypatch
):
    """The race above, replayed on either engine: the join looked for the learner's enrolment before a parallel
    join of theirs committed it (so found none), then found the cohort full — with the seat theirs."""
    from course.cohorts import enrolment as enrolments

    cohort_id = make_cohort(app, capacity=1, instructors=[instructor])
    learner = make_user(email="twice@example.com")
    _enrol(app, cohort_id, learner)  # the parallel join, committed: the last seat is theirs
    looked = []
    real_lookup = enrolments.enrolment_for

    def stale_first_lookup(user_id: int, course_id: int):
        looked.append(user_id)
        return None if len(looked) == 1 else real_lookup(user_id, course_id)

    monkeypatch.setattr(enrolments, "enrolment_for", stale_first_lookup)
    with app.test_request_context(method="POST"):
        cohort = _db.session.get(Cohort, cohort_id)
        enrolment, created = enrol(cohort, _db.session.get(User, learner.id), check_window=False)
        assert (enrolment.cohort_id, created) == (cohort_id, False)
    assert count(app, Enrolment, Enrolment.cohort_id == cohort_id) == 1


def test_the_instructors_are_listed_as_the_readers_language_lists_names(app, loaded_course, make_user):
    """The instructors, by name, read as an English list ("Ada and Ian") and a Chinese one ("Ada和Ian", CLDR's
    pattern). (Listed by name: without an order, PostgreSQL may return them either way.)"""
    ian = make_user(email="ian@example.com", name="Ian", role="instructor")
    ada = make_user(email="ada@example.com", name="Ada", role="instructor")
    cohort_id = make_cohort(app, instructors=[ian, ada])
    client = new_client(app)
    do_login(client, ian.email)
    client.post("/account/preferences", data={"prefs-language": "en", "prefs-time_zone": ""})
    assert "<dd>Ada and Ian</dd>" in client.get(f"/cohorts/{cohort_id}").get_data(as_text=True)
    client.post("/account/preferences", data={"prefs-language": "zh_Hans", "prefs-time_zone": ""})
    assert "<dd>Ada和Ian</dd>" in client.get(f"/cohorts/{cohort_id}").get_data(as_text=True)
