"""`flask static build`: the static files under their hashed names, compressed (course/ops/static.py)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from course.i18n import speak_english

static_cli = AppGroup("static", help="Prepare the static files for serving.", callback=speak_english)


@static_cli.command("build")
def build_command() -> None:
    """Copy each static file and rendered diagram to its content-hashed name in STATIC_BUILD_DIR, with gzip and
    brotli copies, and write the manifest the app links them by."""
    from course.ops.static import build

    target = Path(current_app.config["STATIC_BUILD_DIR"])
    files = build(Path(current_app.static_folder or ""), Path(current_app.config["DIAGRAMS_DIR"]), target)
    click.echo(f"{len(files)} static files and the rendered diagrams built into {target}")
