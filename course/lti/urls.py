"""Which addresses the tool may call: https only (http on loopback only in tests and development), checked without
loading the HTTP and LTI libraries, so that the pages and forms that check an address leave them out of a web
worker until it talks to a platform (`course/lti/http.py`)."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from flask import current_app

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def http_allowed() -> bool:
    return bool(current_app.testing or current_app.config["LTI_ALLOW_HTTP_LOOPBACK"])


def is_web_url(url: str, *, allow_loopback_http: bool) -> bool:
    """https with a host, or http to a loopback host when `allow_loopback_http`."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return False
    if not host:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and allow_loopback_http and host in LOOPBACK)


def host_allowed(host: str, allowed: Iterable[str]) -> bool:
    return any(host == name or (name.startswith(".") and host.endswith(name)) for name in allowed)
