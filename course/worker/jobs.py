"""The scheduled notices, in the order the worker runs them (and `flask --app course notices send`)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from course.cohorts.release_notices import send_release_notices
from course.dashboard.digest import send_weekly_digests
from course.dashboard.nudges import send_automatic_nudges
from course.extensions import db

log = logging.getLogger(__name__)

JOBS: list[tuple[str, Callable[[], int]]] = [
    ("release notices", send_release_notices),
    ("nudges", send_automatic_nudges),
    ("weekly digest", send_weekly_digests),
]


def run_scheduled() -> dict[str, int]:
    """Run every job, each in its own transaction; how many messages each wrote. A job that fails is rolled back
    and logged, and the others still run (it is tried again at the next run: what it had sent is not repeated)."""
    counts = {}
    for name, job in JOBS:
        try:
            counts[name] = job()
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("scheduled job %r failed; the other jobs ran", name)
            counts[name] = 0
    return counts
