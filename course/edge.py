"""What every request must be to reach a view: no control characters in its path, its query or its form.

Checked once, for every route, before any view or database sees the values: PostgreSQL refuses a NUL byte in
text (a 500 where it reached a query), and no text with control characters is ever stored. Form values may
hold line breaks and tabs (a textarea); nothing else may. An upload's contents are the importer's to check.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NoReturn

from flask import abort, request
from flask_babel import gettext as _

# C0 and C1 controls and DEL; form values may keep \t \n \r.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def has_control_characters(text: str, *, multiline: bool = False) -> bool:
    return bool((CONTROL_IN_TEXT if multiline else CONTROL).search(text))


def _any(values: Iterable[str], *, multiline: bool = False) -> bool:
    return any(has_control_characters(value, multiline=multiline) for value in values)


def refuse_control_characters() -> None:
    """A before-request hook: 404 for a path with a control character (no page has such a name), 400 for a
    query or form that holds one."""
    if has_control_characters(request.path):
        abort(404)
    args = request.args
    if _any(args.keys()) or _any(args.values()):
        _refuse()
    if request.method in ("POST", "PUT", "PATCH") and request.mimetype in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        form, files = request.form, request.files
        if _any(form.keys()) or _any(form.values(), multiline=True):
            _refuse()
        if _any(files.keys()) or _any(upload.filename or "" for upload in files.values()):
            _refuse()


def _refuse() -> NoReturn:
    """400, in the reader's language (translated only then: a request without control characters needs no text)."""
    abort(
        400,
        description=_("The request contains characters that are not allowed (control characters). Nothing was saved."),
    )
