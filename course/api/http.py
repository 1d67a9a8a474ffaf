"""What every list and every read shares: pages with a bounded size and a link to the next one, ETags with
`If-None-Match` → 304, and the content language asked for."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Response, request, url_for
from sqlalchemy import Select, func, select

from course.content.i18n import content_language_for
from course.extensions import db


def page_of(query: Select, page: int, per_page: int) -> tuple[list[Any], dict[str, Any]]:
    """One page of `query`'s rows (it must be ordered), and the page's fields: page, per_page, total, next."""
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = list(db.session.execute(query.limit(per_page).offset((page - 1) * per_page)).all())
    return rows, page_fields(page, per_page, total)


def page_fields(page: int, per_page: int, total: int) -> dict[str, Any]:
    following = None
    if page * per_page < total:
        args = {**request.view_args, **request.args.to_dict(), "page": page + 1, "per_page": per_page}
        following = url_for(request.endpoint, **args)
    return {"page": page, "per_page": per_page, "total": total, "next": following}


def add_etag(response: Response) -> Response:
    """The blueprint's `after_request`: a successful read gets a strong ETag of its body, and is a 304 when the
    client already has it. Its body is private (the caller's data): no shared cache keeps it."""
    if request.method not in ("GET", "HEAD") or response.status_code != 200 or response.direct_passthrough:
        return response
    response.set_etag(hashlib.sha256(response.get_data()).hexdigest()[:32])
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Vary"] = "Authorization, Accept-Language"
    return response.make_conditional(request)


def content_language(lang: str | None) -> str:
    """The content language asked for: `?lang=`, else the Accept-Language header; "en", or "" for the course's
    own language."""
    if lang:
        return content_language_for(lang.replace("_", "-").lower())
    best = request.accept_languages.best_match(["en", "zh-Hans", "zh"])
    return content_language_for(best or "")
