"""The cohorts bench/dashboard.py times: one generated cohort of N learners per database, built once and kept.

Generating 100,000 learners takes many minutes, so with `--keep DIR` a database is kept and used again by
later runs: a SQLite file in DIR, a database on the PostgreSQL server, each named after the number of
learners, the seed and a hash of what the data depends on (the demo generator's code and the course files),
so a change to either builds a new one. A database is built under a temporary name and renamed when it is
complete, so an interrupted build is never used. When one is used again, the migrations are brought up to
date and, if the roll-up's code or the migrations changed since, the roll-up is recomputed
(`rollup.refresh_course`), as a deployment would. Without `--keep` every run builds fresh databases and drops
them afterwards, as before.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from databases import fresh_database, migrated_app
from sqlalchemy import create_engine, func, make_url, select, text

from course.extensions import db

ROOT = Path(__file__).resolve().parent.parent
INSTRUCTOR = ("bench-instructor@example.com", "bench instructor password")
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # noqa: S105 - the instructor's authenticator app: staff log in with a code
MAX_AGE_DAYS = 7  # the generated activity is relative to the day it was generated: older data is built again


@dataclass
class Cohort:
    """A built database and what the benchmark needs to know about it."""

    url: str
    learners: int
    cohort_id: int
    quiz_key: str
    user_id: int
    counts: dict[str, int]
    seconds: float  # generation time
    built_at: str
    upkeep: str = ""  # hash of the roll-up's code and the migrations when the roll-up was last computed
    reused: bool = field(default=False, compare=False)


def _digest(paths: list[Path], extra: str = "") -> str:
    h = hashlib.sha256(extra.encode())
    for path in sorted(paths):
        h.update(str(path.relative_to(ROOT)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:10]


def _files(*patterns: str) -> list[Path]:
    # content/diagrams: diagrams rendered from the lessons, not data the generator reads
    found = [p for pattern in patterns for p in ROOT.glob(pattern) if p.is_file()]
    return [p for p in found if "diagrams" not in p.relative_to(ROOT).parts[:2]]


def data_key(learners: int, seed: int) -> str:
    """What the generated rows depend on: the generator, the course's files, the size and the seed."""
    return _digest(_files("course/demo/*.py", "content/**/*"), f"{learners}:{seed}")


def upkeep_key() -> str:
    """What the roll-up's rows depend on besides the data: its SQL and the schema."""
    return _digest(_files("course/progress/rollup.py", "course/progress/models.py", "migrations/versions/*.py"))


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def generate_into(url: str, learners: int, seed: int) -> Cohort:
    """Migrate an empty database, load the course, add the instructor, generate the cohort."""
    from course.accounts.mfa import encrypt_secret
    from course.accounts.models import TotpFactor
    from course.accounts.services import create_user
    from course.content.services import load_content
    from course.demo.generator import generate

    app = migrated_app(url, WTF_CSRF_ENABLED=False)
    with app.test_request_context(method="POST"):  # POST: a request that writes (see course.sql)
        result = load_content(Path(app.config["CONTENT_DIR"]))
        db.session.commit()
        assert result.applied and not result.problems, result.problems
        instructor = create_user(INSTRUCTOR[0], INSTRUCTOR[1], name="Bench Instructor", role="instructor")
        db.session.add(TotpFactor(user_id=instructor.id, secret_encrypted=encrypt_secret(TOTP_SECRET)))
        db.session.commit()
        started = time.perf_counter()
        made = generate(learners, 1, None, seed, retention=1.0, instructor_email=INSTRUCTOR[0], weeks_ago=12)
        db.session.commit()
        seconds = time.perf_counter() - started
        db.session.remove()
        db.engine.dispose()
    if url.startswith("postgresql"):
        _vacuum_analyze(url)
    cohort = describe(app, made["cohorts"][0][0], url, learners, seconds)
    cohort.upkeep = upkeep_key()
    return cohort


def _vacuum_analyze(url: str) -> None:
    # what autovacuum does after a bulk load, done now so that it does not happen half-way through the timing
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()


def describe(app, cohort_id: int, url: str, learners: int, seconds: float) -> Cohort:
    from course.cohorts.models import Enrolment
    from course.content.models import Quiz
    from course.progress.models import LessonProgress
    from course.quiz.models import Attempt, AttemptAnswer

    with app.app_context():
        counts = {
            "learners": db.session.scalar(select(func.count()).select_from(Enrolment)),
            "progress rows": db.session.scalar(select(func.count()).select_from(LessonProgress)),
            "quiz attempts": db.session.scalar(select(func.count()).select_from(Attempt)),
            "answers": db.session.scalar(select(func.count()).select_from(AttemptAnswer)),
        }
        quiz_key = db.session.scalar(select(Quiz.key).order_by(Quiz.id))
        user_id = db.session.scalar(
            select(Enrolment.user_id).where(Enrolment.cohort_id == cohort_id).order_by(Enrolment.user_id).offset(7)
        )
        db.session.remove()
        db.engine.dispose()
    built = datetime.now(UTC).isoformat(timespec="seconds")
    return Cohort(url, learners, cohort_id, quiz_key, user_id, counts, seconds, built)


def bring_up_to_date(cohort: Cohort) -> None:
    """A kept database used again: the migrations to head, and the roll-up recomputed if its code changed."""
    from course.content.models import Course
    from course.progress import rollup

    app = migrated_app(cohort.url, WTF_CSRF_ENABLED=False)
    key = upkeep_key()
    if cohort.upkeep != key:
        say(f"  the roll-up's code or the migrations changed: recomputing the roll-up of {cohort.learners:,} learners")
        with app.test_request_context(method="POST"):
            for course_id in db.session.scalars(select(Course.id)).all():
                rollup.refresh_course(course_id)
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
        if cohort.url.startswith("postgresql"):
            _vacuum_analyze(cohort.url)
        cohort.upkeep = key


# -- where they are kept ---------------------------------------------------------------------------------------
@contextmanager
def cohort_database(
    engine_name: str, postgres: str | None, learners: int, seed: int, keep: Path | None
) -> Iterator[Cohort]:
    """A database with a generated cohort of `learners`: kept in (and taken from) `keep`, else a fresh one
    dropped when the block ends."""
    if keep is None:
        with _throwaway(engine_name, postgres) as url:
            yield generate_into(url, learners, seed)
        return
    keep.mkdir(parents=True, exist_ok=True)
    name = f"dashboard_{learners}_s{seed}_{data_key(learners, seed)}"
    meta = keep / f"{name}.{engine_name}.json"
    url, exists, finish = _kept(engine_name, postgres, name, keep)
    cohort = _read_meta(meta, url) if exists else None
    if cohort is not None:
        say(f"  using the kept database {name} (built {cohort.built_at})")
        bring_up_to_date(cohort)
        cohort.reused = True
    else:
        build_url, finish = finish()
        say(f"  generating {learners:,} learners into {name} (kept in {keep} for the next run)")
        cohort = generate_into(build_url, learners, seed)
        finish()
        cohort.url = url
    meta.write_text(json.dumps({k: v for k, v in asdict(cohort).items() if k != "reused"}, indent=2) + "\n")
    yield cohort


def _read_meta(meta: Path, url: str) -> Cohort | None:
    try:
        values = json.loads(meta.read_text())
        cohort = Cohort(**values)
    except (OSError, ValueError, TypeError):
        return None
    age = datetime.now(UTC) - datetime.fromisoformat(cohort.built_at)
    if age.days >= MAX_AGE_DAYS:
        say(f"  the kept database is {age.days} days old: its activity dates are stale, building it again")
        return None
    cohort.url = url
    return cohort


def _kept(engine_name: str, postgres: str | None, name: str, keep: Path):
    """(url, whether it exists complete, a function that starts a build: (build url, function that finishes it))."""
    if engine_name == "sqlite":
        path = keep / f"{name}.sqlite"
        partial = keep / f"{name}.sqlite.partial-{os.getpid()}"

        def start_sqlite():
            partial.unlink(missing_ok=True)
            return f"sqlite:///{partial}", lambda: os.replace(partial, path)

        return f"sqlite:///{path}", path.exists(), start_sqlite
    url = make_url(postgres)
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT count(*) FROM pg_database WHERE datname = :n"), {"n": name}) > 0

    def start_pg():
        partial = f"{name}_partial_{os.getpid()}"
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{partial}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{partial}"'))

        def finish_pg():
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                conn.execute(text(f'ALTER DATABASE "{partial}" RENAME TO "{name}"'))

        return url.set(database=partial).render_as_string(hide_password=False), finish_pg

    return url.set(database=name).render_as_string(hide_password=False), exists, start_pg


def _throwaway(engine_name: str, postgres: str | None):
    """A database used once and removed (without --keep): bench/databases.py's."""
    return fresh_database(engine_name, postgres, "dashboard")
