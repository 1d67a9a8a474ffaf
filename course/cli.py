"""The `flask` command groups of the app: `db` (Alembic through Flask-Migrate), `content`, `users`, `demo`,
`audit`, `badges`, `worker`, `outbox`, `notices`, `lti`, `static`.

Loaded only by an app built with its CLI (`create_app(cli=True)`, what `flask --app course` does): a web worker
does not hold Alembic or the content pipeline in memory (`course.wsgi`)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask_migrate import Migrate

from course.accounts.cli import users_cli
from course.audit.cli import audit_cli
from course.badges.cli import badges_cli
from course.content.cli import content_cli
from course.demo.cli import demo_cli
from course.extensions import db
from course.lti.cli import lti_cli
from course.ops.cli import static_cli
from course.worker.cli import notices_cli, outbox_cli, worker_command

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def register_cli(app: Flask) -> None:
    Migrate(app, db, directory=str(app.config.get("MIGRATIONS_DIR") or MIGRATIONS))  # `flask db …`
    app.cli.add_command(content_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(badges_cli)
    app.cli.add_command(worker_command)
    app.cli.add_command(outbox_cli)
    app.cli.add_command(notices_cli)
    app.cli.add_command(lti_cli)
    app.cli.add_command(static_cli)
