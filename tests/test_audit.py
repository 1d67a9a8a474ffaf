"""The audit log: every action issue #11 lists is recorded with exactly the entry expected, in the transaction of
the action, and no entry holds a name, an email or free text; entries cannot be changed (the ORM refuses, and no
route does: tests/test_access.py); admins read and filter every entry and export them as CSV, instructors read
their own cohorts' entries; the admin page costs the same for 10 and 1,000 entries; `flask audit prune` applies
the retention period."""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from conftest import DEFAULT_PASSWORD, FIXTURE_COURSE, do_login, new_client
from sqlalchemy import func, insert, select
from test_dashboard_queries import statements_for

from config import TestingConfig
from course.accounts.models import User
from course.accounts.tokens import SET_PASSWORD, make_token
from course.audit.log import Action, record
from course.audit.models import AuditEntriesAreAppendOnly, AuditEntry
from course.clock import site_today
from course.cohorts import services as cohorts
from course.cohorts.enrolment import enrol
from course.cohorts.models import Cohort
from course.content.models import Chapter, Course
from course.db_types import utcnow
from course.extensions import db as _db

TODAY = site_today(TestingConfig.BABEL_DEFAULT_TIMEZONE)  # the app's today (the school's time zone)
START = TODAY - timedelta(days=7)
NOTE = "Family emergency: Lena asked for a week"  # free text an entry must not hold


# -- helpers -------------------------------------------------------------------------------------------------------
def last_id(app) -> int:
    with app.app_context():
        return _db.session.scalar(select(func.max(AuditEntry.id))) or 0


def new_entries(app, after: int) -> list[dict[str, Any]]:
    """The entries added since entry `after`, oldest first, as dicts of their columns."""
    with app.app_context():
        rows = _db.session.execute(select(AuditEntry.__table__).where(AuditEntry.id > after).order_by(AuditEntry.id))
        return [dict(row._mapping) for row in rows]


def entry(action: Action, actor=None, target=None, cohort=None, before=None, after=None, details=None, **extra):
    """What an entry's columns should be (actor, target: a user or None; cohort: an id or None)."""
    return {
        "action": action.value,
        "actor_id": actor.id if actor else None,
        "target_user_id": target.id if target else None,
        "cohort_id": cohort,
        "before": before,
        "after": after,
        "details": details,
        "subject": extra.get("subject"),
    }


def shape(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The columns `entry` names (not the id, time and address)."""
    return [{key: found[key] for key in entry(Action.LOGIN)} for found in entries]


def assert_no_personal_data(app, *free_text: str) -> None:
    """No entry holds any user's name or email, nor the free text given (cohort names, notes…)."""
    with app.app_context():
        people = _db.session.execute(select(User.name, User.email)).all()
        cohort_names = list(_db.session.scalars(select(Cohort.name)))
        entries = _db.session.scalars(select(AuditEntry)).all()
        assert entries
        for found in entries:
            text = json.dumps([found.subject, found.before, found.after, found.details], ensure_ascii=False).lower()
            for value in [*(v for person in people for v in person), *cohort_names, *free_text]:
                assert value.lower() not in text, (found.action, value, text)


@pytest.fixture
def people(app, loaded_course, make_user):
    """An admin, two instructors, two learners (names unlike anything an entry holds)."""
    return {
        "admin": make_user(email="root@example.com", role="admin", name="Ada Admiral"),
        "teacher": make_user(email="teacher@example.com", role="instructor", name="Tess Teacherly"),
        "other": make_user(email="other@example.com", role="instructor", name="Otto Otherwise"),
        "learner": make_user(email="lena@example.com", name="Lena Lernwell"),
        "second": make_user(email="sam@example.com", name="Sam Secondo"),
    }


def make_cohort(app, name: str, *teachers, **settings) -> int:
    with app.app_context():
        course = _db.session.scalar(select(Course).where(Course.key == FIXTURE_COURSE))
        values = {"starts_on": START, "ends_on": START + timedelta(weeks=8), **settings}
        cohort = cohorts.create_cohort(course, cohorts.CohortSettings(name=name, **values), [t.id for t in teachers])
        _db.session.commit()
        return cohort.id


def enrolled(app, cohort_id: int, user: User) -> None:
    with app.app_context():
        enrol(_db.session.get(Cohort, cohort_id), _db.session.get(User, user.id), source="test", check_window=False)
        _db.session.commit()


def client_of(app, user: User):
    client = new_client(app)
    assert do_login(client, user.email).status_code == 302
    return client


# -- every action, recorded ----------------------------------------------------------------------------------------
def test_logins_and_failed_logins_are_recorded_without_the_email_typed(app, people):
    learner = people["learner"]
    mark = last_id(app)
    assert do_login(new_client(app), learner.email).status_code == 302
    assert do_login(new_client(app), learner.email, "not the password").status_code == 400
    assert do_login(new_client(app), "nobody@example.com", "whatever it is").status_code == 400
    assert shape(new_entries(app, mark)) == [
        entry(Action.LOGIN, actor=learner, target=learner, details={"how": "password"}),
        entry(Action.LOGIN_FAILED, target=learner, details={"reason": "wrong password"}),
        entry(Action.LOGIN_FAILED, details={"reason": "unknown account"}),
    ]
    assert new_entries(app, mark)[0]["ip"] == "127.0.0.1"
    assert_no_personal_data(app, "nobody@example.com", "not the password")


def test_a_login_with_a_second_factor_is_recorded_when_the_code_is_accepted(app, make_user):
    """The password alone signs no one in: the login is recorded once the code is accepted."""
    instructor = make_user(email="mfa-login@example.com", role="instructor")
    mark = last_id(app)
    assert do_login(new_client(app), instructor.email).status_code == 302
    assert shape(new_entries(app, mark)) == [
        entry(Action.LOGIN, actor=instructor, target=instructor, details={"how": "second factor"})
    ]


def test_logins_of_a_disabled_account_and_throttled_logins_are_recorded(app, people):
    app.config["RATELIMIT_LOGIN_FAILURES"] = "2 per 15 minutes"
    second = people["second"]
    with app.app_context():
        _db.session.get(User, second.id).active = False
        _db.session.commit()
    mark = last_id(app)
    assert do_login(new_client(app), second.email).status_code == 400
    assert do_login(new_client(app), second.email).status_code == 400
    assert do_login(new_client(app), second.email).status_code == 429
    assert shape(new_entries(app, mark)) == [
        entry(Action.LOGIN_FAILED, target=second, details={"reason": "disabled"}),
        entry(Action.LOGIN_FAILED, target=second, details={"reason": "disabled"}),
        entry(Action.LOGIN_FAILED, target=second, details={"reason": "throttled"}),
    ]


def test_reset_requests_and_passwords_set_from_a_link_are_recorded(app, people, caplog):
    learner, second = people["learner"], people["second"]
    client = new_client(app)
    mark = last_id(app)
    with caplog.at_level(logging.WARNING, logger="course.mail"):
        assert client.post("/password/forgot", data={"email": learner.email}).status_code == 302
        assert client.post("/password/forgot", data={"email": "stranger@example.com"}).status_code == 302
    link = re.search(r"http://localhost(/password/reset/[\w.-]+)", caplog.text).group(1)
    new_password = {"password": "brand new passphrase", "confirm": "brand new passphrase"}
    assert client.post(link, data=new_password).status_code == 302
    with app.test_request_context():
        set_link = f"/password/set/{make_token(_db.session.get(User, second.id), SET_PASSWORD)}"
    assert new_client(app).post(set_link, data=new_password).status_code == 302
    assert shape(new_entries(app, mark)) == [
        entry(Action.PASSWORD_RESET_REQUESTED, target=learner, details={"emailed": True}),
        entry(Action.PASSWORD_RESET_REQUESTED, details={"emailed": False}),
        entry(Action.PASSWORD_SET, actor=learner, target=learner, details={"link": "reset-password"}),
        entry(Action.LOGIN, actor=learner, target=learner, details={"how": "password link"}),
        entry(Action.PASSWORD_SET, actor=second, target=second, details={"link": "set-password"}),
        entry(Action.LOGIN, actor=second, target=second, details={"how": "password link"}),
    ]
    assert_no_personal_data(app, "stranger@example.com", "brand new passphrase")


def test_a_password_change_is_recorded(app, people):
    learner = people["learner"]
    client = client_of(app, learner)
    mark = last_id(app)
    form = {
        "pw-current": DEFAULT_PASSWORD,
        "pw-password": "another fine passphrase",
        "pw-confirm": "another fine passphrase",
    }
    assert client.post("/account/password", data=form).status_code == 303
    assert shape(new_entries(app, mark)) == [entry(Action.PASSWORD_CHANGED, actor=learner, target=learner)]
    assert_no_personal_data(app, "another fine passphrase")


def test_role_changes_and_disabling_are_recorded_with_before_and_after(app, people):
    admin, learner = people["admin"], people["learner"]
    client = client_of(app, admin)
    mark = last_id(app)
    assert client.post(f"/admin/users/{learner.id}", data={"action": "role", "role": "instructor"}).status_code == 302
    assert client.post(f"/admin/users/{learner.id}/disable").status_code == 302
    assert client.post(f"/admin/users/{learner.id}", data={"action": "enable"}).status_code == 302
    assert shape(new_entries(app, mark)) == [
        entry(Action.ROLE_CHANGED, admin, learner, before={"role": "learner"}, after={"role": "instructor"}),
        entry(Action.ACCOUNT_DISABLED, admin, learner, before={"active": True}, after={"active": False}),
        entry(Action.ACCOUNT_ENABLED, admin, learner, before={"active": False}, after={"active": True}),
    ]
    assert_no_personal_data(app)


def test_cohort_creation_edits_and_schedule_changes_are_recorded(app, people):
    admin, teacher, other = people["admin"], people["teacher"], people["other"]
    with app.app_context():
        course_id = _db.session.scalar(select(Course.id).where(Course.key == FIXTURE_COURSE))
        chapters = dict(
            _db.session.execute(select(Chapter.key, Chapter.id).where(Chapter.course_id == course_id)).all()
        )
    start = TODAY + timedelta(days=3)
    settings = {"course": course_id, "name": "Autumn Zebras", "starts_on": start.isoformat()}
    settings["ends_on"] = (start + timedelta(weeks=6)).isoformat()
    staff = client_of(app, teacher)
    mark = last_id(app)
    created = staff.post("/cohorts/new", data=settings)
    assert created.status_code == 302, created.get_data(as_text=True)
    cohort_id = int(created.location.rsplit("/", 1)[1])
    weekly = {"starts_on": start.isoformat(), "ends_on": (start + timedelta(weeks=6)).isoformat()}
    unset = {"capacity": None, "enrol_opens_on": None, "enrol_closes_on": None, "inactive_after_days": 7}
    unset["auto_nudges"] = True  # the default: the form posted without the field
    expected = {"course_id": course_id, **weekly, **unset, "instructor_ids": [teacher.id]}
    assert shape(new_entries(app, mark)) == [entry(Action.COHORT_CREATED, teacher, cohort=cohort_id, after=expected)]

    admin_client = client_of(app, admin)
    mark = last_id(app)
    edited = {**settings, "name": "Autumn Yaks", "capacity": "30", "instructors": [teacher.id, other.id]}
    assert admin_client.post(f"/cohorts/{cohort_id}/edit", data=edited).status_code == 302
    assert admin_client.post(f"/cohorts/{cohort_id}/edit", data=edited).status_code == 302  # nothing changes
    assert shape(new_entries(app, mark)) == [
        entry(
            Action.COHORT_EDITED,
            admin,
            cohort=cohort_id,
            before={"capacity": None, "instructor_ids": [teacher.id]},
            after={"capacity": 30, "instructor_ids": [teacher.id, other.id]},
            details={"name_changed": True},
        )
    ]

    mark = last_id(app)
    later = start + timedelta(days=20)
    dates = {"intro": start, "training": later, "launch": start + timedelta(weeks=2)}
    form = {f"chapter-{key}": day.isoformat() for key, day in dates.items()}
    assert admin_client.post(f"/cohorts/{cohort_id}/schedule", data=form).status_code == 302
    training = str(chapters["training"])
    assert shape(new_entries(app, mark)) == [
        entry(
            Action.SCHEDULE_CHANGED,
            admin,
            cohort=cohort_id,
            before={training: (start + timedelta(weeks=1)).isoformat()},
            after={training: later.isoformat()},
        )
    ]
    assert_no_personal_data(app, "Autumn Zebras")


def test_enrolments_moves_extensions_and_unenrolments_are_recorded(app, people):
    teacher, learner = people["teacher"], people["learner"]
    first, second = make_cohort(app, "Alpha Cohort", teacher), make_cohort(app, "Beta Cohort", teacher)
    with app.app_context():
        code = _db.session.get(Cohort, first).invite_code
    learner_client, staff = client_of(app, learner), client_of(app, teacher)
    mark = last_id(app)
    assert learner_client.post(f"/join/{code}").status_code == 302
    assert staff.post(f"/cohorts/{first}/learners/{learner.id}/move", data={"target": second}).status_code == 302
    extension = {"days": "7", "note": NOTE}
    assert staff.post(f"/cohorts/{second}/learners/{learner.id}/extension", data=extension).status_code == 302
    assert staff.post(f"/cohorts/{second}/learners/{learner.id}/unenrol").status_code == 302
    assert shape(new_entries(app, mark)) == [
        entry(Action.ENROLLED, learner, learner, cohort=first, details={"source": "invite"}),
        entry(
            Action.MOVED,
            teacher,
            learner,
            cohort=first,
            before={"cohort_id": first},
            after={"cohort_id": second},
            details={"source": "invite"},
        ),
        entry(Action.EXTENSION_SET, teacher, learner, cohort=second, before={"days": 0}, after={"days": 7}),
        entry(Action.UNENROLLED, teacher, learner, cohort=second, details={"source": "move"}),
    ]
    assert_no_personal_data(app, NOTE, "emergency")


def test_a_csv_import_is_one_entry_with_its_counts(app, people):
    teacher, learner = people["teacher"], people["learner"]
    cohort_id = make_cohort(app, "Gamma Cohort", teacher)
    staff = client_of(app, teacher)
    body = f"email,name\n{learner.email},Lena Lernwell\nnell@example.com,Nell Newcombe\n"
    upload = {"file": (io.BytesIO(body.encode()), "learners.csv")}
    mark = last_id(app)
    response = staff.post(f"/cohorts/{cohort_id}/enrol/csv", data=upload, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)
    counts = {"rows": 2, "enrolled": 2, "unchanged": 0, "accounts_created": 1, "cohort_ids": [cohort_id]}
    assert shape(new_entries(app, mark)) == [entry(Action.CSV_IMPORTED, teacher, cohort=cohort_id, details=counts)]
    bad = {"file": (io.BytesIO(b"email,name\nnot-an-email,X\n"), "bad.csv")}
    mark = last_id(app)
    assert (
        staff.post(f"/cohorts/{cohort_id}/enrol/csv", data=bad, content_type="multipart/form-data").status_code == 400
    )
    assert new_entries(app, mark) == []  # nothing was imported: nothing is recorded
    assert_no_personal_data(app)


def test_content_loads_are_recorded_with_the_plans_counts_but_not_dry_runs(app, content_dir):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["content", "load", str(content_dir)]).exit_code == 0
    [loaded] = new_entries(app, 0)
    assert (loaded["action"], loaded["actor_id"], loaded["ip"]) == (Action.CONTENT_LOADED.value, None, None)
    assert loaded["subject"] == f"course {FIXTURE_COURSE}"
    assert loaded["details"]["courses"] == [FIXTURE_COURSE]
    plan = loaded["details"]["plan"]
    assert (plan["course"], plan["chapter"], plan["lesson"], plan["quiz"]) == (
        {"added": 1},
        {"added": 3},
        {"added": 6},
        {"added": 3},
    )
    mark = last_id(app)
    assert runner.invoke(args=["content", "load", str(content_dir)]).exit_code == 0  # no changes: no entry
    lesson = next(content_dir.rglob("02-models.md"))
    text = lesson.read_text(encoding="utf-8")
    assert "Models come in many sizes." in text
    lesson.write_text(text.replace("Models come in many sizes.", "Models vary."), encoding="utf-8")
    assert runner.invoke(args=["content", "load", str(content_dir), "--dry-run"]).exit_code == 0
    assert new_entries(app, mark) == []
    assert runner.invoke(args=["content", "load", str(content_dir)]).exit_code == 0
    [changed] = new_entries(app, mark)
    assert changed["details"]["plan"] == {"lesson": {"changed": 1}}


def test_data_exports_are_recorded_with_what_and_the_cohort(app, people):
    teacher, admin = people["teacher"], people["admin"]
    cohort_id = make_cohort(app, "Delta Cohort", teacher)
    staff, root = client_of(app, teacher), client_of(app, admin)
    mark = last_id(app)
    for path in ("grid.csv", "at-risk.csv", "quizzes/intro-quiz.csv"):
        with staff.get(f"/cohorts/{cohort_id}/export/{path}") as response:
            assert response.status_code == 200
    with root.get(f"/admin/audit.csv?action=enrolled&cohort={cohort_id}") as response:
        assert response.status_code == 200
    assert shape(new_entries(app, mark)) == [
        entry(Action.DATA_EXPORTED, teacher, cohort=cohort_id, details={"what": "grid"}),
        entry(Action.DATA_EXPORTED, teacher, cohort=cohort_id, details={"what": "at-risk"}),
        entry(Action.DATA_EXPORTED, teacher, cohort=cohort_id, details={"what": "quiz", "quiz": "intro-quiz"}),
        entry(
            Action.DATA_EXPORTED,
            admin,
            cohort=cohort_id,
            details={"what": "audit", "filters": {"action": "enrolled", "cohort_id": cohort_id}},
        ),
    ]
    assert_no_personal_data(app)


# -- append-only ---------------------------------------------------------------------------------------------------
def test_the_orm_refuses_to_change_or_delete_an_entry(db):
    entry_ = record(Action.LOGIN, actor_id=None)
    db.session.commit()
    entry_.action = "something else"
    with pytest.raises(AuditEntriesAreAppendOnly):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEntry, entry_.id))
    with pytest.raises(AuditEntriesAreAppendOnly):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(AuditEntry, entry_.id).action == Action.LOGIN.value


def test_the_audit_pages_only_read(app, people):
    client = client_of(app, people["admin"])
    cohort_id = make_cohort(app, "Epsilon Cohort", people["teacher"])
    for url in ("/admin/audit", "/admin/audit.csv", f"/cohorts/{cohort_id}/activity"):
        for method in ("post", "put", "patch", "delete"):
            assert getattr(client, method)(url).status_code == 405, (method, url)


# -- reading it ----------------------------------------------------------------------------------------------------
def add_entries(app, *rows: dict[str, Any]) -> None:
    """Entries written straight to the table (an insert: the ORM refuses only changes)."""
    columns = ("actor_id", "ip", "target_user_id", "cohort_id", "subject", "before", "after", "details")
    with app.app_context():
        _db.session.execute(insert(AuditEntry), [{**dict.fromkeys(columns), **row} for row in rows])
        _db.session.commit()


def markers(page: str) -> set[str]:
    return set(re.findall(r"marker-\d+", page))


def test_admins_filter_by_user_action_cohort_and_dates_in_their_time_zone(app, people):
    admin, learner, second = people["admin"], people["learner"], people["second"]
    cohort_id = make_cohort(app, "Zeta Cohort", people["teacher"])
    # 17:00 UTC is 01:00 the next day in Shanghai, the site's time zone (the admin chose none)
    evening = datetime(2030, 1, 1, 17, 0, tzinfo=UTC)
    add_entries(
        app,
        {"at": evening, "action": "login", "actor_id": learner.id, "target_user_id": learner.id, "subject": "marker-1"},
        {"at": evening - timedelta(days=3), "action": "login", "actor_id": second.id, "subject": "marker-2"},
        {"at": evening, "action": "role changed", "target_user_id": learner.id, "subject": "marker-3"},
        {"at": evening, "action": "enrolled", "cohort_id": cohort_id, "subject": "marker-4"},
    )
    client = client_of(app, admin)
    assert {"marker-1", "marker-2", "marker-3", "marker-4"} <= markers(
        client.get("/admin/audit").get_data(as_text=True)
    )

    def shown(query: str) -> set[str]:
        response = client.get(f"/admin/audit?{query}")
        assert response.status_code == 200, (query, response.status_code)
        return markers(response.get_data(as_text=True))

    assert shown(f"user={learner.email}") == {"marker-1", "marker-3"}  # as actor or target
    assert shown(f"user=%23{second.id}") == {"marker-2"}
    assert shown("action=login") == {"marker-1", "marker-2"}
    assert shown(f"cohort={cohort_id}") == {"marker-4"}
    assert shown("since=2030-01-02&until=2030-01-02") == {"marker-1", "marker-3", "marker-4"}
    assert shown("until=2030-01-01") == {"marker-2"}
    assert shown(f"user={learner.email}&action=role+changed&since=2030-01-02") == {"marker-3"}
    for query in (
        "user=nobody%40example.com",
        "action=dancing",
        "since=2030-13-45",
        "since=2030-02-01&until=2030-01-01",
        "since=0001-01-01",
        "until=9999-12-31",
    ):
        refused = client.get(f"/admin/audit?{query}")
        assert refused.status_code == 400 and not markers(refused.get_data(as_text=True)), query
    assert client.get("/admin/audit?page=99999999999").status_code == 200


def test_names_are_joined_in_and_a_deleted_account_shows_as_such(app, people):
    admin, learner, teacher = people["admin"], people["learner"], people["teacher"]
    add_entries(
        app,
        {"at": utcnow(), "action": "role changed", "actor_id": admin.id, "target_user_id": learner.id},
        {"at": utcnow(), "action": "login", "actor_id": teacher.id, "target_user_id": teacher.id},
    )
    with app.app_context():
        _db.session.get(User, teacher.id).deleted_at = utcnow()
        _db.session.commit()
    page = client_of(app, admin).get("/admin/audit").get_data(as_text=True)
    assert "Ada Admiral" in page and "Lena Lernwell" in page and "lena@example.com" in page
    assert f"Deleted account #{teacher.id}" in page and "Tess Teacherly" not in page


def test_instructors_see_only_their_cohorts_entries(app, people):
    teacher, other, learner = people["teacher"], people["other"], people["learner"]
    mine, theirs = make_cohort(app, "Eta Cohort", teacher), make_cohort(app, "Theta Cohort", other)
    now = utcnow()
    moved_in = {"cohort_id": theirs, "before": {"cohort_id": theirs}, "after": {"cohort_id": mine}}
    add_entries(
        app,
        {"at": now, "action": "extension set", "cohort_id": mine, "subject": "marker-1"},
        {"at": now, "action": "extension set", "cohort_id": theirs, "subject": "marker-2"},
        {"at": now, "action": "moved", "target_user_id": learner.id, "subject": "marker-3", **moved_in},
        {"at": now, "action": "login", "actor_id": learner.id, "subject": "marker-4"},
    )
    staff = client_of(app, teacher)
    page = staff.get(f"/cohorts/{mine}/activity")
    assert page.status_code == 200
    assert markers(page.get_data(as_text=True)) == {"marker-1", "marker-3"}
    assert f'href="/cohorts/{mine}/activity"' in staff.get(f"/cohorts/{mine}").get_data(as_text=True)
    assert staff.get(f"/cohorts/{theirs}/activity").status_code == 404
    assert client_of(app, learner).get(f"/cohorts/{mine}/activity").status_code == 404
    assert markers(client_of(app, other).get(f"/cohorts/{theirs}/activity").get_data(as_text=True)) == {
        "marker-2",
        "marker-3",
    }
    assert staff.get("/admin/audit").status_code == 403


def test_the_csv_export_streams_the_filtered_entries(app, people, make_user):
    admin, learner = people["admin"], people["learner"]
    formula = make_user(email="formula@example.com", name="=HYPERLINK(1)")
    add_entries(
        app,
        {"at": utcnow(), "action": "login", "actor_id": formula.id, "target_user_id": formula.id, "ip": "10.0.0.1"},
        {"at": utcnow(), "action": "role changed", "actor_id": admin.id, "target_user_id": learner.id,
         "before": {"role": "learner"}, "after": {"role": "instructor"}},
    )  # fmt: skip
    response = client_of(app, admin).get("/admin/audit.csv?action=login")
    assert response.is_streamed and response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["Time (UTC)", "Action", "Actor id"]
    logins = [row for row in body if row[1] == "login"]
    assert len(logins) == len(body)  # only the filtered action (the admin's own login included)
    mine = next(row for row in logins if row[2] == str(formula.id))
    assert mine[3:6] == ["'=HYPERLINK(1)", "formula@example.com", "10.0.0.1"]  # a formula is not run
    everything = client_of(app, admin).get(f"/admin/audit.csv?user={learner.id}").get_data(as_text=True)
    [changed] = [row for row in csv.reader(io.StringIO(everything)) if row[1] == "role changed"]
    assert json.loads(changed[11]) == {"role": "learner"} and json.loads(changed[12]) == {"role": "instructor"}


def test_the_admin_audit_page_costs_the_same_for_10_and_1000_entries(app, people):
    users = [people[key] for key in ("admin", "teacher", "other", "learner", "second")]
    cohort_id = make_cohort(app, "Iota Cohort", people["teacher"], people["other"])
    client = client_of(app, people["admin"])

    def fill(count: int) -> None:
        base = datetime(2031, 1, 1, tzinfo=UTC)
        add_entries(
            app,
            *(
                {
                    "at": base + timedelta(minutes=n),
                    "action": ("role changed", "cohort edited", "moved", "login")[n % 4],
                    "actor_id": users[n % 5].id,
                    "target_user_id": users[(n + 1) % 5].id,
                    "cohort_id": cohort_id if n % 2 else None,
                    "before": {"instructor_ids": [users[n % 5].id]},
                    "after": {"instructor_ids": [users[(n + 2) % 5].id], "cohort_id": cohort_id},
                    "details": {"source": "invite"},
                }
                for n in range(count)
            ),
        )

    counts = []
    for total in (10, 1000):
        with app.app_context():
            have = _db.session.scalar(select(func.count(AuditEntry.id)))
        fill(total - have)
        for url in ("/admin/audit", f"/admin/audit?cohort={cohort_id}&page=2", f"/cohorts/{cohort_id}/activity"):
            client.get(url).close()  # warm up
            counts.append((url, len(statements_for(app, client, url))))
    small, large = counts[:3], counts[3:]
    assert small == large


# -- retention -----------------------------------------------------------------------------------------------------
def test_prune_deletes_entries_older_than_the_retention_period(app):
    now = utcnow()
    add_entries(
        app,
        {"at": now - timedelta(days=800), "action": "login", "subject": "marker-1"},
        {"at": now - timedelta(days=100), "action": "login", "subject": "marker-2"},
        {"at": now - timedelta(days=1), "action": "login", "subject": "marker-3"},
    )
    runner = app.test_cli_runner()

    def left() -> list[str]:
        with app.app_context():
            return list(_db.session.scalars(select(AuditEntry.subject).order_by(AuditEntry.at)))

    result = runner.invoke(args=["audit", "prune"])  # AUDIT_RETENTION_DAYS: 730
    assert result.exit_code == 0 and "deleted 1 audit entries older than 730 days" in result.output, result.output
    assert left() == ["marker-2", "marker-3"]
    result = runner.invoke(args=["audit", "prune", "--older-than", "30"])
    assert result.exit_code == 0 and "deleted 1 " in result.output
    assert left() == ["marker-3"]
    assert runner.invoke(args=["audit", "prune", "--older-than", "0"]).exit_code != 0
    assert left() == ["marker-3"]


def test_an_entry_from_the_command_line_has_no_actor_and_no_address(app):
    with app.app_context():
        record(Action.CONTENT_LOADED, details={"courses": []})
        _db.session.commit()
    [found] = new_entries(app, 0)
    assert (found["actor_id"], found["ip"]) == (None, None)
    assert isinstance(found["at"], datetime) and found["at"].date() >= date(2025, 1, 1)


def test_email_changes_and_logging_out_everywhere_are_recorded_without_addresses(app, people):
    learner = people["learner"]
    client = client_of(app, learner)
    mark = last_id(app)
    changed = client.post(
        "/account/email", data={"email-email": "renamed@example.com", "email-password": DEFAULT_PASSWORD}
    )
    assert changed.status_code == 303
    assert client.post("/logout/everywhere").status_code == 302
    assert shape(new_entries(app, mark)) == [
        entry(Action.EMAIL_CHANGED, actor=learner, target=learner),
        entry(Action.LOGGED_OUT_EVERYWHERE, actor=learner, target=learner),
    ]
    assert_no_personal_data(app, "renamed@example.com", learner.email)
