"""Structured request logs: one JSON line per request, with a request id that is echoed to the client."""

from __future__ import annotations

import json
import logging
import secrets
import sys
import time

from flask import Flask, g, request

log = logging.getLogger("course.request")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update(getattr(record, "fields", {}))
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)


# URL parts that work as a key (a password link's token, an invite code): a log line names the route instead.
SECRET_PARTS = frozenset({"token", "code"})


def logged_path() -> str:
    """The request's path, with the values of secret URL parts replaced by their names (`<token>`)."""
    path = request.path
    for name, value in (request.view_args or {}).items():
        if name in SECRET_PARTS and value:
            path = path.replace(str(value), f"<{name}>")
    return path


def init_request_logging(app: Flask) -> None:
    if app.config.get("REQUEST_LOG") and not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False

    @app.before_request
    def start_timer() -> None:
        g.request_started = time.perf_counter()
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if 0 < len(incoming) <= 64 and incoming.isascii() else secrets.token_hex(8)

    @app.after_request
    def log_request(response):
        started = g.pop("request_started", None)
        response.headers["X-Request-ID"] = g.get("request_id", "")
        if started is not None and app.config.get("REQUEST_LOG"):
            # the request's user if it loaded one; none is loaded here (the database may be down)
            user = g.get("_login_user")
            user_id = user.get_id_number() if user is not None and user.is_authenticated else None
            log.info(
                "request",
                extra={
                    "fields": {
                        "request_id": g.get("request_id"),
                        "method": request.method,
                        "path": logged_path(),
                        "status": response.status_code,
                        "ms": round((time.perf_counter() - started) * 1000, 1),
                        "user_id": user_id,
                        "remote": request.remote_addr,
                    }
                },
            )
        return response
