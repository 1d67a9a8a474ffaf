"""How many SQL statements a signed-in learner's requests run, on each engine: the round trips that a worker waits for.

    .venv/bin/python bench/statements.py [--postgres URL]

On a fresh database built by the migrations, with the real course and the load benchmark's learners
(bench/load.py `prepare`), through the Flask test client: the lesson page, the outline and the quiz page (asked
again, as a learner reads them), a first view of a lesson, a first "mark complete", and a quiz submission that is
not a first pass. Each is the median of five requests; BEGIN is not counted (COMMIT never is: it is not a
statement the engine is given), nor the statements of the submission's own quiz page; the rate-limit counter's one
statement is (it runs on the driver, outside SQLAlchemy). Prints one line per engine.
"""

from __future__ import annotations

import argparse
import logging
import re
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "tests")]

from databases import fresh_database, migrated_app  # noqa: E402
from load import PASSWORD, Site, prepare  # noqa: E402
from servers import NO_LIMITS  # noqa: E402
from sqlalchemy import event, select  # noqa: E402
from werkzeug.datastructures import MultiDict  # noqa: E402

from course.extensions import db  # noqa: E402

ROUNDS = 5
SUBMISSION_KEY = re.compile(r'name="submission_key"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="submission_key"')


class Counter:
    """The statements the app's engine runs (BEGIN, SAVEPOINT and RELEASE left out) since `reset`, and the
    rate-limit counter's, which runs on the driver itself (course.ratelimit._increment)."""

    def __init__(self, app) -> None:
        import course.ratelimit

        self.count = 0
        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", self._seen)
        increment = course.ratelimit._increment

        def counted(*args, **kwargs):
            self.count += 1
            return increment(*args, **kwargs)

        course.ratelimit._increment = counted

    def _seen(self, conn, cursor, statement, *args) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE")):
            self.count += 1

    def median(self, request: Callable[[int], object]) -> int:
        counts = []
        for i in range(ROUNDS):
            self.count = 0
            request(i)
            counts.append(self.count)
        return int(statistics.median(counts))


def logged_in(app, email: str):
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return client


def submission_form(app, client, site: Site) -> MultiDict:
    """The quiz page's form for the learner's next attempt, answered right (each option as that attempt's token)."""
    from course.accounts.models import User
    from course.content.models import Quiz
    from course.quiz.layout import layout

    page = client.get(f"/courses/{site.course}/quizzes/{site.quiz}").get_data(as_text=True)
    found = SUBMISSION_KEY.search(page)
    key = found.group(1) or found.group(2)
    with app.app_context():
        quiz = db.session.scalar(select(Quiz).where(Quiz.key == site.quiz))
        questions = {q.key: q for q in quiz.questions}
        user_id = db.session.scalar(select(User.id).where(User.email == site.emails[0]))
        shown = layout(user_id, quiz, key, secret=app.config["SECRET_KEY"].encode())
        pairs = [(k, shown.token(questions[k], v) if questions[k].options else v) for k, v in site.quiz_form]
        db.session.rollback()
    return MultiDict([*pairs, ("submission_key", key)])


def count(engine: str, postgres: str | None) -> dict[str, int]:
    with fresh_database(engine, postgres, "statements") as url:
        app = migrated_app(url, **NO_LIMITS, WTF_CSRF_ENABLED=False)
        site = prepare(app)
        counter = Counter(app)
        course = f"/courses/{site.course}"
        learner = logged_in(app, site.emails[0])
        readers = [logged_in(app, email) for email in site.readers[:ROUNDS]]
        first, second = (f"{course}/lessons/{key}" for key in site.lessons[:2])
        quiz = f"{course}/quizzes/{site.quiz}"
        learner.get(first)  # viewed: a page read again writes nothing
        for reader in readers:
            reader.get(first)  # what they read before: the first view of `second` credits its reading time
        result = {
            "lesson page": counter.median(lambda _: learner.get(first)),
            "outline": counter.median(lambda _: learner.get(course)),
            "quiz page": counter.median(lambda _: learner.get(quiz)),
            "first view": counter.median(lambda i: readers[i].get(second)),
            "first completion": counter.median(lambda i: readers[i].post(f"{second}/complete")),
        }
        learner.post(quiz, data=submission_form(app, learner, site))  # the first pass: the next ones are not

        def submit(_: int) -> None:
            form = submission_form(app, learner, site)
            counter.count = 0
            assert learner.post(quiz, data=form).status_code == 302

        counts = []
        for i in range(ROUNDS):
            submit(i)
            counts.append(counter.count)
        result["quiz submission"] = int(statistics.median(counts))
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", help="a PostgreSQL server URL: count there too")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    for engine in ["sqlite"] + (["postgresql"] if args.postgres else []):
        counts = count(engine, args.postgres)
        print(f"{engine}: " + ", ".join(f"{name} {n}" for name, n in counts.items()))


if __name__ == "__main__":
    main()
