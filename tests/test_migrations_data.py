"""Migrations with data, on the engine the suite runs on (SQLite, or PostgreSQL when TEST_DATABASE_URL names a
server): every row accounted for.

From an empty database, each revision in order is applied and rows are inserted into the tables it creates —
with SQLAlchemy Core against the tables as reflected from the database at that revision, not the current
models (a later revision may change them). After every later upgrade, and on the way back down revision by
revision, every row inserted is still there with the values it was given. At base the tables are gone (the
downgrade of the first revision necessarily drops the data); upgrading again gives back the same schema, and
the tables take rows again. A revision that fills its new tables from the rows before it (a backfill) is checked
against what it should compute (BACKFILLS), and its rows are then kept like seeded ones.

Values are generated from each column's type; a column that only takes some values (an enum, a range a CHECK
constraint enforces) gets them from SAMPLE_VALUES. A new revision whose tables cannot be filled that way fails
here with the database's error: add its columns to SAMPLE_VALUES.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory
from conftest import ROOT, build_app, dispose, fresh_database
from flask import Flask

from course.extensions import db as _db

ROWS = 3  # per table: row i of a table refers to row i of every table it references
SAMPLE_VALUES: dict[tuple[str, str], list[Any]] = {
    ("user_account", "role"): ["learner", "instructor", "admin"],
    ("module", "kind"): ["standard", "reference", "standard"],
    ("quiz", "reveal"): ["after_each_attempt", "after_pass", "never"],
    ("quiz", "max_attempts"): [None, 1, 3],
    ("question", "type"): ["single", "multiple", "true_false"],
    ("enrolment", "source"): ["invite", "csv", "instructor"],
}
# Times a CHECK wants after the row's others (its seeded times are the same instant): this much later.
LATER = {("api_token", "expires_at"): timedelta(days=400)}
COMPARED_TYPES = (sa.Integer, sa.String, sa.Boolean)  # values compared after each step (exact on both engines)
START = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def revisions() -> list[str]:
    """Every revision id, from the first to the head."""
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    script = ScriptDirectory.from_config(config)
    return [r.revision for r in reversed(list(script.walk_revisions("base", "heads")))]


@pytest.fixture
def empty_app(tmp_path: Path) -> Iterator[Flask]:
    with fresh_database("fc_migrations_data", tmp_path) as url:
        app = build_app(url)
        yield app
        dispose(app)


# -- the database as it is ---------------------------------------------------------------------------
def reflect(app: Flask) -> sa.MetaData:
    metadata = sa.MetaData()
    with app.app_context(), _db.engine.connect() as conn:
        metadata.reflect(conn)
    return metadata


def tables(app: Flask) -> set[str]:
    return set(reflect(app).tables) - {"alembic_version"}


def schema(app: Flask) -> dict[str, Any]:
    """What a table is made of: columns (type, nullability), indexes, unique constraints, foreign keys."""
    with app.app_context(), _db.engine.connect() as conn:
        inspector = sa.inspect(conn)
        return {
            name: (
                [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(name)],
                sorted((i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in inspector.get_indexes(name)),
                sorted((u["name"], tuple(u["column_names"])) for u in inspector.get_unique_constraints(name)),
                sorted(
                    (f["name"], tuple(f["constrained_columns"]), f["referred_table"])
                    for f in inspector.get_foreign_keys(name)
                ),
            )
            for name in inspector.get_table_names()
            if name != "alembic_version"
        }


# -- seeding -------------------------------------------------------------------------------------------
@dataclass
class Seeded:
    """The rows inserted, per table: the values given (primary key included), in insertion order."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def value(self, table: sa.Table, column: sa.Column, i: int, sqlite: bool) -> Any:
        if (table.name, column.name) in SAMPLE_VALUES:
            return SAMPLE_VALUES[table.name, column.name][i % ROWS]
        if column.foreign_keys:
            (fk,) = column.foreign_keys
            return self.rows[fk.column.table.name][i][fk.column.name]
        kind = column.type
        if isinstance(kind, sa.Boolean):
            return i % 2 == 0
        if isinstance(kind, sa.Integer):
            return i + 1
        if isinstance(kind, sa.Float | sa.Numeric):
            return i + 0.5
        if isinstance(kind, sa.DateTime):
            moment = START + timedelta(days=i, minutes=7 * i) + LATER.get((table.name, column.name), timedelta())
            return moment.replace(tzinfo=None) if sqlite else moment
        if isinstance(kind, sa.Date):
            return (START + timedelta(days=i)).date()
        if isinstance(kind, sa.JSON):
            return {"seeded": i, "items": [f"item-{i}"]}
        if isinstance(kind, sa.String):  # String, Text, VARCHAR …
            text = f"{table.name}-{column.name}-{i}"
            return text[-kind.length :] if kind.length else text
        raise AssertionError(f"no sample value for {table.name}.{column.name} ({kind!r}): add it to SAMPLE_VALUES")

    def seed(self, app: Flask, names: set[str]) -> None:
        """Insert ROWS rows into each table of `names`, parents first."""
        metadata = reflect(app)
        with app.app_context(), _db.engine.begin() as conn:
            sqlite = conn.dialect.name == "sqlite"
            for table in metadata.sorted_tables:
                if table.name not in names:
                    continue
                rows = self.rows.setdefault(table.name, [])
                for i in range(ROWS):
                    values = {
                        c.name: self.value(table, c, i, sqlite)
                        for c in table.columns
                        if not (
                            c.primary_key
                            and not c.foreign_keys  # a key made of references (user, course …) is given
                            and c.autoincrement is not False
                            and isinstance(c.type, sa.Integer)
                        )
                    }
                    result = conn.execute(table.insert().values(**values))
                    values.update(
                        zip((c.name for c in table.primary_key.columns), result.inserted_primary_key, strict=True)
                    )
                    rows.append(values)

    def adopt(self, app: Flask, names: set[str]) -> set[str]:
        """Tables of `names` a revision filled itself, from the rows before it (a backfill): their rows are kept
        as if seeded, so that later steps check them too. Returns the names of those tables."""
        metadata = reflect(app)
        filled = set()
        with app.app_context(), _db.engine.connect() as conn:
            for name in names:
                rows = [dict(r._mapping) for r in conn.execute(sa.select(metadata.tables[name]))]
                if rows:
                    self.rows[name] = rows
                    filled.add(name)
        return filled

    def assert_present(self, app: Flask, where: str) -> None:
        """Every row inserted into a table that still exists is there, with the values it was given."""
        metadata = reflect(app)
        with app.app_context(), _db.engine.connect() as conn:
            for name, rows in self.rows.items():
                if name not in metadata.tables:
                    continue
                table = metadata.tables[name]
                compared = [c for c in table.columns if isinstance(c.type, COMPARED_TYPES) and c.name in rows[0]]
                found = {tuple(r) for r in conn.execute(sa.select(*compared))}
                expected = {tuple(row[c.name] for c in compared) for row in rows}
                count = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                assert count == len(rows), f"{name}: rows lost at {where}"
                assert found == expected, f"{name}: values changed at {where}"


# -- backfills: what a revision computes from the rows already there ------------------------------------
def _naive(moment: datetime | None) -> datetime | None:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment and moment.tzinfo else moment


def dashboard_rollup_0006(seeded: Seeded) -> None:
    """0006 fills the dashboard's roll-up from progress and attempts. Every seeded module, chapter, lesson and
    quiz is archived (their `archived_at` got a value), so each learner with progress or an attempt gets a row
    that counts nothing in the current outline but their last lesson view; no chapter is complete."""
    expected: dict[tuple[int, int], datetime | None] = {}
    for row in seeded.rows["lesson_progress"]:
        key = (row["user_id"], row["course_id"])
        expected[key] = max(filter(None, [expected.get(key), _naive(row["last_viewed_at"])]))
    quiz_course = {q["id"]: q["course_id"] for q in seeded.rows["quiz"]}
    for row in seeded.rows["quiz_attempt"]:
        expected.setdefault((row["user_id"], quiz_course[row["quiz_id"]]), None)
    found = {
        (r["user_id"], r["course_id"]): (
            (r["lessons_done"], r["quizzes_passed"], r["quizzes_failing"], r["best_count"], r["furthest_lesson"]),
            _naive(r["last_viewed_at"]),
            r["last_attempt_at"],
        )
        for r in seeded.rows.get("learner_course_stats", [])
    }
    assert found == {key: ((0, 0, 0, 0, None), last_view, None) for key, last_view in expected.items()}
    assert "learner_chapter_done" not in seeded.rows


BACKFILLS = {"0006": dashboard_rollup_0006}


# -- the walk ------------------------------------------------------------------------------------------
def upgrade(app: Flask, revision: str) -> None:
    with app.app_context():
        flask_migrate.upgrade(revision=revision)


def downgrade(app: Flask, revision: str) -> None:
    with app.app_context():
        flask_migrate.downgrade(revision=revision)


def test_every_revision_keeps_the_rows_of_the_ones_before(empty_app: Flask):
    steps = revisions()
    assert len(steps) >= 4
    seeded = Seeded()
    tables_at: dict[str, set[str]] = {"base": set()}
    previous = "base"
    for revision in steps:  # up, one revision at a time, seeding what each creates
        upgrade(empty_app, revision)
        tables_at[revision] = tables(empty_app)
        created = tables_at[revision] - tables_at[previous]
        seeded.assert_present(empty_app, f"upgrade to {revision}")  # the earlier revisions' rows survived it
        backfilled = seeded.adopt(empty_app, created)
        if revision in BACKFILLS:
            BACKFILLS[revision](seeded)
        seeded.seed(empty_app, created - backfilled)
        seeded.assert_present(empty_app, f"seeding {revision}")
        previous = revision
    head_schema = schema(empty_app)
    assert set(seeded.rows) == tables_at[steps[-1]]  # every table got rows

    upgrade(empty_app, "head")  # a no-op at head: nothing moves
    seeded.assert_present(empty_app, "head")

    for revision, below in zip(reversed(steps), [*reversed(steps[:-1]), "base"], strict=True):
        downgrade(empty_app, below)  # down, one revision at a time: the tables below keep their rows
        assert tables(empty_app) == tables_at[below], revision
        seeded.assert_present(empty_app, f"downgrade of {revision}")
    assert tables(empty_app) == set()  # at base the tables are gone, and their rows with them

    upgrade(empty_app, "head")  # and back: the same schema, empty, and it takes rows again
    assert schema(empty_app) == head_schema
    with empty_app.app_context(), _db.engine.connect() as conn:
        metadata = reflect(empty_app)
        assert all(
            conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one() == 0
            for t in metadata.sorted_tables
            if t.name != "alembic_version"
        )
    again = Seeded()
    again.seed(empty_app, tables(empty_app))
    again.assert_present(empty_app, "head, after the cycle")
