"""Pieces of HTML that many pages show, written in Python and given to every template as globals: a Jinja macro
call costs several times what these pieces cost to write (each page's header has two CSRF fields, the outline a
progress bar per module, a quiz page forty options). Everything put into them is escaped."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Protocol

from flask import Flask
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape


def csrf_input(prefix: str | None = None) -> Markup:
    """The hidden CSRF field of a form written out in a template: named as a WTForms form with `prefix` names its
    token (`{prefix}-csrf_token`), holding the request's token."""
    name = escape(f"{prefix}-csrf_token" if prefix else "csrf_token")
    return Markup(f'<input type="hidden" name="{name}" value="{escape(generate_csrf())}">')  # noqa: S704  # nosec B704


def progress_bar(percent: int, label: str) -> Markup:
    """A progress bar with its number as text, so it reads without colour or CSS."""
    percent, label = escape(percent), escape(label)
    return Markup(  # noqa: S704  # nosec B704 - both values escaped
        f'<div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="{percent}"'
        f' aria-label="{label}">\n'
        f'  <progress max="100" value="{percent}">{percent}%</progress>\n'
        f'  <span class="progress-text">{percent}%</span>\n'
        "</div>"
    )


class Choice(Protocol):
    token: str  # what the form sends for it
    text: str


def choice_inputs(kind: str, name: str, choices: Iterable[Choice], chosen: Collection[str], invalid: object) -> Markup:
    """A question's options, each an input of `kind` (radio, checkbox) named `name` with its label: the choices
    whose token is in `chosen` checked, every input marked invalid when `invalid` (the refusal's message) is set."""
    kind, name = escape(kind), escape(name)
    flags = ' aria-invalid="true"' if invalid else ""
    return Markup(  # noqa: S704  # nosec B704 - every value escaped
        "\n".join(
            f'<div class="option">\n'
            f'  <input type="{kind}" id="in-{name}-{i}" name="{name}" value="{escape(choice.token)}"'
            f"{' checked' if choice.token in chosen else ''}{flags}>\n"
            f'  <label for="in-{name}-{i}">{escape(choice.text)}</label>\n'
            "</div>"
            for i, choice in enumerate(choices, start=1)
        )
    )


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(csrf_input=csrf_input, progress_bar=progress_bar, choice_inputs=choice_inputs)
