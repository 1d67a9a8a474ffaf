"""Administration of users: search, role changes and disabling, admins only."""

from __future__ import annotations

from conftest import do_login, new_client
from sqlalchemy import select

from course.accounts.models import Role, User
from course.extensions import db as _db


def _user(app, user_id) -> User:
    with app.app_context():
        user = _db.session.get(User, user_id)
        _db.session.expunge(user)
        return user


def test_admin_searches_changes_roles_and_disables(app, make_user):
    admin = make_user(email="root@example.com", role="admin")
    target = make_user(email="founder@example.com", name="Fay Founder")
    make_user(email="someone@example.com")
    client = new_client(app)
    do_login(client, admin.email)
    page = client.get("/admin/users?q=fay").get_data(as_text=True)
    assert "founder@example.com" in page and "someone@example.com" not in page

    victim = new_client(app)
    do_login(victim, target.email)
    assert victim.get("/courses").status_code == 200
    assert client.post(f"/admin/users/{target.id}", data={"action": "role", "role": "instructor"}).status_code == 302
    assert _user(app, target.id).role == Role.INSTRUCTOR
    assert client.post(f"/admin/users/{target.id}/disable").status_code == 302
    assert not _user(app, target.id).active
    assert victim.get("/cohorts").status_code == 302  # the session ended: back to the login page
    assert do_login(new_client(app), target.email).status_code == 400


def test_bad_admin_input_is_refused(app, make_user):
    admin = make_user(email="root@example.com", role="admin")
    target = make_user(email="t@example.com")
    client = new_client(app)
    do_login(client, admin.email)
    assert client.post(f"/admin/users/{target.id}", data={"action": "role", "role": "god"}).status_code == 400
    assert client.post(f"/admin/users/{target.id}", data={"action": "explode"}).status_code == 400
    assert client.post("/admin/users/999999", data={"action": "enable"}).status_code == 404
    assert client.post("/admin/users/999999/disable").status_code == 404
    assert client.get("/admin/users?page=abc").status_code == 200
    own = client.post(f"/admin/users/{admin.id}/disable")
    assert own.status_code == 303 and _user(app, admin.id).active
    with app.app_context():
        assert _db.session.scalar(select(User.role).where(User.id == target.id)) == Role.LEARNER


def test_only_admins_manage_users(app, make_user):
    instructor = make_user(email="i@example.com", role="instructor")
    client = new_client(app)
    assert client.get("/admin/users").status_code == 302
    do_login(client, instructor.email)
    assert client.get("/admin/users").status_code == 403
    assert client.post(f"/admin/users/{instructor.id}", data={"action": "role", "role": "admin"}).status_code == 403
    assert _user(app, instructor.id).role == Role.INSTRUCTOR


def test_a_page_number_that_is_not_a_plain_number_or_is_out_of_range_shows_a_page(app, make_user):
    """`²` passes str.isdigit() but not int(); a huge page was an unbounded OFFSET (bigint out of range on
    PostgreSQL, OverflowError on SQLite)."""
    admin = make_user(email="root@example.com", role="admin")
    client = new_client(app)
    do_login(client, admin.email)
    for page in ["²", "99999999999999999999999", "0", "-1", "1e3", " 2", "٣"]:
        response = client.get("/admin/users", query_string={"page": page})
        assert response.status_code == 200, page
        assert "root@example.com" in response.get_data(as_text=True), page


def test_the_user_search_takes_percent_and_underscore_literally(app, make_user):
    admin = make_user(email="root@example.com", role="admin")
    make_user(email="a_b@example.com")
    make_user(email="axb@example.com")
    make_user(email="100%sure@example.com")
    make_user(email="100xsure@example.com")
    client = new_client(app)
    do_login(client, admin.email)
    page = client.get("/admin/users?q=a_b").get_data(as_text=True)
    assert "a_b@example.com" in page and "axb@example.com" not in page
    page = client.get("/admin/users?q=100%25sure").get_data(as_text=True)
    assert "100%sure@example.com" in page and "100xsure@example.com" not in page


def test_the_search_carried_back_after_a_change_is_bounded(app, make_user):
    """The list's filters go back into the redirect: a huge search made a 64 KB Location header."""
    admin = make_user(email="root@example.com", role="admin")
    target = make_user(email="t@example.com")
    client = new_client(app)
    do_login(client, admin.email)
    for back in ["q=" + "x" * 200_000, "q=" + "x" * 300, "&".join(f"q{i}=x" for i in range(50))]:
        response = client.post(f"/admin/users/{target.id}", data={"action": "role", "role": "learner", "back": back})
        assert response.status_code == 302
        assert len(response.headers["Location"]) < 300
    response = client.post(f"/admin/users/{target.id}/disable", data={"back": "q=" + "x" * 300})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/users?q=" + "x" * 100


def test_a_deleted_account_gets_no_role(app, make_user):
    from course.accounts.models import User as UserRow
    from course.db_types import utcnow

    admin = make_user(email="root@example.com", role="admin")
    gone = make_user(email="gone@example.com")
    with app.app_context():
        _db.session.get(UserRow, gone.id).deleted_at = utcnow()
        _db.session.commit()
    client = new_client(app)
    do_login(client, admin.email)
    response = client.post(f"/admin/users/{gone.id}", data={"action": "role", "role": "admin"})
    assert response.status_code == 303
    assert _user(app, gone.id).role == Role.LEARNER
