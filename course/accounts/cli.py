"""`flask users create` and `flask users reset-mfa`."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from course.accounts import mfa
from course.accounts.emails import notify_two_step_login
from course.accounts.models import Role
from course.accounts.passwords import password_problem
from course.accounts.services import AccountError, create_user, find_user
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


@users_cli.command("reset-mfa")
@click.argument("email")
def reset_mfa_command(email: str) -> None:
    """Remove the account's two-step login (its authenticator app and recovery codes) and end its sessions: for
    someone who lost their phone. Staff set it up again at their next login."""
    user = find_user(email)
    if user is None:
        raise click.ClickException(f"no account with the email {email}")
    if not mfa.reset(user):
        click.echo(f"{user.email} has no two-step login: nothing to reset")
        return
    notify_two_step_login(user, "reset")
    db.session.commit()
    click.echo(f"two-step login of {user.email} reset: they set it up again at their next login")
