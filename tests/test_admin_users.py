"""Admin user management (issue #12): creating an account that gets no password and whose owner is emailed a link
to choose one; sending a password-reset email; the list filtered by role and status with the filters kept in its
links; disabling only after a confirmation page; the last login in the reader's time zone."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

import pytest
from conftest import DEFAULT_PASSWORD, do_login, new_client
from flask_babel import force_locale, gettext
from sqlalchemy import func, select
from test_audit import entry, last_id, new_entries, shape

from course.accounts.models import Role, User
from course.audit.log import Action
from course.db_types import utcnow
from course.extensions import db as _db

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def admin(make_user):
    return make_user(email="root@example.com", role="admin", name="Ada Admin")


@pytest.fixture
def admin_client(app, admin):
    client = new_client(app)
    assert do_login(client, admin.email).status_code == 302
    return client


def user_by_email(app, email: str) -> User | None:
    with app.app_context():
        user = _db.session.scalar(select(User).where(User.email == email))
        if user is not None:
            _db.session.expunge(user)
        return user


def count_users(app) -> int:
    with app.app_context():
        return _db.session.scalar(select(func.count(User.id)))


def link_in(text: str, kind: str) -> str:
    """The path of the last password link (`kind`: "set" or "reset") in the mails logged."""
    return re.findall(rf"http://localhost(/password/{kind}/[\w.-]+)", text)[-1]


def change(app, user_id: int, **columns) -> None:
    with app.app_context():
        user = _db.session.get(User, user_id)
        for name, value in columns.items():
            setattr(user, name, value)
        _db.session.commit()


# -- creating an account --------------------------------------------------------------------------------------
def test_an_admin_creates_an_account_whose_owner_chooses_the_password_from_the_emailed_link(
    app, admin, admin_client, caplog
):
    page = admin_client.get("/admin/users/new")
    assert page.status_code == 200 and 'name="email"' in page.get_data(as_text=True)
    mark = last_id(app)
    form = {"name": "Nell New", "email": "  Nell@Example.com ", "role": "instructor", "language": "en"}
    with caplog.at_level(logging.WARNING, logger="course.mail"):
        response = admin_client.post("/admin/users/new", data=form)
    assert response.status_code == 303 and response.headers["Location"] == "/admin/users?q=nell@example.com"
    listed = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The account of nell@example.com is created" in listed and "No password yet" in listed

    user = user_by_email(app, "nell@example.com")
    assert (user.name, user.role, user.language, user.active) == ("Nell New", Role.INSTRUCTOR, "en", True)
    assert shape(new_entries(app, mark)) == [entry(Action.ACCOUNT_CREATED, admin, user, after={"role": "instructor"})]
    assert "To: nell@example.com" in caplog.text and "Your Founder Course account is ready" in caplog.text
    for password in ["", "!", DEFAULT_PASSWORD]:  # no password logs in before the owner chooses one
        assert do_login(new_client(app), "nell@example.com", password).status_code in (400, 429)

    owner = new_client(app)
    link = link_in(caplog.text, "set")
    assert owner.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    assert owner.get("/account/mfa/setup").status_code == 200  # signed in; staff set up two-step login first
    assert new_client(app).get(link).status_code == 404  # the link works once


def test_a_duplicate_email_is_refused_at_its_field_and_nothing_is_saved(app, admin, admin_client, make_user):
    make_user(email="taken@example.com")
    before, mark = count_users(app), last_id(app)
    form = {"name": "Someone Else", "email": "TAKEN@example.com ", "role": "learner", "language": "en"}
    response = admin_client.post("/admin/users/new", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert re.search(r'<input[^>]*aria-invalid="true"[^>]*id="email"|<input[^>]*id="email"[^>]*aria-invalid', html)
    assert 'id="email-error"' in html and "An account with this email already exists." in html
    assert count_users(app) == before and new_entries(app, mark) == []


@pytest.mark.parametrize(
    "form",
    [
        {"name": "", "email": "a@example.com", "role": "learner", "language": "en"},
        {"name": "A\nB", "email": "a@example.com", "role": "learner", "language": "en"},
        {"name": "A" * 121, "email": "a@example.com", "role": "learner", "language": "en"},
        {"name": "A", "email": "not-an-email", "role": "learner", "language": "en"},
        {"name": "A", "email": "a" * 250 + "@example.com", "role": "learner", "language": "en"},
        {"name": "A", "email": "a@example.com", "role": "god", "language": "en"},
        {"name": "A", "email": "a@example.com", "role": "learner", "language": "klingon"},
    ],
)
def test_bad_input_to_the_new_account_form_is_a_400_that_saves_nothing(app, admin_client, form):
    before = count_users(app)
    response = admin_client.post("/admin/users/new", data=form)
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert count_users(app) == before


def test_only_admins_create_accounts_or_send_password_links(app, make_user):
    instructor = make_user(email="i@example.com", role="instructor")
    learner = make_user(email="l@example.com")
    client = new_client(app)
    do_login(client, instructor.email)
    before = count_users(app)
    assert client.get("/admin/users/new").status_code == 403
    form = {"name": "X", "email": "x@example.com", "role": "admin", "language": "en"}
    assert client.post("/admin/users/new", data=form).status_code == 403
    assert client.post(f"/admin/users/{learner.id}/password-reset").status_code == 403
    assert client.get(f"/admin/users/{learner.id}/disable").status_code == 403
    assert client.post(f"/admin/users/{learner.id}/disable").status_code == 403
    assert count_users(app) == before and user_by_email(app, learner.email).active


# -- sending a password link -------------------------------------------------------------------------------------
def test_an_admin_sends_a_password_reset_email_that_works(app, admin, admin_client, make_user, caplog):
    target = make_user(email="fay@example.com", name="Fay Founder")
    change(app, target.id, language="en")  # the email is in the account's language (else the site's)
    mark = last_id(app)
    with caplog.at_level(logging.WARNING, logger="course.mail"):
        response = admin_client.post(f"/admin/users/{target.id}/password-reset", data={"back": "role=learner"})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/users?role=learner"
    assert "A link to choose a new password was emailed to fay@example.com." in admin_client.get(
        response.headers["Location"]
    ).get_data(as_text=True)
    assert "To: fay@example.com" in caplog.text and "An administrator of Founder Course sent you" in caplog.text
    assert shape(new_entries(app, mark)) == [
        entry(Action.PASSWORD_RESET_REQUESTED, admin, target, details={"emailed": True, "link": "reset-password"})
    ]
    owner = new_client(app)
    link = link_in(caplog.text, "reset")
    assert owner.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    assert do_login(new_client(app), target.email, NEW_PASSWORD).status_code == 302


def test_an_account_without_a_password_is_sent_its_set_password_link_again(app, admin, admin_client, caplog):
    form = {"name": "Nell New", "email": "nell@example.com", "role": "learner", "language": "en"}
    assert admin_client.post("/admin/users/new", data=form).status_code == 303
    nell = user_by_email(app, "nell@example.com")
    mark = last_id(app)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="course.mail"):
        assert admin_client.post(f"/admin/users/{nell.id}/password-reset").status_code == 302
    assert "Your Founder Course account is ready" in caplog.text and "/password/set/" in caplog.text
    assert shape(new_entries(app, mark)) == [
        entry(Action.PASSWORD_RESET_REQUESTED, admin, nell, details={"emailed": True, "link": "set-password"})
    ]


def test_no_password_link_for_a_disabled_or_deleted_account(app, admin_client, make_user, caplog):
    disabled = make_user(email="off@example.com")
    deleted = make_user(email="gone@example.com")
    change(app, disabled.id, active=False)
    change(app, deleted.id, active=False, deleted_at=utcnow())
    mark = last_id(app)
    with caplog.at_level(logging.WARNING, logger="course.mail"):
        for user, message in [(disabled, "This account is disabled."), (deleted, "This account is deleted.")]:
            response = admin_client.post(f"/admin/users/{user.id}/password-reset")
            assert response.status_code == 303
            assert message in admin_client.get("/admin/users").get_data(as_text=True)
    assert not caplog.records and new_entries(app, mark) == []
    assert admin_client.post("/admin/users/999999/password-reset").status_code == 404


def test_a_mail_server_that_refuses_keeps_the_message_for_a_retry(app, admin, admin_client, make_user):
    """The link goes through the outbox: a mail server that is down delays it, and loses nothing."""
    from course.outbox.models import OutboxMessage

    target = make_user(email="fay@example.com")
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=1, MAIL_USE_TLS=False)  # nothing listens on port 1
    mark = last_id(app)
    response = admin_client.post(f"/admin/users/{target.id}/password-reset")
    assert response.status_code == 302
    assert "A link to choose a new password was emailed to fay@example.com." in admin_client.get(
        "/admin/users"
    ).get_data(as_text=True)
    assert shape(new_entries(app, mark)) == [
        entry(Action.PASSWORD_RESET_REQUESTED, admin, target, details={"emailed": True, "link": "reset-password"})
    ]
    with app.app_context():
        message = _db.session.scalar(select(OutboxMessage).where(OutboxMessage.to_address == "fay@example.com"))
        assert (message.status, message.attempts) == ("pending", 1)
        assert "ConnectionRefusedError" in message.last_error and "/password/reset/" in message.text_body


def test_password_links_are_rate_limited_per_admin(app, admin_client, make_user):
    target = make_user(email="fay@example.com")
    limit = int(app.config["RATELIMIT_ACCOUNT"].split()[0])
    answers = [admin_client.post(f"/admin/users/{target.id}/password-reset").status_code for _ in range(limit + 1)]
    assert answers == [302] * limit + [429]


# -- the list: filters, pages, last login -----------------------------------------------------------------------
def add_users(app, count: int, prefix: str, **columns) -> None:
    with app.app_context():
        _db.session.add_all(
            User(email=f"{prefix}{i}@example.com", name=f"{prefix} {i}", password_hash="!", **columns)
            for i in range(count)
        )
        _db.session.commit()


def emails_on(page: str) -> set[str]:
    return set(re.findall(r"<td>([\w.+-]+@example\.com)</td>", page))


def test_the_list_filters_by_role_and_status_alongside_the_search(app, admin_client, make_user):
    make_user(email="lena@example.com", name="Lena Learner")
    make_user(email="ivan@example.com", name="Ivan Instructor", role="instructor")
    off = make_user(email="otto@example.com", name="Otto Off")
    gone = make_user(email="gina@example.com", name="Gina Gone")
    change(app, off.id, active=False)
    change(app, gone.id, active=False, deleted_at=utcnow())

    def shown(query: str) -> set[str]:
        response = admin_client.get(f"/admin/users?{query}")
        assert response.status_code == 200, query
        return emails_on(response.get_data(as_text=True))

    everyone = {"root@example.com", "lena@example.com", "ivan@example.com", "otto@example.com", "gina@example.com"}
    assert shown("") == everyone
    assert shown("role=learner") == {"lena@example.com", "otto@example.com", "gina@example.com"}
    assert shown("role=instructor") == {"ivan@example.com"}
    assert shown("role=admin") == {"root@example.com"}
    assert shown("status=active") == {"root@example.com", "lena@example.com", "ivan@example.com"}
    assert shown("status=disabled") == {"otto@example.com"}
    assert shown("status=deleted") == {"gina@example.com"}
    assert shown("role=learner&status=active") == {"lena@example.com"}
    assert shown("role=learner&status=active&q=ivan") == set()
    assert shown("q=o&status=disabled") == {"otto@example.com"}
    page = admin_client.get("/admin/users?role=instructor&status=active").get_data(as_text=True)
    assert re.search(r'<option selected value="instructor">|<option value="instructor" selected', page)


@pytest.mark.parametrize("query", ["role=god", "status=asleep", "role=admin&status=deleted%20", "status=Active"])
def test_a_filter_value_not_in_its_list_is_a_400_at_its_field(admin_client, query):
    response = admin_client.get(f"/admin/users?{query}")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'aria-invalid="true"' in html and "Not a valid choice." in html
    assert "root@example.com" not in html  # no list that the filter did not choose


def test_a_huge_or_repeated_query_string_is_bounded(admin_client):
    response = admin_client.get("/admin/users", query_string={"q": "x" * 100_000, "page": "9" * 30})
    assert response.status_code == 200
    assert 'value="' + "x" * 100 + '"' in response.get_data(as_text=True)
    assert admin_client.get("/admin/users?role=learner&role=admin&status=active&status=x").status_code == 200


def test_the_pager_keeps_the_filters(app, admin_client):
    add_users(app, 60, "quiet", role=Role.LEARNER, active=False)
    add_users(app, 5, "busy", role=Role.LEARNER)
    first = admin_client.get("/admin/users?q=quiet&role=learner&status=disabled").get_data(as_text=True)
    assert "60 users" in first and len(emails_on(first)) == 50
    nxt = re.search(r'href="(/admin/users\?[^"]*page=2[^"]*)"', first).group(1).replace("&amp;", "&")
    assert {"q=quiet", "role=learner", "status=disabled", "page=2"} <= set(nxt.split("?")[1].split("&"))
    second = admin_client.get(nxt).get_data(as_text=True)
    assert len(emails_on(second)) == 10 and all(e.startswith("quiet") for e in emails_on(second))
    back = re.search(r'name="back" value="([^"]+)"', second).group(1).replace("&amp;", "&")
    assert set(back.split("&")) == {"q=quiet", "role=learner", "status=disabled", "page=2"}
    prev = re.search(r'href="([^"]*)">← Previous', second).group(1).replace("&amp;", "&")
    assert {"q=quiet", "role=learner", "status=disabled"} <= set(prev.split("?")[1].split("&"))


def test_the_last_login_is_shown_in_the_readers_time_zone_and_never_when_there_is_none(app, admin, make_user):
    seen = make_user(email="seen@example.com")
    make_user(email="unseen@example.com")
    change(app, seen.id, last_login_at=datetime(2026, 1, 15, 12, 0, tzinfo=UTC))
    for zone, shown in [("America/New_York", "7:00\u202fAM"), ("Asia/Tokyo", "9:00\u202fPM")]:
        change(app, admin.id, time_zone=zone)
        client = new_client(app)
        do_login(client, admin.email)
        html = client.get("/admin/users?q=seen").get_data(as_text=True)
        cell = re.search(r'<time datetime="2026-01-15T12:00:00\+00:00">([^<]+)</time>', html).group(1)
        assert shown in cell, (zone, cell)
    html = client.get("/admin/users?q=unseen").get_data(as_text=True)
    assert re.search(r"<td>never</td>", html)


# -- disabling: a confirmation page first -----------------------------------------------------------------------
def test_disabling_asks_first_and_the_page_changes_nothing(app, admin, admin_client, make_user):
    target = make_user(email="fay@example.com", name="Fay Founder")
    victim = new_client(app)
    do_login(victim, target.email)
    listed = admin_client.get("/admin/users?role=learner").get_data(as_text=True)
    link = re.search(rf'href="(/admin/users/{target.id}/disable[^"]*)"', listed).group(1).replace("&amp;", "&")
    assert link == f"/admin/users/{target.id}/disable?back=role%3Dlearner"
    assert 'value="disable"' not in listed  # no button disables without its page

    mark = last_id(app)
    page = admin_client.get(link)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Fay Founder" in html and "Disable this account" in html
    assert 'name="back" value="role=learner"' in html and 'href="/admin/users?role=learner"' in html
    assert user_by_email(app, target.email).active and new_entries(app, mark) == []
    assert victim.get("/account").status_code == 200  # still signed in

    response = admin_client.post(f"/admin/users/{target.id}/disable", data={"back": "role=learner"})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/users?role=learner"
    assert not user_by_email(app, target.email).active
    assert victim.get("/account").status_code == 302  # logged out
    again = admin_client.post(f"/admin/users/{target.id}/disable")  # a second click: nothing more
    assert again.status_code == 303
    assert shape(new_entries(app, mark)) == [
        entry(Action.ACCOUNT_DISABLED, admin, target, before={"active": True}, after={"active": False})
    ]
    assert "This account is already disabled." in admin_client.get(link).get_data(as_text=True)


def test_the_old_disable_button_goes_to_the_confirmation_page(app, admin_client, make_user):
    target = make_user(email="fay@example.com")
    response = admin_client.post(f"/admin/users/{target.id}", data={"action": "disable", "back": "status=active"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/admin/users/{target.id}/disable?back=status%3Dactive"
    assert user_by_email(app, target.email).active


def test_an_admin_cannot_disable_their_own_account(app, admin, admin_client):
    assert admin_client.get(f"/admin/users/{admin.id}/disable").status_code == 403
    assert admin_client.post(f"/admin/users/{admin.id}/disable").status_code == 303
    assert user_by_email(app, admin.email).active
    assert admin_client.get("/admin/users/999999/disable").status_code == 404


def test_an_email_an_admin_sends_is_in_the_accounts_language_not_the_admins(app, admin_client, make_user, caplog):
    target = make_user(email="wang@example.com")  # no language chosen: the site's (Simplified Chinese)
    with app.test_request_context(), force_locale("zh_Hans"):
        chinese = gettext("Reset your Founder Course password")
    assert chinese != "Reset your Founder Course password"
    with caplog.at_level(logging.WARNING, logger="course.mail"):
        assert admin_client.post(f"/admin/users/{target.id}/password-reset").status_code == 302
    assert f"Subject: {chinese}" in caplog.text
    assert "Reset your Founder Course password" not in caplog.text  # the admin's page is in English
