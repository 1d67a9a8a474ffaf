"""Every error under /api as an RFC 9457 problem: `application/problem+json` with type, title, status and detail,
never an HTML page. The app's error handlers (`course/app.py`) hand an /api request's errors here."""

from __future__ import annotations

import json
from typing import Any, NoReturn

from flask import Response, abort, request
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

PROBLEM_JSON = "application/problem+json"
PREFIX = "/api"


def is_api_path(path: str) -> bool:
    """/api and everything under it (with or without a trailing slash), but not /apis or /api-docs."""
    return path == PREFIX or path.startswith(PREFIX + "/")


def is_api_request() -> bool:
    return is_api_path(request.path)


def problem(
    status: int,
    detail: str = "",
    *,
    slug: str | None = None,
    headers: dict[str, str] | list[tuple[str, str]] | None = None,
    **extensions: Any,
) -> Response:
    """A problem response. `slug` names a problem type of this API (`urn:founder-course:problem:<slug>`, listed in
    docs/API.md); without one the type is `about:blank` and the title is the status's own phrase."""
    body = {
        "type": f"urn:founder-course:problem:{slug}" if slug else "about:blank",
        "title": HTTP_STATUS_CODES.get(status, "Error"),
        "status": status,
        "detail": detail or HTTP_STATUS_CODES.get(status, "Error"),
        **extensions,
    }
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_JSON)
    for name, value in headers.items() if isinstance(headers, dict) else headers or []:
        response.headers[name] = value
    response.headers["Cache-Control"] = "no-store"
    return response


def fail(status: int, detail: str = "", **kwargs: Any) -> NoReturn:
    """Stop the request with a problem response."""
    abort(problem(status, detail, **kwargs))


def from_http_error(error: HTTPException) -> Response:
    """A Werkzeug error (routing's 404 and 405, a 429 from the limiter, an abort) as a problem, its headers kept
    (Allow, Retry-After) but not its content type."""
    code = error.code or 500
    detail = error.description if error.description != type(error).description else ""
    headers = [(name, value) for name, value in error.get_headers() if name.lower() != "content-type"]
    return problem(code, detail, headers=headers)


def server_error() -> Response:
    return problem(500, "Something went wrong on our side. It has been logged.")
