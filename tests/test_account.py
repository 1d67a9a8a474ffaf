"""The account page: a logged-in user changes their own name, email and password. Bad input re-renders the
page with status 400 and changes nothing; a password change ends every other session and keeps this one."""

from __future__ import annotations

import logging
import re

import pytest
from conftest import (
    DEFAULT_PASSWORD,
    RIGHT_ANSWERS,
    complete_lessons,
    do_login,
    new_client,
    submit_quiz,
)
from sqlalchemy import select

from course.accounts.models import User
from course.extensions import db as _db
from course.progress.models import Completion

NEW_PASSWORD = "a brand new passphrase"


def logged_in(client) -> bool:
    return "Log out" in client.get("/courses").get_data(as_text=True)


def user_row(app, user_id: int) -> User:
    with app.app_context():
        user = _db.session.get(User, user_id)
        _db.session.expunge(user)
        return user


def change_name(client, name: str, **extra):
    return client.post("/account/name", data={"profile-name": name, **extra})


def change_email(client, email: str, password: str = DEFAULT_PASSWORD):
    return client.post("/account/email", data={"email-email": email, "email-password": password})


def change_password(client, current: str = DEFAULT_PASSWORD, new: str = NEW_PASSWORD, confirm: str | None = None):
    return client.post(
        "/account/password",
        data={"pw-current": current, "pw-password": new, "pw-confirm": new if confirm is None else confirm},
    )


# -- the page ------------------------------------------------------------------------------------------------
def test_the_account_page_shows_who_is_logged_in(client, learner):
    response = client.get("/account")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<h1>Your account</h1>" in html
    assert "Ada Founder" in html and "founder@example.com" in html and "<dd>Learner</dd>" in html
    assert 'value="Ada Founder"' in html  # the name form starts from the current name
    for action in ("/account/name", "/account/email", "/account/password", "/logout/everywhere"):
        assert f'action="{action}"' in html
    assert "certificates" in html  # the page says a new name reaches the certificates


def test_the_header_links_to_the_account_page_when_logged_in(client, learner):
    html = client.get("/courses").get_data(as_text=True)
    assert '<a href="/account">Account</a>' in html
    assert '<a href="/account" aria-current="page">Account</a>' in client.get("/account").get_data(as_text=True)


def test_the_account_page_needs_a_login(client):
    response = client.get("/account")
    assert response.status_code == 302 and "/login" in response.location
    assert "Account</a>" not in client.get("/courses").get_data(as_text=True)
    for url in ("/account/name", "/account/email", "/account/password"):
        response = client.post(url, data={"profile-name": "x"})
        assert response.status_code == 302 and response.location.endswith("/login?next=/account"), url


def test_the_account_page_is_in_chinese(app, learner, client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    html = client.get("/account").get_data(as_text=True)
    assert "<h1>你的账号</h1>" in html and "<dd>学员</dd>" in html


# -- name ----------------------------------------------------------------------------------------------------
def test_changing_the_name(app, client, learner):
    response = change_name(client, "  Ada Lovelace  ")
    assert response.status_code == 303 and response.location.endswith("/account")
    page = client.get("/account").get_data(as_text=True)
    assert "Your name is now Ada Lovelace." in page
    assert user_row(app, learner.id).name == "Ada Lovelace"
    assert change_name(client, "Ada Lovelace").status_code == 303  # a double submit: same answer, same state
    assert user_row(app, learner.id).name == "Ada Lovelace"


@pytest.mark.parametrize("name", ["", "   ", "x" * 121, "Ada\nFounder"])
def test_a_bad_name_is_refused_and_nothing_changes(app, client, learner, name):
    response = change_name(client, name)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'id="profile-name"' in html and 'aria-invalid="true"' in html
    assert 'id="profile-name-error" role="alert"' in html
    assert user_row(app, learner.id).name == "Ada Founder"


def test_a_name_with_a_control_character_is_refused_before_the_form(app, client, learner):
    """Refused for every route at the edge (tests/test_edge.py), with the same status and nothing changed."""
    response = change_name(client, "Ada\x00")
    assert response.status_code == 400 and "control characters" in response.get_data(as_text=True)
    assert user_row(app, learner.id).name == "Ada Founder"


def test_a_new_name_reaches_the_verification_page(app, client, learner, loaded_course, make_user):
    complete_lessons(client, "welcome", "models", "data", "tuning", "pricing", "growth")
    for quiz, answers in RIGHT_ANSWERS.items():
        assert submit_quiz(client, quiz, answers).status_code == 302
    other = make_user(email="other@example.com", name="Other Learner")
    other_client = new_client(app)
    do_login(other_client, other.email)
    complete_lessons(other_client, "welcome", "models", "data", "tuning", "pricing", "growth")
    for quiz, answers in RIGHT_ANSWERS.items():
        assert submit_quiz(other_client, quiz, answers).status_code == 302
    with app.app_context():
        code = _db.session.scalar(select(Completion.verification_code).where(Completion.user_id == learner.id))
        other_code = _db.session.scalar(select(Completion.verification_code).where(Completion.user_id == other.id))
    anonymous = new_client(app)
    assert "<h1>Ada Founder</h1>" in anonymous.get(f"/verify/{code}").get_data(as_text=True)

    assert change_name(client, "Ada Lovelace").status_code == 303
    page = anonymous.get(f"/verify/{code}").get_data(as_text=True)
    assert "<h1>Ada Lovelace</h1>" in page and "Ada Founder" not in page
    assert "<h1>Other Learner</h1>" in anonymous.get(f"/verify/{other_code}").get_data(as_text=True)
    with app.app_context():
        snapshot = _db.session.scalar(select(Completion.snapshot).where(Completion.user_id == learner.id))
    assert snapshot["name"] == "Ada Lovelace" and len(snapshot["quizzes"]) == 3  # the rest is kept


# -- email ---------------------------------------------------------------------------------------------------
def test_changing_the_email_tells_the_old_address(app, client, learner, caplog):
    with caplog.at_level(logging.WARNING, logger="course.mail"):
        response = change_email(client, "  Ada@Example.ORG ")
    assert response.status_code == 303
    assert "Your email is now ada@example.org." in client.get("/account").get_data(as_text=True)
    assert user_row(app, learner.id).email == "ada@example.org"
    mails = [r.getMessage() for r in caplog.records]
    assert len(mails) == 1
    assert "To: founder@example.com" in mails[0] and "changed from founder@example.com to ada@example.org" in mails[0]
    # a double submit changes nothing more and sends nothing more
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="course.mail"):
        assert change_email(client, "ada@example.org").status_code == 303
    assert not caplog.records
    assert logged_in(client)  # an email change does not end the session
    assert do_login(new_client(app), "ada@example.org").status_code == 302
    assert do_login(new_client(app), "founder@example.com").status_code == 400


def test_an_email_in_use_is_refused(app, client, learner, make_user):
    make_user(email="taken@example.com")
    response = change_email(client, "Taken@example.com")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Another account already uses this email." in html and 'id="email-email-error" role="alert"' in html
    assert user_row(app, learner.id).email == "founder@example.com"


def test_without_the_password_an_email_in_use_is_not_revealed(app, client, learner, make_user):
    make_user(email="taken@example.com")
    taken = change_email(client, "taken@example.com", password="not my password")
    free = change_email(client, "free@example.com", password="not my password")
    assert taken.status_code == free.status_code == 400
    for response in (taken, free):
        html = response.get_data(as_text=True)
        assert "This is not your current password." in html and "already uses" not in html
    assert user_row(app, learner.id).email == "founder@example.com"


@pytest.mark.parametrize(
    "email, password",
    [
        ("not-an-email", DEFAULT_PASSWORD),
        ("", DEFAULT_PASSWORD),
        ("a@example.com", ""),
        ("x" * 250 + "@example.com", DEFAULT_PASSWORD),
    ],
)
def test_bad_email_input_is_refused(app, client, learner, email, password):
    response = change_email(client, email, password)
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert user_row(app, learner.id).email == "founder@example.com"


# -- password ------------------------------------------------------------------------------------------------
def test_changing_the_password_ends_the_other_sessions_and_keeps_this_one(app, client, learner, caplog):
    other_device = new_client(app)
    assert do_login(other_device, learner.email).status_code == 302
    with client.session_transaction() as session:
        session["planted"] = "before the change"
        session["lang"] = "en"
    token_before = user_row(app, learner.id).session_token

    with caplog.at_level(logging.WARNING, logger="course.mail"):
        response = change_password(client)
    assert response.status_code == 303 and response.location.endswith("/account")
    page = client.get("/account")
    assert page.status_code == 200
    assert "Your password is changed. You are logged out on every other device." in page.get_data(as_text=True)
    assert logged_in(client)
    assert not logged_in(other_device)
    with client.session_transaction() as session:
        assert "planted" not in session  # a new session
        assert session["lang"] == "en"  # but the language chosen stays
    assert user_row(app, learner.id).session_token != token_before
    assert "To: founder@example.com" in caplog.text and "password of your Founder Course account" in caplog.text
    assert do_login(new_client(app), learner.email).status_code == 400
    assert do_login(new_client(app), learner.email, NEW_PASSWORD).status_code == 302


def test_a_double_submitted_password_change_is_applied_once(app, client, learner):
    cookie_before = client.get_cookie("session").value
    assert change_password(client).status_code == 303
    token_after = user_row(app, learner.id).session_token
    second_click = new_client(app)  # the second request of a double click carries the session of before
    second_click.set_cookie("session", cookie_before)
    response = change_password(second_click)
    assert response.status_code == 302 and response.location.endswith("/login?next=/account")  # not a 500
    assert user_row(app, learner.id).session_token == token_after
    assert logged_in(client)


def test_a_stale_session_token_does_not_change_the_password(app, learner):
    from course.accounts.services import change_password as service_change_password

    with app.app_context():
        stale = _db.session.get(User, learner.id)
        _db.session.expunge(stale)
        fresh = _db.session.get(User, learner.id)
        assert service_change_password(fresh, NEW_PASSWORD) is True
        _db.session.commit()
        stale = _db.session.merge(stale, load=False)
        assert service_change_password(stale, "yet another passphrase") is False
        _db.session.rollback()
    assert do_login(new_client(app), learner.email, NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    "current, new, confirm, message",
    [
        ("not my password", NEW_PASSWORD, None, "This is not your current password."),
        ("", NEW_PASSWORD, None, "This field is required."),
        (DEFAULT_PASSWORD, "password1", None, "one of the most common"),
        (DEFAULT_PASSWORD, "short", None, "Use 8 to 128 characters."),
        (DEFAULT_PASSWORD, "x" * 129, None, "Use 8 to 128 characters."),
        (DEFAULT_PASSWORD, NEW_PASSWORD, "something else", "The passwords do not match."),
    ],
)
def test_a_refused_password_change_changes_nothing(app, client, learner, current, new, confirm, message):
    other_device = new_client(app)
    do_login(other_device, learner.email)
    before = user_row(app, learner.id)
    response = change_password(client, current, new, confirm)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html and 'role="alert"' in html and 'aria-invalid="true"' in html
    after = user_row(app, learner.id)
    assert (after.password_hash, after.session_token) == (before.password_hash, before.session_token)
    assert logged_in(client) and logged_in(other_device)


def test_wrong_current_passwords_are_limited_like_logins(app, client, learner):
    app.config["RATELIMIT_LOGIN_FAILURES"] = "3 per 15 minutes"
    assert change_password(client, current="wrong one").status_code == 400
    assert change_email(client, "new@example.com", password="wrong two").status_code == 400
    assert change_password(client, current="wrong three").status_code == 400
    blocked = change_password(client)  # even the right password, for 15 minutes
    assert blocked.status_code == 429
    assert "Too many failed attempts" in blocked.get_data(as_text=True)
    assert change_email(client, "new@example.com").status_code == 429
    assert do_login(new_client(app), learner.email).status_code == 429  # the same counter as logins
    assert user_row(app, learner.id).email == "founder@example.com"
    assert logged_in(client)


# -- whose account -------------------------------------------------------------------------------------------
def test_the_forms_change_only_the_logged_in_user(app, client, learner, make_user):
    other = make_user(email="other@example.com", name="Other Learner")
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("auth.account"):
            assert not rule.arguments, rule  # no user id in the URLs
    assert change_name(client, "Renamed", user_id=other.id, id=other.id).status_code == 303
    assert (
        client.post(
            "/account/email",
            data={
                "email-email": "moved@example.com",
                "email-password": DEFAULT_PASSWORD,
                "user_id": other.id,
                "email": other.email,
            },
        ).status_code
        == 303
    )
    them = user_row(app, other.id)
    assert (them.name, them.email) == ("Other Learner", "other@example.com")
    me = user_row(app, learner.id)
    assert (me.name, me.email) == ("Renamed", "moved@example.com")


# -- CSRF ----------------------------------------------------------------------------------------------------
CSRF_INPUT = re.compile(r'<input[^>]*name="(profile|email|pw)-csrf_token"[^>]*value="([^"]+)"')


def test_the_account_forms_need_a_csrf_token(app, client, make_user):
    app.config["WTF_CSRF_ENABLED"] = True
    user = make_user(email="csrf@example.com", name="Csrf Learner")
    before = user_row(app, user.id)
    login_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login_page).group(1)
    assert do_login(client, user.email, csrf_token=token).status_code == 302

    refused = [change_name(client, "Forged"), change_email(client, "forged@example.com"), change_password(client)]
    for response in refused:
        assert response.status_code == 400
        assert "This form has expired or was not sent from this site." in response.get_data(as_text=True)
    row = user_row(app, user.id)
    assert (row.name, row.email, row.password_hash) == ("Csrf Learner", "csrf@example.com", before.password_hash)

    tokens = dict(CSRF_INPUT.findall(client.get("/account").get_data(as_text=True)))
    assert set(tokens) == {"profile", "email", "pw"}
    assert change_name(client, "Real Name", **{"profile-csrf_token": tokens["profile"]}).status_code == 303
    assert user_row(app, user.id).name == "Real Name"


def test_email_changes_are_limited_per_user(app, client, learner, make_user):
    """Each try checks a password and may tell that an address is taken: RATELIMIT_ACCOUNT tries an hour."""
    make_user(email="taken@example.com")
    allowed = int(app.config["RATELIMIT_ACCOUNT"].split()[0])
    for _ in range(allowed):
        assert change_email(client, "taken@example.com").status_code == 400
    response = change_email(client, "taken@example.com")
    assert response.status_code == 429
    assert user_row(app, learner.id).email == learner.email
