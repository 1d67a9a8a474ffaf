"""`flask lti …`: make the tool's RSA key, post the scores waiting for the platforms."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from course.i18n import speak_english
from course.lti import grades, keys

lti_cli = AppGroup(
    "lti", help="LTI 1.3: the tool's key and the grades sent back to LMS platforms.", callback=speak_english
)


@lti_cli.command("keygen")
@click.option("--force", is_flag=True, help="Replace the existing key (platforms must fetch the new JWKS).")
def keygen(force: bool) -> None:
    """Make the tool's RSA key in LTI_KEY_DIR (outside the database)."""
    directory = Path(current_app.config["LTI_KEY_DIR"])
    try:
        path = keys.generate(directory, overwrite=force)
    except FileExistsError:
        raise click.ClickException(f"{directory / keys.PRIVATE_FILE} exists; use --force to replace it") from None
    click.echo(f"LTI key written to {path}")


@lti_cli.command("deliver")
def deliver() -> None:
    """Post the scores that are due to the platforms' line items."""
    result = grades.deliver_due()
    click.echo(f"{result.sent} sent, {result.retried} to retry, {result.failed} failed")
