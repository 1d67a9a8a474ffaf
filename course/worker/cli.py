"""`flask worker` (the background worker), `flask outbox …` (see and deliver the outbox by hand) and
`flask notices send` (the scheduled notices now, e.g. from cron when no worker runs)."""

from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select

from course.extensions import db
from course.i18n import speak_english
from course.outbox.delivery import deliver_due
from course.outbox.models import OutboxMessage
from course.worker import jobs
from course.worker.queue import bind, queue_url


@click.command("worker", help="Run the background worker: deliver the outbox, send the scheduled notices.")
@click.option("--workers", type=click.IntRange(1, 16), default=1, show_default=True, help="Worker threads.")
@click.option(
    "--notices/--no-notices",
    default=True,
    show_default=True,
    help="Send the scheduled notices every quarter hour; --no-notices leaves them to `flask notices send` (cron).",
)
@with_appcontext
def worker_command(workers: int, notices: bool) -> None:
    speak_english()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("huey").setLevel(logging.WARNING)  # not a line per task, every minute
    app = current_app._get_current_object()
    app.config["WORKER_NOTICES"] = notices
    huey = bind(app)
    from course.worker.tasks import deliver

    queue = queue_url(app.config).split("@")[-1]  # without a password
    mail = app.config.get("MAIL_SERVER") or "the console"
    click.echo(f"worker: queue {queue}, {workers} thread(s), notices {'on' if notices else 'off'}; mail to {mail}")
    deliver()  # at start: whatever is due, e.g. what a killed worker left
    huey.create_consumer(workers=workers, worker_type="thread", periodic=True).run()


outbox_cli = AppGroup("outbox", help="The outbox of emails.", callback=speak_english)


@outbox_cli.command("status")
def status_command() -> None:
    """How many messages are in each state."""
    rows = db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
    counts = dict(rows)
    for status in ("pending", "sending", "sent", "failed"):
        click.echo(f"{status:8} {counts.get(status, 0)}")


@outbox_cli.command("deliver")
def deliver_command() -> None:
    """Deliver what is due now, in this process (as the worker would)."""
    result = deliver_due()
    click.echo(f"{result.sent} sent, {result.retried} to retry, {result.failed} failed")


notices_cli = AppGroup("notices", help="The scheduled notices.", callback=speak_english)


@notices_cli.command("send")
def send_command() -> None:
    """Write the notices that are due (chapter releases, nudges, digests) to the outbox; the worker sends them."""
    for name, count in jobs.run_scheduled().items():
        click.echo(f"{name}: {count}")
