"""`flask badges keygen [--rotate]` (the signing key; rotated, the old one is retired but still listed in the did:web
DID document) and `flask badges issue` (the credentials of completions that have none yet, and those a rename could
not sign again)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from course.badges.identity import method_id, web_did
from course.badges.issuing import issue_missing, resign_renamed
from course.badges.keys import generate, has_current_key, key_dir, key_names
from course.extensions import db
from course.i18n import speak_english

badges_cli = AppGroup("badges", help="Open Badges credentials: the signing key, issuing.", callback=speak_english)


@badges_cli.command("keygen")
@click.option("--rotate", is_flag=True, help="Replace the current key (which is retired, still listed).")
def keygen_command(rotate: bool) -> None:
    """Make the Ed25519 signing key, or with --rotate a new one that becomes current. A rotated-out key is retired:
    its private half is deleted, its public half stays in the DID document, so what it signed still verifies."""
    retired = key_names()
    if has_current_key() and not rotate:
        raise click.ClickException("there is a signing key already: `flask badges keygen --rotate` replaces it")
    if has_current_key() and web_did() is None:
        raise click.ClickException(
            "rotation needs a did:web issuer (an https PUBLIC_URL): with a did:key each key is its own issuer, "
            "so the credentials the old key signed would no longer match the status list"
        )
    name = generate()
    click.echo(f"new signing key {name} in {key_dir()}")
    click.echo(f"verification method: {method_id(name)}")
    if retired:
        click.echo(f"retired (still listed, no longer signing): {', '.join(retired)}")


@badges_cli.command("issue")
def issue_command() -> None:
    """Issue the credentials of completions that have none (completed before there was a signing key, or while it
    could not sign), and sign again those that still carry a learner's old name."""
    issued = issue_missing()
    renamed = resign_renamed()
    db.session.commit()
    click.echo(f"issued {issued} credentials; signed {renamed} again with a corrected name")
