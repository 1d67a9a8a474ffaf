"""Browser benchmark: what a learner waits for on a diagram lesson, in Debian's Chromium driven by Playwright.

    .venv/bin/python bench/browser.py [--runs 5] [--no-throttle] [--write-docs]

1. a fresh SQLite database built by the migrations, the real course (content/) loaded, a learner and an instructor
   (with two-step login) teaching a cohort;
2. gunicorn with 2 workers as bench/load.py starts it (tests/servers.py);
3. Chromium (never a browser Playwright downloads) with CDP network throttling, a "Fast 4G"-like profile: 9 Mbit/s
   down, 1.5 Mbit/s up, 150 ms round trip (tests/browser_checks.py). Signed in as the learner, a diagram lesson is
   opened in a fresh profile (cold cache), `--runs` times:
   - the bytes transferred (CDP Network.loadingFinished encodedDataLength: headers and compressed bodies) — target
     <= 150 KB;
   - the time from navigation start until every diagram picture is loaded and decoded (`img.decode()`) — target
     <= 1.0 s (median of the runs);
   - then the same lesson again in that profile: requests for static files — target 0;
4. the console errors of the lesson, the outline, a quiz, the home page and the login page, of the instructor's
   dashboard, and of the lesson's diagram opened by itself — target 0.

Prints a table; with --write-docs it goes into docs/PERFORMANCE.md between the markers of "Browser: a diagram
lesson" (the section is added if missing; nothing else changes).
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import re
import shutil
import statistics
import sys
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import pyotp  # noqa: E402
from browser_checks import View, cold_and_repeat, console_errors, logged_in_state  # noqa: E402
from databases import fresh_database, migrated_app  # noqa: E402
from load import code_version, dispose  # noqa: E402
from servers import SECRET_KEY as SERVER_SECRET  # noqa: E402
from servers import Gunicorn  # noqa: E402
from sqlalchemy import select  # noqa: E402

from course.content.diagram_render import CHROMIUM_ARGS  # noqa: E402
from course.extensions import db  # noqa: E402

PASSWORD = "bench browser password"  # noqa: S105
# The production configuration, as bench/load.py runs it (no development-only file checks on each request).
PRODUCTION = {"FOUNDER_COURSE_ENV": "production", "MAIL_SERVER": "localhost"}
TARGETS = {"kb": 150.0, "diagram_s": 1.0, "repeat_static": 0, "console_errors": 0}
START, END = "<!-- bench/browser.py: start -->", "<!-- bench/browser.py: end -->"
HEADING = "## Browser: a diagram lesson"


def say(message: str) -> None:
    print(message, flush=True)


@dataclass
class Site:
    lesson: str
    outline: str
    quiz: str
    dashboard: str
    learner: str
    instructor: str
    secret: str


@dataclass
class Result:
    cold: list[View] = field(default_factory=list)
    repeat: list[View] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)
    chromium: str = ""
    load_average: tuple[float, float] = (0.0, 0.0)


def prepare(app) -> Site:
    """The real course, a learner, an instructor with an authenticator app teaching a cohort of it."""
    from course.accounts.mfa import encrypt_secret
    from course.accounts.models import TotpFactor
    from course.accounts.services import create_user
    from course.clock import today
    from course.cohorts.services import CohortSettings, create_cohort
    from course.content.models import Chapter, Course, Lesson, Quiz
    from course.content.services import load_content

    with app.app_context():
        result = load_content(Path(app.config["CONTENT_DIR"]))
        db.session.commit()
        assert result.applied and not result.problems, result.problems[:5]
    with app.test_request_context(method="POST"):  # POST: a request that writes (see course.sql)
        course = db.session.scalar(select(Course).where(Course.archived_at.is_(None)).order_by(Course.id))
        lessons = db.session.execute(
            select(Lesson.key, Lesson.body_html)
            .join(Chapter, Chapter.id == Lesson.chapter_id)
            .where(Lesson.course_id == course.id, Lesson.archived_at.is_(None))
            .order_by(Chapter.module_id, Chapter.position, Lesson.position)
        ).all()
        lesson = next(key for key, html in lessons if 'class="diagram-image"' in html)
        quiz = db.session.scalar(
            select(Quiz.key).where(Quiz.course_id == course.id, Quiz.archived_at.is_(None)).order_by(Quiz.id)
        )
        learner = create_user("bench-browser-learner@example.com", PASSWORD, name="Bench Learner")
        instructor = create_user("bench-browser-teacher@example.com", PASSWORD, name="Bench Teacher", role="instructor")
        secret = pyotp.random_base32()
        db.session.add(TotpFactor(user_id=instructor.id, secret_encrypted=encrypt_secret(secret)))
        settings = CohortSettings("Bench cohort", today() - timedelta(days=14), today() + timedelta(days=90))
        cohort = create_cohort(course, settings, [instructor.id])
        db.session.commit()
        return Site(
            lesson=f"/courses/{course.key}/lessons/{lesson}",
            outline=f"/courses/{course.key}",
            quiz=f"/courses/{course.key}/quizzes/{quiz}",
            dashboard=f"/cohorts/{cohort.id}/dashboard",
            learner=learner.email,
            instructor=instructor.email,
            secret=secret,
        )


def log_in(page, email: str, secret: str | None = None) -> None:
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    if secret:
        page.wait_for_url("**/login/code")
        page.fill("#code", pyotp.TOTP(secret).now())
        page.locator("main form button[type=submit]").click()
    page.wait_for_url(lambda url: "/login" not in url)


def measure(runs: int, throttle: bool) -> Result:
    from playwright.sync_api import sync_playwright

    result = Result()
    with fresh_database("sqlite", None, "browser") as url:
        app = migrated_app(url, SECRET_KEY=SERVER_SECRET)
        try:
            site = prepare(app)
        finally:
            dispose(app)
        with Gunicorn(url, env=PRODUCTION) as server, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
            result.chromium = browser.version
            try:
                learner = logged_in_state(browser, server.url, lambda page: log_in(page, site.learner))
                cold_and_repeat(browser, server.url, learner, site.lesson, throttle)  # warm the server, not the browser
                before = os.getloadavg()[0]
                for n in range(runs):
                    cold, repeat = cold_and_repeat(browser, server.url, learner, site.lesson, throttle)
                    result.cold.append(cold)
                    result.repeat.append(repeat)
                    shown = f"{cold.diagrams_shown_ms:.0f} ms" if cold.diagrams_shown_ms is not None else "no diagram"
                    say(f"  run {n + 1}: {cold.transferred / 1024:.1f} KB in {len(cold.network)} requests, diagrams "
                        f"shown {shown}; repeat view: {len(repeat.static_requests)} static requests")  # fmt: skip
                result.load_average = (before, os.getloadavg()[0])
                teacher = logged_in_state(browser, server.url, lambda page: log_in(page, site.instructor, site.secret))
                diagrams = [urlsplit(u).path for u in result.cold[0].static_requests if "/static/diagrams/" in u][:1]
                for who, state, pages in (
                    ("learner", learner, [site.lesson, site.outline, site.quiz, "/"]),
                    ("instructor", teacher, [site.dashboard]),
                    ("signed out", None, ["/login", "/", *diagrams]),
                ):
                    for path, errors in console_errors(browser, server.url, state, pages).items():
                        result.errors[f"{path} ({who})"] = errors
            finally:
                browser.close()
    return result


def verdict(ok: bool) -> str:
    return "yes" if ok else "**no**"


def table(r: Result) -> str:
    kb = [v.transferred / 1024 for v in r.cold]
    shown = [v.diagrams_shown_ms / 1000 for v in r.cold if v.diagrams_shown_ms is not None]
    repeat = max(len(v.static_requests) for v in r.repeat)
    errors = sum(len(found) for found in r.errors.values())
    median_shown = statistics.median(shown) if shown else float("nan")
    dcl = statistics.median(v.dom_content_loaded_ms for v in r.cold) / 1000
    lines = [
        "| measure | result | target | met |",
        "|---|---:|---:|:---:|",
        f"| a diagram lesson, cold cache: bytes transferred | {statistics.median(kb):.1f} KB "
        f"({len(r.cold[0].network)} requests) | ≤ {TARGETS['kb']:.0f} KB | {verdict(max(kb) <= TARGETS['kb'])} |",
        f"| … its diagrams shown (loaded and decoded), after navigation start | {median_shown:.2f} s "
        f"({min(shown):.2f}–{max(shown):.2f}) | ≤ {TARGETS['diagram_s']:.1f} s | "
        f"{verdict(median_shown <= TARGETS['diagram_s'])} |",
        f"| … DOMContentLoaded | {dcl:.2f} s | — | — |",
        f"| repeat view: requests for static files | {repeat} | 0 | {verdict(repeat == 0)} |",
        f"| console errors on {len(r.errors)} pages | {errors} | 0 | {verdict(errors == 0)} |",
    ]
    return "\n".join(lines)


def details(r: Result) -> str:
    first = r.cold[0]
    files = ", ".join(re.sub(r"^https?://[^/]+", "", url) for url in first.network)
    pages = ", ".join(r.errors)
    found = [f"{page}: {len(errors)} (the first: {errors[0][:200]})" for page, errors in r.errors.items() if errors]
    return (
        f"Requests of the cold view: {files}. Pages checked for console errors: {pages}."
        + (" Console errors: " + "; ".join(found) + "." if found else "")
        + f" Load average (1 min) before and after the runs: {r.load_average[0]:.2f}, {r.load_average[1]:.2f}."
    )


def machine(chromium: str) -> str:
    cpu = platform.machine()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    from importlib.metadata import version

    return (
        f"{os.cpu_count()} CPU ({cpu}), Python {platform.python_version()}, Chromium {chromium}, "
        f"Playwright {version('playwright')}, {platform.system()} {platform.release()}"
    )


def section(r: Result, command: str, runs: int, throttle: bool) -> str:
    network = (
        "CDP throttling 9 Mbit/s down, 1.5 Mbit/s up, 150 ms round trip" if throttle else "loopback, no throttling"
    )
    return (
        f"{START}\n\n"
        f"Measured {date.today().isoformat()} at {code_version()} with `{command}` (from the repository root): "
        f"{runs} runs, each in a fresh browser profile; {network}; gunicorn with 2 sync workers on the same "
        f"machine.\n\nMachine: {machine(r.chromium)}.\n\n{table(r)}\n\n{details(r)}\n\n{END}"
    )


def write_docs(text: str) -> None:
    path = ROOT / "docs" / "PERFORMANCE.md"
    body = path.read_text(encoding="utf-8") if path.exists() else "# Performance\n"
    if START in body and END in body:
        body = body[: body.index(START)] + text + body[body.index(END) + len(END) :]
    else:
        body = body.rstrip("\n") + f"\n\n{HEADING}\n\n{text}\n"
    path.write_text(body.rstrip("\n") + "\n", encoding="utf-8")
    say(f"wrote {path.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="cold views of the lesson (default 5)")
    parser.add_argument("--no-throttle", action="store_true", help="loopback speed, no network emulation")
    parser.add_argument("--write-docs", action="store_true", help="write the results into docs/PERFORMANCE.md")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if shutil.which("chromium") is None:
        sys.exit("no Chromium on PATH: install Debian's package (apt-get install chromium)")
    throttle = not args.no_throttle
    command = f".venv/bin/python bench/browser.py --runs {args.runs}" + ("" if throttle else " --no-throttle")
    result = measure(args.runs, throttle)
    say(f"\n{table(result)}\n\n{details(result)}")
    if args.write_docs:
        write_docs(section(result, command + " --write-docs", args.runs, throttle))


if __name__ == "__main__":
    main()
