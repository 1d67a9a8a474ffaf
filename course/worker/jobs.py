"""The scheduled notices, in the order the worker runs them (and `flask --app course notices send`)."""

from __future__ import annotations

from collections.abc import Callable

from course.extensions import db

JOBS: list[tuple[str, Callable[[], int]]] = []


def run_scheduled() -> dict[str, int]:
    """Run every job, each in its own transaction; how many messages each wrote."""
    counts = {}
    for name, job in JOBS:
        try:
            counts[name] = job()
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
    return counts
