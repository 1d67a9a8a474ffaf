"""Numbers in URLs (`<int:…>`) are ids from 1 to the largest an `integer` column holds: any other number names
nothing, so the URL is a 404, never a query the database refuses (PostgreSQL: "integer out of range", a 500) or
that the driver cannot bind (SQLite: OverflowError, a 500)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from api_world import make_token
from conftest import FIXTURE_COURSE, do_login, new_client
from flask import url_for
from sqlalchemy import select

from course.app import ID_MAX
from course.clock import today
from course.cohorts import services as cohorts
from course.cohorts.enrolment import enrol
from course.content.models import Course
from course.extensions import db as _db

OUT_OF_RANGE = ["2147483648", "99999999999999999999", "0", "00"]
# What the other parts of a URL are set to, so that only the number under test is wrong.
WORDS = {"course_key": FIXTURE_COURSE, "quiz_key": "intro-quiz"}


@pytest.fixture
def ids(app, loaded_course, make_user):
    """A cohort with a learner, both real, and an admin (who may open every page) logged in."""
    admin = make_user(email="admin@example.com", role="admin")
    learner = make_user(email="learner@example.com")
    with app.app_context():
        course = _db.session.scalar(select(Course).where(Course.key == FIXTURE_COURSE))
        start = today() - timedelta(weeks=2)
        cohort = cohorts.create_cohort(
            course, cohorts.CohortSettings(name="A", starts_on=start, ends_on=start + timedelta(weeks=10)), []
        )
        enrol(cohort, _db.session.merge(learner), check_window=False)
        _db.session.commit()
        valid = {"cohort_id": cohort.id, "user_id": learner.id, "number": 1}
        valid |= {"announcement_id": 1, "message_id": 1, "card_id": 1}  # any id: only its range is tried
        valid |= {"list_number": 1}
        valid |= {"token_id": 1}
        valid |= {"platform_id": 1, "link_id": 1}
    client = new_client(app)
    assert do_login(client, admin.email).status_code == 302
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {make_token(app, admin.id)}"  # the API's; pages ignore it
    return client, valid


def int_arguments(rule) -> list[str]:
    return re.findall(r"<int(?:\([^)]*\))?:(\w+)>", rule.rule)


def url_with(rule, values: dict[str, str]) -> str:
    """The rule's path with each `<converter:name>` replaced by `values[name]`, as typed (not converted)."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: values[m.group(1)], rule.rule)


def test_every_number_in_a_url_out_of_range_is_a_404(app, ids):
    client, valid = ids
    rules = [rule for rule in app.url_map.iter_rules() if int_arguments(rule)]
    assert len(rules) >= 21  # every `<int:…>` route in the app (grep `<int:` in course/)
    failures = []
    for rule in rules:
        method = next(m for m in ("GET", "POST", "PUT", "DELETE") if m in rule.methods)
        words = WORDS
        missing = set(rule.arguments) - set(valid) - {k for k, v in words.items() if v}
        assert not missing, f"{rule.rule}: give the test a value for {sorted(missing)}"
        for name in int_arguments(rule):
            for bad in [*OUT_OF_RANGE, str(ID_MAX)]:  # the largest id still routes, to a row that is not there
                values = {**{k: str(v) for k, v in valid.items()}, **{k: v for k, v in words.items() if v}, name: bad}
                url = url_with(rule, values)
                status = client.open(url, method=method).status_code
                if status != 404:
                    failures.append(f"{method} {url}: {status}")
    assert not failures, "\n".join(failures)


def test_ids_in_range_still_route_and_build(app, ids):
    client, valid = ids
    cohort = valid["cohort_id"]
    assert client.get(f"/cohorts/{cohort}").status_code == 200
    assert client.get(f"/cohorts/{cohort}/learners/{valid['user_id']}").status_code == 200
    with app.test_request_context():
        assert url_for("cohorts.detail", cohort_id=ID_MAX) == f"/cohorts/{ID_MAX}"
