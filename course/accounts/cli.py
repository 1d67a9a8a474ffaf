"""`flask users create`."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from course.accounts.models import Role
from course.accounts.passwords import password_problem
from course.accounts.services import AccountError, create_user
from course.extensions import db
from course.i18n import speak_english

users_cli = AppGroup("users", help="Manage user accounts.", callback=speak_english)


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
