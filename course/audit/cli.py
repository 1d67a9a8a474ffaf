"""`flask audit prune`: the retention periods, applied by an operator (never by the web app): the audit log's,
and the rate-limit counters kept in the database once their window has ended."""

from __future__ import annotations

from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import delete

from course.audit.models import AuditEntry
from course.db_types import utcnow
from course.extensions import db
from course.i18n import speak_english
from course.ratelimit import prune_expired_counters

audit_cli = AppGroup("audit", help="The audit log.", callback=speak_english)


@audit_cli.command("prune")
@click.option(
    "--older-than",
    "days",
    type=click.IntRange(min=1),
    default=None,
    help="Delete entries older than this many days (default: the AUDIT_RETENTION_DAYS setting).",
)
def prune_command(days: int | None) -> None:
    """Delete the audit entries older than the retention period, and the expired rate-limit counters, in one
    transaction."""
    days = days or current_app.config["AUDIT_RETENTION_DAYS"]
    cutoff = utcnow() - timedelta(days=days)
    table = AuditEntry.__table__  # a Core delete: the ORM refuses to delete an entry (the app never does)
    deleted = db.session.execute(delete(table).where(table.c.at < cutoff)).rowcount
    counters = prune_expired_counters()
    db.session.commit()
    click.echo(f"deleted {deleted} audit entries older than {days} days (before {cutoff:%Y-%m-%d %H:%M} UTC)")
    click.echo(f"deleted {counters} expired rate-limit counters")
