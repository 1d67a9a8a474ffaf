"""The API's blueprint at /api/v1: every request authenticated by its bearer token (`auth.py`), every successful
read given an ETag (`http.py`). CSRF-exempt because it has no session: a cookie alone is a 401."""

from __future__ import annotations

from flask import Blueprint

from course.api.auth import authenticate
from course.api.http import add_etag
from course.api.routes import add_routes

bp = Blueprint("api", __name__, url_prefix="/api/v1")
bp.before_request(authenticate)
bp.after_request(add_etag)
add_routes(bp)  # every operation's rule; its view (docs_routes, learner_routes, staff_routes) loaded at first use
