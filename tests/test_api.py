"""The JSON API (/api/v1): scopes, who may read whose data, enrolment, problem details, ETags, pagination,
languages, the quiz's reveal policy, the dashboard's numbers. Tokens and authentication: tests/test_api_tokens.py."""

from __future__ import annotations

import pytest
from api_world import (
    ADMIN,
    INSTRUCTOR_A,
    INSTRUCTOR_B,
    LEARNER,
    PROGRESS,
    assert_problem,
    build_world,
    call,
    make_token,
)
from conftest import (
    FIXTURE_COURSE,
    RIGHT_ANSWERS,
    WRONG_ANSWERS,
    complete_lessons,
    do_login,
    load,
    new_client,
    submit_quiz,
)
from dashboard_factories import bulk_cohort
from sqlalchemy import func, select, update
from test_translations import write_course

from course.accounts.models import User
from course.audit.log import Action
from course.audit.models import AuditEntry
from course.cohorts.models import Cohort, Enrolment
from course.dashboard.coursemap import load_course_map
from course.dashboard.overview import overview as cohort_overview
from course.db_types import utcnow
from course.extensions import db as _db
from course.outbox.kinds import Kind
from course.outbox.models import OutboxMessage


@pytest.fixture
def world(app, loaded_course, make_user):
    return build_world(app, make_user)


def test_a_scope_the_token_lacks_is_a_403(app, world):
    client = new_client(app)
    progress_only = make_token(app, world.users[INSTRUCTOR_A], scopes=["progress:read"])
    body = assert_problem(call(client, "GET", "/api/v1/cohorts", progress_only), 403)
    assert body["type"] == "urn:founder-course:problem:insufficient-scope"
    cohorts_only = make_token(app, world.users[INSTRUCTOR_A], scopes=["cohorts:read"])
    assert call(client, "GET", "/api/v1/cohorts", cohorts_only).status_code == 200
    assert_problem(call(client, "GET", PROGRESS, cohorts_only), 403)
    assert_problem(call(client, "POST", f"/api/v1/cohorts/{world.cohort_a}/learners", cohorts_only, json={}), 403)
    learner = world.tokens[LEARNER]
    for url in ("/api/v1/cohorts", f"/api/v1/cohorts/{world.cohort_a}/learners", "/api/v1/users"):
        assert_problem(call(client, "GET", url, learner), 403)
    # a role lost after the token was made takes its scopes with it
    admin = world.tokens[ADMIN]
    with app.app_context():
        _db.session.execute(update(User).where(User.id == world.users[ADMIN]).values(role="instructor"))
        _db.session.commit()
    assert_problem(call(client, "GET", "/api/v1/users", admin), 403)


def test_staff_see_only_their_cohorts_and_learners_only_their_own_data(app, world):
    client = new_client(app)
    a, b, learner_id = world.cohort_a, world.cohort_b, world.users[LEARNER]
    listing = call(client, "GET", "/api/v1/cohorts", world.tokens[INSTRUCTOR_A]).get_json()
    assert [c["id"] for c in listing["items"]] == [a]
    admin = call(client, "GET", "/api/v1/cohorts", world.tokens[ADMIN]).get_json()
    assert {c["id"] for c in admin["items"]} == {a, b}
    b_token = world.tokens[INSTRUCTOR_B]
    for url in (f"/api/v1/cohorts/{a}", f"/api/v1/cohorts/{a}/learners", f"/api/v1/cohorts/{a}/learners/{learner_id}"):
        assert_problem(call(client, "GET", url, b_token), 404)
        assert call(client, "GET", url, world.tokens[INSTRUCTOR_A]).status_code == 200
    assert_problem(call(client, "POST", f"/api/v1/cohorts/{a}/learners", b_token, json={"email": "n@example.com"}), 404)
    assert_problem(call(client, "DELETE", f"/api/v1/cohorts/{a}/learners/{learner_id}", b_token), 404)
    assert_problem(call(client, "GET", f"/api/v1/cohorts/{b}/learners/{learner_id}", b_token), 404)  # not in B
    roster = call(client, "GET", f"/api/v1/cohorts/{a}/learners", world.tokens[INSTRUCTOR_A]).get_json()
    assert [row["user_id"] for row in roster["items"]] == [learner_id]
    # a learner's own data has no user id in its URL: their token reads theirs, whoever else asks
    mine = call(client, "GET", PROGRESS, world.tokens[LEARNER]).get_json()
    theirs = call(client, "GET", PROGRESS, world.tokens[INSTRUCTOR_A]).get_json()
    assert mine["items_done"] == theirs["items_done"] == 0


# -- enrolment --------------------------------------------------------------------------------------------------
def enrol_by_email(client, cohort_id: int, token: str, email: str, **extra):
    return call(client, "POST", f"/api/v1/cohorts/{cohort_id}/learners", token, json={"email": email, **extra})


def test_enrolment_by_email_is_the_cohort_pages_and_idempotent(app, world):
    client, token, a = new_client(app), world.tokens[INSTRUCTOR_A], world.cohort_a
    first = enrol_by_email(client, a, token, "New@Example.com", name="Nia New", language="zh_Hans")
    assert first.status_code == 201, first.get_data(as_text=True)
    body = first.get_json()
    assert body["enrolled_at"].endswith("+00:00") and body["emailed"] is True and body["source"] == "instructor"
    again = enrol_by_email(client, a, token, "new@example.com")
    assert again.status_code == 200 and again.get_json()["user_id"] == body["user_id"]
    assert again.get_json()["emailed"] is False
    with app.app_context():
        newcomer = _db.session.get(User, body["user_id"])  # a new learner account, as "add a learner" makes
        assert (newcomer.email, newcomer.name, newcomer.role.value) == ("new@example.com", "Nia New", "learner")
        assert _db.session.get(Cohort, a).enrolled_count == 2
        entries = _db.session.scalars(select(AuditEntry).where(AuditEntry.action == Action.ENROLLED.value)).all()
        assert [e.actor_id for e in entries if e.target_user_id == newcomer.id] == [world.users[INSTRUCTOR_A]]
        invitations = _db.session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.kind == Kind.INVITATION.value, OutboxMessage.user_id == newcomer.id
            )
        ).all()
        assert len(invitations) == 1  # emailed once, however often enrolled
    assert_problem(enrol_by_email(client, a, token, "not an address"), 422)
    assert_problem(enrol_by_email(client, a, token, "x@example.com", language="klingon"), 422)


def test_enrolment_reveals_no_other_account_or_cohort(app, world, make_user):
    """Staff accounts, disabled ones and learners of another cohort are refused with one message that names
    neither the account nor the cohort; nobody is enrolled or emailed."""
    client, a, b = new_client(app), world.cohort_a, world.cohort_b
    make_user(email="off@example.com")
    with app.app_context():
        _db.session.execute(update(User).where(User.email == "off@example.com").values(active=False))
        _db.session.commit()
        before = _db.session.scalar(select(func.count(OutboxMessage.id)))
    refusals = [
        (a, world.tokens[INSTRUCTOR_A], "admin@example.com"),
        (a, world.tokens[INSTRUCTOR_A], "b@example.com"),
        (a, world.tokens[INSTRUCTOR_A], "off@example.com"),
        (b, world.tokens[INSTRUCTOR_B], "learner@example.com"),  # in cohort A of the same course
    ]
    for cohort_id, token, email in refusals:
        body = assert_problem(enrol_by_email(client, cohort_id, token, email), 409)
        assert body["type"] == "urn:founder-course:problem:enrolment-refused"
        assert body["detail"] == "This address cannot be enrolled in this cohort."
    with app.app_context():
        assert _db.session.scalar(select(func.count(OutboxMessage.id))) == before
        assert _db.session.scalars(select(Enrolment.user_id)).all() == [world.users[LEARNER]]
    roster = call(client, "GET", f"/api/v1/cohorts/{a}/learners", world.tokens[INSTRUCTOR_A]).get_json()
    assert [row["email"] for row in roster["items"]] == ["learner@example.com"]
    # the cohort page's "add a learner" is the same service: a staff account is refused there too
    browser = new_client(app)
    assert do_login(browser, "a@example.com").status_code == 302
    form = {"learner-email": "admin@example.com", "learner-language": "en"}
    page = browser.post(f"/cohorts/{a}/learners/add", data=form)
    assert page.status_code == 400, page.get_data(as_text=True)
    text = page.get_data(as_text=True)
    assert "is a staff account: only learners can be enrolled." in text, text[text.find("error") :][:2000]


def test_unenrolling_answers_only_for_learners_of_the_cohort(app, world, make_user):
    client, token, a = new_client(app), world.tokens[INSTRUCTOR_A], world.cohort_a
    learner = world.users[LEARNER]
    outsider = make_user(email="outsider@example.com").id
    # someone else's learner, an admin, a learner in no cohort, no account: the same 404 as ids nobody has
    for cohort_id, user_id, who in (
        (world.cohort_b, learner, INSTRUCTOR_B),
        (a, world.users[ADMIN], INSTRUCTOR_A),
        (a, outsider, INSTRUCTOR_A),
        (a, 999999, INSTRUCTOR_A),
    ):
        response = call(client, "DELETE", f"/api/v1/cohorts/{cohort_id}/learners/{user_id}", world.tokens[who])
        assert assert_problem(response, 404)["detail"] == "Not Found"
    assert call(client, "DELETE", f"/api/v1/cohorts/{a}/learners/{learner}", token).status_code == 204
    assert_problem(call(client, "DELETE", f"/api/v1/cohorts/{a}/learners/{learner}", token), 404)  # no longer in it
    with app.app_context():
        assert _db.session.get(Cohort, a).enrolled_count == 0
        assert _db.session.scalar(select(Enrolment)) is None
        _db.session.execute(update(Cohort).where(Cohort.id == a).values(capacity=1))
        _db.session.commit()
    assert enrol_by_email(client, a, token, "learner@example.com").status_code == 201  # back: her seat
    full = assert_problem(enrol_by_email(client, a, token, "outsider@example.com"), 409)
    assert full["detail"] == "This cohort is full."


# -- the reveal policy --------------------------------------------------------------------------------------------
def test_attempts_reveal_answers_only_as_the_quiz_allows(app, world):
    browser = new_client(app)
    assert do_login(browser, "learner@example.com").status_code == 302
    complete_lessons(browser, "data", "tuning", "pricing", "growth")
    client, token = new_client(app), world.tokens[LEARNER]
    url = f"/api/v1/me/courses/{FIXTURE_COURSE}/quizzes/training-quiz/attempts"
    assert call(client, "GET", url, token).get_json()["items"] == []
    assert submit_quiz(browser, "training-quiz", WRONG_ANSWERS["training-quiz"]).status_code == 302
    before = call(client, "GET", url, token).get_json()["items"]  # after_pass: which were right, not the answers
    assert [a["reveal"] for a in before] == ["correctness"]
    assert all(ans["correct_response"] is None and ans["explanation"] is None for ans in before[0]["answers"])
    assert not any(ans["correct"] for ans in before[0]["answers"])
    assert submit_quiz(browser, "training-quiz", RIGHT_ANSWERS["training-quiz"]).status_code == 302
    after = call(client, "GET", url, token).get_json()["items"]
    assert [a["reveal"] for a in after] == ["full", "full"] and after[1]["passed"]
    assert all(ans["correct_response"] is not None for a in after for ans in a["answers"])
    assert submit_quiz(browser, "launch-quiz", WRONG_ANSWERS["launch-quiz"]).status_code == 302
    never = call(client, "GET", url.replace("training-quiz", "launch-quiz"), token).get_json()["items"]
    assert [(a["reveal"], a["answers"]) for a in never] == [("score", None)]
    assert_problem(call(client, "GET", url.replace("training-quiz", "no-such-quiz"), token), 404)


# -- reads: ETags, pages, languages, times -------------------------------------------------------------------------
def test_reads_have_etags_and_answer_304_until_they_change(app, world):
    browser = new_client(app)
    assert do_login(browser, "learner@example.com").status_code == 302
    client, token = new_client(app), world.tokens[LEARNER]
    first = call(client, "GET", PROGRESS, token)
    etag = first.headers["ETag"]
    assert first.status_code == 200 and etag
    again = call(client, "GET", PROGRESS, token, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    complete_lessons(browser, "welcome")
    changed = call(client, "GET", PROGRESS, token, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    lesson = changed.get_json()["chapters"][0]["lessons"][0]
    assert lesson["completed_at"].endswith("+00:00")


def test_lists_come_in_pages_with_a_link_to_the_next(app, world, make_user):
    for n in range(3):
        make_user(email=f"extra{n}@example.com")
    client, token = new_client(app), world.tokens[ADMIN]
    seen, url = [], "/api/v1/users?per_page=3"
    while url:
        page = call(client, "GET", url, token).get_json()
        assert page["total"] == 7 and len(page["items"]) <= 3
        seen += [user["id"] for user in page["items"]]
        url = page["next"]
    assert len(seen) == 7 == len(set(seen)) and seen == sorted(seen)
    learners = call(client, "GET", "/api/v1/users?role=learner&per_page=100", token).get_json()
    assert {u["role"] for u in learners["items"]} == {"learner"} and learners["next"] is None
    body = assert_problem(call(client, "GET", "/api/v1/users?per_page=101", token), 422)
    assert body["errors"][0]["loc"] == ["per_page"]
    assert_problem(call(client, "GET", "/api/v1/users?role=owner", token), 422)


def test_the_outline_comes_in_the_language_asked_for(app, world, tmp_path):
    """The bilingual course (tests/test_translations.py) is written in Chinese with an English translation."""
    assert load(app, write_course(tmp_path / "bilingual-content")).applied
    client, token = new_client(app), world.tokens[LEARNER]
    url = "/api/v1/courses/bilingual"
    english = call(client, "GET", url + "?lang=en", token).get_json()
    by_header = call(client, "GET", url, token, headers={"Accept-Language": "en-GB,en;q=0.8"}).get_json()
    own = call(client, "GET", url, token, headers={"Accept-Language": "zh-CN"}).get_json()
    by_param = call(client, "GET", url + "?lang=zh-Hans", token, headers={"Accept-Language": "en"}).get_json()
    assert english == by_header and english["language"] == "en" and english["title"] == "Bilingual course"
    assert own == by_param and own["language"] == "zh-Hans" and own["title"] == "双语课程"
    chapters = [
        (m["chapters"][0]["title"], m["chapters"][0]["quiz"]["title"])
        for m in (english["modules"][0], own["modules"][0])
    ]
    assert chapters == [("Chapter one", "Chapter one quiz"), ("第一章", "第一章测验")]
    assert [m["key"] for m in own["modules"]] == [m["key"] for m in english["modules"]]  # keys never translated
    catalogue = call(client, "GET", "/api/v1/courses?lang=en", token).get_json()
    assert [(c["key"], c["title"]) for c in catalogue["items"]] == [("bilingual", "Bilingual course")]
    assert_problem(call(client, "GET", "/api/v1/courses/no-such-course", token), 404)


def test_head_gets_the_etag_of_get(app, world):
    client, token = new_client(app), world.tokens[LEARNER]
    got = call(client, "GET", "/api/v1/me", token)
    head = call(client, "HEAD", "/api/v1/me", token)
    assert head.status_code == 200 and head.headers["ETag"] == got.headers["ETag"]
    again = call(client, "HEAD", "/api/v1/me", token, headers={"If-None-Match": got.headers["ETag"]})
    assert again.status_code == 304


# -- errors ------------------------------------------------------------------------------------------------------
def test_every_error_under_api_is_a_problem(app, world, monkeypatch):
    client, token = new_client(app), world.tokens[LEARNER]
    for path in ("/api", "/api/", "/api/v2/me", "/api/v1/"):  # every path under /api, with or without a slash
        assert_problem(call(client, "GET", path, token), 404)
    assert_problem(call(client, "GET", "/api/v1/no-such-thing", token), 404)
    assert assert_problem(call(client, "POST", "/api/v1/me", token), 405)
    assert_problem(call(client, "GET", "/api/v1/courses?lang=%00", token), 400)  # a control character
    app.config["RATELIMIT_API"] = "2 per minute"
    other = make_token(app, world.users[INSTRUCTOR_B])
    assert call(client, "GET", "/api/v1/me", other).status_code == 200
    assert call(client, "GET", "/api/v1/me", other).status_code == 200
    limited = call(client, "GET", "/api/v1/me", other)
    assert_problem(limited, 429)
    assert int(limited.headers["Retry-After"]) >= 1
    app.config["RATELIMIT_API"] = "1000 per minute"

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("course.api.learner_routes.build_outline", broken)
    assert_problem(call(client, "GET", PROGRESS, token), 500)
    monkeypatch.undo()

    def off_schema(*args, **kwargs):
        return {"course_key": 1}  # a response its schema refuses: our bug, never sent as it is

    monkeypatch.setattr("course.api.present.progress_of", off_schema)
    assert_problem(call(client, "GET", PROGRESS, token), 500)


def test_the_reference_page_is_served_from_our_files_under_the_csp(app, client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<script>" not in html and "https://" not in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    with client.get("/static/js/api-docs.js") as script:
        assert script.status_code == 200
    assert "/api/v1/openapi.json" in html


# -- the dashboard's numbers ---------------------------------------------------------------------------------------
def test_a_cohorts_numbers_are_the_dashboards(app, world):
    """A cohort with uneven progress (an even number of learners: the median falls between two)."""
    cohort_id = bulk_cohort(app, 10, [world.users[INSTRUCTOR_A]], "Big")
    numbers = call(new_client(app), "GET", f"/api/v1/cohorts/{cohort_id}", world.tokens[ADMIN]).get_json()["overview"]
    with app.app_context():
        cohort = _db.session.get(Cohort, cohort_id)
        dashboard = cohort_overview(cohort, load_course_map(cohort), utcnow())
    assert dashboard.enrolled == 10 and dashboard.median_percent is not None and dashboard.average_best is not None
    assert numbers == {
        "enrolled": dashboard.enrolled,
        "started": dashboard.started,
        "completed": dashboard.completed,
        "active_last_7_days": dashboard.active,
        "average_percent": numbers["average_percent"],
        "median_percent": round(dashboard.median_percent, 1),
        "average_best_quiz_percent": round(dashboard.average_best, 1),
    }
