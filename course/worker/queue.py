"""The worker's queue: one Huey instance, its storage chosen from the app's configuration when the app starts.

Huey keeps the queue of wake-ups and the schedule; the outbox (course/outbox) keeps the messages. A wake-up
lost with a killed worker, or never written because the queue was unreachable, loses nothing: the worker sweeps
the outbox every minute and delivers whatever is due.

Storage: WORKER_QUEUE_URL when set (redis://…, postgresql://…, sqlite:///path), else Redis when REDIS_URL is set,
else the app's own database (PostgreSQL; for SQLite, a file next to the database's).
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from huey import Huey
from huey.storage import MemoryStorage, PostgresStorage, RedisStorage, SqliteStorage
from sqlalchemy import make_url

huey = Huey("founder-course", storage_class=MemoryStorage, utc=True, results=False)
_state: dict[str, Any] = {"app": None, "storage_for": None}


def bind(app: Flask) -> Huey:
    """Point the queue at `app`'s storage (once per configuration) and remember the app the tasks run in."""
    _state["app"] = app
    url = queue_url(app.config)
    if _state["storage_for"] != url:
        storage_class, kwargs = storage_for(url)
        huey.storage_class, huey.storage_kwargs = storage_class, kwargs
        huey.storage = huey.create_storage()
        _state["storage_for"] = url
    return huey


def flask_app() -> Flask:
    app = _state["app"]
    if app is None:
        raise RuntimeError("the worker's queue is not bound to an app (course.worker.queue.bind)")
    return app


def queue_url(config) -> str:
    if config.get("WORKER_QUEUE_URL"):
        return config["WORKER_QUEUE_URL"]
    url = make_url(config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite":
        return f"sqlite:///{url.database}.queue" if url.database else "memory://"
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def storage_for(url: str) -> tuple[type, dict[str, Any]]:
    scheme = url.split(":", 1)[0]
    if scheme in ("redis", "rediss"):
        return RedisStorage, {"url": url}
    if scheme.startswith("postgres"):
        return PostgresStorage, {"dsn": url, "table_prefix": "worker_queue"}
    if scheme == "sqlite":
        return SqliteStorage, {"filename": url.removeprefix("sqlite:///")}
    return MemoryStorage, {}
