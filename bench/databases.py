"""Throwaway databases for the benchmarks: a SQLite file in a temporary directory, or a database created on a
PostgreSQL server (and dropped after), built by the real migrations."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import create_engine, make_url, text

from course import create_app

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def fresh_database(engine_name: str, postgres: str | None, label: str) -> Iterator[str]:
    """The URL of a new, empty database named after `label`; removed when the block ends."""
    if engine_name == "sqlite":
        with tempfile.TemporaryDirectory(prefix=f"bench-{label}-") as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    url = make_url(postgres)
    name = f"bench_{label}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def migrated_app(database_url: str, **config: Any) -> Flask:
    """The app on `database_url`, its schema built by the migrations."""
    import flask_migrate

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, **config})
    with app.app_context():
        flask_migrate.upgrade(directory=str(ROOT / "migrations"))
    return app
