"""JSON documents as responses: the issuer's public documents (`routes.py`) and a learner's credential downloaded
from the summary and verification pages (`course/learn/summary.py`)."""

from __future__ import annotations

import json
from typing import Any

from flask import Response


def json_response(
    document: dict[str, Any], mimetype: str = "application/json", filename: str | None = None
) -> Response:
    """A JSON document as it is stored (its keys in their order), as a download when given a file name."""
    response = Response(json.dumps(document, ensure_ascii=False, indent=2) + "\n", mimetype=mimetype)
    if filename:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
