"""The security baseline: headers, production config, health check, session lifetime, rate limits shared by
instances, the password policy, password reset without user enumeration, CSRF on every POST, and no state
change on GET."""

from __future__ import annotations

import logging
import re
import time

import pytest
from conftest import FIXTURE_COURSE, build_app, dispose, do_login, lesson_url, new_client
from sqlalchemy import func, select

from config import ProductionConfig
from course import create_app
from course.accounts.models import User
from course.extensions import db as _db


@pytest.fixture
def extra_apps():
    """Apps a test builds besides `app` (a second instance, another config); their connections are closed."""
    apps = []
    yield apps
    for extra in apps:
        dispose(extra)


def test_every_response_carries_the_security_headers(app, client, loaded_course):
    for url in ("/courses", f"/courses/{FIXTURE_COURSE}", "/login", "/nope", "/healthz"):
        headers = client.get(url).headers
        csp = headers["Content-Security-Policy"]
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "script-src 'self'"):
            assert directive in csp, (url, directive)
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert "Strict-Transport-Security" not in headers  # only in production, over HTTPS
        assert re.fullmatch(r"[0-9a-f]{16}", headers["X-Request-ID"])


def test_templates_have_no_inline_script_or_style():
    from pathlib import Path

    for path in Path(__file__).resolve().parent.parent.joinpath("templates").rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), path
        assert " style=" not in text and "<style" not in text, path


@pytest.mark.parametrize("secret", [None, "", "short", "dev-only-secret-key-change-me"])
def test_production_refuses_to_start_without_a_real_secret_key(monkeypatch, secret):
    if secret is None:
        monkeypatch.delenv("SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("SECRET_KEY", secret)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(ProductionConfig)


def test_production_sets_secure_cookies_hsts_and_request_logs(monkeypatch, tmp_path, extra_apps):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'prod.db'}")
    monkeypatch.setenv("TRUSTED_PROXIES", "1")
    app = create_app(ProductionConfig)
    extra_apps.append(app)
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_HTTPONLY"]
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    response = app.test_client().get("/login", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.1.2.3"})
    assert "max-age=" in response.headers["Strict-Transport-Security"]


def test_healthz_reports_the_database_and_content_version(client, loaded_course):
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert re.fullmatch(r"[0-9a-f]{16}", body["content"][FIXTURE_COURSE])


def test_healthz_is_503_when_the_database_is_unreachable(extra_apps):
    app = build_app("postgresql+psycopg://nobody@127.0.0.1:1/none")
    extra_apps.append(app)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"


def test_sessions_expire_after_idle_time(app, client, learner, loaded_course):
    assert client.get(lesson_url("welcome")).status_code == 200
    with client.session_transaction() as session:
        session["seen_at"] = int(time.time()) - app.config["SESSION_IDLE_MINUTES"] * 60 - 5
    response = client.get(lesson_url("welcome"))
    assert response.status_code == 302 and "/login" in response.location


def test_an_expired_session_keeps_the_browsers_language(app, client, learner, loaded_course):
    with client.session_transaction() as session:
        session["lang"] = "en"
        session["seen_at"] = int(time.time()) - app.config["SESSION_IDLE_MINUTES"] * 60 - 5
    response = client.get(lesson_url("welcome"))
    assert response.status_code == 302 and "/login" in response.location
    with client.session_transaction() as session:
        assert session.get("lang") == "en" and "_user_id" not in session


def test_sessions_expire_after_the_absolute_lifetime(app, client, learner, loaded_course):
    with client.session_transaction() as session:
        session["auth_at"] = int(time.time()) - app.config["SESSION_MAX_HOURS"] * 3600 - 5
    response = client.get(lesson_url("welcome"))
    assert response.status_code == 302 and "/login" in response.location


def test_disabling_an_account_ends_its_sessions(app, client, learner, loaded_course):
    assert client.get(lesson_url("welcome")).status_code == 200
    with app.app_context():
        _db.session.get(User, learner.id).active = False
        _db.session.commit()
    assert client.get(lesson_url("welcome")).status_code == 302


def test_the_session_is_renewed_at_login(app, make_user):
    user = make_user(email="renew@example.com")
    client = new_client(app)
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    do_login(client, user.email)
    with client.session_transaction() as session:
        assert "planted" not in session


def test_failed_logins_are_limited_per_account_across_instances(app, make_user, database_url, extra_apps):
    user = make_user(email="target@example.com")
    other_instance = build_app(database_url)  # a second app on the same database: a second server
    extra_apps.append(other_instance)
    clients = [new_client(app), new_client(other_instance)]
    for attempt in range(10):
        response = do_login(clients[attempt % 2], user.email, "wrong password")
        assert response.status_code == 400
    blocked = do_login(clients[0], user.email)  # even the right password, for 15 minutes
    assert blocked.status_code == 429
    assert "Too many failed attempts" in blocked.get_data(as_text=True)
    assert do_login(clients[1], user.email).status_code == 429


def test_unknown_accounts_are_limited_the_same_way(app):
    client = new_client(app)
    for _ in range(10):
        assert do_login(client, "nobody@example.com", "whatever pass").status_code == 400
    assert do_login(client, "nobody@example.com", "whatever pass").status_code == 429


def test_registration_is_limited_per_address(app):
    app.config["RATELIMIT_REGISTER"] = "2 per hour"
    client = new_client(app)
    for i in range(2):
        client.post("/logout")
        response = client.post(
            "/register",
            data={
                "name": "N",
                "email": f"r{i}@example.com",
                "password": "a fine passphrase",
                "confirm": "a fine passphrase",
            },
        )
        assert response.status_code == 302
        client.post("/logout")
    third = client.post(
        "/register",
        data={"name": "N", "email": "r3@example.com", "password": "a fine passphrase", "confirm": "a fine passphrase"},
    )
    assert third.status_code == 429
    with app.app_context():
        assert _db.session.scalar(select(func.count(User.id))) == 2


def test_limits_can_live_in_redis(database_url, extra_apps):
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/15").ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis server on 127.0.0.1:6379")
    redis.Redis.from_url("redis://127.0.0.1:6379/15").flushdb()
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/15",
            "RATELIMIT_LOGIN_FAILURES": "2 per 15 minutes",
        }
    )
    extra_apps.append(app)
    client = new_client(app)
    statuses = [do_login(client, "x@example.com", "wrong password").status_code for _ in range(3)]
    assert statuses == [400, 400, 429]
    assert redis.Redis.from_url("redis://127.0.0.1:6379/15").dbsize() > 0


@pytest.mark.parametrize(
    "password, ok",
    [
        ("1234567", False),
        ("password1", False),
        ("iloveyou", False),
        ("Qwerty123", False),
        ("a" * 128, True),
        ("a" * 129, False),
        ("月亮代表我的心啊", True),
        ("correct horse battery", True),
    ],
)
def test_password_policy(app, password, ok):
    client = new_client(app)
    response = client.post(
        "/register", data={"name": "P", "email": "p@example.com", "password": password, "confirm": password}
    )
    assert (response.status_code == 302) is ok, response.get_data(as_text=True)[:200]


def test_password_reset_sends_a_single_use_link_and_does_not_reveal_accounts(app, make_user, caplog):
    user = make_user(email="reset@example.com")
    client = new_client(app)
    with caplog.at_level(logging.WARNING, logger="course.mail"):
        known = client.post("/password/forgot", data={"email": user.email})
        unknown = client.post("/password/forgot", data={"email": "stranger@example.com"})
    assert known.status_code == unknown.status_code == 302
    assert known.location == unknown.location
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "stranger@example.com" not in logged
    link = re.search(r"http://localhost(/password/reset/[\w.-]+)", logged).group(1)
    assert client.get(link).status_code == 200
    assert (
        client.post(link, data={"password": "brand new passphrase", "confirm": "brand new passphrase"}).status_code
        == 302
    )
    assert new_client(app).get(link).status_code == 404  # used once
    assert do_login(new_client(app), user.email, "brand new passphrase").status_code == 302


def test_reset_links_expire(app, make_user, caplog):
    user = make_user(email="late@example.com")
    app.config["PASSWORD_RESET_MAX_AGE"] = -1
    with caplog.at_level(logging.WARNING, logger="course.mail"):
        new_client(app).post("/password/forgot", data={"email": user.email})
    link = re.search(r"(/password/reset/[\w.-]+)", caplog.text).group(1)
    assert new_client(app).get(link).status_code == 404
