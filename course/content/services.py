"""Content operations shared by the CLI and the tests: check a directory, load it into SQL."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from course import signals
from course.audit.log import Action, record
from course.content import cache as content_cache
from course.content.loader import LoadPlan, sync
from course.content.models import CONTENT_MODELS
from course.content.parser import CourseDoc, Problem, read_content
from course.extensions import db
from course.sql import analyze


@dataclass
class LoadResult:
    courses: list[CourseDoc]
    problems: list[Problem]
    plan: LoadPlan | None
    files: int
    seconds: float
    applied: bool

    @property
    def warnings(self) -> list[Problem]:
        """What the load goes on with but an author should fix (a diagram not rendered yet)."""
        return [warning for course in self.courses for warning in course.warnings]


def load_content(root: Path, dry_run: bool = False, report: Callable[[str], None] = lambda _: None) -> LoadResult:
    """Validate `root` and, if it has no problems, sync it into the database (flushed: the caller commits).

    A dry run, a problem or an error leaves nothing changed (`applied` False for the first two).
    """
    started = time.perf_counter()
    courses, problems, files = read_content(root)
    report(f"read {files} files, {len(problems)} problem(s)")
    if problems:
        return LoadResult(courses, problems, None, files, time.perf_counter() - started, False)
    try:
        for course in courses:
            lessons = sum(1 for _ in course.lessons())
            report(f"syncing {course.spec.id}: {len(course.modules)} modules, {lessons} lessons")
        plan = sync(courses)
        if not plan.empty and not dry_run:  # a dry run's would stay: see course.sql.analyze
            analyze(OUTLINE_TABLES)  # before the roll-up is recomputed over them
        signals.content_loaded.send(LoadPlan, plan=plan)  # e.g. the progress roll-up counts the new outline
        if dry_run:
            db.session.rollback()
        else:
            if not plan.empty:
                _record_load(courses, plan)
            db.session.flush()
            content_cache.clear()  # this process's copy; other processes see the new content version
    except Exception:
        db.session.rollback()
        raise
    return LoadResult(courses, problems, plan, files, time.perf_counter() - started, not dry_run)


# What a content load writes, and nothing else does: the planner's statistics of them are refreshed by a load that
# changed something (course.sql.analyze says why).
OUTLINE_TABLES = [model.__tablename__ for model in CONTENT_MODELS]


def _record_load(courses: list[CourseDoc], plan: LoadPlan) -> None:
    """The audit entry of a load that changed something: its courses and the plan's counts."""
    keys = [course.spec.id for course in courses]
    subject = f"course {keys[0]}" if len(keys) == 1 else None
    record(Action.CONTENT_LOADED, subject=subject, details={"courses": keys, "plan": plan.counts()})
