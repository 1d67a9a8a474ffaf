"""The Alembic migrations: one head, the schema they build equals the models, and they go down and up again
with data in the database. Each test builds its own fresh database: a SQLite file, and a PostgreSQL
database too when TEST_DATABASE_URL names a server."""

from __future__ import annotations

from pathlib import Path

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from conftest import FIXTURE_CONTENT, ROOT, build_app, dispose, fresh_database, server_url
from sqlalchemy import func, inspect, select

import course.models  # noqa: F401 - every table on the metadata
from course.accounts.services import create_user
from course.content.models import Lesson
from course.content.services import load_content
from course.extensions import db as _db
from course.progress import reading as progress

MIGRATIONS = ROOT / "migrations"
ENGINES = ["sqlite"] + (["postgresql"] if server_url() else [])


@pytest.fixture(params=ENGINES)
def empty_app(request, tmp_path: Path):
    server = server_url() if request.param == "postgresql" else None
    with fresh_database("fc_migrations", tmp_path, server=server) as url:
        app = build_app(url)
        yield app
        dispose(app)


def schema_diffs(app) -> list:
    with app.app_context(), _db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, _db.metadata)


def table_names(app) -> set[str]:
    with app.app_context():
        return set(inspect(_db.engine).get_table_names())


def test_the_migrations_have_one_head():
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    script = ScriptDirectory.from_config(config)
    assert len(script.get_heads()) == 1
    revisions = list(script.walk_revisions())
    assert revisions[-1].down_revision is None  # one base, a straight line to the head
    assert all(len(r.nextrev) <= 1 for r in revisions)


def test_upgrading_an_empty_database_gives_the_models_schema(empty_app):
    with empty_app.app_context():
        flask_migrate.upgrade()
    assert table_names(empty_app) == {t.name for t in _db.metadata.sorted_tables} | {"alembic_version"}
    assert schema_diffs(empty_app) == []


def test_downgrade_to_base_with_data_then_upgrade_again(empty_app, tmp_path):
    with empty_app.app_context():
        flask_migrate.upgrade()
    with empty_app.test_request_context(method="POST"):  # POST: a request that writes (see course.sql)
        assert load_content(FIXTURE_CONTENT).applied
        user = create_user("ada@example.com", "long enough pass")
        lesson = _db.session.scalar(select(Lesson).where(Lesson.key == "welcome"))
        progress.record_view(user.id, lesson)
        progress.mark_complete(user.id, lesson)
        _db.session.commit()

    with empty_app.app_context():
        flask_migrate.downgrade(revision="base")
    assert table_names(empty_app) <= {"alembic_version"}

    with empty_app.app_context():
        flask_migrate.upgrade()
    assert schema_diffs(empty_app) == []
    with empty_app.app_context():
        assert load_content(FIXTURE_CONTENT).applied
        assert _db.session.scalar(select(func.count(Lesson.id))) == 6
