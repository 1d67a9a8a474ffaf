"""A content load that changes the outline refreshes PostgreSQL's statistics of the outline's tables (course.sql.
analyze): autovacuum never analyzes a table of 40 lessons, and without statistics the roll-up's statements on every
first view and completion were planned as nested loops over tables taken for a row each. A load that changes
nothing costs no ANALYZE, and SQLite runs none."""

from __future__ import annotations

from conftest import FIXTURE_COURSE, build_app, dispose, fresh_database, load, upgrade_to_head
from sqlalchemy import func, select, text
from test_content_bulk import add_module
from test_page_costs import Statements

from course.content.models import Lesson
from course.content.services import OUTLINE_TABLES
from course.extensions import db as _db


def analyzes(statements: Statements) -> list[str]:
    return [sql for sql in statements.sql if sql.upper().startswith("ANALYZE")]


def test_a_load_that_changes_the_outline_analyzes_its_tables_once(app, loaded_course):
    with app.app_context():
        postgres = _db.engine.dialect.name == "postgresql"
    add_module(loaded_course.root / FIXTURE_COURSE, 3)
    with Statements(app) as tried:
        assert not load(app, loaded_course.root, dry_run=True).applied
    assert analyzes(tried) == []  # a rollback would not take back the row counts ANALYZE writes
    with Statements(app) as changed:
        assert load(app, loaded_course.root).applied
    with Statements(app) as unchanged:
        assert load(app, loaded_course.root).applied
    assert analyzes(unchanged) == []
    if not postgres:
        assert analyzes(changed) == []
        return
    (statement,) = analyzes(changed)
    assert sorted(name.strip().strip('"') for name in statement[len("ANALYZE ") :].split(",")) == sorted(OUTLINE_TABLES)
    # before the roll-up is recomputed over the new outline: the first statement on the roll-up's table comes after
    stats = next(i for i, sql in enumerate(changed.sql) if "learner_course_stats" in sql)
    assert changed.sql.index(statement) < stats


def test_a_fresh_database_has_the_outlines_statistics_after_its_first_load(tmp_path, content_dir):
    with fresh_database("fc_stats", tmp_path) as url:
        app = build_app(url)
        try:
            upgrade_to_head(app)
            assert load(app, content_dir).applied
            with app.app_context():
                if _db.engine.dialect.name != "postgresql":
                    return  # SQLite: nothing to check (no ANALYZE; see the test above)
                lessons = _db.session.scalar(select(func.count()).select_from(Lesson))
                reltuples = _db.session.scalar(text("SELECT reltuples FROM pg_class WHERE relname = 'lesson'"))
                columns = _db.session.scalar(text("SELECT count(*) FROM pg_stats WHERE tablename = 'lesson'"))
            # Without the ANALYZE: -1 (never analyzed) and no column statistics (autovacuum waits for 50 changed rows).
            assert reltuples == lessons > 0
            assert columns > 0
        finally:
            dispose(app)
