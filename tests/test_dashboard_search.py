"""The learner grid's search (course/dashboard/search.py): the learners whose name or email contains the text,
case aside, as the database's `ILIKE` (SQLite: `lower() LIKE`) found them — now from names the database lowered
once per cohort and kept until someone joins, leaves or is renamed, so a search runs no statement of its own."""

from __future__ import annotations

import pytest
from dashboard_factories import add_learner, make_cohort
from sqlalchemy import event, select

from course.accounts.models import User
from course.cohorts.models import Cohort
from course.dashboard import lists, search
from course.dashboard.coursemap import load_course_map
from course.db_types import utcnow
from course.extensions import db as _db

NAMES = ["José Müller", "JOSÉ MÜLLER", "ΣΟΦΙΑ ΠΑΠΑΣ", "Łukasz Żak", "王娜", "Nina 王", "Ann_Lee", "100% Ann", "İlker"]
SEARCHES = ["josé", "JOSÉ", "müller", "Müller", "σοφια", "ΠΑΠΑΣ", "παπας", "łukasz", "ŻAK", "王", "nina 王", "ann_",
            "n_l", "100%", "%", "_", "EXAMPLE.COM", "ilker", "i̇lker", "nobody", "a\nb"]  # fmt: skip


@pytest.fixture
def cohort_id(app, loaded_course, make_user):
    teacher = make_user(email="teacher@example.com", role="instructor", name="Teacher")
    cohort_id = make_cohort(app, [teacher.id])
    for i, name in enumerate(NAMES):
        add_learner(app, cohort_id, name, email=f"learner{i}@Example.com")
    return cohort_id


def _grid(app, cohort_id, params):
    """The grid's learners (every page) and the statements the request ran."""
    with app.app_context():
        engine = _db.engine
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    with app.test_request_context():
        cohort = _db.session.get(Cohort, cohort_id)
        cm = load_course_map(cohort)
        event.listen(engine, "before_cursor_execute", count)
        try:
            page = lists.grid(cohort, cm, utcnow(), params)
            ids = lists._grid_ids(cohort, cm, utcnow(), params)  # the search in SQL, as it was
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return [r.user_id for r in page.rows], list(ids), statements


@pytest.mark.parametrize(("sort", "direction"), [("name", "asc"), ("name", "desc"), ("progress", "asc")])
def test_search_finds_what_the_sql_search_finds(app, cohort_id, sort, direction):
    for q in SEARCHES:
        found, in_sql, _statements = _grid(app, cohort_id, lists.GridParams(sort=sort, direction=direction, q=q))
        assert found == in_sql, q


def test_a_search_with_the_names_kept_runs_no_statement_over_the_cohort(app, cohort_id):
    _grid(app, cohort_id, lists.GridParams(q="ann"))  # keeps the grid's order and the lowered names
    _found, _sql, statements = _grid(app, cohort_id, lists.GridParams(q="müller"))
    grid_statements = statements[:-1]  # the last one is the test's own SQL search
    assert not any("like" in s.lower() for s in grid_statements), grid_statements


def test_a_rename_shows_in_the_next_search(app, cohort_id):
    assert len(_grid(app, cohort_id, lists.GridParams(q="ann"))[0]) == 2
    with app.app_context():
        user = _db.session.scalars(select(User).where(User.name == "Ann_Lee")).one()
        user.name = "Zed"
        _db.session.commit()
    assert len(_grid(app, cohort_id, lists.GridParams(q="ann"))[0]) == 1


def test_a_cohort_too_large_to_keep_is_searched_in_sql(app, cohort_id, monkeypatch):
    monkeypatch.setattr(search, "KEPT_UP_TO", len(NAMES) - 1)
    _grid(app, cohort_id, lists.GridParams(q="nina"))
    found, in_sql, statements = _grid(app, cohort_id, lists.GridParams(q="ANN"))
    assert found == in_sql and len(found) == 2
    assert any("like" in s.lower() for s in statements[:-1])
