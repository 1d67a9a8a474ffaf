"""Links that leave the site — in an email, to share with learners — built from the configured PUBLIC_URL, never
from a request's Host or X-Forwarded-Host header (which a client chooses: a reset link must not point at a
host an attacker sent). Without PUBLIC_URL (development, tests), from the request as usual, or, outside a request
(the worker), from LOCAL_URL: where `make run` serves."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app, has_request_context, request, url_for


def external_url(endpoint: str, **values: Any) -> str:
    public = current_app.config.get("PUBLIC_URL")
    if not public and has_request_context():
        return url_for(endpoint, _external=True, **values)
    public = public or current_app.config["LOCAL_URL"]  # the worker, in development: no request to ask
    parts = urlsplit(public)
    adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme)
    return adapter.build(endpoint, values, force_external=True)


# endpoint → (the app and the application root it was built for, its URL)
_fixed: dict[str, tuple[tuple[Any, str], str]] = {}


def built_for() -> tuple[Any, str]:
    """What a URL kept by the process was built for: the app (a process may hold several) and the request's
    application root (another one behind a proxy's prefix)."""
    return (current_app._get_current_object(), request.script_root)  # type: ignore[attr-defined]


def fixed_url(endpoint: str) -> str:
    """`url_for(endpoint)` for an endpoint without arguments (the links in every page's header), built once while
    the process runs, for the app and application root of the request (again for another one)."""
    target = built_for()
    kept = _fixed.get(endpoint)
    if kept is not None and kept[0] == target:
        return kept[1]
    url = url_for(endpoint)
    _fixed[endpoint] = (target, url)
    return url
