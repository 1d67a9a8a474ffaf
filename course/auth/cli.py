"""`flask users create` and `flask demo accounts`."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from course.auth.models import Role
from course.auth.passwords import password_problem
from course.auth.services import AccountError, create_user, find_user
from course.cohorts.models import Cohort
from course.dashboard.demo import generate, generate_command
from course.extensions import db
from course.setup import speak_english

users_cli = AppGroup("users", help="Manage user accounts.", callback=speak_english)
demo_cli = AppGroup("demo", help="Demo data for trying the app.", callback=speak_english)
demo_cli.add_command(generate_command)

DEMO_ACCOUNTS = [
    ("learner@example.com", "Demo Learner", Role.LEARNER, "learner-demo-pass"),
    ("instructor@example.com", "Demo Instructor", Role.INSTRUCTOR, "instructor-demo-pass"),
    ("admin@example.com", "Demo Admin", Role.ADMIN, "admin-demo-pass"),
]


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.LEARNER.value, show_default=True)
@click.option("--name", default="", help="Display name (defaults to the part of the email before @).")
def create_user_command(email: str, role: str, name: str) -> None:
    """Create an account; the password is read from a prompt, or from stdin when piped."""
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\n")
    if problem := password_problem(password):
        raise click.ClickException(problem)
    try:
        user = create_user(email, password, name=name, role=role)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"created {user.email} ({user.role.value})")


@demo_cli.command("accounts")
@click.option("--cohort", is_flag=True, help="Also create a demo cohort of 60 learners, if there is no cohort yet.")
def demo_accounts_command(cohort: bool) -> None:
    """Create the demo learner, instructor and admin (if missing) and print how to log in."""
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        raise click.ClickException("demo accounts are not created in production")
    for email, name, role, password in DEMO_ACCOUNTS:
        if find_user(email) is None:
            create_user(email, password, name=name, role=role)
    db.session.commit()
    if cohort and db.session.scalar(select(func.count(Cohort.id))) == 0:
        result = generate(60, 1, None, 1, 0.6, "instructor@example.com")
        for cohort_id, name in result["cohorts"]:
            click.echo(f"Demo cohort “{name}” with 60 learners: /cohorts/{cohort_id}/dashboard")
    click.echo("Demo accounts (development only):")
    for email, _name, role, password in DEMO_ACCOUNTS:
        click.echo(f"  {role.value:<11} {email:<24} password: {password}")
