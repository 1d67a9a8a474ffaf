"""Accounts: register, log in and out, safe redirects, password hashing, the users CLI, CSRF."""

from __future__ import annotations

import re

import pytest
from conftest import DEFAULT_PASSWORD, RIGHT_ANSWERS, do_login, lesson_url, new_client, quiz_form, quiz_url
from sqlalchemy import func, select

from course.accounts.models import Role, User
from course.extensions import db as _db
from course.progress.models import LessonProgress
from course.quiz.models import Attempt


def users(app) -> list[User]:
    with app.app_context():
        rows = _db.session.scalars(select(User).order_by(User.id)).all()
        _db.session.expunge_all()
        return rows


def register(client, email="new@example.com", password="long enough pass", confirm=None, **extra):
    data = {
        "name": "New Founder",
        "email": email,
        "password": password,
        "confirm": password if confirm is None else confirm,
        **extra,
    }
    return client.post("/register", data=data)


def logged_in(client) -> bool:
    """Whether the client's session is logged in (lesson pages need a login)."""
    return "Log out" in client.get("/courses").get_data(as_text=True)


# -- register ---------------------------------------------------------------------------------------------
def test_register_creates_an_account_and_logs_in(app, client):
    response = register(client, email="Founder@Example.COM")
    assert response.status_code == 302
    assert response.headers["Location"] == "/courses"
    (user,) = users(app)
    assert user.email == "founder@example.com"
    assert user.name == "New Founder"
    assert user.role == Role.LEARNER
    assert logged_in(client)


def test_passwords_are_hashed_with_argon2id(app, client):
    register(client, password="long enough pass")
    (user,) = users(app)
    assert user.password_hash.startswith("$argon2id$")
    assert "long enough pass" not in user.password_hash


def test_register_with_a_used_email_says_so(app, client, make_user):
    make_user(email="taken@example.com")
    response = register(client, email="Taken@example.com")
    assert response.status_code == 400
    assert "An account with this email already exists. Log in instead?" in response.get_data(as_text=True)
    assert len(users(app)) == 1
    assert not logged_in(client)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"password": "short"}, "Use 8 to 128 characters."),
        ({"confirm": "something else"}, "The passwords do not match."),
        ({"email": "not-an-email"}, "Invalid email address."),
        ({"name": ""}, "This field is required."),
    ],
)
def test_register_refuses_bad_input(app, client, data, message):
    response = register(client, **data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert users(app) == []


# -- log in and out --------------------------------------------------------------------------------------
def test_login_with_the_right_password(app, client, make_user):
    user = make_user(email="ada@example.com")
    response = do_login(client, "ADA@example.com ")
    assert response.status_code == 302
    assert response.headers["Location"] == "/courses"
    assert logged_in(client)
    assert users(app)[0].last_login_at is not None
    assert user.last_login_at is None


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("ada@example.com", "wrong password"),
        ("nobody@example.com", DEFAULT_PASSWORD),
    ],
)
def test_login_refuses_a_wrong_email_or_password_with_one_message(client, make_user, email, password):
    make_user(email="ada@example.com")
    response = do_login(client, email, password)
    assert response.status_code == 400
    assert "The email or password is not right." in response.get_data(as_text=True)
    assert not logged_in(client)


def test_a_deactivated_account_cannot_log_in(app, client, make_user):
    make_user(email="ada@example.com")
    with app.app_context():
        _db.session.scalar(select(User)).active = False
        _db.session.commit()
    assert do_login(client, "ada@example.com").status_code == 400
    assert not logged_in(client)


def test_logout_logs_out(client, make_user):
    user = make_user()
    do_login(client, user.email)
    response = client.post("/logout")
    assert response.status_code == 302
    assert response.headers["Location"] == "/courses"
    assert not logged_in(client)


def test_logout_ends_the_session_on_the_server(app, client, make_user, database_url, extra_apps):
    """A copy of the session cookie kept from before the logout is refused, on this instance and another; the
    user's other devices stay signed in."""
    from conftest import build_app

    user = make_user()
    other_device = new_client(app)
    do_login(client, user.email)
    do_login(other_device, user.email)
    copy = client.get_cookie("session").value
    assert client.post("/logout").status_code == 302
    other_instance = build_app(database_url)
    extra_apps.append(other_instance)
    for instance in (app, other_instance):
        replay = new_client(instance)
        replay.set_cookie("session", copy)
        response = replay.get("/account")
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert logged_in(other_device)


def test_logout_is_post_only(client, make_user):
    user = make_user()
    do_login(client, user.email)
    response = client.get("/logout")
    assert logged_in(client)
    assert response.status_code == 405
    assert response.headers.get("Allow") and "POST" in response.headers["Allow"]


def test_logout_everywhere_ends_the_other_sessions(app, client, make_user):
    user = make_user()
    other_device = new_client(app)
    do_login(client, user.email)
    do_login(other_device, user.email)
    assert logged_in(other_device)
    assert client.post("/logout/everywhere").status_code == 302
    assert not logged_in(client)
    assert not logged_in(other_device)


def test_a_session_cookie_does_not_outlive_a_password_change(app, client, make_user):
    from course.accounts.services import set_password

    user = make_user()
    do_login(client, user.email)
    with app.app_context():
        set_password(_db.session.get(User, user.id), "a brand new password")
        _db.session.commit()
    assert not logged_in(client)


# -- `next` is followed only within the site ------------------------------------------------------------------
@pytest.mark.parametrize(
    "target",
    [
        "//evil.com",
        "https://evil.com",
        "/\\evil.com",
        "\\\\evil.com",
        "http:/evil.com",
        "javascript:alert(1)",
        "/\t/evil.com",
        "evil.com",
        "",
    ],
)
def test_login_ignores_a_next_that_leaves_the_site(client, make_user, target):
    user = make_user()
    response = client.post(
        "/login", query_string={"next": target}, data={"email": user.email, "password": DEFAULT_PASSWORD}
    )
    if "\t" in target:  # a control character in the query: refused before any view (tests/test_edge.py)
        assert response.status_code == 400 and "Location" not in response.headers
    else:
        assert response.status_code == 302 and response.headers["Location"] == "/courses"
    # The same from the form's hidden field (where a tab may stand: a form value may hold one).
    client.post("/logout")
    response = do_login(client, user.email, next=target)
    assert response.headers["Location"] == "/courses"


def test_login_follows_a_next_within_the_site(client, make_user):
    user = make_user()
    response = client.post(
        "/login",
        query_string={"next": "/courses/some-course?tab=1"},
        data={"email": user.email, "password": DEFAULT_PASSWORD},
    )
    assert response.headers["Location"] == "/courses/some-course?tab=1"


@pytest.mark.parametrize("target", ["//evil.com", "https://evil.com", "/\\evil.com"])
def test_register_and_language_ignore_a_next_that_leaves_the_site(client, target):
    response = client.post(
        "/register",
        query_string={"next": target},
        data={
            "name": "N",
            "email": "n@example.com",
            "password": "long enough pass",
            "confirm": "long enough pass",
        },
    )
    assert response.headers["Location"] == "/courses"
    response = client.post("/language", data={"lang": "en", "next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/courses"


# -- `flask users create` ----------------------------------------------------------------------------------------
def test_users_create_reads_the_password_from_stdin(app, client):
    result = app.test_cli_runner().invoke(
        args=["users", "create", "Teacher@Example.com", "--role", "instructor"], input="a long password\n"
    )
    assert result.exit_code == 0, result.output
    assert "created teacher@example.com (instructor)" in result.output
    (user,) = users(app)
    assert user.role == Role.INSTRUCTOR and user.is_instructor and not user.is_admin
    assert user.password_hash.startswith("$argon2id$")
    assert do_login(client, "teacher@example.com", "a long password").status_code == 302


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["users", "create", "a@example.com"], "short\n", "128"),
        (["users", "create", "a@example.com", "--role", "emperor"], "a long password\n", "Invalid value for '--role'"),
    ],
)
def test_users_create_refuses_bad_input(app, args, stdin, message):
    result = app.test_cli_runner().invoke(args=args, input=stdin)
    assert result.exit_code != 0
    assert message in result.output
    assert users(app) == []


def test_users_create_refuses_a_used_email(app, make_user):
    make_user(email="a@example.com")
    result = app.test_cli_runner().invoke(args=["users", "create", "a@example.com"], input="a long password\n")
    assert result.exit_code != 0
    assert "already exists" in result.output
    assert len(users(app)) == 1


# -- CSRF ----------------------------------------------------------------------------------------------------
def token_from(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'<input[^>]*value="([^"]+)"[^>]*name="csrf_token"', page
    )
    assert match, f"no csrf_token on {path}"
    return match.group(1)


@pytest.fixture
def csrf_on(app):
    app.config["WTF_CSRF_ENABLED"] = True
    return app


def test_login_without_a_csrf_token_is_refused(csrf_on, client, make_user):
    user = make_user()
    response = do_login(client, user.email)
    assert response.status_code == 400
    assert "This form has expired or was not sent from this site." in response.get_data(as_text=True)
    assert not logged_in(client)
    response = do_login(client, user.email, csrf_token=token_from(client, "/login"))
    assert response.status_code == 302
    assert logged_in(client)


def test_learner_posts_without_a_csrf_token_are_refused(app, csrf_on, loaded_course, client, make_user):
    user = make_user()
    assert do_login(client, user.email, csrf_token=token_from(client, "/login")).status_code == 302

    assert client.post(f"{lesson_url('welcome')}/complete").status_code == 400
    assert (
        client.post(f"/courses/{loaded_course.key}/workbook/wb-goal", data={"wb-wb-goal-answer": "x"}).status_code
        == 400
    )
    assert client.post("/logout").status_code == 400
    with app.app_context():
        assert _db.session.scalar(select(func.count(LessonProgress.id))) == 0

    token = token_from(client, lesson_url("welcome"))
    response = client.post(
        f"/courses/{loaded_course.key}/workbook/wb-goal",
        data={"wb-wb-goal-answer": "x", "wb-wb-goal-csrf_token": token},
    )
    assert response.status_code == 302
    for lesson in ("welcome", "models"):
        assert client.post(f"{lesson_url(lesson)}/complete", data={"csrf_token": token}).status_code == 302
    answers = quiz_form(client, "intro-quiz", RIGHT_ANSWERS["intro-quiz"])
    response = client.post(quiz_url("intro-quiz"), data=answers)
    assert response.status_code == 400
    with app.app_context():
        assert _db.session.scalar(select(func.count(Attempt.id))) == 0

    token = token_from(client, quiz_url("intro-quiz"))
    response = client.post(quiz_url("intro-quiz"), data={**answers, "csrf_token": token})
    assert response.status_code == 302
    with app.app_context():
        assert _db.session.scalar(select(func.count(Attempt.id))) == 1


def test_pages_carry_a_csrf_token_in_every_post_form(csrf_on, loaded_course, client, make_user):
    user = make_user()
    do_login(client, user.email, csrf_token=token_from(client, "/login"))
    for path in ("/courses", lesson_url("welcome")):
        page = client.get(path).get_data(as_text=True)
        forms = re.findall(r'<form[^>]*method="post".*?</form>', page, re.DOTALL)
        assert forms, path
        for form in forms:
            # A prefixed form names it "<prefix>-csrf_token", which CSRFProtect also reads.
            assert re.search(r'name="([\w-]+-)?csrf_token"', form), (path, form[:120])


# -- the signed-in user a request loads ------------------------------------------------------------------------
def _login_secret(client) -> str:
    with client.session_transaction() as session:
        return session["_user_id"]


def test_a_request_loads_its_user_as_plain_values_not_an_orm_row(app, client, learner):
    from course.accounts.sessions import SignedInUser, load_user

    secret = _login_secret(client)
    with app.test_request_context("/"):
        user = load_user(secret)
        assert isinstance(user, SignedInUser) and not isinstance(user, User)
        assert (user.id, user.email, user.name, user.role) == (learner.id, learner.email, "Ada Founder", Role.LEARNER)
        assert user.is_authenticated and user.is_active and not user.is_instructor and not user.is_admin
        assert user.get_id() == secret and user.get_id_number() == learner.id
        assert not [obj for obj in _db.session.identity_map.values() if isinstance(obj, User)]  # nothing to clean up
        assert load_user("not-a-session") is None


def test_a_view_that_changes_the_user_takes_the_orm_row_and_shows_it(app, client, learner):
    from flask import g
    from flask_login import current_user
    from werkzeug.exceptions import Unauthorized

    from course.accounts.sessions import load_user, signed_in_user

    secret = _login_secret(client)
    with app.test_request_context("/"):
        g._login_user = load_user(secret)  # as flask-login's loader leaves it
        row = signed_in_user()
        assert isinstance(row, User) and row.id == learner.id and row.login_secret == secret
        assert current_user._get_current_object() is row  # the rest of the request sees the row
        row.name = "Ada Renamed"
        assert current_user.name == "Ada Renamed" and signed_in_user() is row
        _db.session.rollback()
    with app.test_request_context("/"), pytest.raises(Unauthorized):
        signed_in_user()  # nobody signed in
