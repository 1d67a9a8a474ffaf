"""Load benchmark: the app under gunicorn, driven by wrk.

    .venv/bin/python bench/load.py [--postgres URL] [--duration 10] [--write-docs]

For SQLite, and PostgreSQL too when --postgres names a server (e.g.
postgresql+psycopg://postgres@127.0.0.1:5432/postgres; a database is created there and dropped after):

1. a fresh database built by the migrations; the real course (content/) loaded, timed;
2. gunicorn with 2 workers (the target machine has 2 cores) in the production configuration, except that the
   quiz and login rate limits are raised: the limiter still counts every request in its storage (the database),
   but 50 learners sending hundreds of submissions a second are not refused;
3. wrk (https://github.com/wg/wrk; Debian/Ubuntu: `apt-get install -y wrk`), on the same machine:
   - every measure below takes turns with GET /healthz, and its rate is a share of the health check's measured
     just before and just after it: a shared 2-core machine's speed drifts from one second to the next (seen:
     three pages that cost the same within 4 % measured 800 to 1,100 req/s one after the other), and a ratio of
     two runs far apart measures the drift as much as the page;
   - GET a lesson page, the course outline and a quiz page as a logged-in learner (the session cookie sent by
     wrk; logged in again before each turn, as a browser's cookie is never more than the minute old after which
     the app rewrites it), each in PAGE_ROUNDS turns: each page's requests per second as a share of the health
     check's, the median
     of its turns (targets: >= 55 % SQLite, >= 45 % PostgreSQL), and the lesson page's latency (its median turn):
     its 99th percentile at most 4x its median;
   - recording progress, as a share of the health check's rate (target >= 25 %): a first view of a lesson (every
     request a (reader, lesson) pair not viewed before: READERS learners who have opened nothing, each lesson in
     turn), then marking those lessons complete (each pair once), then marking a completed lesson complete
     again (a read, not a write); the rows written are counted afterwards;
   - quiz submissions (POST, CSRF token, each with the key the page issues for that learner's next attempt, 50
     learners in turn) recorded per second (302s; a 409 is a submission that overtook the learner's previous one), then
     the attempt rows counted against the distinct keys: duplicates must be 0 (targets >= 400/s on SQLite, >= 300/s
     on PostgreSQL);
   - 10,000 mixed requests (every lesson and quiz page, outline, catalogue, summary, health check, static
     file, quiz submissions), then the resident memory of each worker (target <= 80 MB);
4. content load time: the real course into an empty database (target <= 0.5 s), and a generated course of
   1,000 lessons and 10,000 questions (target <= 5 s).

Prints a table; with --write-docs the numbers and the command go into docs/PERFORMANCE.md under
"Load: SQLite" / "Load: PostgreSQL" (replacing those sections from an earlier run, nothing else).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from databases import fresh_database, migrated_app  # noqa: E402
from servers import NO_LIMITS, Browser, Gunicorn, rss_kib  # noqa: E402 - PYTHONOPTIMIZE=2 as in production
from servers import SECRET_KEY as SERVER_SECRET  # noqa: E402 - the key the server signs and lays out quizzes with
from sqlalchemy import select  # noqa: E402

from course.extensions import db  # noqa: E402

LEARNERS = 50
READERS = 100  # learners who have opened nothing: the first views and first completions are theirs
PASSWORD = "bench learner password"  # noqa: S105
MIXED_REQUESTS = 10_000
PAGE_ROUNDS = 3  # turns of each page with the health check (odd: the median turn is one of them, and reported)
TARGETS = {
    "lesson_ratio": {"sqlite": 55.0, "postgresql": 45.0},  # the lesson, outline and quiz pages alike
    "submissions": {"sqlite": 400.0, "postgresql": 300.0},  # per second
    "progress_ratio": 25.0,  # a first view, a first completion, a repeated completion ÷ the health check
    "p99_over_median": 4.0,  # the lesson page's latency under 8 connections
    "real_load": 0.5,
    "generated_load": 5.0,
    "rss_mb": 80.0,
}
GENERATED = {"modules": 10, "chapters": 10, "lessons": 10, "questions": 100}  # 1,000 lessons, 10,000 questions


def say(message: str) -> None:
    print(message, flush=True)


def dispose(app) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def timed_load(app, root: Path) -> float:
    from course.content.services import load_content

    with app.app_context():
        result = load_content(root)
        db.session.commit()
    assert result.applied and not result.problems, result.problems[:5]
    return result.seconds


# -- the site the load runs against -----------------------------------------------------------------------
@dataclass
class Site:
    course: str
    lessons: list[str]
    quizzes: list[str]
    quiz: str  # the quiz the submissions go to (its chapter's lessons are complete for every learner)
    quiz_form: list[tuple[str, str]]
    emails: list[str]
    readers: list[str] = field(default_factory=list)  # learners who have opened nothing yet
    real_load: float = 0.0
    real_reload: float = 0.0


def prepare(app) -> Site:
    """Load the real course (timed), make the learners, open the first quiz for them (lessons complete)."""
    from course.accounts.services import create_user
    from course.content.models import Chapter, Course, Lesson, Quiz
    from course.content.question_types import question_type
    from course.progress.reading import mark_complete

    content = Path(app.config["CONTENT_DIR"])
    first = timed_load(app, content)
    again = timed_load(app, content)  # no changes: what a deploy that did not touch the content costs
    with app.test_request_context(method="POST"):  # POST: a request that writes (see course.sql)
        course = db.session.scalar(select(Course).where(Course.archived_at.is_(None)).order_by(Course.id))
        lessons = db.session.scalars(
            select(Lesson).where(Lesson.course_id == course.id, Lesson.archived_at.is_(None)).order_by(Lesson.position)
        ).all()
        quizzes = db.session.scalars(
            select(Quiz)
            .join(Chapter, Chapter.id == Quiz.chapter_id)
            .where(Quiz.course_id == course.id, Quiz.archived_at.is_(None))
            .order_by(Chapter.position)
        ).all()
        quiz = next(q for q in quizzes if q.max_attempts is None)
        quiz.retry_after = None  # submissions per second are measured: the course's cool-down would refuse them
        form = []
        for question in quiz.questions:
            answer = question_type(question.type).correct_response(question)
            form += [(question.key, a) for a in (answer if isinstance(answer, list) else [answer])]
        chapter_lessons = [lesson for lesson in lessons if lesson.chapter_id == quiz.chapter_id]
        emails = [f"bench-learner-{i}@example.com" for i in range(LEARNERS)]
        for email in emails:
            user = create_user(email, PASSWORD, name="Bench Learner")
            for lesson in chapter_lessons:
                mark_complete(user.id, lesson)
        readers = [f"bench-reader-{i}@example.com" for i in range(READERS)]
        for email in readers:
            create_user(email, PASSWORD, name="Bench Reader")
        db.session.commit()
        return Site(
            course.key, [ls.key for ls in lessons], [q.key for q in quizzes], quiz.key, form, emails, readers, first,
            again,
        )  # fmt: skip


@dataclass
class LoggedIn:
    cookie: str  # the Cookie header
    csrf: str


def log_in(server: Gunicorn, email: str, site: Site) -> LoggedIn:
    browser = Browser([server.url])
    browser.login(email, PASSWORD, then=f"/courses/{site.course}/quizzes/{site.quiz}")
    return LoggedIn("; ".join(f"{k}={v}" for k, v in browser.cookies.items()), browser.csrf)


# -- wrk -------------------------------------------------------------------------------------------------
@dataclass
class WrkResult:
    rps: float
    requests: int
    bad: int  # responses that are not 2xx/3xx, plus socket errors
    statuses: dict[str, int] = field(default_factory=dict)  # and "cookie": responses that set a cookie
    output: str = ""
    latency: dict[str, float] = field(default_factory=dict)  # percentile ("50", "99") → milliseconds (--latency)

    @property
    def accepted(self) -> float:
        """Responses per second that were a 302 (a submission recorded or found recorded); a submission sent while
        the learner's previous one is still in flight is refused as a stale page (409) and does not count."""
        return self.rps * self.statuses.get("302", 0) / max(self.requests, 1)


STATUS_LUA = """
counts = {}
function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
  if headers["Set-Cookie"] then counts["cookie"] = (counts["cookie"] or 0) + 1 end
end
local threads = {}
function setup(thread)
  thread:set("id", #threads + 1)
  threads[#threads + 1] = thread
end
function done(summary, latency, requests)
  local parts = {}
  for _, t in ipairs(threads) do
    for status, count in pairs(t:get("counts")) do parts[#parts + 1] = status .. "=" .. count end
  end
  io.write("STATUSES " .. table.concat(parts, ",") .. "\\n")
end
"""


def lua(value: object) -> str:
    """A Lua literal for a str / list of str (ASCII: JSON's escapes are Lua's)."""
    if isinstance(value, list):
        return "{" + ", ".join(lua(v) for v in value) + "}"
    text_value = json.dumps(value)
    assert text_value.isascii(), value
    return text_value


def run_wrk(url: str, duration: float, script: str | None = None, headers: dict[str, str] | None = None,
            connections: int = 8, threads: int = 2, latency: bool = False) -> WrkResult:  # fmt: skip
    seconds = max(1, math.ceil(duration))  # wrk takes whole seconds
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s"]
    command += ["--latency"] if latency else []
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(STATUS_LUA + (script or ""))  # every run counts its responses by status
    try:
        done = subprocess.run([*command, "-s", handle.name, url], capture_output=True, text=True)  # noqa: S603
        if done.returncode:
            raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
        output = done.stdout
    finally:
        os.unlink(handle.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    bad = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", output)) else 0
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output):
        bad += sum(int(g) for g in m.groups())
    statuses: dict[str, int] = {}
    if m := re.search(r"STATUSES (\S*)", output):
        for pair in filter(None, m.group(1).split(",")):
            status, count = pair.split("=")
            statuses[status] = statuses.get(status, 0) + int(count)
    percentiles = {
        m.group(1): float(m.group(2)) * LATENCY_UNITS[m.group(3)]
        for m in re.finditer(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
    }
    return WrkResult(rps, requests, bad, statuses, output, percentiles)


LATENCY_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def submission_bodies(app, site: Site, sessions: list[LoggedIn], per_learner: int) -> tuple[list[list], set]:
    """[learner index (1-based), form body] for the next `per_learner` attempts of each learner, in turn, and the
    (learner id, key) pairs they carry. Each attempt has the key the quiz page issues for its number
    (course/quiz/layout.py `attempt_key`, under the server's SECRET_KEY; the server accepts no other) and the
    options as that attempt's tokens, as the page the learner was shown would carry them."""
    from course.accounts.models import User
    from course.content.models import Quiz
    from course.quiz.attempts import attempts_so_far
    from course.quiz.layout import attempt_key, layout

    entries, keys = [], set()
    secret = SERVER_SECRET.encode()
    with app.app_context():
        quiz = db.session.scalar(select(Quiz).where(Quiz.key == site.quiz))
        questions = {q.key: q for q in quiz.questions}
        ids = dict(db.session.execute(select(User.email, User.id).where(User.email.in_(site.emails))).all())
        made = {email: attempts_so_far(ids[email], quiz)[0] for email in site.emails}
        for n in range(1, per_learner + 1):
            for i, (email, session) in enumerate(zip(site.emails, sessions, strict=True), start=1):
                key = attempt_key(ids[email], quiz, made[email] + n, secret)
                keys.add((ids[email], key))
                shown = layout(ids[email], quiz, key, secret=secret)
                pairs = [(k, shown.token(questions[k], v) if questions[k].options else v) for k, v in site.quiz_form]
                pairs += [("submission_key", key), ("csrf_token", session.csrf)]
                entries.append([i, "&".join(f"{k}={v}" for k, v in _encoded(pairs))])
        db.session.rollback()
    return entries, keys


def submissions_script(site: Site, sessions: list[LoggedIn], entries: list[list]) -> str:
    return f"""
local cookies = {lua([s.cookie for s in sessions])}
local path = {lua(f"/courses/{site.course}/quizzes/{site.quiz}")}
local entries = {lua(entries)}
local n = 0
function request()
  n = n + 1
  local entry = entries[((n - 1) * 2 + id - 1) % #entries + 1]  -- each of wrk's two threads its own half
  return wrk.format("POST", path, {{
    ["Cookie"] = cookies[entry[1]],
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }}, entry[2])
end
"""


def progress_script(site: Site, readers: list[LoggedIn], pairs: list[tuple[int, str]], method: str) -> str:
    """Each request one (reader, lesson) of `pairs` (reader: an index into `readers`), in turn, each of wrk's two
    threads its own half: GET the lesson page (a first view) or POST its "mark complete" form."""
    entries = [[str(reader + 1), f"/courses/{site.course}/lessons/{key}"] for reader, key in pairs]
    suffix = "/complete" if method == "POST" else ""
    return f"""
local cookies = {lua([r.cookie for r in readers])}
local bodies = {lua([f"csrf_token={r.csrf}" for r in readers])}
local entries = {lua(entries)}
local n = 0
function request()
  n = n + 1
  local entry = entries[((n - 1) * 2 + id - 1) % #entries + 1]
  local reader = tonumber(entry[1])
  if {lua(method)} == "GET" then
    return wrk.format("GET", entry[2], {{["Cookie"] = cookies[reader]}})
  end
  return wrk.format("POST", entry[2] .. {lua(suffix)}, {{
    ["Cookie"] = cookies[reader],
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }}, bodies[reader])
end
"""


def count_progress(app, emails: list[str]) -> tuple[int, int, list[tuple[int, str]]]:
    """The readers' progress rows: how many (first views recorded), how many complete, and the completed
    (reader index, lesson key) pairs."""
    from course.accounts.models import User
    from course.content.models import Lesson
    from course.progress.models import LessonProgress

    time.sleep(1)  # requests wrk gave up on at the end of its run may still be committing
    with app.app_context():
        rows = db.session.execute(
            select(User.email, Lesson.key, LessonProgress.completed_at)
            .join(LessonProgress, LessonProgress.user_id == User.id)
            .join(Lesson, Lesson.id == LessonProgress.lesson_id)
            .where(User.email.in_(emails))
        ).all()
        db.session.rollback()
    index = {email: i for i, email in enumerate(emails)}
    done = [(index[email], key) for email, key, completed_at in rows if completed_at is not None]
    return len(rows), len(done), done


def written_rate(run: WrkResult, written: int) -> float:
    """Writes per second of a run whose every request was meant to write one row: the requests that did."""
    return run.rps * min(written, run.requests) / max(run.requests, 1)


def mixed_script(site: Site, sessions: list[LoggedIn], bodies: list[list[str]], start: int) -> str:
    """Nine pages for one submission of the quiz. Each of wrk's two threads is one learner (`sessions`), submitting
    their next attempts in turn (`bodies`: that learner's forms, each under its attempt's key)."""
    c = site.course
    paths = ["/healthz", "/courses", f"/courses/{c}", f"/courses/{c}/summary", "/static/css/app.css"]
    paths += [f"/courses/{c}/lessons/{key}" for key in site.lessons]
    paths += [f"/courses/{c}/quizzes/{key}" for key in site.quizzes]
    return f"""
local paths = {lua(paths)}
local cookies = {lua([s.cookie for s in sessions])}
local quiz = {lua(f"/courses/{c}/quizzes/{site.quiz}")}
local bodies = {lua(bodies)}
local n = 0
function request()
  n = n + 1
  local cookie = cookies[id]
  if n % 10 == 0 then
    local body = bodies[id][({start} + math.floor(n / 10) - 1) % #bodies[id] + 1]
    return wrk.format("POST", quiz, {{["Cookie"] = cookie, ["Content-Type"] = "application/x-www-form-urlencoded"}},
      body)
  end
  return wrk.format("GET", paths[(n % #paths) + 1], {{["Cookie"] = cookie}})
end
"""


def _encoded(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    from urllib.parse import quote_plus

    return [(quote_plus(k), quote_plus(v)) for k, v in pairs]


# -- one engine ------------------------------------------------------------------------------------------
@dataclass
class EngineResult:
    engine: str
    lesson: WrkResult
    submit: WrkResult
    attempts: int
    distinct_keys: int
    rss_booted: list[float]
    rss_after: list[float]
    pss_after: list[float]
    rss_curve: list[tuple[int, list[float]]]  # (requests so far, RSS of each worker)
    mixed: WrkResult
    outline: WrkResult
    quiz_page: WrkResult
    first_view: WrkResult
    views_written: int
    completion: WrkResult
    completions_written: int
    repeat_completion: WrkResult
    real_load: float
    real_reload: float
    generated_load: float
    load_average: str
    health: Health  # every health check run, and the rate around each measure

    @property
    def ratio(self) -> float:
        return self.page_share("lesson")

    def page_share(self, page: str) -> float:
        """A page's rate as a percentage of the health check's: the median of its turns."""
        return statistics.median_low(self.health.page_shares[page])

    def share(self, measure: str, rate: float) -> float:
        """A rate as a percentage of the health check's around `measure`."""
        return 100 * rate / self.health.around[measure]

    @property
    def p99_over_median(self) -> float:
        return self.lesson.latency["99"] / self.lesson.latency["50"]


@dataclass
class Health:
    """GET /healthz run between the measures: each measure's rate is compared with the health check's just before
    and just after it (their mean), not with one run far from it."""

    url: str
    seconds: float
    runs: list[WrkResult] = field(default_factory=list)
    around: dict[str, float] = field(default_factory=dict)  # measure → the health check's rate around it
    page_shares: dict[str, list[float]] = field(default_factory=dict)  # page → rate ÷ health check per turn, %

    def run(self) -> float:
        self.runs.append(run_wrk(self.url + "/healthz", self.seconds))
        return self.runs[-1].rps

    def measure(self, name: str, run: Callable[[], WrkResult]) -> WrkResult:
        """`run` between two health checks: the last one run (the previous measure's after, unless the caller ran
        one since) and one run right after it."""
        before = self.runs[-1].rps if self.runs else self.run()
        result = run()
        self.around[name] = (before + self.run()) / 2
        return result

    def page(self, name: str, run: Callable[[], WrkResult]) -> WrkResult:
        """`run` in PAGE_ROUNDS turns with the health check; its median turn (rate ÷ health check)."""
        turns = []
        for _ in range(PAGE_ROUNDS):
            result = self.measure(name, run)
            turns.append((100 * result.rps / self.around[name], self.around[name], result))
        self.page_shares[name] = [share for share, _, _ in turns]
        _share, self.around[name], result = sorted(turns, key=lambda turn: turn[0])[PAGE_ROUNDS // 2]
        return result

    @property
    def rps(self) -> float:
        """The health check's rate: the median of its runs."""
        return statistics.median(r.rps for r in self.runs)

    @property
    def statuses(self) -> dict[str, int]:
        counted: dict[str, int] = {}
        for r in self.runs:
            for status, n in r.statuses.items():
                counted[status] = counted.get(status, 0) + n
        return counted


def bench_engine(engine: str, postgres: str | None, duration: float, mixed_count: int) -> EngineResult:
    say(f"== {engine}")
    with fresh_database(engine, postgres, "load") as url:
        app = migrated_app(url)
        site = prepare(app)
        say(f"  real course loaded in {site.real_load:.3f} s (again, no changes: {site.real_reload:.3f} s)")
        server = Gunicorn(
            url,
            workers=2,
            overrides=dict(NO_LIMITS),
            env={"FOUNDER_COURSE_ENV": "production", "MAIL_SERVER": "localhost"},
        )
        with server:
            load_before = os.getloadavg()[0]
            rss_booted = [rss_kib(pid) / 1024 for pid in server.worker_pids()]
            sessions = [log_in(server, email, site) for email in site.emails]
            lesson_path = f"/courses/{site.course}/lessons/{site.lessons[0]}"
            run_wrk(server.url + "/healthz", 2)  # warm-up: templates compiled, connections pooled
            run_wrk(server.url + lesson_path, 2, headers={"Cookie": sessions[0].cookie})

            def page_turn(path: str, latency: bool = False) -> WrkResult:
                """One turn of a page, as a learner who logged in just before it. A browser sends back the cookie
                the app rewrites once a minute (its last-seen time, for the idle timeout); wrk sends the one it
                was given, which the app would re-sign in every response once it is a minute old."""
                cookie = {"Cookie": log_in(server, site.emails[0], site).cookie}
                return run_wrk(server.url + path, turn, headers=cookie, latency=latency)

            health = Health(server.url, duration)
            turn = page_turn_seconds(duration)  # each page turn: the health check and the page, PAGE_ROUNDS times
            health.seconds = turn
            lesson = health.page("lesson", lambda: page_turn(lesson_path, latency=True))
            say(f"  GET lesson (logged in)  {lesson.rps:8.1f} req/s  {lesson.statuses}  latency {lesson.latency} ms, "
                f"÷ healthz {fmt_shares(health, 'lesson')}")  # fmt: skip
            outline_path = f"/courses/{site.course}"
            outline = health.page("outline", lambda: page_turn(outline_path))
            say(f"  GET outline             {outline.rps:8.1f} req/s  {outline.statuses}, ÷ healthz "
                f"{fmt_shares(health, 'outline')}")  # fmt: skip
            quiz_path = f"/courses/{site.course}/quizzes/{site.quiz}"
            quiz_page = health.page("quiz", lambda: page_turn(quiz_path))
            say(f"  GET quiz page           {quiz_page.rps:8.1f} req/s  {quiz_page.statuses}, ÷ healthz "
                f"{fmt_shares(health, 'quiz')}")  # fmt: skip
            health.seconds = duration
            readers = [log_in(server, email, site) for email in site.readers]
            pairs = [(r, key) for key in site.lessons for r in range(len(readers))]
            health.run()  # the first view's "before": after the logins, whose password hashing the server did
            first_view = health.measure(
                "first_view",
                lambda: run_wrk(server.url + "/", duration, script=progress_script(site, readers, pairs, "GET")),
            )
            views_written, _done, _pairs = count_progress(app, site.readers)
            say(f"  GET a first view        {first_view.rps:8.1f} req/s  {first_view.statuses}, {views_written} rows")
            completion = health.measure(
                "completion",
                lambda: run_wrk(server.url + "/", duration, script=progress_script(site, readers, pairs, "POST")),
            )
            _views, completions_written, done = count_progress(app, site.readers)
            say(
                f"  POST mark complete      {completion.rps:8.1f} req/s  {completion.statuses}, "
                f"{completions_written} written"
            )
            repeat = progress_script(site, readers, done, "POST")
            again = health.measure("again", lambda: run_wrk(server.url + "/", duration, script=repeat))
            _views, still, _done = count_progress(app, site.readers)
            assert still == completions_written, (still, completions_written)
            say(f"  POST complete again     {again.rps:8.1f} req/s  {again.statuses}")
            # Logged in again: a browser keeps the cookie the app rewrites once a minute (its last-seen time, for the
            # idle timeout), wrk sends the one it was given, so a session older than a minute would be re-signed
            # and sent back with every request, which no browser makes the app do.
            sessions = [log_in(server, email, site) for email in site.emails]
            entries, keys = submission_bodies(app, site, sessions, per_learner=max(40, int(duration * 40)))
            submit = run_wrk(server.url + "/", duration, script=submissions_script(site, sessions, entries))
            say(f"  POST quiz submission    {submit.rps:8.1f} req/s  {submit.statuses}")
            attempts, distinct = count_attempts(app, keys)
            say(f"  attempts recorded: {attempts}, distinct (learner, key): {distinct}")
            say(f"  GET /healthz            {health.rps:8.1f} req/s (median of {len(health.runs)} runs)")
            later = submission_bodies(app, site, sessions, 80)[0]
            mixed_bodies = [[body for i, body in later if i == learner] for learner in (2, 3)]
            mixed, rss_curve = mixed_load(server, site, sessions[1:3], mixed_bodies, lesson.rps, mixed_count)
            workers = server.worker_pids()
            rss_after = [rss_kib(pid) / 1024 for pid in workers]
            pss_after = [pss_kib(pid) / 1024 for pid in workers]
            rss = ", ".join(f"{r:.1f}" for r in rss_after)
            say(f"  {mixed.requests} mixed requests ({mixed.statuses}); worker RSS {rss} MB")
            log = server.log()
            load_average = f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
        dispose(app)
    problems = [line for line in log.splitlines() if "[ERROR]" in line or "[CRITICAL]" in line]
    if problems:
        say(f"  !! {len(problems)} error lines in the server log, e.g.:\n    " + "\n    ".join(problems[:10]))
    generated = generated_load(engine, postgres)
    say(f"  generated course (1,000 lessons, 10,000 questions) loaded in {generated:.2f} s")
    return EngineResult(
        engine, lesson, submit, attempts, distinct, rss_booted, rss_after, pss_after, rss_curve, mixed,
        outline, quiz_page, first_view, views_written, completion, completions_written, again, site.real_load,
        site.real_reload, generated, load_average, health,
    )  # fmt: skip


def page_turn_seconds(duration: float) -> int:
    """A page turn's length: half a measure's, in whole seconds (wrk's unit), at least 2."""
    return max(2, math.ceil(duration / 2))


def fmt_shares(health: Health, page: str) -> str:
    return ", ".join(f"{share:.0f} %" for share in health.page_shares[page])


def mixed_load(
    server: Gunicorn, site: Site, sessions: list[LoggedIn], bodies: list[list[str]], rate: float, count: int
) -> tuple[WrkResult, list]:
    """At least `count` mixed requests, as wrk runs whose duration is estimated from the last run's rate
    (wrk is timed, not counted); the workers' RSS is sampled after each run."""
    total = WrkResult(0.0, 0, 0, {})
    curve = []
    while total.requests < count:
        seconds = min(60.0, max(2.0, 1.05 * (count - total.requests) / max(rate, 1.0)))
        # Each run starts again at the learners' first form: what they sent before comes back as a replay (its
        # result shown), never a key past the next one, which the server would refuse as a stale page.
        script = mixed_script(site, sessions, bodies, start=0)
        run = run_wrk(server.url + "/", seconds, script)
        rate = run.rps
        total.requests += run.requests
        total.bad += run.bad
        for status, n in run.statuses.items():
            total.statuses[status] = total.statuses.get(status, 0) + n
        curve.append((total.requests, [rss_kib(pid) / 1024 for pid in server.worker_pids()]))
    return total, curve


def pss_kib(pid: int) -> int:
    """Proportional set size: resident memory with the pages shared with other processes divided among them."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    raise ValueError(f"no Pss for {pid}")


def count_attempts(app, keys: set) -> tuple[int, int]:
    """Attempt rows of this run's submissions (`keys`: the (learner id, key) pairs sent), and how many distinct
    (learner, key) they carry."""
    from course.quiz.models import Attempt

    time.sleep(1)  # requests wrk gave up on at the end of its run may still be committing
    learners = sorted({user_id for user_id, _key in keys})
    with app.app_context():
        rows = db.session.execute(
            select(Attempt.user_id, Attempt.submission_key).where(Attempt.user_id.in_(learners))
        ).all()
    sent = [tuple(row) for row in rows if tuple(row) in keys]
    return len(sent), len(set(sent))


# -- a generated course ----------------------------------------------------------------------------------
def generate_course(root: Path) -> None:
    """A course in the content format (docs/content-format.md) of 1,000 lessons and 10,000 questions: 10 modules
    of 10 chapters of 10 lessons, each chapter with a quiz of 100 questions of every type. Lessons are about
    the size of the real course's (1–2 KB of Markdown), each with a diagram, a table, takeaways and, one in
    five, a workbook prompt."""
    course = root / "generated"
    course.mkdir(parents=True)
    (course / "course.yaml").write_text(
        "id: generated\ntitle: Generated course\nlanguage: en\nsummary: A course made by bench/load.py.\n"
    )
    n_lesson = n_question = 0
    for m in range(1, GENERATED["modules"] + 1):
        module = course / f"{m:02d}-module"
        module.mkdir()
        (module / "module.yaml").write_text(f"id: module-{m}\ntitle: Module {m}\n")
        for c in range(1, GENERATED["chapters"] + 1):
            chapter = module / f"{c:02d}-chapter"
            chapter.mkdir()
            (chapter / "chapter.yaml").write_text(f"id: chapter-{m}-{c}\ntitle: Chapter {m}.{c}\n")
            keys = []
            for n in range(1, GENERATED["lessons"] + 1):
                n_lesson += 1
                key = f"lesson-{n_lesson}"
                keys.append(key)
                (chapter / f"{n:02d}-lesson.md").write_text(_lesson(key, f"{m}.{c}.{n}", n_lesson))
            questions = []
            for q in range(GENERATED["questions"]):
                n_question += 1
                questions.append(_question(f"q-{n_question}", q, keys[q % len(keys)]))
            (chapter / "quiz.yaml").write_text(
                f"id: quiz-{m}-{c}\ntitle: Quiz {m}.{c}\npass_mark: 70\nquestions:\n" + "".join(questions)
            )
    assert (n_lesson, n_question) == (1000, 10000)


def _lesson(key: str, number: str, n: int) -> str:
    workbook = (
        f"workbook:\n  - id: wb-{n}\n    prompt: What does lesson {number} change in your plan?\n" if n % 5 == 0 else ""
    )
    paragraph = (
        f"Lesson {number} explains one idea a founder needs, with an example and its limits. A large model is "
        "defined by its scale: parameters, training data and compute. **Scale** has a cost, and a *startup* must "
        "choose where to spend it. "
    )
    return (
        f"---\nid: {key}\ntitle: {number} Generated lesson\ntakeaways:\n  - The first point of {number}.\n"
        f"  - The second point of {number}.\n{workbook}---\n\n{paragraph * 3}\n\n## Why it matters\n\n"
        f"{paragraph * 2}\n\n- a first item\n- a second item with `code`\n- a [link](https://example.com/{n})\n\n"
        "| option | cost | speed |\n|---|---|---|\n| rent | low | fast |\n| build | high | slow |\n\n"
        f"```mermaid\ngraph TD\n    A[Idea {n}] --> B[Model]\n    B --> C[Product]\n    C --> D[Market]\n```\n\n"
        f"{paragraph}\n"
    )


def _question(key: str, i: int, lesson: str) -> str:
    head = f"  - id: {key}\n    lesson: {lesson}\n    explanation: See the lesson, the answer follows from it.\n"
    kind = i % 4
    if kind == 0:
        return head + (
            "    type: single\n    prompt: Which one is right?\n    options:\n"
            "      - {id: a, text: The right one, correct: true}\n      - {id: b, text: A wrong one, correct: false}\n"
            "      - {id: c, text: Another wrong one, correct: false}\n"
        )
    if kind == 1:
        return head + (
            "    type: multiple\n    prompt: Which ones are right?\n    options:\n"
            "      - {id: a, text: Right, correct: true}\n      - {id: b, text: Also right, correct: true}\n"
            "      - {id: c, text: Wrong, correct: false}\n      - {id: d, text: Also wrong, correct: false}\n"
        )
    if kind == 2:
        return head + "    type: true_false\n    prompt: This statement is true.\n    answer: true\n"
    return head + "    type: short_text\n    prompt: Name the technique.\n    accepted: [fine-tuning, tuning]\n"


def generated_load(engine: str, postgres: str | None) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-generated-") as tmp, fresh_database(engine, postgres, "gen") as url:
        generate_course(Path(tmp))
        app = migrated_app(url)
        try:
            return timed_load(app, Path(tmp))
        finally:
            dispose(app)


# -- the report ------------------------------------------------------------------------------------------
def verdict(ok: bool) -> str:
    return "yes" if ok else "**no**"


def table(r: EngineResult) -> str:
    t = TARGETS
    page, progress = t["lesson_ratio"][r.engine], t["progress_ratio"]
    first_view = written_rate(r.first_view, r.views_written)
    completed = written_rate(r.completion, r.completions_written)
    rows = [
        (f"GET /healthz (median of {len(r.health.runs)} runs between the measures)", f"{r.health.rps:.0f} req/s",
         "—", "—"),
        ("GET a lesson page, logged in (its median turn)", f"{r.lesson.rps:.0f} req/s", "—", "—"),
        ("lesson ÷ healthz (median of its turns)", f"{r.ratio:.0f} % ({fmt_shares(r.health, 'lesson')})",
         f"≥ {page:.0f} %", verdict(r.ratio >= page)),
        ("GET the course outline (its median turn)", f"{r.outline.rps:.0f} req/s", "—", "—"),
        ("outline ÷ healthz (median of its turns)",
         f"{r.page_share('outline'):.0f} % ({fmt_shares(r.health, 'outline')})", f"≥ {page:.0f} %",
         verdict(r.page_share("outline") >= page)),
        ("GET a quiz page (its median turn)", f"{r.quiz_page.rps:.0f} req/s", "—", "—"),
        ("quiz page ÷ healthz (median of its turns)",
         f"{r.page_share('quiz'):.0f} % ({fmt_shares(r.health, 'quiz')})", f"≥ {page:.0f} %",
         verdict(r.page_share("quiz") >= page)),
        ("lesson page latency under 8 connections: p99 ÷ median",
         f"{r.lesson.latency['99']:.1f} ms ÷ {r.lesson.latency['50']:.1f} ms = {r.p99_over_median:.1f}×",
         f"≤ {t['p99_over_median']:.0f}×", verdict(r.p99_over_median <= t["p99_over_median"])),
        ("a first view of a lesson (recorded) ÷ healthz",
         f"{first_view:.0f} /s = {r.share('first_view', first_view):.0f} %",
         f"≥ {progress:.0f} %", verdict(r.share("first_view", first_view) >= progress)),
        ("mark complete, first time (recorded) ÷ healthz",
         f"{completed:.0f} /s = {r.share('completion', completed):.0f} %",
         f"≥ {progress:.0f} %", verdict(r.share("completion", completed) >= progress)),
        ("mark complete again (nothing written) ÷ healthz",
         f"{r.repeat_completion.rps:.0f} req/s = {r.share('again', r.repeat_completion.rps):.0f} %",
         f"≥ {progress:.0f} %", verdict(r.share("again", r.repeat_completion.rps) >= progress)),
        ("quiz submissions (recorded)", f"{r.submit.accepted:.0f} /s", f"≥ {t['submissions'][r.engine]:.0f} /s",
         verdict(r.submit.accepted >= t["submissions"][r.engine])),
        ("duplicate attempts (rows − distinct keys)", f"{r.attempts - r.distinct_keys} of {r.attempts}", "0",
         verdict(r.attempts == r.distinct_keys)),
        ("content load: the real course", f"{r.real_load:.2f} s", f"≤ {t['real_load']} s",
         verdict(r.real_load <= t["real_load"])),
        ("content load: 1,000 lessons, 10,000 questions", f"{r.generated_load:.2f} s", f"≤ {t['generated_load']:.0f} s",
         verdict(r.generated_load <= t["generated_load"])),
        (f"worker RSS after {r.mixed.requests:,} mixed requests", " / ".join(f"{m:.0f} MB" for m in r.rss_after),
         f"≤ {t['rss_mb']:.0f} MB", verdict(max(r.rss_after) <= t["rss_mb"])),
    ]  # fmt: skip
    lines = ["| measure | result | target | met |", "|---|---:|---:|:---:|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(lines)


def details(r: EngineResult) -> str:
    def status(w: WrkResult) -> str:
        return ", ".join(f"{k}: {v:,}" for k, v in sorted(w.statuses.items())) or "—"

    return (
        f"Responses — healthz (all runs): {', '.join(f'{k}: {v:,}' for k, v in sorted(r.health.statuses.items()))}; "
        f"lesson: {status(r.lesson)}; outline: {status(r.outline)}; "
        f"quiz page: {status(r.quiz_page)}; first views: {status(r.first_view)} ({r.views_written:,} rows written); "
        f"mark complete: {status(r.completion)} ({r.completions_written:,} lessons completed); mark complete "
        f"again: {status(r.repeat_completion)}; submissions: {status(r.submit)} "
        f"({r.attempts:,} attempts recorded for {r.distinct_keys:,} distinct keys); mixed: {status(r.mixed)}. "
        f"Lesson page latency: "
        + ", ".join(f"p{k} {v:.1f} ms" for k, v in sorted(r.lesson.latency.items(), key=lambda kv: int(kv[0])))
        + ". "
        f"Worker RSS just after boot: {' / '.join(f'{m:.0f} MB' for m in r.rss_booted)}; "
        f"during the mixed requests: "
        + ", ".join(f"{' / '.join(f'{m:.0f}' for m in rss)} MB after {n:,}" for n, rss in r.rss_curve)
        + ". "
        f"Worker PSS (shared pages divided among processes) after the mixed requests: "
        f"{' / '.join(f'{m:.0f} MB' for m in r.pss_after)}. "
        f"Loading the real course again with no changes: {r.real_reload:.2f} s. "
        f"Load average (1 min) around the HTTP measures: {r.load_average}."
    )


def machine() -> str:
    cpu = platform.machine()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split("\n")[0]  # noqa: S607
    return (
        f"{os.cpu_count()} CPU ({cpu}), Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"{platform.system()} {platform.release()}, {wrk_version.split(' Copyright')[0].strip()}"
    )


def code_version() -> str:
    """The commit measured, and whether the app's code differed from it (read-only git commands)."""

    def git(*args: str) -> str:
        return subprocess.run(  # noqa: S603
            ["git", *args],  # noqa: S607 - git from PATH, as a developer runs it
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        changed = git("diff", "--name-only", "HEAD", "--", "course", "templates", "migrations", "config.py")
    except (OSError, subprocess.CalledProcessError):
        return "an unknown commit"
    return f"commit {commit}" + (" with uncommitted changes to the app" if changed else "")


def section(r: EngineResult, command: str, duration: float) -> str:
    name = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[r.engine]
    return (
        f"## Load: {name}\n\n"
        f"<!-- bench/load.py: {r.engine} -->\n\n"
        f"Measured {date.today().isoformat()} at {code_version()} with `{command}` (from the repository root).\n\n"
        f"Machine: {machine()}. gunicorn with 2 sync workers, production configuration, on the same machine as "
        f"wrk (2 threads, 8 connections, {duration:g} s per measure; each page {PAGE_ROUNDS} turns of "
        f"{page_turn_seconds(duration)} s with the health check).\n\n"
        f"{table(r)}\n\n{details(r)}\n"
    )


SECTION = re.compile(r"## Load: [^\n]*\n\n<!-- bench/load\.py: (\w+) -->.*?(?=\n## |\Z)", re.S)


def write_docs(sections: dict[str, str]) -> None:
    """Replace this script's "Load: …" sections in docs/PERFORMANCE.md (or append them); nothing else changes."""
    path = ROOT / "docs" / "PERFORMANCE.md"
    body = path.read_text(encoding="utf-8") if path.exists() else "# Performance\n"
    for engine, text_ in sections.items():
        found = [m for m in SECTION.finditer(body) if m.group(1) == engine]
        if found:
            body = body[: found[0].start()] + text_.rstrip("\n") + "\n" + body[found[0].end() :]
        else:
            body = body.rstrip("\n") + "\n\n" + text_
    path.write_text(body.rstrip("\n") + "\n", encoding="utf-8")
    say(f"wrote {path.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", help="a PostgreSQL server URL: measure there too")
    parser.add_argument("--duration", type=float, default=10, help="seconds per wrk measure (default 10)")
    parser.add_argument("--mixed", type=int, default=MIXED_REQUESTS, help="mixed requests before measuring memory")
    parser.add_argument("--write-docs", action="store_true", help="write the results into docs/PERFORMANCE.md")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)  # quiet: Alembic's per-revision INFO lines
    # a SIGTERM (e.g. from `timeout`) unwinds like Ctrl-C: gunicorn is stopped and the databases dropped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: `apt-get install -y wrk` (Debian/Ubuntu), `brew install wrk` (macOS)")
    command = ".venv/bin/python bench/load.py" + (" --postgres URL" if args.postgres else "")
    command += f" --duration {args.duration:g}" + (f" --mixed {args.mixed}" if args.mixed != MIXED_REQUESTS else "")
    command += " --write-docs" if args.write_docs else ""
    engines = ["sqlite"] + (["postgresql"] if args.postgres else [])
    results = [bench_engine(engine, args.postgres, args.duration, args.mixed) for engine in engines]
    for r in results:
        say(f"\n{r.engine}\n{table(r)}\n{details(r)}")
    if args.write_docs:
        write_docs({r.engine: section(r, command, args.duration) for r in results})


if __name__ == "__main__":
    main()
