"""Fixtures for the browser tests: the real app served on 127.0.0.1, and Debian's Chromium driven by Playwright.

One server for the whole run, in a thread of the test process (werkzeug's `make_server`, threaded, on a port
the system picks): the app as `create_app` builds it, with CSRF on, its schema built by the real migrations
and both the fixture course (`mini-course`, quick to finish) and the real course loaded. The database is shared
by every browser test, so each test works with accounts of its own (`site.account()`).

Chromium is the system's (`/usr/bin/chromium`, Debian's package), never a browser that Playwright downloads.
Without it, or without axe-core (installed by `make setup` from npm), the tests are skipped and say why.

Every page a test opens is watched: a 5xx response, an uncaught script error or a script, image or connection
blocked by the Content-Security-Policy fails the test (except from `/_e2e/`: the server has routes for tests only,
`add_test_routes`, that answer with any error page, the 500 page included, which no real page does on purpose).
Screenshots go to test-artifacts/screenshots (or $E2E_SCREENSHOTS); the run prints where.
"""

from __future__ import annotations

import itertools
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from conftest import DEFAULT_PASSWORD, FIXTURE_CONTENT, REAL_CONTENT, ROOT, dispose, fresh_database, upgrade_to_head
from flask import Blueprint, Flask, abort
from werkzeug.serving import WSGIRequestHandler, make_server

from course import create_app
from course.content.diagram_render import CHROMIUM_ARGS  # one set of flags for every Chromium started
from course.extensions import db

CHROMIUM = shutil.which("chromium")
AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
SCREENSHOTS = Path(os.environ.get("E2E_SCREENSHOTS") or ROOT / "test-artifacts" / "screenshots")
GENEROUS = "100000 per minute"
_saved_screenshots: list[Path] = []


# -- what the tests need, or a clear reason to skip ---------------------------------------------------------
@pytest.fixture(scope="session")
def chromium() -> str:
    if CHROMIUM is None:
        pytest.skip("no Chromium on PATH: install Debian's package (apt-get install chromium) to run browser tests")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("Playwright for Python is not installed: pip install -e '.[dev]'")
    return CHROMIUM


@pytest.fixture(scope="session")
def axe_js() -> Path:
    if not AXE_JS.is_file():
        pytest.skip(f"axe-core is not installed at {AXE_JS.relative_to(ROOT)}: run `make setup` (needs npm)")
    return AXE_JS


# -- the app, served ---------------------------------------------------------------------------------------
class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:  # one line per request would bury the test output
        pass


def buffered(app: Flask) -> Callable[..., Any]:
    """The app with each response body read whole and its iterator closed before the server writes a byte.

    werkzeug's development server closes a response's iterator only after draining the socket, and that read
    raises when the browser has already dropped the connection (navigating away while a static file is still
    loading): the static file's handle is then left to the garbage collector, a ResourceWarning that the
    warnings-as-errors setting turns into a failed test. Buffering closes every file deterministically."""

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    return wsgi


TEST_ROUTES = "/_e2e"


def add_test_routes(app: Flask) -> None:
    """Routes of the test server only (never of the app `create_app` builds): `/_e2e/abort/<code>` answers with
    the app's page for that HTTP error, `/_e2e/crash` raises an exception (the 500 page of an unexpected error).
    Added before the first request, as Flask requires."""
    bp = Blueprint("e2e", __name__, url_prefix=TEST_ROUTES)

    @bp.route("/abort/<int:code>")
    def error(code: int):
        abort(code)

    @bp.route("/crash")
    def crash():
        raise RuntimeError("a crash the browser tests asked for")

    app.register_blueprint(bp)


@dataclass
class Account:
    id: int
    email: str
    name: str
    role: str
    password: str = DEFAULT_PASSWORD
    # An account with two-step login (staff, by default): a code its authenticator app shows now, accepted once.
    one_time_code: Callable[[], str] | None = field(default=None, repr=False, compare=False)


@dataclass
class Site:
    app: Flask
    url: str
    _numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @contextmanager
    def session(self) -> Iterator[Any]:
        """The database session in an app context, committed at the end of the block. Keep blocks short:
        SQLite transactions begin IMMEDIATE, and the server waits for the lock while one is open."""
        with self.app.app_context():
            try:
                yield db.session
                db.session.commit()
            except BaseException:
                db.session.rollback()
                raise

    def account(self, role: str = "learner", name: str | None = None, mfa: bool | None = None) -> Account:
        """A new user in the database (a unique email per call), with the default password; with an authenticator
        app of its own if `mfa`, which staff have unless `mfa=False`."""
        import pyotp

        from course.accounts.mfa import encrypt_secret
        from course.accounts.models import TotpFactor
        from course.accounts.services import create_user

        n = next(self._numbers)
        email = f"{role}{n}-{uuid.uuid4().hex[:6]}@example.com"
        name = name or f"{role.title()} {n}"
        with self.session():
            user = create_user(email, DEFAULT_PASSWORD, name=name, role=role)
            secret = pyotp.random_base32() if (mfa if mfa is not None else user.is_instructor) else None
            if secret:
                db.session.add(TotpFactor(user_id=user.id, secret_encrypted=encrypt_secret(secret)))
            db.session.flush()
            code = (lambda: self.fresh_code(user.id, secret)) if secret else None
            return Account(user.id, email, name, role, one_time_code=code)

    def fresh_code(self, user_id: int, secret: str) -> str:
        """The code of this time step, after forgetting the last step accepted: a code works once, and the tests
        log the same account in several times within 30 seconds."""
        import pyotp
        from sqlalchemy import update

        from course.accounts.models import TotpFactor

        with self.session() as session:
            session.execute(update(TotpFactor).where(TotpFactor.user_id == user_id).values(last_used_step=None))
        return pyotp.TOTP(secret).now()


def load_courses(app: Flask, target: Path) -> None:
    """Load the fixture course and the real course together, through the same service as `content load`."""
    from course.content.services import load_content

    target.mkdir()
    for root in (FIXTURE_CONTENT, REAL_CONTENT):
        for folder in root.iterdir():
            if folder.is_dir():
                shutil.copytree(folder, target / folder.name)
    with app.app_context():
        result = load_content(target)
        db.session.commit()
    assert result.applied and not result.problems, result.problems[:10]


@pytest.fixture(scope="session")
def site(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("e2e")
    with fresh_database("fc_e2e", tmp) as url:
        app = create_app(
            {
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": url,
                "WTF_CSRF_ENABLED": True,
                "RATELIMIT_STORAGE_URI": "memory://",
                **{
                    f"RATELIMIT_{name}": GENEROUS
                    for name in ("LOGIN", "REGISTER", "LOGIN_FAILURES", "MFA", "QUIZ", "UPLOAD", "RESET")
                },
            }
        )
        add_test_routes(app)
        upgrade_to_head(app)
        load_courses(app, tmp / "content")
        server = make_server("127.0.0.1", 0, buffered(app), threaded=True, request_handler=QuietHandler)
        thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
        thread.start()
        try:
            yield Site(app, f"http://127.0.0.1:{server.server_port}")
        finally:
            server.shutdown()
            thread.join(timeout=10)
            server.server_close()
            dispose(app)


# -- the browser -------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def playwright(chromium: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Any, chromium: str) -> Iterator[Any]:
    browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


def _watch(page: Any, problems: list[str]) -> None:
    def on_response(response: Any) -> None:
        if response.status >= 500 and not urlsplit(response.url).path.startswith(f"{TEST_ROUTES}/"):
            problems.append(f"{response.status} from {response.url}")

    def on_console(message: Any) -> None:
        # Diagrams are pictures rendered ahead of time and pages run no inline script or style: any blocked
        # script, style, image or connection is a bug.
        text = message.text
        if message.type == "error" and "Content Security Policy" in text:
            problems.append(f"CSP violation on {page.url}: {text}")

    page.on("response", on_response)
    page.on("pageerror", lambda error: problems.append(f"script error on {page.url}: {error}"))
    page.on("console", on_console)


@pytest.fixture
def new_context(browser: Any, site: Site) -> Iterator[Callable[..., Any]]:
    """`new_context(locale="en-US", **options)`: a fresh browser profile (its own cookies) on the site.

    `locale` sets the browser's Accept-Language ("en-US" or "zh-CN"). Options go to `browser.new_context`
    (e.g. `viewport`, `bypass_csp=True`, which the accessibility checks need to inject axe-core).
    """
    contexts: list[Any] = []
    problems: list[str] = []

    def make(locale: str = "en-US", **options: Any) -> Any:
        context = browser.new_context(base_url=site.url, locale=locale, **options)
        context.set_default_timeout(15_000)
        context.on("page", lambda page: _watch(page, problems))
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    assert not problems, "\n".join(problems)


@pytest.fixture
def page(new_context: Callable[..., Any]) -> Any:
    """A page in a fresh English-speaking browser."""
    return new_context().new_page()


# -- screenshots -------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):  # what this run shows, not what an earlier run left
        old.unlink()
    return SCREENSHOTS


@pytest.fixture
def screenshot(screenshot_dir: Path) -> Callable[[Any, str], Path]:
    def take(page: Any, name: str, full_page: bool = True) -> Path:
        path = screenshot_dir / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        _saved_screenshots.append(path)
        return path

    return take


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _saved_screenshots:
        terminalreporter.write_sep("-", "browser screenshots")
        terminalreporter.write_line(f"{len(_saved_screenshots)} screenshots of the key pages saved in {SCREENSHOTS}")
