"""Waking the worker from the web process: after a commit that wrote messages, queue a delivery now rather than
at the next minute's sweep.

Huey (and the queue's drivers it imports: psycopg, redis) is loaded only in a process that wakes the worker, at
its first message: a web worker that sends no email does not hold it (about 30 MB on SQLite; docs/PERFORMANCE.md).
"""

from __future__ import annotations

import logging

from flask import Flask

from course.signals import outbox_committed

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    """Called by the app factory."""
    outbox_committed.connect(_wake, weak=False)


def _wake(app: Flask) -> None:
    if app.config.get("OUTBOX_IMMEDIATE"):
        return  # course/outbox delivered them already
    try:
        from course.worker.queue import bind
        from course.worker.tasks import deliver

        bind(app)
        deliver()
    except Exception:  # the queue is unreachable: the next sweep delivers them, nothing is lost
        log.warning("could not wake the worker; the messages go at its next sweep", exc_info=True)
