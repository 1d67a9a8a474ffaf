"""The security baseline: headers, production config, health check, session lifetime, rate limits shared by
instances, the password policy, password reset without user enumeration, CSRF on every POST, and no state
change on GET."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import time

import pytest
from conftest import FIXTURE_COURSE, ROOT, build_app, do_login, lesson_url, new_client
from sqlalchemy import func, select

from config import ProductionConfig
from course import create_app
from course.accounts.models import User
from course.extensions import db as _db


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

    templates = Path(__file__).resolve().parent.parent.joinpath("templates")
    for path in templates.rglob("*.html"):
        if path.parent.name == "emails":
            continue  # an email is not served under the CSP, and mail programs read only inline styles
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
    monkeypatch.setenv("MAIL_SERVER", "smtp.example.com")
    monkeypatch.setenv("PUBLIC_URL", "https://localhost")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'prod.db'}")
    monkeypatch.setenv("TRUSTED_PROXIES", "1")
    app = create_app(ProductionConfig)
    extra_apps.append(app)
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_HTTPONLY"]
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    response = app.test_client().get("/login", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.1.2.3"})
    assert "max-age=" in response.headers["Strict-Transport-Security"]


def test_production_refuses_to_start_without_a_public_url(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("MAIL_SERVER", "smtp.example.com")
    monkeypatch.delenv("PUBLIC_URL", raising=False)
    with pytest.raises(RuntimeError, match="PUBLIC_URL"):
        create_app(ProductionConfig)
    monkeypatch.setenv("PUBLIC_URL", "course.example.org")  # not an address
    with pytest.raises(RuntimeError, match="PUBLIC_URL"):
        create_app(ProductionConfig)


def test_reset_links_come_from_the_public_url_never_from_the_request(app, make_user, caplog):
    """A forged Host or X-Forwarded-Host (behind a trusted proxy) does not reach the link in the email."""
    app.config.update(PUBLIC_URL="https://course.example.org", TRUSTED_PROXIES=1)
    user = make_user(email="poison@example.com")
    client = new_client(app)
    with caplog.at_level(logging.WARNING, logger="course.mail"):
        client.post("/password/forgot", data={"email": user.email}, headers={"X-Forwarded-Host": "evil.example.net"})
        client.post("/password/forgot", data={"email": user.email}, headers={"Host": "evil.example.net"})
    links = re.findall(r"https?://[^/\s]+/password/reset/", caplog.text)
    assert links == ["https://course.example.org/password/reset/"] * 2


def test_production_refuses_a_host_it_does_not_serve(monkeypatch, tmp_path, extra_apps):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("MAIL_SERVER", "smtp.example.com")
    monkeypatch.setenv("PUBLIC_URL", "https://course.example.org")
    monkeypatch.setenv("TRUSTED_HOSTS", "course-internal.example.org")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'prod.db'}")
    app = create_app(ProductionConfig)
    extra_apps.append(app)
    client = app.test_client()
    assert client.get("/login", headers={"Host": "course.example.org"}).status_code == 200
    assert client.get("/login", headers={"Host": "course-internal.example.org:8443"}).status_code == 200
    refused = client.get("/login", headers={"Host": "evil.example.net"})
    assert refused.status_code == 400 and "<html" in refused.get_data(as_text=True)
    assert "Content-Security-Policy" in refused.headers
    # a load balancer's health check may name any host: that one path answers
    assert client.get("/healthz", headers={"Host": "10.1.2.3:8000"}).status_code in (200, 503)


def test_production_refuses_a_forwarded_host_it_does_not_serve(monkeypatch, tmp_path, extra_apps):
    """Behind a trusted proxy the host comes from X-Forwarded-Host: a forged one is refused the same way."""
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("MAIL_SERVER", "smtp.example.com")
    monkeypatch.setenv("PUBLIC_URL", "https://course.example.org")
    monkeypatch.setenv("TRUSTED_PROXIES", "1")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'prod.db'}")
    app = create_app(ProductionConfig)
    extra_apps.append(app)
    client = app.test_client()
    forwarded = {"Host": "10.0.0.7", "X-Forwarded-Host": "course.example.org", "X-Forwarded-Proto": "https"}
    assert client.get("/login", headers=forwarded).status_code == 200
    forged = {**forwarded, "X-Forwarded-Host": "evil.example.net"}
    assert client.get("/login", headers=forged).status_code == 400


def test_production_refuses_to_start_without_a_mail_server(monkeypatch):
    """Password-reset links go by email: without a server they would only reach a log."""
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.delenv("MAIL_SERVER", raising=False)
    with pytest.raises(RuntimeError, match="MAIL_SERVER"):
        create_app(ProductionConfig)


def test_a_mail_that_is_not_sent_is_logged_without_its_secret_link(app, make_user, caplog):
    """Outside development (which prints messages to its console), a mail without a server to send it through
    is reported as not sent — never with its body, which may hold a password-reset link."""
    app.config["MAIL_TO_CONSOLE"] = False
    user = make_user(email="reset@example.com")
    with caplog.at_level(logging.DEBUG, logger="course.mail"):
        assert new_client(app).post("/password/forgot", data={"email": user.email}).status_code == 302
    assert "not sent" in caplog.text and "reset@example.com" in caplog.text
    assert "/password/reset/" not in caplog.text and "Open this link" not in caplog.text


def test_the_wsgi_entry_point_refuses_the_development_secret():
    """`gunicorn course.wsgi:app` is the production entry point: without FOUNDER_COURSE_ENV it is production,
    and production refuses the public development SECRET_KEY (development must be asked for)."""
    env = {k: v for k, v in os.environ.items() if k not in ("FOUNDER_COURSE_ENV", "SECRET_KEY", "MAIL_SERVER")}
    env["DATABASE_URL"] = "sqlite://"

    def build_app() -> subprocess.CompletedProcess:  # as gunicorn does: the module's `app`
        code = "from course.wsgi import app"
        return subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )

    done = build_app()
    assert done.returncode != 0 and "SECRET_KEY" in done.stderr
    env["FOUNDER_COURSE_ENV"] = "development"
    done = build_app()
    assert done.returncode == 0, done.stderr


def test_signed_in_pages_are_kept_in_no_cache(app, client, learner, loaded_course):
    """ASVS 14.3.2: a page of a signed-in user (the set-up of two-step login, its recovery codes, anything personal)
    is sent with `Cache-Control: no-store`; the site's static files stay cacheable, and so do public pages."""
    assert client.get("/account").headers["Cache-Control"] == "no-store"
    assert client.get(lesson_url("welcome")).headers["Cache-Control"] == "no-store"
    static = client.get("/static/css/app.css")
    static.close()
    assert "no-store" not in static.headers.get("Cache-Control", "")
    assert "no-store" not in new_client(app).get("/courses").headers.get("Cache-Control", "")


def test_the_request_log_leaves_secret_url_parts_out(app, client):
    """A password link's token and an invite code are keys: the request log names them instead."""
    app.config["REQUEST_LOG"] = True
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("course.request")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        client.get("/password/reset/a-secret.token-value")
        client.get("/join/an-invite-code")
        client.get("/courses")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert [r.fields["path"] for r in records] == ["/password/reset/<token>", "/join/<code>", "/courses"]


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


def test_an_error_with_the_database_down_keeps_the_page_and_its_headers(app, make_user, extra_apps):
    """A signed-in user's request when the database is down: loading the user fails, and so would the usual
    error page (it shows who is signed in). The app's plain error page is sent instead, with every header."""
    user = make_user(email="down@example.com")
    client = new_client(app)
    assert do_login(client, user.email).status_code == 302
    cookie = client.get_cookie("session").value
    down = build_app("postgresql+psycopg://nobody@127.0.0.1:1/none")  # the same secret key, no database
    extra_apps.append(down)
    browser = new_client(down)
    browser.set_cookie("session", cookie)
    response = browser.get("/account")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "<html" in page and "Something went wrong" in page
    for header in ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"):
        assert header in response.headers, header


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


def test_the_failed_login_limit_holds_under_parallel_attempts(app, make_user, database_url, extra_apps):
    """24 wrong passwords at once for one account, over two instances: no more than the limit (10) are
    checked — each attempt is counted before its slow hash check, so parallel requests cannot all pass it."""
    import threading

    user = make_user(email="parallel@example.com")
    slow_hashing = {"ARGON2_TIME_COST": 2, "ARGON2_MEMORY_COST": 19 * 1024}  # production's cost: a real window
    instances = [app, build_app(database_url)]
    extra_apps.append(instances[1])
    for instance in instances:
        instance.config.update(slow_hashing)
    clients = [new_client(instances[i % 2]) for i in range(24)]
    start = threading.Barrier(len(clients))
    statuses: list[int] = []

    def attempt(client) -> None:
        start.wait()
        response = client.post("/login", data={"email": user.email, "password": "wrong password!"})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=attempt, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(set(statuses)) == [400, 429]
    assert statuses.count(400) == 10, statuses  # the wrong passwords checked: exactly the limit


def test_a_right_password_gives_its_attempt_back(app, make_user):
    """An attempt is counted before the check and given back when the password was right: signing in
    does not use up the account's allowance."""
    user = make_user(email="often@example.com")
    for _ in range(12):
        client = new_client(app)
        assert do_login(client, user.email).status_code == 302
    for _ in range(10):
        assert do_login(new_client(app), user.email, "wrong password!").status_code == 400
    assert do_login(new_client(app), user.email, "wrong password!").status_code == 429


def test_the_failed_login_counters_hold_no_email(app, make_user):
    """Counted by a keyed digest of the email typed: the counters store no address, known or unknown."""
    from course.ratelimit import RateLimitCounter

    user = make_user(email="private@example.com")
    for email in (user.email, "Someone.Unknown@example.com"):
        assert do_login(new_client(app), email, "wrong password!").status_code == 400
    with app.app_context():
        keys = _db.session.scalars(select(RateLimitCounter.key)).all()
    assert any("login-failures" in key for key in keys)
    assert not [key for key in keys if "example.com" in key.lower()]


def test_a_give_back_never_counts_below_zero(app):
    """A right password whose window ended between the count and the check starts the next window at zero."""
    from limits import parse

    from course.extensions import limiter
    from course.ratelimit import account_key, release_login_attempt

    with app.test_request_context(method="POST"):
        release_login_attempt("nobody@example.com")  # nothing was counted in this window
        item = parse(app.config["RATELIMIT_LOGIN_FAILURES"])
        key = item.key_for("login-failures", account_key("nobody@example.com"))
        assert limiter.limiter.storage.get(key) == 0


def test_pruning_removes_expired_rate_limit_counters(app):
    import time as clock

    from course.ratelimit import RateLimitCounter

    with app.app_context():
        _db.session.add(RateLimitCounter(key="LIMITER/old", count=3, expires_at=clock.time() - 60))
        _db.session.add(RateLimitCounter(key="LIMITER/live", count=1, expires_at=clock.time() + 600))
        _db.session.commit()
    result = app.test_cli_runner().invoke(args=["audit", "prune"])
    assert result.exit_code == 0 and "deleted 1 expired rate-limit counters" in result.output
    with app.app_context():
        assert _db.session.scalars(select(RateLimitCounter.key)).all() == ["LIMITER/live"]


def test_rate_limit_counters_write_no_wal_on_postgresql(app):
    """UNLOGGED (migration 0024): counting a request waits for no disk flush; SQLite has no such thing."""
    from sqlalchemy import text

    with app.app_context():
        if _db.engine.dialect.name != "postgresql":
            pytest.skip("an UNLOGGED table is PostgreSQL's")
        persistence = _db.session.scalar(
            text("SELECT relpersistence FROM pg_class WHERE relname = 'rate_limit_counter'")
        )
    assert persistence == "u"


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


def test_password_links_do_not_carry_the_session_token(app, make_user):
    """A link's payload is signed, not secret: it names the user and a digest of their session token (which
    the login cookie carries), never the token itself. Setting the password rotates it: the link works once."""
    from itsdangerous import URLSafeTimedSerializer

    from course.accounts.tokens import RESET_PASSWORD, SET_PASSWORD, make_token, user_for_token

    user = make_user(email="link@example.com")
    with app.test_request_context():
        user = _db.session.get(User, user.id)
        for purpose in (SET_PASSWORD, RESET_PASSWORD):
            token = make_token(user, purpose)
            _valid, payload = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=purpose).loads_unsafe(token)
            assert user.session_token not in json.dumps(payload)
            assert user_for_token(token, purpose) is user


def test_a_password_link_made_before_the_digest_still_works_once(app, make_user):
    """Links sent before the change carry the session token itself; they keep working until they expire."""
    from itsdangerous import URLSafeTimedSerializer

    from course.accounts.tokens import SET_PASSWORD, user_for_token

    user = make_user(email="old-link@example.com")
    with app.test_request_context():
        user = _db.session.get(User, user.id)
        legacy = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=SET_PASSWORD).dumps(
            {"u": user.id, "t": user.session_token}
        )
        assert user_for_token(legacy, SET_PASSWORD) is user
        forged = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=SET_PASSWORD).dumps({"u": user.id, "t": "x"})
        assert user_for_token(forged, SET_PASSWORD) is None


def test_the_common_passwords_ship_with_the_app(monkeypatch):
    """The 10,000 most common passwords are a data file of the app, not a regex over another package's source."""
    import importlib.util

    from course.accounts import passwords

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name.startswith("zxcvbn") else real_find_spec(name, *a)
    )
    passwords.common_passwords.cache_clear()
    try:
        common = passwords.common_passwords()
    finally:
        passwords.common_passwords.cache_clear()
    assert len(common) == 10_000
    assert {"password", "123456", "qwerty", "iloveyou", "password1"} <= common


def test_reset_links_expire(app, make_user, caplog):
    user = make_user(email="late@example.com")
    app.config["PASSWORD_RESET_MAX_AGE"] = -1
    with caplog.at_level(logging.WARNING, logger="course.mail"):
        new_client(app).post("/password/forgot", data={"email": user.email})
    link = re.search(r"(/password/reset/[\w.-]+)", caplog.text).group(1)
    assert new_client(app).get(link).status_code == 404
