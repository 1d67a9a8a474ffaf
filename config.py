"""Configuration in one place: every environment variable the app reads is read here."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent
_DEV_SECRET = "dev-only-secret-key-change-me"  # noqa: S105 - refused by ProductionConfig


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


class Config:
    """Settings shared by every environment. Values are read when the class body runs, so the factory
    reads the environment through `from_env()` instead of at import time."""

    SECRET_KEY = _DEV_SECRET
    SQLALCHEMY_DATABASE_URI = f"sqlite:///{ROOT / 'instance' / 'course.db'}"
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    # DATABASE_URL leads to a connection pooler rather than to PostgreSQL itself (README, "Running in production"):
    # "transaction" for PgBouncer in transaction pooling mode, where each transaction may run on another server
    # connection — then psycopg prepares no statements, a rate limit's counter ends the request's reading transaction
    # first, and the worker's queue in the database polls instead of LISTEN (course.sql, course.ratelimit,
    # course/worker/queue.py). "session", "none" or empty: nothing changes. Migrations may go through it or straight
    # to the server.
    DATABASE_POOLER = ""
    CONTENT_DIR = str(ROOT / "content")
    # The content's diagrams rendered to SVG (`flask content diagrams`), committed, served under /static/diagrams/;
    # CONTENT_DIR/diagrams unless set
    DIAGRAMS_DIR = str(ROOT / "content" / "diagrams")
    # Static files with content-hashed names and their gzip and brotli copies (`flask static build`, `make setup`)
    STATIC_BUILD_DIR = str(ROOT / "build" / "static")
    STATIC_AUTOREFRESH = False  # look at a static file on each request (development), not once at startup
    TEMPLATES_DIR = str(ROOT / "templates")
    LTI_KEY_DIR = str(ROOT / "instance" / "lti")  # the LTI tool's RSA key (`flask lti keygen`), not in the database
    LTI_HTTP_TIMEOUT = 10  # seconds for each request to an LTI platform (JWKS, token, grades, roster)
    LTI_ALLOW_HTTP_LOOPBACK = False  # development: platforms on http://127.0.0.1 / localhost (tests allow it)
    # Hosts a platform's grade and roster services may be on besides its token and JWKS hosts, by issuer
    # (".host": any host under it). Canvas cloud signs in on sso.canvaslms.com; each school's API is its own host.
    LTI_SERVICE_HOSTS: dict[str, tuple[str, ...]] = {
        "https://canvas.instructure.com": (".instructure.com",),
        "https://canvas.beta.instructure.com": (".instructure.com",),
        "https://canvas.test.instructure.com": (".instructure.com",),
    }

    # Sessions and cookies
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session; a stale page still submits
    SESSION_IDLE_MINUTES = 120
    SESSION_MAX_HOURS = 12
    PERMANENT_SESSION_LIFETIME = 12 * 3600

    # Deployment
    # The site's public address, e.g. https://course.example.org: links in emails and links to share are built
    # from it, never from a request's Host header. Production requires it, and then accepts requests only for
    # its host and any others listed in TRUSTED_HOSTS (Flask's check: 400 for any other Host).
    PUBLIC_URL = ""
    LOCAL_URL = "http://127.0.0.1:5000"  # links the worker writes without PUBLIC_URL (development): `make run`
    TRUSTED_HOSTS: list[str] | None = None
    TRUSTED_PROXIES = 0  # how many proxies (load balancers) set X-Forwarded-* in front of the app
    REQUEST_LOG = False  # one JSON line per request on stderr
    # Every this many requests a process hands the memory freed inside glibc's heap back to the system, once the
    # response is sent (course/ops/memory.py; 0: never). About 0.5 MB of a worker, for well under a millisecond.
    MALLOC_TRIM_EVERY = 1000

    # Passwords: argon2id at OWASP's recommended minimum (m=19 MiB, t=2, p=1)
    ARGON2_TIME_COST = 2
    ARGON2_MEMORY_COST = 19 * 1024
    ARGON2_PARALLELISM = 1

    HSTS = False  # Strict-Transport-Security (production sets it: the site is served over HTTPS)
    # The largest request body accepted (a CSV upload is at most 1 MB): Werkzeug refuses a larger one with a
    # 413 from its Content-Length, before reading it.
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024

    # Email (password reset, account notices). Production refuses to start without MAIL_SERVER. Without one,
    # development prints each message to its console (MAIL_TO_CONSOLE); elsewhere a mail is only reported as not
    # sent, never with its body (it may hold a password-reset link).
    MAIL_TO_CONSOLE = False
    MAIL_SERVER = ""
    MAIL_PORT = 587
    MAIL_USE_TLS = True
    MAIL_USERNAME = ""
    MAIL_PASSWORD = ""
    MAIL_FROM = "Founder Course <no-reply@localhost>"
    MAIL_TIMEOUT = 30  # seconds to wait for the mail server
    PASSWORD_RESET_MAX_AGE = 3600  # seconds a reset link stays valid

    # The outbox and its worker (course/outbox, course/worker; docs/ARCHITECTURE.md). Every email is written to the
    # outbox with the event that causes it and delivered by the worker (`flask --app course worker`), which also
    # sends the scheduled notices (chapter releases, nudges, the weekly digest). Its queue lives in Redis when
    # REDIS_URL is set, else in the database (PostgreSQL, or a SQLite file next to the app's).
    # OUTBOX_IMMEDIATE: deliver in the web process right after each commit, without a worker (the tests).
    OUTBOX_IMMEDIATE = False
    OUTBOX_LEASE_SECONDS = 300  # a worker killed mid-delivery: its message goes again after this long
    OUTBOX_RETRY_SECONDS = 60  # the first retry after a temporary failure; each next one waits twice as long
    OUTBOX_MAX_ATTEMPTS = 8  # then the message is marked failed (about 4 hours after the first attempt)
    WORKER_QUEUE_URL = ""  # the worker's queue; empty: chosen as above

    # Two-step login (TOTP): required for instructors and admins, optional for learners. The secrets are encrypted
    # with a key derived from SECRET_KEY: changing SECRET_KEY means every user sets up their app again
    # (`flask users reset-mfa`).
    MFA_ISSUER = "Founder Course"  # the name authenticator apps show next to the account
    MFA_PENDING_SECONDS = 300  # how long after the right password the code may be entered

    # Rate limits (Flask-Limiter syntax), shared by every instance: Redis when REDIS_URL is set, else the database
    RATELIMIT_STORAGE_URI = "fcsql://"
    RATELIMIT_LOGIN = "30 per minute"  # per client address
    RATELIMIT_REGISTER = "10 per hour"  # per client address
    RATELIMIT_LOGIN_FAILURES = "10 per 15 minutes"  # per account
    RATELIMIT_QUIZ = "30 per minute"  # quiz submissions per learner
    RATELIMIT_UPLOAD = "20 per hour"  # CSV uploads per instructor
    RATELIMIT_RESET = "5 per hour"  # password-reset requests per client address
    RATELIMIT_ACCOUNT = "10 per hour"  # email and password changes per user
    RATELIMIT_MFA = "5 per 15 minutes"  # wrong two-step login codes per account (given back when right)
    RATELIMIT_API = "120 per minute"  # JSON API requests per user (course/api), whatever their token
    RATELIMIT_API_AUTH_FAILURES = "30 per minute"  # unknown, expired or revoked API tokens per client address
    RATELIMIT_LTI = "60 per minute"  # LTI logins and launches per client address (course/lti)

    # Open Badges 3.0 credentials for a completion (course/badges; docs/SECURITY.md, "Credential keys"). The issuer
    # is did:web of an https PUBLIC_URL (its host, and its path as did:web segments), else a did:key (development:
    # no rotation). The signing keys live
    # in BADGE_KEY_DIR (default: the instance folder's badge-keys/), made by `flask --app course badges keygen`;
    # development and the tests make one on first use, production never does (no key: no credential issued until
    # there is one, then `flask badges issue`).
    BADGE_ISSUER_NAME = "Founder Course"
    BADGE_ISSUER_URL = ""  # the school's site in the issuer profile; default: PUBLIC_URL (else LOCAL_URL)
    BADGE_KEY_DIR = ""
    BADGE_KEY_AUTOGENERATE = True

    # i18n
    BABEL_DEFAULT_LOCALE = "zh_Hans"
    LANGUAGES = ("zh_Hans", "en")
    # Dates and times are stored in UTC and shown in the user's own time zone (the account page), else this one:
    # the course is for founders in China.
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"

    # Limits
    WORKBOOK_MAX_CHARS = 5000
    LESSON_TIME_CAP_SECONDS = 30 * 60  # one visit counts for at most this much reading time
    # The audit log keeps entries this long; `flask audit prune` (run by an operator, e.g. daily) deletes older ones.
    AUDIT_RETENTION_DAYS = 730

    @classmethod
    def from_env(cls) -> dict:
        """The settings a deployment may override through the environment."""
        values: dict = {}
        if secret := _env("SECRET_KEY"):
            values["SECRET_KEY"] = secret
        if url := _env("DATABASE_URL"):
            values["SQLALCHEMY_DATABASE_URI"] = url
        if pooler := _env("DATABASE_POOLER"):
            values["DATABASE_POOLER"] = _pooler(pooler)
        if content := _env("CONTENT_DIR"):
            values["CONTENT_DIR"] = content
            values["DIAGRAMS_DIR"] = str(Path(content) / "diagrams")
        for name in ("DIAGRAMS_DIR", "STATIC_BUILD_DIR"):
            if folder := _env(name):
                values[name] = folder
        if lti_keys := _env("LTI_KEY_DIR"):
            values["LTI_KEY_DIR"] = lti_keys
        for name in ("MAIL_SERVER", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_FROM"):
            if (value := _env(name)) is not None:
                values[name] = value
        if port := _env("MAIL_PORT"):
            values["MAIL_PORT"] = int(port)
        if (tls := _env("MAIL_USE_TLS")) is not None:
            values["MAIL_USE_TLS"] = tls.lower() in ("1", "true", "yes")
        if redis_url := _env("REDIS_URL"):
            values["RATELIMIT_STORAGE_URI"] = redis_url
            values["WORKER_QUEUE_URL"] = redis_url
        values.update(_outbox_env())
        if public := _env("PUBLIC_URL"):
            values["PUBLIC_URL"] = _public_url(public)
            values["TRUSTED_HOSTS"] = [urlsplit(public).hostname, *_list(_env("TRUSTED_HOSTS", ""))]
        if proxies := _env("TRUSTED_PROXIES"):
            values["TRUSTED_PROXIES"] = int(proxies)
        if (log := _env("REQUEST_LOG")) is not None:
            values["REQUEST_LOG"] = log.lower() in ("1", "true", "yes")
        if zone := _env("BABEL_DEFAULT_TIMEZONE"):
            values["BABEL_DEFAULT_TIMEZONE"] = _time_zone(zone)
        for name in ("BADGE_ISSUER_NAME", "BADGE_ISSUER_URL", "BADGE_KEY_DIR"):
            if value := _env(name):
                values[name] = value
        return values


def _outbox_env() -> dict:
    values: dict = {}
    if (immediate := _env("OUTBOX_IMMEDIATE")) is not None:
        values["OUTBOX_IMMEDIATE"] = immediate.lower() in ("1", "true", "yes")
    for name in ("OUTBOX_LEASE_SECONDS", "OUTBOX_RETRY_SECONDS", "OUTBOX_MAX_ATTEMPTS"):
        if (number := _env(name)) is not None:
            values[name] = int(number)
    if queue := _env("WORKER_QUEUE_URL"):
        values["WORKER_QUEUE_URL"] = queue
    return values


def _public_url(url: str) -> str:
    """An absolute http(s) URL without a query or fragment, checked now rather than at the first email."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise RuntimeError(f"PUBLIC_URL must be the site's address, e.g. https://course.example.org (got {url!r})")
    return url.rstrip("/")


POOLERS = ("transaction", "session", "none")


def _pooler(value: str) -> str:
    """How DATABASE_URL's connections are pooled, checked now rather than at the first query."""
    mode = value.strip().lower()
    if mode not in POOLERS:
        raise RuntimeError(f"DATABASE_POOLER must be one of {', '.join(POOLERS)} (got {value!r})")
    return "" if mode == "none" else mode


def _list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _time_zone(name: str) -> str:
    """An IANA time zone name, checked now rather than at the first date shown."""
    import pytz  # Flask-Babel's time zones

    if name not in pytz.all_timezones_set:
        raise RuntimeError(f"BABEL_DEFAULT_TIMEZONE: unknown time zone {name!r} (use an IANA name, e.g. Asia/Shanghai)")
    return name


class DevelopmentConfig(Config):
    DEBUG = False
    STATIC_AUTOREFRESH = True  # `make run`: a static file edited while the server runs is served as it is now
    MAIL_TO_CONSOLE = True  # the reset links of a development machine, on its console
    LTI_ALLOW_HTTP_LOOPBACK = True  # a test LMS on this machine


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing-secret"  # noqa: S105
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    WTF_CSRF_ENABLED = False
    MAIL_TO_CONSOLE = True  # the tests read the messages from the log
    OUTBOX_IMMEDIATE = True  # delivered right after the commit that wrote them (tests/test_outbox_smtp.py: a worker)
    RATELIMIT_REGISTER = "1000 per hour"  # tests register many accounts from one address
    RATELIMIT_LOGIN = "1000 per minute"
    RATELIMIT_API = "100000 per minute"  # the schemathesis run (tests/test_api_schema.py) sends many
    RATELIMIT_LTI = "100000 per minute"
    # Cheaper hashing keeps the suite fast; the algorithm (argon2id) stays the same.
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 1024

    @classmethod
    def from_env(cls) -> dict:
        values: dict = {}
        if url := _env("TEST_DATABASE_URL"):
            values["SQLALCHEMY_DATABASE_URI"] = url
        # A worker the tests start (tests/test_outbox_smtp.py) is told where their SMTP server listens.
        if server := _env("MAIL_SERVER"):
            values.update(MAIL_SERVER=server, MAIL_PORT=int(_env("MAIL_PORT", "25") or 25), MAIL_USE_TLS=False)
        if public := _env("PUBLIC_URL"):
            values["PUBLIC_URL"] = _public_url(public)
        values.update(_outbox_env())
        return values


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-session"  # Secure, no Domain, Path=/: cannot be set by a sibling site
    REQUEST_LOG = True
    HSTS = True
    BADGE_KEY_AUTOGENERATE = False  # a signing key is made on purpose (`flask badges keygen`), and kept

    @classmethod
    def from_env(cls) -> dict:
        values = super().from_env()
        secret = values.get("SECRET_KEY", "")
        if not secret or secret == _DEV_SECRET or len(secret) < 32:
            raise RuntimeError("ProductionConfig needs SECRET_KEY set to a random value of 32+ characters")
        if not values.get("MAIL_SERVER"):
            raise RuntimeError("ProductionConfig needs MAIL_SERVER: password-reset links are sent by email")
        if not values.get("PUBLIC_URL"):
            raise RuntimeError("ProductionConfig needs PUBLIC_URL: links in emails are built from it")
        return values


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_name(default: str = "development") -> str:
    """The environment's config (FOUNDER_COURSE_ENV), else `default`: development for `flask --app course`,
    production for the WSGI entry point (course/wsgi.py)."""
    return _env("FOUNDER_COURSE_ENV", default) or default
