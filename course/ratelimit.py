"""Rate limits shared by every instance: Flask-Limiter, stored in Redis when REDIS_URL is set, else in the
app's own database (the `fcsql://` storage below) — never in one process's memory.

Limits (config): login and registration per client address, quiz submissions and CSV uploads per user, and
failed logins per account (reserved before each password check and given back when it was right, keyed by the
email typed, so an unknown email is throttled exactly like a known one); JSON API requests per user and failed
API token lookups per client address.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import time

from flask import current_app, g, has_request_context, request
from flask_login import current_user
from limits import parse
from limits.storage import Storage
from sqlalchemy import Engine, Float, Integer, String, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from course.extensions import db, limiter
from course.sql import writers_turn


class RateLimitCounter(db.Model):
    """A fixed-window counter: `count` hits until `expires_at` (epoch seconds). UNLOGGED on PostgreSQL (migration
    0024): no write-ahead log, so counting a request waits for no disk flush; a crash of the server empties it."""

    __tablename__ = "rate_limit_counter"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[float] = mapped_column(Float, index=True)


class SQLStorage(Storage):
    """A `limits` storage in the application database, on its own connection, so a counter survives the
    rollback of the request that hit it. Only the fixed-window strategy is supported."""

    STORAGE_SCHEME = ["fcsql"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: object) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> tuple[type[Exception], ...]:
        return (SQLAlchemyError, db.engine.dialect.loaded_dbapi.Error)  # `_increment` runs on the driver itself

    @staticmethod
    def _engine():
        engine = db.engine
        if engine.dialect.name == "sqlite" or current_app.config.get("DATABASE_POOLER") == "transaction":
            _release_request_transaction()
        return engine

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        engine = self._engine()
        params = {"key": key, "amount": amount, "now": now, "expires_at": now + expiry}
        count, expires_at = _increment(engine, params)
        _remember(key, int(count), float(expires_at))
        return int(count)

    def get(self, key: str) -> int:
        row = _remembered(key) or self._read(key)
        return int(row[0]) if row and row[1] > time.time() else 0

    def get_expiry(self, key: str) -> float:
        row = _remembered(key) or self._read(key)
        return float(row[1]) if row else time.time()

    def _read(self, key: str) -> tuple[int, float] | None:
        with self._engine().connect() as conn:
            row = conn.execute(
                select(RateLimitCounter.count, RateLimitCounter.expires_at).where(RateLimitCounter.key == key)
            ).first()
        return (int(row[0]), float(row[1])) if row else None

    def check(self) -> bool:
        try:
            with self._engine().connect() as conn:
                conn.execute(select(1))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with self._engine().begin() as conn:
            return conn.execute(RateLimitCounter.__table__.delete()).rowcount

    def clear(self, key: str) -> None:
        with self._engine().begin() as conn:
            conn.execute(RateLimitCounter.__table__.delete().where(RateLimitCounter.key == key))


# Add :amount to counter :key, or start it again if its window ended before :now (then ending at :expires_at);
# returns the count and its window's end. A window starts at 0 when the first change gives one back (:amount < 0).
# Plain SQL that SQLite (3.35+) and PostgreSQL both run, given to the driver as it is (`_increment`): its named
# parameters in sqlite3's style (`:key`), and in psycopg's (`%(key)s`) made from it.
_INCREMENT_SQL = (
    'INSERT INTO rate_limit_counter ("key", count, expires_at)'
    " VALUES (:key, CASE WHEN :amount < 0 THEN 0 ELSE :amount END, :expires_at)"
    ' ON CONFLICT ("key") DO UPDATE SET'
    " count = CASE WHEN rate_limit_counter.expires_at <= :now THEN CASE WHEN :amount < 0 THEN 0 ELSE :amount END"
    " ELSE rate_limit_counter.count + :amount END,"
    " expires_at = CASE WHEN rate_limit_counter.expires_at <= :now THEN :expires_at"
    " ELSE rate_limit_counter.expires_at END"
    " RETURNING count, expires_at"
)
_INCREMENT_PSYCOPG = re.sub(r":(\w+)", r"%(\1)s", _INCREMENT_SQL)


def _increment(engine: Engine, params: dict[str, object]) -> tuple[int, float]:
    """Count a hit: the counter's one statement on a pooled connection's driver connection, as a transaction of its
    own (autocommit: SQLite's connections are always in it, course/sql.py; a PostgreSQL connection is put in it and
    back), so no BEGIN and COMMIT go with it.

    Through SQLAlchemy's Connection the statement cost several times its own time: the transaction begun and ended
    around it (on SQLite the `begin` event's BEGIN), on PostgreSQL the isolation level set and reset — 121–133 µs
    against 29 µs on SQLite, 424–454 µs against 229–241 µs on PostgreSQL (docs/PERFORMANCE.md, "Round seven")."""
    pooled = engine.raw_connection()
    try:
        driver = pooled.driver_connection
        if engine.dialect.name != "postgresql":
            with writers_turn(driver):  # SQLite: in its turn among the writers (course/sqlite_writers.py)
                cursor = driver.execute(_INCREMENT_SQL, params)
                (row,) = cursor.fetchall()  # every row read: the statement, and so its transaction, is finished
                cursor.close()
            return row
        autocommit = driver.autocommit
        driver.autocommit = True
        try:
            return driver.execute(_INCREMENT_PSYCOPG, params).fetchone()
        finally:
            driver.autocommit = autocommit
    finally:
        pooled.close()  # back to the pool


def _remember(key: str, count: int, expires_at: float) -> None:
    """A counter as this request's hit left it: the limit's response headers (remaining, reset) read it back
    from here instead of the database."""
    if has_request_context():
        g.setdefault("rate_limit_counters", {})[key] = (count, expires_at)


def _remembered(key: str) -> tuple[int, float] | None:
    return g.get("rate_limit_counters", {}).get(key) if has_request_context() else None


def user_or_address() -> str:
    if current_user and current_user.is_authenticated:
        return f"user:{current_user.get_id_number()}"
    return f"addr:{request.remote_addr}"


# What a route limit counts: the forms' POSTs. The JSON API counts its own requests (course/api/auth.py).
LIMITED_METHODS = ("POST",)


def limit(name: str, key_func=None):
    """A route decorator whose limit string is read from config (`RATELIMIT_<NAME>`), so tests and
    deployments can tune it. It counts POSTs only (LIMITED_METHODS)."""
    return limiter.limit(
        lambda: current_app.config[f"RATELIMIT_{name.upper()}"],
        key_func=key_func,
        methods=list(LIMITED_METHODS),
        scope=name,
    )


@limiter.request_filter
def _not_limited_method() -> bool:
    """Flask-Limiter's request filter: a GET (any method no limit counts) is let through before the limiter
    resolves the route's limits, which it otherwise does in a before_request hook for every page."""
    return request.method not in LIMITED_METHODS


def _release_request_transaction() -> None:
    """The counters use their own connection. On SQLite a request's transaction may hold the write lock (see
    `course.sql`), so the request's transaction — which at a rate-limit check has only read — ends first. Through a
    transaction pooler (DATABASE_POOLER) it holds a server connection: requests that each kept one while waiting
    for another for their counter could take the whole pool and wait for each other."""
    session = db.session()
    if not session.in_transaction():
        return
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("a rate limit was checked with unsaved changes in the session")
    session.commit()


# Failed logins per account (by the email typed, so an unknown email is throttled like a known one). An attempt
# is counted before its password is checked and given back when the password was right: parallel requests
# each take a place first, so no more than the limit are ever checked. The counter's key holds a keyed digest
# of the email, never the email: no address is stored in the counters, and a deleted account leaves none.
def account_key(email: str) -> str:
    normalised = email.strip().lower().encode()
    return hmac.new(current_app.config["SECRET_KEY"].encode(), normalised, hashlib.sha256).hexdigest()[:32]


def reserve_login_attempt(email: str) -> bool:
    """Count an attempt at this account's password; False (nothing to check) when the limit is reached."""
    item = parse(current_app.config["RATELIMIT_LOGIN_FAILURES"])
    return limiter.limiter.hit(item, "login-failures", account_key(email))


def release_login_attempt(email: str) -> None:
    """The password was right: its attempt does not count against the account."""
    item = parse(current_app.config["RATELIMIT_LOGIN_FAILURES"])
    _give_back(item.key_for("login-failures", account_key(email)), item.get_expiry())


def _give_back(key: str, expiry: int) -> None:
    """One attempt less, never below zero (a window that ended between the attempt and now starts at zero)."""
    storage = limiter.limiter.storage
    count = storage.incr(key, expiry, amount=-1)
    if count < 0:
        storage.incr(key, expiry, amount=-count)


def forget_login_attempts(email: str) -> None:
    """Remove this email's failed-login counters (a deleted account's). In the database, within the caller's
    transaction, also those of earlier RATELIMIT_LOGIN_FAILURES settings; in Redis (or memory), at once, the
    current one (the others have expired)."""
    item = parse(current_app.config["RATELIMIT_LOGIN_FAILURES"])
    storage = limiter.limiter.storage
    if isinstance(storage, SQLStorage):
        prefix = f"{item.namespace}/login-failures/{account_key(email)}/"  # as `key_for` begins, whatever the limit
        db.session.execute(
            RateLimitCounter.__table__.delete().where(RateLimitCounter.key.startswith(prefix, autoescape=True))
        )
    else:
        storage.clear(item.key_for("login-failures", account_key(email)))


def prune_expired_counters() -> int:
    """Delete the database's counters whose window has ended (nothing reads them again); returns how many."""
    table = RateLimitCounter.__table__
    return db.session.execute(table.delete().where(table.c.expires_at < time.time())).rowcount


# Wrong two-step login codes per account, counted like failed logins: reserved before the code is checked and
# given back when it was right.
def reserve_mfa_attempt(user_id: int) -> bool:
    """Count an attempt at this account's second factor; False (nothing to check) when the limit is reached."""
    item = parse(current_app.config["RATELIMIT_MFA"])
    return limiter.limiter.hit(item, "mfa-failures", str(user_id))


def release_mfa_attempt(user_id: int) -> None:
    """The code was right: its attempt does not count against the account."""
    item = parse(current_app.config["RATELIMIT_MFA"])
    _give_back(item.key_for("mfa-failures", str(user_id)), item.get_expiry())


# The JSON API (course/api/auth.py): requests per user, whichever token they use, and failed token lookups per
# client address (a token that is unknown, expired or revoked), counted only when they fail.
def _wait(item, *identifiers: str) -> int:
    """Seconds until the window of `item` for `identifiers` ends (at least one)."""
    reset, _remaining = limiter.limiter.get_window_stats(item, *identifiers)
    return max(1, math.ceil(reset - time.time()))


def api_request_wait(user_id: int) -> int | None:
    """Count one API request of the user: None while within RATELIMIT_API, else the seconds to wait."""
    item = parse(current_app.config["RATELIMIT_API"])
    if limiter.limiter.hit(item, "api", str(user_id)):
        return None
    return _wait(item, "api", str(user_id))


def api_auth_failures_wait(address: str | None) -> int | None:
    """None while this address may still present a token, else the seconds to wait (RATELIMIT_API_AUTH_FAILURES
    reached: nothing is looked up until the window ends)."""
    item = parse(current_app.config["RATELIMIT_API_AUTH_FAILURES"])
    if limiter.limiter.test(item, "api-auth-failures", str(address)):
        return None
    return _wait(item, "api-auth-failures", str(address))


def count_api_auth_failure(address: str | None) -> None:
    """A token presented from this address was unknown, expired or revoked."""
    item = parse(current_app.config["RATELIMIT_API_AUTH_FAILURES"])
    limiter.limiter.hit(item, "api-auth-failures", str(address))
