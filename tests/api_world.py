"""What the API tests share: two cohorts with their instructors, a learner in cohort A, an admin, and a personal
access token for each of them with every scope their role allows. `add_history` gives the learner what the
`/me` reads answer with: attempts (one whose answers the quiz shows in full, one whose it withholds), a workbook
answer and a completion."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from conftest import FIXTURE_COURSE, RIGHT_ANSWERS, WRONG_ANSWERS, complete_lessons, do_login, new_client, submit_quiz
from dashboard_factories import workbook
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from course.accounts.api_tokens import allowed_scopes, create_token
from course.accounts.models import User
from course.clock import today
from course.cohorts import services as cohorts
from course.cohorts.enrolment import enrol
from course.content.models import Course
from course.extensions import db as _db
from course.progress.models import Completion

PROGRESS = f"/api/v1/me/courses/{FIXTURE_COURSE}/progress"
PROBLEM = "application/problem+json"
LEARNER, INSTRUCTOR_A, INSTRUCTOR_B, ADMIN = "learner", "instructor_a", "instructor_b", "admin"
ROLES = (LEARNER, INSTRUCTOR_A, INSTRUCTOR_B, ADMIN)


@dataclass
class World:
    tokens: dict[str, str]  # role → its bearer token
    users: dict[str, int]  # role → user id
    cohort_a: int
    cohort_b: int


def make_token(app: Flask, user_id: int, scopes: list[str] | None = None, days: int = 30, name: str = "test") -> str:
    with app.app_context():
        user = _db.session.get(User, user_id)
        _token, secret = create_token(user, name, scopes if scopes is not None else allowed_scopes(user.role), days)
        _db.session.commit()
    return secret


def build_world(app: Flask, make_user) -> World:
    users = {
        LEARNER: make_user(email="learner@example.com", name="Lena Learner"),
        INSTRUCTOR_A: make_user(email="a@example.com", role="instructor", name="Ann A"),
        INSTRUCTOR_B: make_user(email="b@example.com", role="instructor", name="Bob B"),
        ADMIN: make_user(email="admin@example.com", role="admin", name="Ada Admin"),
    }
    with app.app_context():
        course = _db.session.scalar(select(Course).where(Course.key == FIXTURE_COURSE))
        start = today() - timedelta(weeks=4)
        settings = cohorts.CohortSettings(name="A", starts_on=start, ends_on=start + timedelta(weeks=10))
        cohort_a = cohorts.create_cohort(course, settings, [users[INSTRUCTOR_A].id])
        settings_b = cohorts.CohortSettings(name="B", starts_on=start, ends_on=start + timedelta(weeks=10))
        cohort_b = cohorts.create_cohort(course, settings_b, [users[INSTRUCTOR_B].id])
        enrol(cohort_a, _db.session.merge(users[LEARNER]), check_window=False)
        _db.session.commit()
        ids = (cohort_a.id, cohort_b.id)
    tokens = {role: make_token(app, user.id) for role, user in users.items()}
    return World(tokens, {role: user.id for role, user in users.items()}, *ids)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def call(client: FlaskClient, method: str, url: str, token: str | None, **kwargs):
    headers = {**kwargs.pop("headers", {}), **(bearer(token) if token else {})}
    return client.open(url, method=method, headers=headers, **kwargs)


def add_history(app: Flask, world: World) -> None:
    """The learner finishes the course: every lesson, a wrong then a right attempt at the intro quiz (its answers
    shown in full once passed), the launch quiz passed (it never shows its answers: `score`), a workbook answer."""
    browser = new_client(app)
    assert do_login(browser, "learner@example.com").status_code == 302
    complete_lessons(browser, "welcome", "models", "data", "tuning", "pricing", "growth")
    assert submit_quiz(browser, "intro-quiz", WRONG_ANSWERS["intro-quiz"]).status_code == 302
    for quiz, answers in RIGHT_ANSWERS.items():
        assert submit_quiz(browser, quiz, answers).status_code == 302
    workbook(app, world.users[LEARNER], "Start with one city.")
    with app.app_context():
        assert _db.session.scalar(select(Completion.id).where(Completion.user_id == world.users[LEARNER]))


def assert_problem(response, status: int) -> dict:
    """The response is an RFC 9457 problem of this status; its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert body["status"] == status and body["title"] and body["detail"] and body["type"]
    return body
