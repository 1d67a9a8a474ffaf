"""The app factory and the small named steps it is built from: extensions, URL converters, blueprints, error
pages, the CLI, template globals, request handling and security headers. Nothing here does I/O."""

from __future__ import annotations

import logging
from collections import ChainMap
from collections.abc import Iterable
from typing import Any

from babel.lists import format_list
from flask import Flask, render_template, request, session
from flask.globals import request_ctx
from flask.templating import Environment
from flask_babel import force_locale, format_date, format_datetime, get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter, Map

from config import CONFIGS, Config, config_name
from course.extensions import babel, csrf, db, limiter, login_manager
from course.i18n import browser_locale, load_locale_data, locale_of_request, select_timezone, sentences
from course.ops.logging import logged_path
from course.worker import wake as worker_wake

log = logging.getLogger(__name__)


class TemplateGlobals(ChainMap):
    """A template's globals, Jinja's ChainMap of its own over the environment's, read the way Jinja reads them on
    every page without a Python loop over the keys: their set of names (`{% from … import %}` takes the difference
    with the page's, about 40 µs a time as a ChainMap's keys view) and each value, for the dict every render makes."""

    def keys(self):  # type: ignore[override]
        return set().union(*self.maps)

    def __getitem__(self, key: str) -> Any:
        for mapping in self.maps:
            if key in mapping:
                return mapping[key]
        return self.__missing__(key)


class TemplateEnvironment(Environment):
    def make_globals(self, d: Any = None) -> TemplateGlobals:  # type: ignore[override]
        return TemplateGlobals({} if d is None else d, self.globals)


class CourseApp(Flask):
    jinja_environment = TemplateEnvironment


def create_app(config: dict[str, Any] | type[Config] | str | None = None, *, cli: bool = True) -> Flask:
    """Build the app: configuration, extensions, blueprints, error handlers, CLI, template globals.

    `config` is a config name (`"testing"`), a config class, or a mapping of overrides applied on top of
    the environment's config. The factory does no I/O: no schema creation, no content load.

    `cli=False` leaves out the command-line tools (`flask db` through Flask-Migrate and Alembic, `content`,
    `users`, `demo`): what a web worker serving requests does not need to hold in memory (`course.wsgi`).
    """
    cfg_class: type[Config]
    overrides: dict[str, Any] = {}
    if isinstance(config, str):
        cfg_class = CONFIGS[config]
    elif isinstance(config, type):
        cfg_class = config
    else:
        cfg_class = CONFIGS[config_name()]
        overrides = dict(config or {})
        if "TESTING" in overrides and overrides["TESTING"]:
            cfg_class = CONFIGS["testing"]

    app = CourseApp("course", template_folder=cfg_class.TEMPLATES_DIR, instance_relative_config=False)
    app.config.from_object(cfg_class)
    app.config.update(cfg_class.from_env())
    app.config.update(overrides)

    register_extensions(app)
    register_url_converters(app)
    register_blueprints(app)
    register_error_handlers(app)
    if cli:
        from course.cli import register_cli  # the CLI's modules (Alembic, the content pipeline) only when asked

        register_cli(app)
    register_template_globals(app)
    register_static_files(app)
    register_request_handling(app)
    register_security_headers(app)
    return app


def register_extensions(app: Flask) -> None:
    import course.ratelimit
    import course.sql  # connection settings (engine_options) and how transactions begin (engine events)
    from course.accounts.sessions import load_user

    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = course.sql.engine_options(app.config)
    db.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=locale_of_request, timezone_selector=select_timezone)
    load_locale_data(app.config["LANGUAGES"])
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_user)
    worker_wake.init_app(app)


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
    from course.admin import (
        audit,  # noqa: F401 - the audit log's pages, on the admin blueprint
        emails,  # noqa: F401 - the outbox's page, on the admin blueprint
    )
    from course.admin.routes import bp as admin_bp
    from course.api import init_app as init_api
    from course.auth import (
        account,  # noqa: F401 - the account pages, on the auth blueprint
        api_tokens,  # noqa: F401 - the account page's API tokens, on the auth blueprint
        mfa,  # noqa: F401 - two-step login pages and the staff rule, on the auth blueprint
        notifications,  # noqa: F401 - email settings and unsubscribe links, on the auth blueprint
        privacy,  # noqa: F401 - the account page's "Your data", on the auth blueprint
    )
    from course.auth.routes import bp as auth_bp
    from course.badges.routes import bp as badges_bp  # the DID document, status lists; issuing on completion
    from course.cohorts import (
        announcement_routes,  # noqa: F401 - a cohort's announcements, dismissing one
        invitation_routes,  # noqa: F401 - add a learner, resend an invitation
    )
    from course.cohorts.routes import bp as cohorts_bp
    from course.dashboard import nudge_routes  # noqa: F401 - reminders to learners, on the dashboard blueprint
    from course.dashboard.routes import bp as dashboard_bp
    from course.learn import (
        calendar,  # noqa: F401 - the calendar feed and its buttons, on the learn blueprint
        review,  # noqa: F401 - the Review page (spaced review), on the learn blueprint
    )
    from course.learn.lessons import bp as learn_bp
    from course.learn.quizzes import bp as quiz_bp
    from course.learn.summary import bp as progress_bp
    from course.lti import admin_routes  # noqa: F401 - platform registration and rosters, on the lti blueprint
    from course.lti.routes import bp as lti_bp
    from course.ops.routes import bp as ops_bp

    for bp in (auth_bp, learn_bp, quiz_bp, progress_bp, cohorts_bp, dashboard_bp, ops_bp, admin_bp, lti_bp):
        app.register_blueprint(bp)
    app.register_blueprint(badges_bp)
    init_api(app)  # /api/v1: its blueprint, CSRF-exempt, with no session


def register_error_handlers(app: Flask) -> None:
    """Every HTTP error is a page of the app, in the request's language, with its status and headers kept: the
    code's own template (`errors/<code>.html`), else the page of its class (`errors/400.html` for a 4xx,
    `errors/500.html` for a 5xx), which shows the code. Never Werkzeug's English page."""

    def render_error(code: int, message: str, headers: list[tuple[str, str]] | None = None):
        generic = "errors/500.html" if code >= 500 else "errors/400.html"
        page = None
        if request_ctx.url_adapter is not None:  # None: the request's host was refused, no URL can be built for it
            try:
                page = render_template([f"errors/{code}.html", generic], code=code, message=message)
            except Exception:  # e.g. the database is down: the usual page needs the signed-in user
                log.exception("could not render the error page for %s %s", request.method, logged_path())
        return page or bare_error_page(code, message), code, headers or []

    def bare_error_page(code: int, message: str) -> str:
        """The error page that needs no database, no signed-in user and no URL building."""
        lang = browser_locale()
        with force_locale(lang):
            template = app.jinja_env.get_template("errors/bare.html")
            return template.render(
                code=code, message=message, root=request.script_root, lang="zh-Hans" if lang.startswith("zh") else lang
            )

    def rollback() -> None:
        try:
            db.session.rollback()
        except Exception:  # a database that is down cannot even roll back: the page is shown without it
            log.warning("could not roll back the request's transaction", exc_info=True)

    from course.api import problems  # an /api request's errors are problem details (RFC 9457), never a page

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        rollback()
        if problems.is_api_request():
            return problems.from_http_error(error)
        return render_error(400, _("This form has expired or was not sent from this site. Please try again."))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        rollback()
        code = error.code or 500
        if code < 400:  # not an error (Flask answers routing redirects itself, before any handler)
            return error
        if problems.is_api_request():
            return problems.from_http_error(error)
        # Werkzeug's stock descriptions are English; only messages the app wrote itself are shown.
        message = error.description if error.description != type(error).description else ""
        if code == 429:
            message = _("Too many attempts. Please wait a little and try again.")
        # What the error says in its headers (Allow for a 405, Retry-After for a 429 or 503), not its content type.
        headers = [(name, value) for name, value in error.get_headers() if name.lower() != "content-type"]
        return render_error(code, message, headers)

    @app.errorhandler(Exception)
    def server_error(error: Exception):
        rollback()
        log.exception("unhandled error on %s %s", request.method, logged_path())
        if problems.is_api_request():
            return problems.server_error()
        return render_error(500, "")


def register_template_globals(app: Flask) -> None:
    from course import components
    from course.content import diagrams
    from course.content.i18n import tr_for_request
    from course.i18n import template_functions
    from course.links import external_url, fixed_url
    from course.outbox.messages import email_links

    @app.context_processor
    def inject() -> dict:
        return {
            **template_functions(),  # current_locale, gettext, ngettext: the request's language, found once
            "languages": app.config["LANGUAGES"],
            "tr": tr_for_request(),
        }

    components.init_app(app)  # csrf_input(), progress_bar(): HTML pieces written in Python (course/components.py)
    app.jinja_env.globals["external_url"] = external_url  # links to share: from PUBLIC_URL (course/links.py)
    app.jinja_env.globals["fixed_url"] = fixed_url  # url_for(endpoint) of a link on every page, built once
    app.jinja_env.filters["datetime"] = lambda value, fmt="medium": format_datetime(value, fmt) if value else ""
    app.jinja_env.filters["duration"] = _duration
    app.jinja_env.filters["date"] = lambda value, fmt="medium": format_date(value, fmt) if value else ""
    app.jinja_env.filters["listing"] = _listing
    app.jinja_env.filters["sentences"] = sentences
    app.jinja_env.filters["email_links"] = email_links  # plain text in an HTML email (course/outbox)
    app.jinja_env.filters["diagrams"] = diagrams.localized  # a lesson's diagrams in the reader's language


def _listing(items: Iterable[Any]) -> str:
    """Names as the reader's language lists them: "A, B, and C"; "甲、乙和丙" (CLDR, through Babel)."""
    names = [str(item) for item in items]
    return format_list(names, locale=get_locale() or "en") if names else ""


def _duration(seconds: int | float | None) -> str:
    seconds = int(seconds or 0)
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    if hours:
        return _("%(h)d h %(m)d min", h=hours, m=minutes)
    return _("%(m)d min", m=minutes)


def register_request_handling(app: Flask) -> None:
    """Proxy headers (behind a load balancer), no control characters in any input, structured request logs,
    session timeouts, freed memory given back now and then."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    from course.accounts.sessions import init_session_timeouts
    from course.edge import refuse_control_characters
    from course.ops import memory
    from course.ops.logging import init_request_logging

    proxies = app.config.get("TRUSTED_PROXIES", 0)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_prefix=proxies)
    if app.config.get("TRUSTED_HOSTS"):
        app.wsgi_app = HealthCheckAnyHost(app.wsgi_app, app.config["TRUSTED_HOSTS"][0])
    app.before_request(refuse_control_characters)
    init_request_logging(app)
    init_session_timeouts(app)
    memory.init_app(app)


class HealthCheckAnyHost:
    """A load balancer's health check reaches /healthz with whatever Host it likes (an instance's address): that
    one path is answered as for the site's own host, so TRUSTED_HOSTS need not list every address. It builds no
    links and shows only the content versions."""

    def __init__(self, wsgi_app: Any, host: str) -> None:
        self.wsgi_app = wsgi_app
        self.host = host

    def __call__(self, environ: dict, start_response: Any) -> Any:
        if environ.get("PATH_INFO") == "/healthz":
            environ = {**environ, "HTTP_HOST": self.host}
            environ.pop("HTTP_X_FORWARDED_HOST", None)
        return self.wsgi_app(environ, start_response)


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def security_headers(app: Flask) -> dict[str, str]:
    """The headers every response carries, the static files' included."""
    headers = {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    }
    if app.config.get("HSTS"):
        headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    return headers


def register_static_files(app: Flask) -> None:
    """WhiteNoise serves /static/ before the app: compressed, under content-hashed names (course/ops/static.py)."""
    from course.ops import static

    static.init_app(app, security_headers(app))


def register_security_headers(app: Flask) -> None:
    from course.accounts.pending_login import PENDING
    from course.auth.mfa import ENROLMENT

    # A session holding any of these is signed in or on its way (flask-login's user, a login waiting for its code,
    # a two-step login being set up): its pages are kept in no cache.
    private_session_keys = frozenset({"_user_id", PENDING, ENROLMENT})
    every_response = security_headers(app)

    @app.after_request
    def headers(response):
        for name, value in every_response.items():
            response.headers.setdefault(name, value)
        if request.endpoint != "static" and private_session_keys & session.keys():
            response.headers.setdefault("Cache-Control", "no-store")  # a signed-in page, or one on the way to it
        return response
