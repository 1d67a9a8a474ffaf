"""Pieces of HTML that many pages show, written in Python and given to every template as globals: a Jinja macro
call costs several times what these pieces cost to write (each page's header has two CSRF fields, the outline a
progress bar per module, a quiz page forty options). Everything put into them is escaped."""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable
from typing import Protocol

from flask import Flask, current_app, g, session
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape


def csrf_input(prefix: str | None = None) -> Markup:
    """The hidden CSRF field of a form written out in a template: named as a WTForms form with `prefix` names its
    token (`{prefix}-csrf_token`), holding the request's token."""
    name = escape(f"{prefix}-csrf_token" if prefix else "csrf_token")
    return Markup(f'<input type="hidden" name="{name}" value="{escape(csrf_token())}">')  # noqa: S704  # nosec B704


def csrf_token() -> str:
    """The request's CSRF token: flask-wtf's `generate_csrf()`, signed once a minute for a session rather than for
    every request (`_SIGNED`).

    flask-wtf signs the session's token with a timestamp for every request that writes a form (itsdangerous: a
    serializer built, an HMAC, base64; about a twentieth of a lesson page's own work). A copy signed up to a minute
    ago is as valid: it is checked against the same session token and key, and its age only matters with
    WTF_CSRF_TIME_LIMIT set (None here: a token lives as long as its session), which it would shorten by at most
    that minute. It is this request's token for flask-wtf too (`g`), so a WTForms form on the page carries the same."""
    config = current_app.config
    field = config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    token = g.get(field)
    if token is not None:
        return token
    raw, key = session.get(field), config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key
    if not isinstance(raw, str) or not key:
        return generate_csrf()  # a session's first token is made, and stored in it, by flask-wtf
    now = time.time()
    kept = _SIGNED.get((key, raw))
    if kept is not None and now - kept[0] < SIGNED_REUSED_SECONDS:
        setattr(g, field, kept[1])
        return kept[1]
    token = generate_csrf()
    if len(_SIGNED) >= _SIGNED_KEPT:
        _SIGNED.clear()
    _SIGNED[(key, raw)] = (now, token)
    return token


SIGNED_REUSED_SECONDS = 60
# (signing key, session token) → when the signed copy was made, and it; emptied past a few hundred sessions.
_SIGNED_KEPT = 256
_SIGNED: dict[tuple[str | bytes, str], tuple[float, str]] = {}


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
