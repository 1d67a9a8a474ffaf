"""Time the outbox: writing a cohort's worth of emails, and delivering them to an SMTP server.

    .venv/bin/python bench/outbox.py [--messages 1000] [--postgres URL] [--write-docs]

For each engine (SQLite always; PostgreSQL when --postgres names a server): a fresh database built by the
migrations, --messages learners, then
- write: one announcement-sized email per learner with `enqueue` (rendered from its templates, text and HTML,
  in the learner's language: half zh_Hans, half en) in one transaction, as an instructor's post does;
- deliver: `deliver_due` (what the worker runs) hands them to a local SMTP server (aiosmtpd, on loopback, which
  keeps nothing), one claim and one commit per message over one SMTP connection.
Reported: messages per second for each step, and the PostgreSQL / SQLite ratio. With --write-docs the table and
the command go into docs/PERFORMANCE.md, section "Email outbox" (between two marker comments).
"""

from __future__ import annotations

import argparse
import platform
import socket
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from aiosmtpd.controller import Controller  # noqa: E402
from databases import fresh_database, migrated_app  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from course.accounts.models import User  # noqa: E402
from course.extensions import db  # noqa: E402
from course.outbox.delivery import deliver_due  # noqa: E402
from course.outbox.kinds import Kind  # noqa: E402
from course.outbox.messages import enqueue  # noqa: E402
from course.outbox.models import OutboxMessage  # noqa: E402

DOCS = ROOT / "docs" / "PERFORMANCE.md"
BODY = "Hello,\n\nRead chapter 2 before Thursday: https://course.example.org/courses/ai-founder-global"
START, END = "<!-- bench/outbox.py: start -->", "<!-- bench/outbox.py: end -->"


class Sink:
    """An SMTP server that accepts every message and counts it."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def measure(engine: str, postgres: str | None, messages: int, port: int) -> tuple[float, float]:
    with fresh_database(engine, postgres, "outbox") as url:
        app = migrated_app(url, MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False, MAIL_TO_CONSOLE=False,
                           PUBLIC_URL="https://course.example.org")  # fmt: skip
        with app.app_context():
            rows = [
                {"email": f"learner{n}@example.com", "name": f"Learner {n}", "password_hash": "!",
                 "role": "learner", "session_token": f"t{n}", "active": True,
                 "language": "zh_Hans" if n % 2 else "en"}
                for n in range(messages)
            ]  # fmt: skip
            db.session.execute(insert(User), rows)
            db.session.commit()
            learners = db.session.scalars(select(User).order_by(User.id)).all()
        with app.test_request_context(method="POST"):
            started = time.perf_counter()
            for learner in learners:
                enqueue(event_key=f"bench:{learner.id}", kind=Kind.ANNOUNCEMENT, recipient=learner,
                        template="notice", subject="Week 3: office hours", body=BODY)  # fmt: skip
            db.session.info.pop("outbox_new", None)  # measured below, not delivered at the commit
            db.session.commit()
            written = time.perf_counter() - started
        with app.app_context():
            started = time.perf_counter()
            sent = 0
            while (batch := deliver_due(limit=500).sent) > 0:
                sent += batch
            delivered = time.perf_counter() - started
            assert sent == messages, (sent, messages)
            left = db.session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent")
            )
            assert left == 0
            db.session.remove()
            db.engine.dispose()
        return messages / written, messages / delivered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument(
        "--postgres", help="a PostgreSQL server URL, e.g. postgresql+psycopg://postgres@127.0.0.1/postgres"
    )
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    sink, port = Sink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        results = {"SQLite": measure("sqlite", None, args.messages, port)}
        if args.postgres:
            results["PostgreSQL"] = measure("postgresql", args.postgres, args.messages, port)
    finally:
        controller.stop()
    lines = [
        f"{args.messages:,} messages, one per learner; {platform.machine()}, Python {platform.python_version()}.",
        "",
        "| engine | written (messages/s, rendered in two languages) | delivered to SMTP (messages/s) |",
        "|---|---:|---:|",
    ]
    for engine, (write, deliver) in results.items():
        lines.append(f"| {engine} | {write:,.0f} | {deliver:,.0f} |")
    if "PostgreSQL" in results:
        (sw, sd), (pw, pd) = results["SQLite"], results["PostgreSQL"]
        lines.append(f"| PostgreSQL / SQLite | {pw / sw:.2f} | {pd / sd:.2f} |")
    command = "    .venv/bin/python bench/outbox.py" + (" --postgres URL" if args.postgres else "")
    table = "\n".join(lines)
    print(table)
    if args.write_docs:
        text = DOCS.read_text(encoding="utf-8")
        block = f"{START}\n{command}\n\n{table}\n{END}"
        if START in text:
            text = text[: text.index(START)] + block + text[text.index(END) + len(END) :]
        else:
            text = text.rstrip("\n") + "\n\n## Email outbox\n\n" + block + "\n"
        DOCS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
