"""Every route of the app, walked as every role: anonymous, a learner (in cohort A), the instructor of
cohort A, the instructor of cohort B, and an admin. Plus two walks of the URL map: every POST refuses a
request without a CSRF token, and no GET changes anything (apart from the lesson-view timestamps that
"continue where you left off" is made of, and the audit entries of data exports). No route changes or deletes an
audit entry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from api_world import make_token
from conftest import (
    FIXTURE_COURSE,
    RIGHT_ANSWERS,
    WRONG_ANSWERS,
    build_app,
    complete_lessons,
    dispose,
    do_login,
    new_client,
    submit_quiz,
)
from sqlalchemy import func, select

from course.accounts.models import User
from course.audit.log import Action
from course.audit.models import AuditEntry
from course.clock import today
from course.cohorts import services as cohorts
from course.cohorts.calendar import feed_token, make_feed
from course.cohorts.enrolment import enrol
from course.content.models import Course
from course.extensions import db as _db
from course.progress.models import Completion
from course.progress.review_models import ReviewCard

ANON, LEARNER, INSTRUCTOR_A, INSTRUCTOR_B, ADMIN = "anon", "learner", "instructor_a", "instructor_b", "admin"
ROLES = (ANON, LEARNER, INSTRUCTOR_A, INSTRUCTOR_B, ADMIN)


@pytest.fixture
def world(app, loaded_course, make_user):
    """Two cohorts, each with its instructor; a learner in cohort A who finished the course."""
    users = {
        LEARNER: make_user(email="learner@example.com", name="Lena Learner"),
        INSTRUCTOR_A: make_user(email="a@example.com", role="instructor"),
        INSTRUCTOR_B: make_user(email="b@example.com", role="instructor"),
        ADMIN: make_user(email="admin@example.com", role="admin"),
    }
    with app.app_context():
        course = _db.session.scalar(select(Course).where(Course.key == FIXTURE_COURSE))
        start = today() - timedelta(weeks=4)
        settings = cohorts.CohortSettings(name="A", starts_on=start, ends_on=start + timedelta(weeks=10))
        cohort_a = cohorts.create_cohort(course, settings, [users[INSTRUCTOR_A].id])
        settings_b = cohorts.CohortSettings(name="B", starts_on=start, ends_on=start + timedelta(weeks=10))
        cohort_b = cohorts.create_cohort(course, settings_b, [users[INSTRUCTOR_B].id])
        enrol(cohort_a, _db.session.merge(users[LEARNER]), check_window=False)
        feed = make_feed(users[LEARNER].id, cohort_a.id)  # her calendar link, asked for on the outline
        _db.session.commit()
        ids = {"a": cohort_a.id, "b": cohort_b.id, "code_a": cohort_a.invite_code, "calendar": feed_token(feed)}
    clients = {ANON: new_client(app)}
    for role, user in users.items():
        clients[role] = new_client(app)
        assert do_login(clients[role], user.email).status_code == 302
    learner = clients[LEARNER]
    complete_lessons(learner, "welcome", "models", "data", "tuning", "pricing", "growth")
    # One wrong attempt first: its questions become her review cards, due now (the quiz shows its answers).
    assert submit_quiz(learner, "intro-quiz", WRONG_ANSWERS["intro-quiz"]).status_code == 302
    for quiz, answers in RIGHT_ANSWERS.items():
        assert submit_quiz(learner, quiz, answers).status_code == 302
    with app.app_context():
        ids["verify"] = _db.session.scalar(select(Completion.verification_code))
        assert _db.session.scalar(select(func.count(ReviewCard.id))) > 0
    ids["learner"] = users[LEARNER].id
    return clients, ids


def expectations(ids) -> list[tuple[str, dict[str, int]]]:
    c = f"/courses/{FIXTURE_COURSE}"
    a, b, learner = ids["a"], ids["b"], ids["learner"]
    everyone_200 = dict.fromkeys(ROLES, 200)
    signed_in = {ANON: 302, LEARNER: 200, INSTRUCTOR_A: 200, INSTRUCTOR_B: 200, ADMIN: 200}
    staff = {ANON: 302, LEARNER: 403, INSTRUCTOR_A: 200, INSTRUCTOR_B: 200, ADMIN: 200}
    cohort_a = {ANON: 302, LEARNER: 404, INSTRUCTOR_A: 200, INSTRUCTOR_B: 404, ADMIN: 200}
    cohort_b = {ANON: 302, LEARNER: 404, INSTRUCTOR_A: 404, INSTRUCTOR_B: 200, ADMIN: 200}
    only_learner = {ANON: 302, LEARNER: 200, INSTRUCTOR_A: 404, INSTRUCTOR_B: 404, ADMIN: 404}
    return [
        ("/", dict.fromkeys(ROLES, 302)),
        ("/courses", everyone_200),
        ("/account", signed_in),
        ("/account/delete", signed_in),
        ("/favicon.ico", everyone_200),
        (c, everyone_200),
        (f"{c}/lessons/welcome", signed_in),
        (f"{c}/lessons/no-such-lesson", {**dict.fromkeys(ROLES, 404), ANON: 302}),
        ("/courses/no-such-course", dict.fromkeys(ROLES, 404)),
        (f"{c}/quizzes/intro-quiz", signed_in),
        (f"{c}/quizzes/intro-quiz/attempts", signed_in),
        (f"{c}/quizzes/intro-quiz/attempts/1", only_learner),
        (f"{c}/summary", signed_in),
        (f"{c}/review", signed_in),  # the Review page: their own due cards (the learner has some; staff none)
        (f"{c}/review?answered=999999", {ANON: 302, **dict.fromkeys(ROLES[1:], 404)}),  # nobody's review
        (f"{c}/summary/print", only_learner),
        (f"{c}/summary/badge.json", only_learner),  # her Open Badge, issued when she completed the course
        (f"/verify/{ids['verify']}", everyone_200),
        ("/verify/not-a-real-code", dict.fromkeys(ROLES, 404)),
        (f"/verify/{ids['verify']}/badge.json", everyone_200),
        ("/verify/not-a-real-code/badge.json", dict.fromkeys(ROLES, 404)),
        ("/credentials/status/1", everyone_200),  # the badges' revocation list: public, signed
        ("/credentials/status/2", dict.fromkeys(ROLES, 404)),
        ("/.well-known/did.json", dict.fromkeys(ROLES, 404)),  # no https PUBLIC_URL here: the issuer is a did:key
        ("/did.json", dict.fromkeys(ROLES, 404)),  # a did:web at a path (https PUBLIC_URL with one) resolves here
        ("/verify", everyone_200),  # the form that checks a code
        (f"/calendar/{ids['calendar']}.ics", everyone_200),  # the secret link is the key: no login
        ("/calendar/1-not-its-mac.ics", dict.fromkeys(ROLES, 404)),
        ("/cohorts", staff),
        ("/cohorts/new", staff),
        (f"/cohorts/{a}", cohort_a),
        (f"/cohorts/{a}/edit", cohort_a),
        (f"/cohorts/{b}", cohort_b),
        ("/cohorts/999999", {ANON: 302, **dict.fromkeys(ROLES[1:], 404)}),
        (f"/cohorts/{a}/dashboard", cohort_a),
        (f"/cohorts/{a}/dashboard/learners", cohort_a),
        (f"/cohorts/{a}/dashboard/at-risk", cohort_a),
        (f"/cohorts/{a}/dashboard/quizzes", cohort_a),
        (f"/cohorts/{a}/dashboard/quizzes/intro-quiz", cohort_a),
        (f"/cohorts/{a}/dashboard/quizzes/no-such-quiz", {ANON: 302, **dict.fromkeys(ROLES[1:], 404)}),
        (f"/cohorts/{a}/learners/{learner}", cohort_a),
        (f"/cohorts/{b}/learners/{learner}", {ANON: 302, **dict.fromkeys(ROLES[1:], 404)}),
        (f"/cohorts/{a}/dashboard/at-risk/remind", cohort_a),
        (f"/cohorts/{a}/learners/{learner}/remind", cohort_a),
        (f"/cohorts/{b}/learners/{learner}/remind", {ANON: 302, **dict.fromkeys(ROLES[1:], 404)}),
        (f"/cohorts/{a}/export/grid.csv", cohort_a),
        (f"/cohorts/{a}/export/at-risk.csv", cohort_a),
        (f"/cohorts/{a}/export/quizzes/intro-quiz.csv", cohort_a),
        (f"/cohorts/{b}/dashboard", cohort_b),
        (f"/cohorts/{a}/activity", cohort_a),
        (f"/cohorts/{a}/announcements", cohort_a),
        (f"/cohorts/{b}/announcements", cohort_b),
        (f"/cohorts/{b}/activity", cohort_b),
        ("/cohorts/999999/activity", {ANON: 302, **dict.fromkeys(ROLES[1:], 404)}),
        (f"/join/{ids['code_a']}", everyone_200),
        ("/join/not-a-code", dict.fromkeys(ROLES, 404)),
        ("/login", {**dict.fromkeys(ROLES, 302), ANON: 200}),
        ("/login/code", dict.fromkeys(ROLES, 302)),  # no password typed: back to /login; signed in: onwards
        ("/account/mfa", signed_in),
        ("/account/mfa/setup", {**dict.fromkeys(ROLES, 302), LEARNER: 200}),  # staff have theirs: the mfa page
        ("/register", {**dict.fromkeys(ROLES, 302), ANON: 200}),
        ("/password/forgot", everyone_200),
        ("/password/reset/bad-token", dict.fromkeys(ROLES, 404)),
        ("/password/set/bad-token", dict.fromkeys(ROLES, 404)),
        ("/healthz", everyone_200),
        ("/admin/users", {ANON: 302, LEARNER: 403, INSTRUCTOR_A: 403, INSTRUCTOR_B: 403, ADMIN: 200}),
        (f"/admin/users/{learner}/delete", {ANON: 302, LEARNER: 403, INSTRUCTOR_A: 403, INSTRUCTOR_B: 403, ADMIN: 200}),
        ("/admin/users?role=learner&status=active", {ANON: 302, **dict.fromkeys(ROLES[1:4], 403), ADMIN: 200}),
        ("/admin/users?status=asleep", {ANON: 302, **dict.fromkeys(ROLES[1:4], 403), ADMIN: 400}),
        ("/admin/users/new", {ANON: 302, LEARNER: 403, INSTRUCTOR_A: 403, INSTRUCTOR_B: 403, ADMIN: 200}),
        (f"/admin/users/{learner}/disable", {ANON: 302, **dict.fromkeys(ROLES[1:4], 403), ADMIN: 200}),
        ("/admin/users/999999/disable", {ANON: 302, **dict.fromkeys(ROLES[1:4], 403), ADMIN: 404}),
        ("/admin/audit", {ANON: 302, LEARNER: 403, INSTRUCTOR_A: 403, INSTRUCTOR_B: 403, ADMIN: 200}),
        (f"/admin/audit?cohort={a}&action=enrolled", {ANON: 302, **dict.fromkeys(ROLES[1:4], 403), ADMIN: 200}),
        ("/admin/audit.csv", {ANON: 302, LEARNER: 403, INSTRUCTOR_A: 403, INSTRUCTOR_B: 403, ADMIN: 200}),
        ("/admin/emails", {ANON: 302, LEARNER: 403, INSTRUCTOR_A: 403, INSTRUCTOR_B: 403, ADMIN: 200}),
        ("/admin/emails?status=lost", {ANON: 302, **dict.fromkeys(ROLES[1:4], 403), ADMIN: 400}),
        ("/logout", dict.fromkeys(ROLES, 405)),
        ("/unsubscribe/not-a-signed-link", dict.fromkeys(ROLES, 404)),
        # LTI: the tool's public keys; a login with no platform's parameters; the admins' and staff's pages.
        ("/lti/jwks", everyone_200),
        ("/lti/login", dict.fromkeys(ROLES, 400)),
        ("/lti/platforms", {ANON: 302, **dict.fromkeys(ROLES[1:4], 403), ADMIN: 200}),
        ("/lti/platforms/new", {ANON: 302, **dict.fromkeys(ROLES[1:4], 403), ADMIN: 200}),
        ("/lti/platforms/999999/edit", {ANON: 302, **dict.fromkeys(ROLES[1:4], 403), ADMIN: 404}),
        ("/lti/links", staff),
        # The API refuses a session cookie: every operation is a 401 for a browser (tokens: `api_expectations`).
        ("/api/v1/openapi.json", everyone_200),
        ("/api/v1/docs", everyone_200),
        *((url, dict.fromkeys(ROLES, 401)) for url, _expected in api_expectations(ids)),
    ]


def api_expectations(ids) -> list[tuple[str, dict[str, int]]]:
    """The API's GET operations as each role's personal access token (every scope its role allows) finds them;
    ANON sends no token."""
    a, b, learner, c = ids["a"], ids["b"], ids["learner"], FIXTURE_COURSE
    everyone = {ANON: 401, **dict.fromkeys(ROLES[1:], 200)}
    staff = {ANON: 401, LEARNER: 403, INSTRUCTOR_A: 200, INSTRUCTOR_B: 200, ADMIN: 200}
    cohort_a = {ANON: 401, LEARNER: 403, INSTRUCTOR_A: 200, INSTRUCTOR_B: 404, ADMIN: 200}
    return [
        ("/api/v1/courses", everyone),
        (f"/api/v1/courses/{c}", everyone),
        ("/api/v1/courses/no-such-course", {ANON: 401, **dict.fromkeys(ROLES[1:], 404)}),
        ("/api/v1/me", everyone),
        (f"/api/v1/me/courses/{c}/progress", everyone),  # each their own: no user id in the URL
        (f"/api/v1/me/courses/{c}/quizzes/intro-quiz/attempts", everyone),
        (f"/api/v1/me/courses/{c}/workbook", everyone),
        (f"/api/v1/me/courses/{c}/completion", everyone),
        ("/api/v1/cohorts", staff),
        (f"/api/v1/cohorts/{a}", cohort_a),
        (f"/api/v1/cohorts/{a}/learners", cohort_a),
        (f"/api/v1/cohorts/{a}/learners/{learner}", cohort_a),
        (f"/api/v1/cohorts/{b}/learners/{learner}", {ANON: 401, LEARNER: 403, **dict.fromkeys(ROLES[2:], 404)}),
        ("/api/v1/cohorts/999999", {ANON: 401, LEARNER: 403, **dict.fromkeys(ROLES[2:], 404)}),
        ("/api/v1/users", {ANON: 401, LEARNER: 403, INSTRUCTOR_A: 403, INSTRUCTOR_B: 403, ADMIN: 200}),
    ]


def test_every_get_route_answers_each_role_as_expected(app, world):
    clients, ids = world
    table = expectations(ids)
    walked = {rule.endpoint for rule in app.url_map.iter_rules() if "GET" in rule.methods}
    covered = set()
    failures = []
    for url, expected in table:
        for role in ROLES:
            with clients[role].get(url) as response:  # closed: a file response holds its file open
                status = response.status_code
            if status != expected[role]:
                failures.append(f"{role:13} GET {url}: {status}, expected {expected[role]}")
        with app.test_request_context(url):
            from flask import request

            if request.url_rule is not None:
                covered.add(request.url_rule.endpoint)
    assert not failures, "\n".join(failures)
    missing = walked - covered - {"static"}
    assert not missing, f"routes the walk does not cover: {sorted(missing)}"


def test_every_api_operation_answers_each_roles_token_as_expected(app, world):
    """The API's matrix, with a bearer token per role instead of a session; the errors are problem details."""
    _clients, ids = world
    with app.app_context():
        users = {user.email: user for user in _db.session.scalars(select(User))}
    emails = {LEARNER: "learner@example.com", INSTRUCTOR_A: "a@example.com", INSTRUCTOR_B: "b@example.com"}
    emails[ADMIN] = "admin@example.com"
    headers = {ANON: {}}
    for role, email in emails.items():
        headers[role] = {"Authorization": f"Bearer {make_token(app, users[email].id)}"}
    client = new_client(app)
    failures = []
    for url, expected in api_expectations(ids):
        for role in ROLES:
            response = client.get(url, headers=headers[role])
            if response.status_code != expected[role]:
                failures.append(f"{role:13} GET {url}: {response.status_code}, expected {expected[role]}")
            elif response.status_code >= 400 and response.mimetype != "application/problem+json":
                failures.append(f"{role:13} GET {url}: {response.mimetype}, not a problem")
    assert not failures, "\n".join(failures)


def post_urls(ids) -> list[str]:
    c = f"/courses/{FIXTURE_COURSE}"
    a, learner = ids["a"], ids["learner"]
    return [
        "/login",
        "/register",
        "/logout",
        "/logout/everywhere",
        "/language",
        "/password/forgot",
        "/account/name",
        "/account/email",
        "/account/password",
        "/account/preferences",
        "/account/notifications",
        "/account/data",
        "/account/workbook",
        "/account/delete",
        "/account/api-tokens",
        "/account/api-tokens/1/revoke",
        "/login/code",
        "/account/mfa/setup",
        "/account/mfa/recovery-codes",
        "/account/mfa/disable",
        "/password/reset/x",
        "/password/set/x",
        f"{c}/lessons/welcome/complete",
        f"{c}/quizzes/intro-quiz",
        f"{c}/workbook/wb-welcome",
        f"{c}/calendar",
        f"{c}/calendar/reset",
        f"{c}/review/1",
        "/cohorts/new",
        f"/cohorts/{a}/edit",
        f"/cohorts/{a}/schedule",
        f"/cohorts/{a}/invite/rotate",
        f"/cohorts/{a}/invite/disable",
        f"/cohorts/{a}/invite/enable",
        f"/cohorts/{a}/enrol/csv",
        f"/cohorts/{a}/learners/{learner}/unenrol",
        f"/cohorts/{a}/learners/{learner}/move",
        f"/cohorts/{a}/learners/{learner}/extension",
        f"/cohorts/{a}/dashboard/at-risk/remind",
        f"/cohorts/{a}/learners/{learner}/remind",
        f"/cohorts/{a}/learners/add",
        f"/cohorts/{a}/learners/{learner}/invitation",
        f"/cohorts/{a}/announcements",
        "/announcements/1/dismiss",
        f"/join/{ids['code_a']}",
        f"/admin/users/{learner}",
        f"/admin/users/{learner}/delete",
        "/admin/users/new",
        f"/admin/users/{learner}/disable",
        f"/admin/users/{learner}/password-reset",
        "/admin/emails/1/retry",
        "/lti/deep-link",
        "/lti/platforms/new",
        "/lti/platforms/1/edit",
        "/lti/platforms/1/delete",
        "/lti/links/1/roster",
    ]


def test_every_post_needs_a_csrf_token(app, world, database_url):
    clients, ids = world
    urls = post_urls(ids)
    post_endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in rule.methods}
    covered = set()
    for url in urls:
        with app.test_request_context(url, method="POST"):
            from flask import request

            covered.add(request.url_rule.endpoint)
    # RFC 8058: a mail program's one-click unsubscribe POSTs no CSRF token; the signed link is the proof
    # (tests/test_outbox.py::test_one_click_unsubscribe_works_without_a_session_or_csrf_token).
    # An LTI login and launch come from the LMS, authenticated by its signed id_token, the state cookie and the
    # one-time nonce (tests/test_lti.py::test_a_replayed_launch_is_refused and the tampered-token test).
    # The API's enrolment (POST /api/v1/cohorts/<id>/learners) has no session: only a bearer token authenticates it
    # (tests/test_api.py::test_a_session_cookie_alone_is_a_401_and_never_used).
    csrf_exempt = {"auth.unsubscribe", "lti.login", "lti.launch", "api.cohort_learners"}
    assert post_endpoints == covered | csrf_exempt, sorted(post_endpoints ^ (covered | csrf_exempt))
    strict = build_app(database_url, WTF_CSRF_ENABLED=True)
    try:
        admin = new_client(strict)
        for url in urls:
            response = admin.post(url, data={"name": "x"})
            assert response.status_code == 400, (url, response.status_code)
            assert "not sent from this site" in response.get_data(as_text=True) or "expired" in response.get_data(
                as_text=True
            ), url
    finally:
        dispose(strict)


def snapshot(app) -> dict[str, list]:
    """Every row of every table, minus the view timestamps a lesson page records and the audit entries of data
    exports (a CSV download is recorded: who took which data)."""
    ignored = {("lesson_progress", "last_viewed_at"), ("rate_limit_counter", "expires_at")}
    with app.app_context():
        result = {}
        for table in _db.metadata.sorted_tables:
            columns = [col for col in table.columns if (table.name, col.name) not in ignored]
            query = select(*columns)
            if table.name == "audit_entry":
                query = query.where(table.c.action != Action.DATA_EXPORTED.value)
            rows = _db.session.execute(query).all()
            result[table.name] = sorted(map(repr, rows))
        return result


def test_no_get_request_changes_anything(app, world):
    clients, ids = world
    for client in clients.values():  # every page visited once first: lesson views are recorded on GET
        client.get(f"/courses/{FIXTURE_COURSE}/lessons/welcome")
    before = snapshot(app)
    for url, _expected in expectations(ids):
        for client in clients.values():
            client.get(url).close()
    after = snapshot(app)
    changed = [name for name in before if before[name] != after[name]]
    assert not changed, changed


def test_no_route_changes_or_deletes_an_audit_entry(app, world):
    """The audit log is append-only through the web: after every POST route and every GET route, sent by every
    role, each entry there was before is still there, unchanged (the actions may add entries)."""
    clients, ids = world

    def entries() -> dict[int, tuple]:
        with app.app_context():
            return {row.id: tuple(row) for row in _db.session.execute(select(AuditEntry.__table__))}

    before = entries()
    assert len(before) >= 8  # the world's content load, cohorts, enrolment and logins
    posts = sorted(post_urls(ids), key=lambda url: "logout" in url)  # logging out last
    for role in ROLES:
        for url in posts:
            clients[role].post(url, data={}).close()
        for url, _expected in expectations(ids):
            clients[role].get(url).close()
    after = entries()
    assert {entry_id: after.get(entry_id) for entry_id in before} == before
    assert len(after) > len(before)  # e.g. the exports, the unenrolment
