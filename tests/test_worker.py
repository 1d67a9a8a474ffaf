"""The worker as it runs in production: `flask --app course worker`, a separate process, delivering the outbox to a
real SMTP server (tests/mailbox.py). Killed with SIGKILL in the middle of a delivery, it loses nothing and sends
nothing twice once it is started again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from contextlib import contextmanager
from mailbox import SmtpServer

import pytest
from conftest import ROOT
from sqlalchemy import func, select

from course.extensions import db as _db
from course.outbox.kinds import Kind
from course.outbox.messages import enqueue
from course.outbox.models import OutboxMessage

LEASE_SECONDS = 1


@contextmanager
def worker(database_url: str, smtp_port: int, public_url: str = "http://localhost"):
    """The worker in its own process (and process group), as `make run` and production start it; `.kill_hard()`
    kills it with SIGKILL, as a crash or the out-of-memory killer would."""
    env = {
        **os.environ,
        "FOUNDER_COURSE_ENV": "testing",
        "TEST_DATABASE_URL": database_url,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_port),
        "OUTBOX_IMMEDIATE": "0",
        "OUTBOX_LEASE_SECONDS": str(LEASE_SECONDS),
        "PUBLIC_URL": public_url,
    }
    process = subprocess.Popen(
        # --no-notices: a test writes the scheduled notices when it wants them; a quarter hour passing mid-test
        # must not add a digest of its own
        [sys.executable, "-m", "flask", "--app", "course", "worker", "--no-notices"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )

    def kill_hard() -> None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    process.kill_hard = kill_hard
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        process.stderr.close()


def statuses(app) -> Counter:
    with app.app_context():
        rows = _db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
        return Counter(dict(rows.all()))


@pytest.fixture
def learners(app, make_user):
    return [make_user(email=f"learner{n}@example.com", name=f"Learner {n}") for n in range(1, 7)]


def write_messages(app, learners) -> None:
    """Six messages, written (as the web app writes them) while no worker runs."""
    app.config.update(OUTBOX_IMMEDIATE=False)
    with app.test_request_context(method="POST"):
        for learner in learners:
            enqueue(event_key=f"test:{learner.id}", kind=Kind.RELEASE, recipient=learner, template="test_probe")
        _db.session.commit()


def test_a_worker_killed_mid_delivery_loses_nothing_and_sends_nothing_twice(app, database_url, learners):
    with SmtpServer() as server:
        mailbox = server.mailbox
        mailbox.hold_at = 3  # the third delivery waits at RCPT: the worker is killed there
        write_messages(app, learners)
        with worker(database_url, server.port) as first:
            assert mailbox.held.wait(timeout=60), first.stderr.read1().decode()
            first.kill_hard()
        mailbox.release.set()
        assert [m["To"] for m in mailbox.messages] == ["learner1@example.com", "learner2@example.com"]
        assert statuses(app) == Counter({"pending": 3, "sent": 2, "sending": 1})  # the third: claimed, not sent

        time.sleep(LEASE_SECONDS + 0.2)  # the dead worker's claim runs out
        with worker(database_url, server.port) as second:
            delivered = mailbox.wait_for(6)
            assert len(delivered) == 6, second.stderr.read1().decode()
            time.sleep(0.5)  # anything sent twice would arrive now
        assert Counter(m["To"] for m in mailbox.messages) == Counter(f"{u.email}" for u in learners)
        assert len({m["Message-ID"] for m in mailbox.messages}) == 6
    assert statuses(app) == Counter({"sent": 6})
    with app.app_context():
        attempts = dict(_db.session.execute(select(OutboxMessage.to_address, OutboxMessage.attempts)).all())
    assert attempts["learner3@example.com"] == 2 and attempts["learner4@example.com"] == 1


def test_a_web_worker_holds_no_queue_library_until_it_sends_mail():
    """Huey imports the drivers of every queue it supports (psycopg, redis): about 30 MB a web worker on SQLite
    would hold without sending a single email. It is loaded at the first wake-up instead (course/worker/wake.py),
    and icalendar at the first calendar feed."""
    probe = (
        "import sys; from course.wsgi import app; "
        "print(sorted(m for m in ('huey', 'psycopg', 'redis', 'icalendar') if m in sys.modules))"
    )
    env = {**os.environ, "FOUNDER_COURSE_ENV": "development", "DATABASE_URL": "sqlite://"}
    env.pop("REDIS_URL", None)
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
