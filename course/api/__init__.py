"""The JSON API at /api/v1 (OpenAPI 3.1), authenticated by personal access tokens."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the blueprint and its operations, exempt it from CSRF (it has no session), give /api requests no
    session (`auth.ApiSessionInterface`) and read their bearer token in flask-login's request loader."""
    from course.api.auth import ApiSessionInterface, load_api_user
    from course.api.blueprint import bp
    from course.extensions import csrf, login_manager

    csrf.exempt(bp)
    app.session_interface = ApiSessionInterface()
    login_manager.request_loader(load_api_user)  # answers None outside /api
    app.register_blueprint(bp)
