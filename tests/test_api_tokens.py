"""The JSON API's tokens and who is calling: personal access tokens made on the account page (the current password
asked, the owner emailed, shown once, stored hashed, revocable, revoked with every session), bearer authentication
only (never on a page, never from a cookie), failed lookups limited per address, staff scopes only with two-step
login."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

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
from conftest import DEFAULT_PASSWORD, do_login, new_client
from sqlalchemy import select, update

from course.accounts import mfa, services
from course.accounts.api_token_models import ApiToken
from course.accounts.models import User
from course.audit.log import Action
from course.audit.models import AuditEntry
from course.db_types import utcnow
from course.extensions import db as _db
from course.outbox.kinds import Kind
from course.outbox.models import OutboxMessage
from course.privacy.deletion import rule_for
from course.privacy.tables import user_tables


@pytest.fixture
def world(app, loaded_course, make_user):
    return build_world(app, make_user)


# -- tokens on the account page -------------------------------------------------------------------------------
def test_a_token_is_shown_once_stored_hashed_listed_and_revocable(app, client, make_user):
    user = make_user(email="maker@example.com")
    assert do_login(client, user.email).status_code == 302
    form = {"token-name": "Weekly report", "token-scope_progress_read": "y", "token-expires": "30"}
    for password in ("", "not my password"):  # the current password is asked, as for a new password
        refused = client.post("/account/api-tokens", data={**form, "token-password": password})
        assert refused.status_code == 400
    with app.app_context():
        assert _db.session.scalar(select(ApiToken)) is None
        assert _db.session.scalar(select(OutboxMessage.id)) is None
    page = client.post("/account/api-tokens", data={**form, "token-password": DEFAULT_PASSWORD})
    assert page.status_code == 201
    token = re.search(r"fc_pat_[A-Za-z0-9_-]{40,}", page.get_data(as_text=True)).group(0)
    with app.app_context():
        row = _db.session.scalar(select(ApiToken))
        assert row.token_digest == hashlib.sha256(token.encode()).hexdigest()
        assert row.scopes == ["progress:read"] and row.name == "Weekly report"
        assert timedelta(days=29) < row.expires_at - row.created_at <= timedelta(days=30)
        assert token not in repr([tuple(r) for r in _db.session.execute(select(ApiToken.__table__))])
        assert _db.session.scalar(select(AuditEntry).where(AuditEntry.action == Action.API_TOKEN_CREATED.value))
        notice = _db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == Kind.ACCOUNT.value))
        assert notice.to_address == user.email  # its body is cleared once sent (course/outbox)
        assert notice.subject == "A new API token was made for your Founder Course account"
        token_id = row.id
    listed = client.get("/account").get_data(as_text=True)
    assert "Weekly report" in listed and token not in listed and "Never" in listed  # shown once; not used yet
    me = call(client, "GET", "/api/v1/me", token)
    assert me.status_code == 200 and me.get_json()["scopes"] == ["progress:read"]
    assert "Never" not in client.get("/account").get_data(as_text=True)  # its last use is listed
    assert client.post(f"/account/api-tokens/{token_id}/revoke").status_code == 303
    assert_problem(call(client, "GET", "/api/v1/me", token), 401)
    assert client.post(f"/account/api-tokens/{token_id}/revoke").status_code == 404  # already revoked
    with app.app_context():
        assert _db.session.scalar(select(AuditEntry).where(AuditEntry.action == Action.API_TOKEN_REVOKED.value))


def test_scopes_the_role_does_not_allow_are_refused(app, client, make_user):
    user = make_user(email="learner@example.com")
    assert do_login(client, user.email).status_code == 302
    page = client.get("/account").get_data(as_text=True)
    assert "token-scope_progress_read" in page and "token-scope_cohorts_read" not in page  # not even offered
    form = {
        "token-name": "Sneaky",
        "token-scope_cohorts_read": "y",
        "token-expires": "30",
        "token-password": DEFAULT_PASSWORD,
    }
    response = client.post("/account/api-tokens", data=form)
    assert response.status_code == 400
    assert "Your role does not allow one of these scopes." in response.get_data(as_text=True)
    for expires in ("400", "0"):  # at most a year
        form = {
            "token-name": "Long",
            "token-scope_progress_read": "y",
            "token-expires": expires,
            "token-password": DEFAULT_PASSWORD,
        }
        assert client.post("/account/api-tokens", data=form).status_code == 400
    with app.app_context():
        assert _db.session.scalar(select(ApiToken)) is None


def test_another_users_token_cannot_be_revoked(app, client, make_user):
    owner = make_user(email="owner@example.com")
    make_token(app, owner.id)
    other = make_user(email="other@example.com")
    assert do_login(client, other.email).status_code == 302
    with app.app_context():
        token_id = _db.session.scalar(select(ApiToken.id))
    assert client.post(f"/account/api-tokens/{token_id}/revoke").status_code == 404
    with app.app_context():
        assert _db.session.get(ApiToken, token_id).revoked_at is None


def test_deleting_an_account_deletes_its_tokens(app, make_user):
    """The api_token table's rule, as `delete_account` applies it (the whole deletion: tests/test_privacy.py)."""
    user = make_user(email="gone@example.com")
    token = make_token(app, user.id)
    keeper = make_user(email="stays@example.com")
    make_token(app, keeper.id)
    with app.app_context():
        found = next(table for table in user_tables() if table.name == "api_token")
        rule_for(found).treat(found, _db.session.get(User, user.id))
        _db.session.commit()
        assert _db.session.scalars(select(ApiToken.user_id)).all() == [keeper.id]
    assert_problem(call(new_client(app), "GET", "/api/v1/me", token), 401)


# -- authentication and authorisation -------------------------------------------------------------------------
def test_only_a_live_bearer_token_authenticates(app, world):
    client = new_client(app)
    learner = world.tokens[LEARNER]
    assert call(client, "GET", "/api/v1/me", learner).status_code == 200
    for headers in ({}, {"Authorization": f"Basic {learner}"}, {"Authorization": "Bearer "}):
        body = assert_problem(client.get("/api/v1/me", headers=headers), 401)
        assert body["type"] == "urn:founder-course:problem:unauthorised"
    assert_problem(call(client, "GET", "/api/v1/me", "fc_pat_unknown"), 401)
    assert_problem(call(client, "GET", "/api/v1/me", learner + "x"), 401)
    expired = make_token(app, world.users[LEARNER], name="old")
    revoked = make_token(app, world.users[LEARNER], name="revoked")
    with app.app_context():
        _db.session.execute(
            update(ApiToken)
            .where(ApiToken.name == "old")
            .values(created_at=utcnow() - timedelta(days=2), expires_at=utcnow() - timedelta(seconds=1))
        )
        _db.session.execute(update(ApiToken).where(ApiToken.name == "revoked").values(revoked_at=utcnow()))
        _db.session.commit()
    for token in (expired, revoked):
        response = call(client, "GET", "/api/v1/me", token)
        assert_problem(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    with app.app_context():  # a disabled account's tokens stop working too
        _db.session.execute(update(User).where(User.id == world.users[LEARNER]).values(active=False))
        _db.session.commit()
    assert_problem(call(client, "GET", "/api/v1/me", learner), 401)


def test_a_session_cookie_alone_is_a_401_and_never_used(app, world):
    browser = new_client(app)
    assert do_login(browser, "admin@example.com").status_code == 302
    assert browser.get("/account").status_code == 200  # the cookie works for pages
    for url in ("/api/v1/me", "/api/v1/users", PROGRESS, f"/api/v1/cohorts/{world.cohort_a}"):
        response = browser.get(url)
        assert_problem(response, 401)
        assert "Set-Cookie" not in response.headers
    # POST without a CSRF token is not refused for CSRF (the API is exempt) but for having no token.
    assert_problem(browser.post(f"/api/v1/cohorts/{world.cohort_a}/learners", json={"email": "x@example.com"}), 401)
    # With a token, the cookie of another user is ignored: the token's user is the caller.
    me = call(browser, "GET", "/api/v1/me", world.tokens[LEARNER]).get_json()
    assert me["id"] == world.users[LEARNER]


def test_events_that_end_every_session_revoke_every_token(app, world, make_user):
    """A password changed or reset, a two-step login reset, a disabled account, a new role: its tokens stop."""
    client = new_client(app)
    owners = {name: make_user(email=f"{name}@example.com", role="instructor").id for name in ("reset", "mfa")}
    owners["changed"] = world.users[LEARNER]
    tokens = {name: make_token(app, user_id) for name, user_id in owners.items()}
    kept = make_token(app, world.users[INSTRUCTOR_B])
    browser = new_client(app)
    assert do_login(browser, "learner@example.com").status_code == 302
    form = {
        "pw-current": DEFAULT_PASSWORD,
        "pw-password": "a new passphrase 42",
        "pw-confirm": "a new passphrase 42",
    }
    assert browser.post("/account/password", data=form).status_code in (302, 303)
    with app.app_context():
        services.set_password(_db.session.get(User, owners["reset"]), "another passphrase")  # from a reset link
        assert mfa.reset(_db.session.get(User, owners["mfa"]))  # by an administrator
        _db.session.commit()
    for name, token in tokens.items():
        assert_problem(call(client, "GET", "/api/v1/me", token), 401), name
    assert call(client, "GET", "/api/v1/me", kept).status_code == 200  # someone else's stays
    with app.app_context():
        admin = _db.session.get(User, world.users[ADMIN])
        services.change_role(admin, _db.session.get(User, world.users[INSTRUCTOR_B]), "learner")
        _db.session.commit()
    assert_problem(call(client, "GET", "/api/v1/me", kept), 401)


def test_staff_without_two_step_login_get_no_staff_scope(app, world, make_user):
    """As on the pages, where such an account may only set up its app: here a 403 problem, never a redirect."""
    teacher = make_user(email="no-app@example.com", role="instructor", mfa=False)
    token = make_token(app, teacher.id)
    client = new_client(app)
    body = assert_problem(call(client, "GET", "/api/v1/cohorts", token), 403)
    assert body["type"] == "urn:founder-course:problem:two-step-login-required"
    assert_problem(call(client, "POST", f"/api/v1/cohorts/{world.cohort_a}/learners", token, json={}), 403)
    assert call(client, "GET", "/api/v1/me", token).status_code == 200  # their own data: as for any user
    assert call(client, "GET", "/api/v1/cohorts", world.tokens[INSTRUCTOR_A]).status_code == 200


def test_a_bearer_token_never_logs_anyone_in_on_a_page(app, world):
    client = new_client(app)
    page = call(client, "GET", "/account", world.tokens[ADMIN])
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    assert call(client, "GET", f"/cohorts/{world.cohort_a}", world.tokens[INSTRUCTOR_A]).status_code == 302


def test_failed_token_lookups_are_limited_per_address(app, world):
    app.config["RATELIMIT_API_AUTH_FAILURES"] = "3 per minute"
    client, other = new_client(app), new_client(app)
    for _attempt in range(2):
        assert_problem(call(client, "GET", "/api/v1/me", "fc_pat_guess"), 401)
    for _attempt in range(3):  # successes do not count
        assert call(client, "GET", "/api/v1/me", world.tokens[LEARNER]).status_code == 200
    assert_problem(call(client, "GET", "/api/v1/me", world.tokens[LEARNER] + "x"), 401)
    limited = call(client, "GET", "/api/v1/me", "fc_pat_guess")
    assert_problem(limited, 429)
    assert int(limited.headers["Retry-After"]) >= 1
    assert_problem(call(client, "GET", "/api/v1/me", world.tokens[LEARNER]), 429)  # nothing looked up until then
    elsewhere = call(other, "GET", "/api/v1/me", world.tokens[LEARNER], environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert elsewhere.status_code == 200
    assert_problem(client.get("/api/v1/me"), 401)  # no token: nothing to look up, nothing counted
