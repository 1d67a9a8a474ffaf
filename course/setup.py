"""The small named steps `create_app` is built from."""

from __future__ import annotations

import ctypes
import logging
import platform

import click
from flask import Flask, has_request_context, render_template, request, session
from flask.cli import with_appcontext
from flask_babel import force_locale, format_date, format_datetime
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter, Map

import course.sql  # noqa: F401 - how transactions begin (an engine event)
from course.extensions import babel, csrf, db, limiter, login_manager

log = logging.getLogger(__name__)


def select_locale() -> str:
    """The signed-in user's language, else this browser's choice (the switch), else its Accept-Language."""
    from flask import current_app

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # work outside a request (the CLI forces English: `speak_english`)
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user.is_authenticated and current_user.language in languages:
        return current_user.language
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    best = request.accept_languages.best_match(["zh", "zh_Hans", "zh-CN", "en"])
    if best and best.startswith("en"):
        return "en"
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    """The signed-in user's time zone, else the site's (BABEL_DEFAULT_TIMEZONE). Dates are stored in UTC."""
    from flask import current_app

    from course.auth.services import is_time_zone

    if has_request_context() and current_user.is_authenticated and is_time_zone(current_user.time_zone):
        return current_user.time_zone
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def tune_allocator() -> None:
    """Keep glibc's malloc from holding on to password hashing's memory.

    argon2id hashes with 19 MiB of working memory. glibc serves such a block with mmap and returns it when
    freed, but it also raises its mmap threshold to the size of the last freed block: from then on the 19 MiB
    come from the heap and stay resident, about 20 MB more in every worker that has handled a login. Fixing
    the threshold at 128 KiB (its default starting value) keeps large blocks mapped and given back. Other C
    libraries are left alone."""
    if platform.libc_ver()[0] != "glibc":
        return
    libc = ctypes.CDLL(None)
    libc.mallopt(M_MMAP_THRESHOLD, 128 * 1024)


M_MMAP_THRESHOLD = -3  # glibc's malloc.h


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    csrf.init_app(app)
    import course.ratelimit  # noqa: F401 - registers the fcsql:// storage before the limiter starts

    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"

    from course.auth.services import load_user

    login_manager.user_loader(load_user)


def _migrations_dir() -> str:
    from pathlib import Path

    return str(Path(__file__).resolve().parent.parent / "migrations")


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:  # noqa: ANN001
    """SQLite: enforce foreign keys, wait for locks instead of failing, WAL for concurrent readers."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    # Let SQLAlchemy, not pysqlite, decide when transactions begin, so SAVEPOINTs work (SQLAlchemy docs,
    # "Serializable isolation / Savepoints / Transactional DDL").
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL never corrupts the database and survives an application crash; only a power loss
    # can lose the last commits. It is SQLite's recommended setting for WAL (and Rails' default).
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


ID_MAX = 2**31 - 1  # PostgreSQL `integer`, the type of every id column and of an attempt's number


class IdConverter(IntegerConverter):
    """`<int:…>` in a URL: an id, from 1 to the largest the database's `integer` columns hold.

    A number outside that range names nothing, so the URL is a 404 like any unknown id, instead of a query
    that PostgreSQL refuses ("integer out of range") or that SQLite cannot bind (OverflowError)."""

    def __init__(
        self, map: Map, fixed_digits: int = 0, min: int | None = 1, max: int | None = ID_MAX, signed: bool = False
    ) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def register_url_converters(app: Flask) -> None:
    """Before any route is added: a rule takes its converters from the map when it is added."""
    app.url_map.converters["int"] = IdConverter


def register_blueprints(app: Flask) -> None:
    from course.admin.routes import bp as admin_bp
    from course.auth.routes import bp as auth_bp
    from course.cohorts.routes import bp as cohorts_bp
    from course.dashboard.routes import bp as dashboard_bp
    from course.learn.routes import bp as learn_bp
    from course.ops.routes import bp as ops_bp
    from course.progress.routes import bp as progress_bp
    from course.quiz.routes import bp as quiz_bp

    for bp in (auth_bp, learn_bp, quiz_bp, progress_bp, cohorts_bp, dashboard_bp, ops_bp, admin_bp):
        app.register_blueprint(bp)


def register_error_handlers(app: Flask) -> None:
    """Every HTTP error is a page of the app, in the request's language, with its status and headers kept: the
    code's own template (`errors/<code>.html`), else the page of its class (`errors/400.html` for a 4xx,
    `errors/500.html` for a 5xx), which shows the code. Never Werkzeug's English page."""

    def render_error(code: int, message: str, headers: list[tuple[str, str]] | None = None):  # noqa: ANN202
        generic = "errors/500.html" if code >= 500 else "errors/400.html"
        return render_template([f"errors/{code}.html", generic], code=code, message=message), code, headers or []

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):  # noqa: ANN202
        db.session.rollback()
        return render_error(400, _("This form has expired or was not sent from this site. Please try again."))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # noqa: ANN202
        db.session.rollback()
        code = error.code or 500
        if code < 400:  # not an error (Flask answers routing redirects itself, before any handler)
            return error
        # Werkzeug's stock descriptions are English; only messages the app wrote itself are shown.
        message = error.description if error.description != type(error).description else ""
        if code == 429:
            message = _("Too many attempts. Please wait a little and try again.")
        # What the error says in its headers (Allow for a 405, Retry-After for a 429 or 503), not its content type.
        headers = [(name, value) for name, value in error.get_headers() if name.lower() != "content-type"]
        return render_error(code, message, headers)

    @app.errorhandler(Exception)
    def server_error(error: Exception):  # noqa: ANN202
        db.session.rollback()
        log.exception("unhandled error on %s %s", request.method, request.path)
        return render_error(500, "")


@with_appcontext
def speak_english() -> None:
    """The callback of every `flask` command group of the app: its commands speak English.

    A terminal has no request to choose a language from, so messages the services translate (a password
    problem, a cohort error) would come out in the default language, Chinese, among the commands' own English.
    The app context is pushed here, for the group, so the locale stays forced until its command returns."""
    click.get_current_context().with_resource(force_locale("en"))


def register_cli(app: Flask) -> None:
    from flask_migrate import Migrate

    from course.auth.cli import demo_cli, users_cli
    from course.content.cli import content_cli

    Migrate(app, db, directory=str(app.config.get("MIGRATIONS_DIR") or _migrations_dir()))  # `flask db …`

    app.cli.add_command(content_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)


def register_template_globals(app: Flask) -> None:
    from course.content.i18n import tr_for_request
    from course.content.mermaid_asset import mermaid_available
    from course.i18n import template_functions

    @app.context_processor
    def inject() -> dict:
        return {
            **template_functions(),  # current_locale, gettext, ngettext: the request's language, found once
            "languages": app.config["LANGUAGES"],
            "mermaid_available": mermaid_available(app),
            "tr": tr_for_request(),
        }

    app.jinja_env.filters["datetime"] = lambda value, fmt="medium": format_datetime(value, fmt) if value else ""
    app.jinja_env.filters["duration"] = _duration
    app.jinja_env.filters["date"] = lambda value, fmt="medium": format_date(value, fmt) if value else ""


def _duration(seconds: int | float | None) -> str:
    seconds = int(seconds or 0)
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    if hours:
        return _("%(h)d h %(m)d min", h=hours, m=minutes)
    return _("%(m)d min", m=minutes)


def register_request_handling(app: Flask) -> None:
    """Proxy headers (behind a load balancer), structured request logs, session timeouts."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    from course.auth.sessions import init_session_timeouts
    from course.ops.logging import init_request_logging

    proxies = app.config.get("TRUSTED_PROXIES", 0)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_prefix=proxies)
    init_request_logging(app)
    init_session_timeouts(app)


def register_security_headers(app: Flask) -> None:
    csp = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    )

    @app.after_request
    def headers(response):  # noqa: ANN001, ANN202
        response.headers.setdefault("Content-Security-Policy", csp)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config.get("HSTS"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
        return response
