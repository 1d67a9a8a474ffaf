"""`flask demo accounts` and `flask demo generate`: something to look at on a development machine."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from course.accounts.models import Role
from course.accounts.services import create_user, find_user
from course.cohorts.models import Cohort
from course.db_types import utcnow
from course.demo.generator import DEFAULT_RETENTION, DEMO_PASSWORD, generate
from course.extensions import db
from course.i18n import speak_english

demo_cli = AppGroup("demo", help="Demo data for trying the app.", callback=speak_english)

DEMO_ACCOUNTS = [
    ("learner@example.com", "Demo Learner", Role.LEARNER, "learner-demo-pass"),
    ("instructor@example.com", "Demo Instructor", Role.INSTRUCTOR, "instructor-demo-pass"),
    ("admin@example.com", "Demo Admin", Role.ADMIN, "admin-demo-pass"),
]


def _refuse_in_production(message: str) -> None:
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        raise click.ClickException(message)


@demo_cli.command("accounts")
@click.option("--cohort", is_flag=True, help="Also create a demo cohort of 60 learners, if there is no cohort yet.")
def demo_accounts_command(cohort: bool) -> None:
    """Create the demo learner, instructor and admin (if missing) and print how to log in."""
    _refuse_in_production("demo accounts are not created in production")
    for email, name, role, password in DEMO_ACCOUNTS:
        if find_user(email) is None:
            create_user(email, password, name=name, role=role)
    db.session.commit()
    if cohort and db.session.scalar(select(func.count(Cohort.id))) == 0:
        result = generate(60, 1, None, 1, DEFAULT_RETENTION, "instructor@example.com")
        db.session.commit()
        for cohort_id, name in result["cohorts"]:
            click.echo(f"Demo cohort “{name}” with 60 learners: /cohorts/{cohort_id}/dashboard")
    click.echo("Demo accounts (development only):")
    for email, _name, role, password in DEMO_ACCOUNTS:
        click.echo(f"  {role.value:<11} {email:<24} password: {password}")
    click.echo(
        "The instructor and the admin set up two-step login at their first login: scan the QR code (or type the key)"
        " into an authenticator app, then enter its 6-digit code. `flask --app course users reset-mfa EMAIL` undoes it."
    )


@demo_cli.command("generate")
@click.option(
    "--learners",
    type=click.IntRange(1, 200_000),
    default=200,
    show_default=True,
    help="Learners in all, spread evenly over the cohorts.",
)
@click.option("--cohorts", type=click.IntRange(1, 100), default=1, show_default=True)
@click.option("--course", "course_key", default=None, help="Course key (default: the first loaded course).")
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed: the same seed, the same data.")
@click.option(
    "--retention",
    type=click.FloatRange(0.0, 1.0),
    default=DEFAULT_RETENTION,
    show_default=True,
    help="How many learners keep going to the end (1.0: nobody drops out).",
)
@click.option(
    "--weeks-ago",
    type=click.IntRange(0, 52),
    default=None,
    help="Start every cohort this many weeks ago (default: staggered, 3 to 12 weeks ago).",
)
@click.option(
    "--instructor",
    "instructor_email",
    default="instructor@example.com",
    show_default=True,
    help="Instructor who teaches the demo cohorts (if the account exists).",
)
def generate_command(
    learners: int,
    cohorts: int,
    course_key: str | None,
    seed: int,
    retention: float,
    weeks_ago: int | None,
    instructor_email: str,
) -> None:
    """Generate demo cohorts with learners, progress, quiz attempts, workbook answers and spaced reviews."""
    _refuse_in_production("demo data is not generated in production")
    if cohorts > learners:
        raise click.ClickException("--cohorts cannot exceed --learners")
    started = utcnow()
    result = generate(learners, cohorts, course_key, seed, retention, instructor_email, weeks_ago)
    db.session.commit()
    seconds = (utcnow() - started).total_seconds()
    click.echo(
        f"{result['learners']} learners, {result['progress']} lesson progress rows, {result['review_cards']} review"
        f" cards in {seconds:.1f}s"
    )
    for cohort_id, name in result["cohorts"]:
        click.echo(f"  cohort {cohort_id}: {name} — dashboard at /cohorts/{cohort_id}/dashboard")
    if not result["instructor"]:
        click.echo(f"  ({instructor_email} does not exist: only admins see these cohorts)")
    click.echo(f"  demo learners log in with the password {DEMO_PASSWORD!r}")
