"""Time the instructor dashboard on a big cohort.

    .venv/bin/python bench/dashboard.py [--learners 10000] [--runs 15] [--postgres URL] [--write-docs]

For each engine (SQLite always; PostgreSQL when --postgres names a server, e.g.
postgresql+psycopg://postgres@127.0.0.1:5432/postgres): build a fresh database with the migrations, load the
course in content/, generate one cohort of --learners learners with `flask demo generate`'s generator
(everyone keeps going: about 36 progress rows a learner), then request every dashboard page and export
through the Flask test client, logged in as the cohort's instructor: one warm-up request, then --runs timed
requests; the median and the 90th percentile are reported, with the number of SQL statements per request.
With --write-docs the table and the command go into docs/PERFORMANCE.md, section "Instructor dashboard"
(between two marker comments: the notes around them are kept).
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import pyotp  # noqa: E402
from databases import fresh_database, migrated_app  # noqa: E402
from sqlalchemy import create_engine, event, func, select, text  # noqa: E402

from course.extensions import db  # noqa: E402

TARGET_MS = 150
INSTRUCTOR = ("bench-instructor@example.com", "bench instructor password")
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # noqa: S105 - the instructor's authenticator app: staff log in with a code
PAGES = [
    ("overview", "/cohorts/{c}/dashboard"),
    ("learners (by name)", "/cohorts/{c}/dashboard/learners"),
    ("learners (by progress, page 3)", "/cohorts/{c}/dashboard/learners?sort=progress&dir=desc&page=3"),
    ("learners (by last active)", "/cohorts/{c}/dashboard/learners?sort=last_active&dir=desc"),
    ("learners (search)", "/cohorts/{c}/dashboard/learners?q=王"),
    ("at risk", "/cohorts/{c}/dashboard/at-risk"),
    ("at risk (30 days, page 2)", "/cohorts/{c}/dashboard/at-risk?days=30&page=2"),
    ("quizzes", "/cohorts/{c}/dashboard/quizzes"),
    ("quiz statistics", "/cohorts/{c}/dashboard/quizzes/{q}"),
    ("one learner", "/cohorts/{c}/learners/{u}"),
    ("export grid.csv", "/cohorts/{c}/export/grid.csv"),
    ("export at-risk.csv", "/cohorts/{c}/export/at-risk.csv"),
    ("export quiz .csv", "/cohorts/{c}/export/quizzes/{q}.csv"),
]
EXPORTS = {"export grid.csv", "export at-risk.csv", "export quiz .csv"}


@dataclass
class Row:
    page: str
    median: float
    p90: float
    statements: int


def build(database_url: str, learners: int, seed: int) -> tuple:
    from course.accounts.mfa import encrypt_secret
    from course.accounts.models import TotpFactor
    from course.accounts.services import create_user
    from course.content.services import load_content
    from course.demo.generator import generate

    app = migrated_app(database_url, WTF_CSRF_ENABLED=False)
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
    if database_url.startswith("postgresql"):
        # what autovacuum does after a bulk load, done now so that it does not happen half-way through the timing
        engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("VACUUM ANALYZE"))
        engine.dispose()
    with app.app_context():
        from course.cohorts.models import Enrolment
        from course.content.models import Quiz
        from course.progress.models import LessonProgress
        from course.quiz.models import Attempt, AttemptAnswer

        cohort_id = made["cohorts"][0][0]
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
    return app, cohort_id, quiz_key, user_id, counts, seconds


def measure(app, cohort_id: int, quiz_key: str, user_id: int, runs: int) -> list[Row]:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = client.post("/login", data={"email": INSTRUCTOR[0], "password": INSTRUCTOR[1]})
    assert response.status_code == 302 and response.location == "/login/code", response.status_code
    response = client.post("/login/code", data={"code": pyotp.TOTP(TOTP_SECRET).now()})
    assert response.status_code == 302, response.status_code
    with app.app_context():
        engine = db.engine
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    rows = []
    for label, pattern in PAGES:
        url = pattern.format(c=cohort_id, q=quiz_key, u=user_id)
        times = []
        for i in range(runs + 1):
            statements.clear()
            started = time.perf_counter()
            response = client.get(url)
            response.get_data()
            elapsed = (time.perf_counter() - started) * 1000
            response.close()
            assert response.status_code == 200, (url, response.status_code)
            if i:  # the first request is the warm-up
                times.append(elapsed)
        times.sort()
        p90 = times[min(len(times) - 1, round(0.9 * (len(times) - 1)))]
        rows.append(Row(label, statistics.median(times), p90, len(statements)))
        print(f"  {label:<32} {statistics.median(times):8.1f} ms", flush=True)
    return rows


def table(rows: list[Row]) -> str:
    lines = ["| page | median | p90 | SQL statements | ≤ 150 ms |", "|---|---:|---:|---:|:---:|"]
    for r in rows:
        ok = "—" if r.page in EXPORTS else ("yes" if r.median <= TARGET_MS else "**no**")
        lines.append(f"| {r.page} | {r.median:.0f} ms | {r.p90:.0f} ms | {r.statements} | {ok} |")
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = f", load average {os.getloadavg()[0]:.1f} when the run started" if hasattr(os, "getloadavg") else ""
    return (
        f"{os.cpu_count()} CPU ({cpu}), Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"{platform.system()} {platform.release()}{load}"
    )


START, END = "<!-- bench/dashboard.py: start -->", "<!-- bench/dashboard.py: end -->"


def write_docs(sections: list[str]) -> None:
    """Put the results between the markers in the "Instructor dashboard" section of docs/PERFORMANCE.md (the
    section and the markers are created if missing; the notes around them are left alone)."""
    path = ROOT / "docs" / "PERFORMANCE.md"
    body = path.read_text(encoding="utf-8") if path.exists() else "# Performance\n"
    results = START + "\n\n" + "\n\n".join(sections).strip() + "\n\n" + END
    if START in body and END in body:
        body = body[: body.index(START)] + results + body[body.index(END) + len(END) :]
    elif "## Instructor dashboard" in body:
        head, _sep, tail = body.partition("## Instructor dashboard\n")
        body = head + "## Instructor dashboard\n\n" + results + "\n" + tail
    else:
        body = body.rstrip() + "\n\n## Instructor dashboard\n\n" + results + "\n"
    path.write_text(body, encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learners", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=15, help="timed requests per page, after one warm-up")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres", metavar="URL", help="also run on a fresh database on this PostgreSQL server")
    parser.add_argument("--write-docs", action="store_true", help="write the results into docs/PERFORMANCE.md")
    args = parser.parse_args()
    command = "python bench/dashboard.py " + " ".join(a for a in sys.argv[1:] if not a.startswith("postgresql"))
    if args.postgres:
        command = command.replace("--postgres", "--postgres URL")

    engines = ["sqlite"] + (["postgresql"] if args.postgres else [])
    sections = [
        f"Command: `{command.strip()}` (from the repository root, with the virtualenv's Python).",
        f"Machine: {machine()}.",
    ]
    for engine_name in engines:
        print(f"{engine_name}: building a {args.learners}-learner cohort …", flush=True)
        with fresh_database(engine_name, args.postgres, "dashboard") as url:
            app, cohort_id, quiz_key, user_id, counts, seconds = build(url, args.learners, args.seed)
            print(f"  generated in {seconds:.1f} s: " + ", ".join(f"{v:,} {k}" for k, v in counts.items()))
            rows = measure(app, cohort_id, quiz_key, user_id, args.runs)
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        print(table(rows))
        analyzed = "; then VACUUM ANALYZE, as autovacuum would" if engine_name == "postgresql" else ""
        missed = [r.page for r in rows if r.page not in EXPORTS and r.median > TARGET_MS]
        verdict = (
            f"Every page is within the {TARGET_MS} ms target."
            if not missed
            else f"Over the {TARGET_MS} ms target: {', '.join(missed)}."
        )
        sections.append(
            f"### {'SQLite' if engine_name == 'sqlite' else 'PostgreSQL'}\n\n"
            f"Data: one cohort, {', '.join(f'{v:,} {k}' for k, v in counts.items())} "
            f"(generated in {seconds:.1f} s{analyzed}). Median and 90th percentile of {args.runs} requests after "
            f"one warm-up, through the Flask test client (rendering included, no network).\n\n"
            + table(rows)
            + f"\n\n{verdict}"
        )
    if args.write_docs:
        write_docs(sections)


if __name__ == "__main__":
    main()
