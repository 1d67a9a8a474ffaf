"""Control characters are refused at the edge, for every route: a NUL byte made PostgreSQL answer 500 wherever
it reached a query, and SQLite stored it. A path with one is a 404; a query or a form with one is a 400 with a
message; a CSV row with one is a reported row. Nothing with a control character is stored."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from conftest import FIXTURE_COURSE, complete_lessons, do_login, new_client
from sqlalchemy import String, Text, select

from course.clock import today
from course.cohorts.enrolment import enrol
from course.cohorts.services import CohortSettings, create_cohort
from course.content.models import Course
from course.extensions import db as _db

C = f"/courses/{FIXTURE_COURSE}"
NUL = "\x00"
PASSWORD = "a long passphrase"


@pytest.fixture
def people(app, loaded_course, make_user):
    learner = make_user(email="learner@example.com", name="Lena")
    instructor = make_user(email="teacher@example.com", role="instructor")
    admin = make_user(email="admin@example.com", role="admin")
    with app.app_context():
        course = _db.session.scalar(select(Course))
        start = today() - timedelta(weeks=1)
        cohort = create_cohort(course, CohortSettings("A", start, start + timedelta(weeks=8)), [instructor.id])
        enrol(cohort, _db.session.merge(learner), check_window=False)
        _db.session.commit()
        ids = {"cohort": cohort.id, "code": cohort.invite_code, "learner": learner.id}
    clients = {"anon": new_client(app)}
    for role, user in (("learner", learner), ("instructor", instructor), ("admin", admin)):
        clients[role] = new_client(app)
        assert do_login(clients[role], user.email).status_code == 302
    complete_lessons(clients["learner"], "welcome", "models")
    return clients, ids


PATHS = [
    ("anon", f"/courses/a{NUL}b"),
    ("learner", f"/courses/a{NUL}b"),
    ("learner", f"/courses/a{NUL}b/lessons/welcome"),
    ("learner", f"{C}/lessons/wel{NUL}come"),
    ("learner", f"{C}/quizzes/intro{NUL}quiz/attempts"),
    ("anon", f"/verify/{NUL}"),
    ("anon", f"/join/{NUL}"),
]


@pytest.mark.parametrize(("role", "path"), PATHS)
def test_a_path_with_a_control_character_is_a_404(people, role, path):
    clients, _ids = people
    response = clients[role].get(path.replace(NUL, "%00"))
    assert response.status_code == 404


def forms(ids) -> list[tuple[str, str, dict]]:
    """(role, URL, form) of every kind of input the review named, each with a NUL in one field."""
    cohort, learner = ids["cohort"], ids["learner"]
    return [
        ("anon", "/login", {"email": f"learner{NUL}@example.com", "password": "correct horse battery"}),
        ("anon", "/register", {"name": f"E{NUL}", "email": "e@example.com", "password": PASSWORD, "confirm": PASSWORD}),
        ("learner", f"{C}/workbook/wb-goal", {"wb-wb-goal-answer": f"My plan{NUL}"}),
        ("learner", f"{C}/quizzes/intro-quiz", {"intro-q1": "a", "submission_key": f"key{NUL}"}),
        ("learner", "/account/name", {"profile-name": f"Lena{NUL}"}),
        ("instructor", f"/cohorts/{cohort}/edit", {"name": f"B{NUL}", "course": "1", "starts_on": "2027-01-01",
                                                  "ends_on": "2027-03-01"}),
        ("instructor", f"/cohorts/{cohort}/learners/{learner}/extension", {"days": "3", "note": f"ill{NUL}"}),
    ]  # fmt: skip


def test_a_form_with_a_control_character_is_a_400_and_saves_nothing(app, people):
    clients, ids = people
    for role, url, data in forms(ids):
        response = clients[role].post(url, data=data)
        assert response.status_code == 400, (url, response.status_code)
        assert "control characters" in response.get_data(as_text=True), url
    assert not stored_control_characters(app)


@pytest.mark.parametrize("query", [f"?q=a{NUL}", f"?sort=name&q={NUL}", f"?page=1{NUL}"])
def test_a_query_with_a_control_character_is_a_400(people, query):
    clients, ids = people
    for role, url in (("instructor", f"/cohorts/{ids['cohort']}/dashboard/learners"), ("admin", "/admin/users")):
        response = clients[role].get(url + query.replace(NUL, "%00"))
        assert response.status_code == 400, url


def test_a_csv_row_with_a_control_character_is_reported_and_nothing_is_enrolled(app, people):
    clients, ids = people
    body = f"email,name\nnew@example.com,New{NUL}Name\nother@example.com,Other\n".encode()
    response = clients["instructor"].post(
        f"/cohorts/{ids['cohort']}/enrol/csv",
        data={"file": (io.BytesIO(body), "learners.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "control characters" in response.get_data(as_text=True)
    assert not stored_control_characters(app)


def test_line_breaks_in_a_textarea_are_kept(app, people):
    clients, _ids = people
    answer = "First line\r\nSecond line\twith a tab"
    assert clients["learner"].post(f"{C}/workbook/wb-goal", data={"wb-wb-goal-answer": answer}).status_code == 302


def stored_control_characters(app) -> list[str]:
    """Every text value in the database that holds a control character other than \\t \\n \\r."""
    found = []
    with app.app_context():
        for table in _db.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | Text)]
            if not columns:
                continue
            for row in _db.session.execute(select(*columns)):
                found += [f"{table.name}: {v!r}" for v in row if isinstance(v, str) and any(
                    ord(ch) < 32 and ch not in "\t\n\r" for ch in v)]  # fmt: skip
    return found


def test_a_name_is_one_line_wherever_it_is_given(app, people):
    """Line breaks pass the edge (a form value may hold them) but no name may: registration, the account page
    and a cohort's name refuse one at their field, and nothing is stored."""
    clients, ids = people
    name = "Eve\r\nMallory"
    register = new_client(app).post(
        "/register", data={"name": name, "email": "eve@example.com", "password": PASSWORD, "confirm": PASSWORD}
    )
    renamed = clients["learner"].post("/account/name", data={"profile-name": name})
    cohort = clients["instructor"].post(
        f"/cohorts/{ids['cohort']}/edit",
        data={"name": name, "course": "1", "starts_on": "2027-01-01", "ends_on": "2027-03-01"},
    )
    for response in (register, renamed, cohort):
        assert response.status_code == 400
        assert "Use letters, digits, spaces and punctuation only." in response.get_data(as_text=True)
    with app.app_context():
        texts = [v for table in _db.metadata.sorted_tables for row in _db.session.execute(select(table)) for v in row]
    assert not [v for v in texts if isinstance(v, str) and "Mallory" in v]
