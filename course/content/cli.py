"""`flask content check|load`."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from course.extensions import db
from course.i18n import speak_english

content_cli = AppGroup("content", help="Check and load the course content files.", callback=speak_english)


def _root(directory: str | None) -> Path:
    return Path(directory or current_app.config["CONTENT_DIR"])


@content_cli.command("check")
@click.argument("directory", required=False)
def check_command(directory: str | None) -> None:
    """Validate every content file; print each problem as file:line: message."""
    from course.content.parser import read_content  # the content pipeline is loaded by the CLI, not by web workers

    courses, problems, files = read_content(_root(directory))
    for problem in problems:
        click.echo(str(problem), err=True)
    for course in courses:
        for warning in course.warnings:
            click.echo(f"warning: {warning}", err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s) in {files} files", err=True)
        raise SystemExit(1)
    for course in courses:
        lessons = sum(1 for _ in course.lessons())
        chapters = sum(len(m.chapters) for m in course.modules)
        quizzes = [c.quiz for m in course.modules for c in m.chapters if c.quiz]
        questions = sum(len(q.spec.questions) for q in quizzes)
        click.echo(
            f"{course.spec.id}: {len(course.modules)} modules, {chapters} chapters, {lessons} lessons, "
            f"{len(quizzes)} quizzes, {questions} questions"
        )
    click.echo(f"ok: {files} files, no problems")


@content_cli.command("load")
@click.argument("directory", required=False)
@click.option("--dry-run", is_flag=True, help="Print the plan without changing the database.")
def load_command(directory: str | None, dry_run: bool) -> None:
    """Sync the content files into the database in one transaction and print the plan."""
    from course.content.services import load_content

    result = load_content(_root(directory), dry_run=dry_run, report=lambda line: click.echo(f"… {line}"))
    if result.applied:
        db.session.commit()
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if result.problems:
        for problem in result.problems:
            click.echo(str(problem), err=True)
        click.echo(f"{len(result.problems)} problem(s): nothing was loaded", err=True)
        raise SystemExit(1)
    assert result.plan is not None
    for line in result.plan.lines():
        click.echo(line)
    verb = "dry run, nothing written" if dry_run else "loaded"
    click.echo(f"{verb} in {result.seconds:.2f}s")


@content_cli.command("diagrams")
@click.argument("directory", required=False)
@click.option("--prune", is_flag=True, help="Delete the rendered files that no diagram of the content uses.")
def diagrams_command(directory: str | None, prune: bool) -> None:
    """Render every Mermaid diagram of the content to SVG, light and dark, into DIAGRAMS_DIR (needs Chromium and
    `make diagrams`' Mermaid); the files are committed with the content. A file already there is kept as it is (its
    URL is cached for good): to render them all again, change `RENDERER` in course/content/diagrams.py."""
    from course.content import diagram_render, diagrams  # the renderer drives a browser: only when asked

    target = diagrams.directory()
    sources = diagram_render.mermaid_sources(_root(directory), skip=target)
    try:
        report = diagram_render.render_all(sources, target, say=click.echo)
    except diagram_render.RenderError as exc:
        raise click.ClickException(str(exc)) from exc
    for path in report.unused:
        if prune:
            path.unlink()
        click.echo(f"{'deleted' if prune else 'unused'}: {path.name}")
    if report.unused and not prune:
        click.echo(f"{len(report.unused)} file(s) no diagram uses: `--prune` deletes them")
    click.echo(f"{len(sources)} diagrams: {len(report.rendered)} file(s) rendered, {report.kept} already there")
