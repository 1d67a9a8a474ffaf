"""Fixtures shared by the whole suite.

The database is created once per session and its schema is built by the real Alembic migrations. Every
test gets a new app (so a test may change its config, e.g. turn CSRF on) and a clean database: all rows
are deleted after each test.

Database: SQLite file in a temporary directory, or, when TEST_DATABASE_URL names a PostgreSQL server
(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test), a freshly created database on that server,
dropped at the end of the session.

Note on app contexts: Flask 3.1 reuses an app context that is already pushed for a request of the test
client, which would share `g` (the logged-in user) and the database session between the test and the
requests. So `app` pushes no context; `db` pushes one for tests that work below the HTTP layer, and tests
that drive the client open short `with app.app_context():` blocks to look at the database.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, make_url, text

from course import create_app
from course.content.services import LoadResult, load_content
from course.extensions import db as _db

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
FIXTURE_CONTENT = TESTS / "fixtures" / "content"
FIXTURE_COURSE = "mini-course"
REAL_CONTENT = ROOT / "content"
REAL_COURSE = "ai-founder-global"
DEFAULT_PASSWORD = "correct horse battery"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # the authenticator app of the staff users `make_user` makes


# -- the compiled UI catalogues ---------------------------------------------------------------------
def compile_catalogues(translations: Path) -> list[Path]:
    """Compile each .po under `translations` whose .mo is missing or older, as `make setup` does with pybabel
    (fuzzy entries left out): a fresh clone's plain `pytest` reads the same Chinese pages as `make test`.
    Returns the catalogues it wrote."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po in sorted(translations.glob("*/LC_MESSAGES/*.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            catalog = read_po(source, locale=po.parent.parent.name)
        with mo.open("wb") as target:
            write_mo(target, catalog, use_fuzzy=False)
        written.append(mo)
    return written


def pytest_sessionstart(session: pytest.Session) -> None:
    compile_catalogues(ROOT / "course" / "translations")


# -- the database server -------------------------------------------------------------------------
def server_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or None


@contextlib.contextmanager
def fresh_database(prefix: str, tmp_dir: Path, server: str | None = "env") -> Iterator[str]:
    """A new, empty database: a uniquely named one on the PostgreSQL server (by default the one
    TEST_DATABASE_URL names), else a SQLite file in `tmp_dir`."""
    server = server_url() if server == "env" else server
    if not server:
        yield f"sqlite:///{tmp_dir / f'{prefix}.db'}"
        return
    url = make_url(server)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


TEST_BADGE_KEYS = Path(tempfile.mkdtemp(prefix="fc-badge-keys-"))


def build_app(database_url: str, **config) -> Flask:
    """`create_app("testing")` against `database_url` (TestingConfig reads it from TEST_DATABASE_URL)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TEST_DATABASE_URL", database_url)
        app = create_app("testing")
    # Open Badges signing keys made on first use go to the test run's own folder, never to instance/badge-keys.
    app.config.update({"BADGE_KEY_DIR": str(TEST_BADGE_KEYS), **config})
    return app


def dispose(app: Flask) -> None:
    with app.app_context():
        _db.session.remove()
        for engine in _db.engines.values():
            engine.dispose()


def upgrade_to_head(app: Flask) -> None:
    import flask_migrate

    with app.app_context():
        flask_migrate.upgrade()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fresh_database("fc_test", tmp_path_factory.mktemp("db")) as url:
        app = build_app(url)
        upgrade_to_head(app)  # the schema, built once, by the real migrations
        dispose(app)
        yield url


@pytest.fixture(scope="session")
def pooler() -> Iterator:
    """PgBouncer in transaction pooling mode in front of the PostgreSQL server, for the session (tests/pgbouncer.py):
    its `url(database_url)` reaches a database through it. None on SQLite, or when pgbouncer is not installed."""
    from pgbouncer import PgBouncer, available

    if not available(server_url()):
        yield None
        return
    with PgBouncer(server_url()) as bouncer:
        yield bouncer


# -- app, client, db ----------------------------------------------------------------------------
@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    app = build_app(database_url)
    yield app
    with app.app_context():
        _db.session.rollback()
        for table in reversed(_db.metadata.sorted_tables):
            _db.session.execute(table.delete())
        _db.session.commit()
    dispose(app)


@pytest.fixture
def extra_apps():
    """Apps a test builds besides `app` (a second instance, another config); their connections are closed."""
    apps = []
    yield apps
    for extra in apps:
        dispose(extra)


def new_client(app: Flask) -> FlaskClient:
    """A test client whose browser asks for English, so assertions can name the English messages."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return new_client(app)


@pytest.fixture
def db(app: Flask) -> Iterator:
    """The Flask-SQLAlchemy extension, with an app context pushed for the test (for tests below the HTTP
    layer). End its transaction (commit or rollback) before driving the client: SQLite transactions begin
    IMMEDIATE, so an open one makes a request wait for the lock."""
    with app.app_context():
        yield _db
        _db.session.rollback()


# -- factories and helpers ----------------------------------------------------------------------
@pytest.fixture
def make_user(app: Flask) -> Callable:
    """Create and commit a user; returns it detached, with its columns loaded. Staff (who must use two-step
    login) get an authenticator app with TOTP_SECRET, unless `mfa=False`; a learner gets one with `mfa=True`."""
    from course.accounts.services import create_user

    numbers = itertools.count(1)

    def make(
        email: str | None = None,
        role: str = "learner",
        password: str = DEFAULT_PASSWORD,
        name: str = "",
        mfa: bool | None = None,
    ):
        email = email or f"learner{next(numbers)}@example.com"
        with app.app_context():
            user = create_user(email, password, name=name, role=role)
            if mfa if mfa is not None else user.is_instructor:
                add_factor(user.id)
            _db.session.commit()
            _db.session.refresh(user)
            _db.session.expunge(user)
        return user

    return make


def add_factor(user_id: int, secret: str = TOTP_SECRET) -> None:
    """Give the user an authenticator app with `secret` (in the caller's app context and transaction)."""
    from course.accounts.mfa import encrypt_secret
    from course.accounts.models import TotpFactor

    _db.session.add(TotpFactor(user_id=user_id, secret_encrypted=encrypt_secret(secret)))


def fresh_code(app: Flask, email: str) -> str:
    """A code the app accepts now for the user's authenticator app: the code of this time step, after forgetting
    the last step accepted (a code works once, and tests log the same user in many times within 30 seconds)."""
    import pyotp
    from sqlalchemy import select

    from course.accounts.mfa import decrypt_secret
    from course.accounts.models import TotpFactor, User

    with app.app_context():
        factor = _db.session.scalar(
            select(TotpFactor).join(User, User.id == TotpFactor.user_id).where(User.email == email.strip().lower())
        )
        assert factor is not None, f"{email} has no authenticator app"
        factor.last_used_step = None
        secret = decrypt_secret(factor.secret_encrypted)
        _db.session.commit()
    return pyotp.TOTP(secret).now()


def do_login(client: FlaskClient, email: str, password: str = DEFAULT_PASSWORD, **extra):
    """Log in: the password, then (for an account with two-step login) a fresh code from its app. Returns the last
    response: a redirect when both were right."""
    response = client.post("/login", data={"email": email, "password": password, **extra})
    if response.status_code == 302 and response.headers["Location"].startswith("/login/code"):
        token = {}
        if "csrf_token" in extra:  # a new session since the password: the code page's token
            page = client.get("/login/code").get_data(as_text=True)
            token["csrf_token"] = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        response = client.post("/login/code", data={"code": fresh_code(client.application, email), **token})
    return response


@pytest.fixture
def login() -> Callable:
    """`login(client, email, password)`: POST /login; returns the response."""
    return do_login


@pytest.fixture
def learner(make_user: Callable, client: FlaskClient):
    """A learner, logged in on `client`."""
    user = make_user(email="founder@example.com", name="Ada Founder")
    response = do_login(client, user.email)
    assert response.status_code == 302, response.get_data(as_text=True)
    return user


@dataclass
class LoadedCourse:
    key: str
    root: Path  # the content directory it was loaded from (a copy the test may edit)
    result: LoadResult


def load(app: Flask, root: Path, dry_run: bool = False) -> LoadResult:
    with app.app_context():
        result = load_content(root, dry_run=dry_run)
        _db.session.commit()
        return result


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    """A private copy of the fixture course that a test may edit."""
    target = tmp_path / "content"
    shutil.copytree(FIXTURE_CONTENT, target)
    return target


@pytest.fixture
def loaded_course(app: Flask, content_dir: Path) -> LoadedCourse:
    result = load(app, content_dir)
    assert result.applied and not result.problems, result.problems
    return LoadedCourse(FIXTURE_COURSE, content_dir, result)


@pytest.fixture
def real_course(app: Flask) -> LoadedCourse:
    result = load(app, REAL_CONTENT)
    assert result.applied and not result.problems, result.problems
    return LoadedCourse(REAL_COURSE, REAL_CONTENT, result)


# -- the fixture course, as a learner sees it ------------------------------------------------------
CHAPTER_LESSONS = {"intro": ["welcome", "models"], "training": ["data", "tuning"], "launch": ["pricing", "growth"]}
QUIZ_OF = {"intro": "intro-quiz", "training": "training-quiz", "launch": "launch-quiz"}
RIGHT_ANSWERS = {
    "intro-quiz": {"intro-q1": "a", "intro-q2": ["a", "b"], "intro-q3": "false", "intro-q4": "fine-tuning"},
    "training-quiz": {"training-q1": "a", "training-q2": "true"},
    "launch-quiz": {"launch-q1": "a", "launch-q2": "one"},
}
WRONG_ANSWERS = {
    "intro-quiz": {"intro-q1": "b", "intro-q2": ["a"], "intro-q3": "true", "intro-q4": "pre-training"},
    "training-quiz": {"training-q1": "b", "training-q2": "false"},
    "launch-quiz": {"launch-q1": "b", "launch-q2": "all of them"},
}


def lesson_url(lesson: str, course: str = FIXTURE_COURSE) -> str:
    return f"/courses/{course}/lessons/{lesson}"


def quiz_url(quiz: str, course: str = FIXTURE_COURSE) -> str:
    return f"/courses/{course}/quizzes/{quiz}"


def complete_lessons(client: FlaskClient, *lessons: str) -> None:
    for lesson in lessons:
        response = client.post(f"{lesson_url(lesson)}/complete")
        assert response.status_code == 302, (lesson, response.status_code)


def submit_quiz(client: FlaskClient, quiz: str, answers: dict, key: str | None = None, course: str = FIXTURE_COURSE):
    """Post `answers` (option ids, as RIGHT_ANSWERS names them) as the quiz page would: with the submission key
    the page issues for the learner's next attempt (or `key`, e.g. an earlier attempt's, to replay it), and each
    option as its token in that attempt's layout (see `quiz_form`)."""
    return client.post(quiz_url(quiz, course), data=quiz_form(client, quiz, answers, key, course))


def service_key(user_id: int, quiz) -> str:
    """The submission key of the learner's next attempt at `quiz` (a Quiz row), for a test that records attempts
    through the service (`attempts.record`) inside an app context: the key the quiz page would issue."""
    from course.quiz.attempts import attempts_so_far
    from course.quiz.layout import attempt_key

    return attempt_key(user_id, quiz, attempts_so_far(user_id, quiz)[0] + 1)


def next_key(client: FlaskClient, quiz: str, course: str = FIXTURE_COURSE) -> str:
    """The submission key the quiz page gives the signed-in learner's next attempt."""
    return quiz_form(client, quiz, {}, None, course)["submission_key"]


def quiz_form(
    client: FlaskClient, quiz: str, answers: dict, key: str | None = None, course: str = FIXTURE_COURSE
) -> dict:
    """The form the quiz page posts: `answers` (question id → option id(s) or a typed text) as the signed-in
    learner's attempt with submission key `key` (by default the key the page issues for their next attempt) shows
    them: each option id becomes its token in that attempt's layout (a value that is not an option id stays as it
    is, so a test can send a forged one); answers to questions the attempt did not draw are left out. Includes
    `submission_key`."""
    from sqlalchemy import select

    from course.accounts.sessions import load_user
    from course.content.models import Course, Quiz
    from course.quiz.attempts import attempts_so_far
    from course.quiz.layout import attempt_key, layout

    with client.session_transaction() as session:
        secret = session.get("_user_id")
    app = client.application
    with app.app_context():
        user = load_user(secret) if secret else None
        user_id = user.id if user is not None else None
        found = _db.session.scalar(select(Quiz).join(Course).where(Course.key == course, Quiz.key == quiz))
        if user_id is None or found is None:  # not signed in, or no such quiz: sent as written
            _db.session.rollback()
            return {**answers, "submission_key": key or "no-key"}
        if key is None:
            key = attempt_key(user_id, found, attempts_so_far(user_id, found)[0] + 1)
        shown = layout(user_id, found, key)
        questions = {q.key: q for q in found.questions}
        form: dict = {"submission_key": key}
        for name, value in answers.items():
            question = questions.get(name)
            if question is None:
                form[name] = value
                continue
            if question not in shown.questions:
                continue
            tokens = shown.tokens.get(question.id, {})
            values = value if isinstance(value, list) else [value]
            mapped = [tokens.get(v, v) for v in values]
            form[name] = mapped if isinstance(value, list) else mapped[0]
        _db.session.rollback()
    return form
