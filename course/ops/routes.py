"""Operations: the health check a load balancer polls, and the icon browsers ask for on their own."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import select, text

from course.content.models import Course
from course.extensions import csrf, db

bp = Blueprint("ops", __name__)


@bp.route("/healthz")
@csrf.exempt
def healthz():
    """200 with the content version of every course when the database answers; 503 otherwise."""
    try:
        db.session.execute(text("SELECT 1"))
        versions = dict(
            db.session.execute(select(Course.key, Course.content_version).where(Course.archived_at.is_(None))).all()
        )
    except Exception:
        db.session.rollback()
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok", content=versions)


@bp.route("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico whatever the page links: the icon, not a 404 page."""
    return current_app.send_static_file("favicon.ico")
