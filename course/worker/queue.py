"""The worker's queue: one Huey instance, its storage chosen from the app's configuration when the app starts.

Huey keeps the queue of wake-ups and the schedule; the outbox (course/outbox) keeps the messages. A wake-up
lost with a killed worker, or never written because the queue was unreachable, loses nothing: the worker sweeps
the outbox every minute and delivers whatever is due.

Storage: WORKER_QUEUE_URL when set (redis://…, postgresql://…, sqlite:///path), else Redis when REDIS_URL is set,
else the app's own database (PostgreSQL; for SQLite, a file next to the database's). The app's database through a
transaction pooler (DATABASE_POOLER=transaction) is polled rather than listened to (`storage_for`).
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
    url, pooled = queue_url(app.config), through_transaction_pooler(app.config)
    if _state["storage_for"] != (url, pooled):
        storage_class, kwargs = storage_for(url, pooled=pooled)
        huey.storage_class, huey.storage_kwargs = storage_class, kwargs
        huey.storage = huey.create_storage()
        _state["storage_for"] = (url, pooled)
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


def through_transaction_pooler(config) -> bool:
    """Whether the queue is the app's database reached through a transaction pooler (DATABASE_POOLER)."""
    return config.get("DATABASE_POOLER") == "transaction" and not config.get("WORKER_QUEUE_URL")


def storage_for(url: str, pooled: bool = False) -> tuple[type, dict[str, Any]]:
    scheme = url.split(":", 1)[0]
    if scheme in ("redis", "rediss"):
        return RedisStorage, {"url": url}
    if scheme.startswith("postgres"):
        if pooled:
            # Through a transaction pooler: no prepared statements (psycopg's are per server connection), and no
            # LISTEN — it would stay on a server connection other clients get, and the wake-ups go to them. The
            # worker polls instead (Huey's backoff, at most 10 s); WORKER_QUEUE_URL straight to the server keeps
            # LISTEN.
            return PostgresStorage, {
                "dsn": url, "table_prefix": "worker_queue", "blocking": False, "prepare_threshold": None,
            }  # fmt: skip
        return PostgresStorage, {"dsn": url, "table_prefix": "worker_queue"}
    if scheme == "sqlite":
        return SqliteStorage, {"filename": url.removeprefix("sqlite:///")}
    return MemoryStorage, {}
