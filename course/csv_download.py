"""CSV downloads, streamed: rows are written as they are read from the database, so a large export starts at once
and never sits whole in memory. Used by the dashboard's exports and the admins' audit log.

UTF-8 with a byte-order mark, so Excel opens Chinese names correctly; text that a spreadsheet would run as a
formula (starting with = + - @ or a tab/CR) is prefixed with an apostrophe (OWASP "CSV injection"). Values are
the reader's, as the pages show them: times in their time zone (the one the pages use) as ISO 8601 with the
offset, e.g. 2026-12-04T22:09:08+08:00 (a column's header names the zone: `time_zone_name`), yes and no in
their language. Cells are made while the response streams, inside the request's context.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from flask import Response, stream_with_context
from flask_babel import get_timezone, to_user_timezone
from flask_babel import gettext as _

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FLUSH_BYTES = 16 * 1024


def cell(value: Any) -> Any:
    """A value as it should appear in a CSV cell. Numbers are written as given: an export rounds what it writes
    as its page rounds it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, datetime):
        return to_user_timezone(value).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def time_zone_name() -> str:
    """The zone `cell` writes times in (the reader's, e.g. "Asia/Shanghai"), for the headers of time columns."""
    return str(get_timezone())


def csv_lines(header: list[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """The CSV text, BOM first, in chunks of about FLUSH_BYTES."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell(v) for v in row])
        if buffer.tell() >= FLUSH_BYTES:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_response(filename: str, header: list[str], rows: Iterable[Iterable[Any]]) -> Response:
    """A streamed CSV download. `rows` is consumed lazily, inside the request's context."""
    response = Response(stream_with_context(csv_lines(header, rows)), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = content_disposition(filename)
    response.headers["Cache-Control"] = "no-store"
    return response


def content_disposition(filename: str) -> str:
    """attachment with an ASCII fallback name and the exact UTF-8 name (RFC 6266 / RFC 5987)."""
    fallback = re.sub(r"-{2,}", "-", re.sub(r"[^A-Za-z0-9._-]+", "-", filename)).strip("-") or "export.csv"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"
