"""The API's blueprint at /api/v1: every request authenticated by its bearer token (`auth.py`), every successful
read given an ETag (`http.py`). CSRF-exempt because it has no session: a cookie alone is a 401."""

from __future__ import annotations

from flask import Blueprint

from course.api.auth import authenticate
from course.api.http import add_etag

bp = Blueprint("api", __name__, url_prefix="/api/v1")
bp.before_request(authenticate)
bp.after_request(add_etag)
