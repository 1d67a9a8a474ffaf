"""Query counts are part of the dashboard's contract: every page and export issues the same number of SQL
statements for a cohort of 10 learners as for one of 1,000 (the Open edX grade-report lesson: 2N+10
queries hid at N=5). Statements are counted with SQLAlchemy's "before_cursor_execute" event on the engine,
around real requests through the test client (so the login's user lookup is counted too)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from conftest import do_login, new_client
from dashboard_factories import bulk_cohort, first_learner
from flask import Flask
from sqlalchemy import event

from course.extensions import db as _db

PAGES = [
    "/cohorts/{c}/dashboard",
    "/cohorts/{c}/dashboard/learners",
    "/cohorts/{c}/dashboard/learners?sort=progress&dir=desc&page=2",
    "/cohorts/{c}/dashboard/learners?sort=last_active&q=bulk",
    "/cohorts/{c}/dashboard/at-risk",
    "/cohorts/{c}/dashboard/at-risk?days=30&reason=schedule",
    "/cohorts/{c}/dashboard/quizzes",
    "/cohorts/{c}/dashboard/quizzes/intro-quiz",
    "/cohorts/{c}/learners/{u}",
    "/cohorts/{c}/export/grid.csv",
    "/cohorts/{c}/export/at-risk.csv",
    "/cohorts/{c}/export/quizzes/intro-quiz.csv",
]
MAX_STATEMENTS = 30  # a page's whole budget: login, cohort, course map (and for one learner, their outline)


@contextlib.contextmanager
def counting(app: Flask) -> Iterator[list[str]]:
    with app.app_context():
        engine = _db.engine
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


def statements_for(app: Flask, client, url: str) -> list[str]:
    """The statements of one request that computes everything: the dashboard's kept numbers dropped first
    (course/dashboard/cache.py; what a kept page costs is checked in test_dashboard_cache.py)."""
    app.extensions.pop("dashboard_cache", None)
    with counting(app) as statements:
        response = client.get(url)
        response.get_data()  # a streamed CSV runs its query while it is read
        response.close()
    assert response.status_code == 200, (url, response.status_code)
    return statements


@pytest.fixture
def cohorts(app, loaded_course, make_user):
    teacher = make_user(email="teacher@example.com", role="instructor")
    small = bulk_cohort(app, 10, [teacher.id], name="Small")
    large = bulk_cohort(app, 1000, [teacher.id], name="Large")
    client = new_client(app)
    assert do_login(client, teacher.email).status_code == 302
    return client, {small: first_learner(app, small), large: first_learner(app, large)}


@pytest.mark.parametrize("page", PAGES)
def test_same_number_of_statements_for_10_and_1000_learners(app, cohorts, page):
    client, learners = cohorts
    counts = []
    for cohort_id, user_id in learners.items():
        url = page.format(c=cohort_id, u=user_id)
        client.get(url).close()  # warm up: the first request may open a connection or load a template
        counts.append(len(statements_for(app, client, url)))
    small, large = counts
    assert small == large, f"{page}: {small} statements for 10 learners, {large} for 1,000"
    assert small <= MAX_STATEMENTS, f"{page}: {small} statements"
