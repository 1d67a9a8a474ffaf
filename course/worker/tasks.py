"""The worker's tasks: deliver the outbox when woken and every minute, and send the scheduled notices.

Each task runs in the app the queue is bound to (`flask --app course worker` binds it), inside an app context.
The notices are idempotent (each message's event key is unique), so a job that runs twice, or on two workers,
sends nothing twice.
"""

from __future__ import annotations

import logging

from huey import crontab

from course.outbox.delivery import deliver_due
from course.worker import jobs
from course.worker.queue import flask_app, huey

log = logging.getLogger(__name__)


@huey.task()
def deliver() -> None:
    with flask_app().app_context():
        _log_delivery(deliver_due())


@huey.periodic_task(crontab(minute="*"))
def sweep() -> None:
    """Every minute: what is due again after a failure, and what a lost wake-up left behind; the grades waiting
    for an LMS (LTI)."""
    with flask_app().app_context():
        _log_delivery(deliver_due())
        sent = jobs.run_every_minute()
        if any(sent.values()):
            log.info("posted every minute: %s", sent)


@huey.periodic_task(crontab(minute="*/15"))
def scheduled_notices() -> None:
    """Every quarter of an hour: chapter release notices, nudges, the weekly digest (each sent once); not with
    `flask worker --no-notices`."""
    app = flask_app()
    if not app.config.get("WORKER_NOTICES", True):
        return
    with app.app_context():
        counts = jobs.run_scheduled()
        if any(counts.values()):
            log.info("scheduled notices written: %s", counts)
        _log_delivery(deliver_due())


def _log_delivery(result) -> None:
    if result.sent or result.retried or result.failed:
        log.info("outbox: %s sent, %s to retry, %s failed", result.sent, result.retried, result.failed)
