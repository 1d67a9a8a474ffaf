"""PgBouncer in transaction pooling mode in front of the tests' PostgreSQL server, as production runs it.

    with PgBouncer(server_url()) as bouncer:
        pooled = bouncer.url(database_url)  # the same database, through the pooler

A PgBouncer started here is Debian's `pgbouncer` (1.18: no prepared statements in transaction mode) as a
subprocess, with a generated pgbouncer.ini in a temporary directory of its own (removed when it stops): one pool
per database and user of at most `pool_size` server connections (small, so that clients really share them), any
database of the server (`* = host=… port=…`), trust authentication. It listens on a free port of 127.0.0.1 and is
stopped by its process id when the `with` block exits. As root it runs as the `postgres` user (`-u postgres`: it
refuses to run as root).

`available(url)` says whether the tests can start one: PostgreSQL named by TEST_DATABASE_URL, and the binary
installed (CI installs it: `.ci/run`). The suite's `pooler` fixture (tests/conftest.py) runs one per session.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
from sqlalchemy import make_url

BINARY = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
POOL_SIZE = 4


def available(server_url: str | None) -> bool:
    """Whether a pooler can be started in front of `server_url` (TEST_DATABASE_URL): PostgreSQL, and pgbouncer."""
    return bool(server_url) and make_url(server_url).get_backend_name() == "postgresql" and Path(BINARY).exists()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PgBouncer:
    def __init__(self, server_url: str, pool_size: int = POOL_SIZE) -> None:
        self.server = make_url(server_url)
        self.directory = Path()
        self.pool_size = pool_size
        self.port = 0
        self.process: subprocess.Popen | None = None

    # -- the configuration ----------------------------------------------------------------------------
    def ini(self) -> str:
        user = self.server.username or "postgres"
        return "\n".join(
            [
                "[databases]",
                f"* = host={self.server.host or '127.0.0.1'} port={self.server.port or 5432}",
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                f"listen_port = {self.port}",
                "unix_socket_dir =",
                "auth_type = trust",
                f"auth_file = {self.directory / 'userlist.txt'}",
                f"admin_users = {user}",
                "pool_mode = transaction",
                f"default_pool_size = {self.pool_size}",
                "min_pool_size = 0",
                "reserve_pool_size = 0",
                "max_client_conn = 500",
                "server_reset_query =",  # nothing is reset between clients (DISCARD ALL is for session mode only)
                "query_wait_timeout = 20",  # a client waiting longer for a server connection gets an error
                f"logfile = {self.directory / 'pgbouncer.log'}",
                f"pidfile = {self.directory / 'pgbouncer.pid'}",
                "",
            ]
        )

    def _write_files(self) -> Path:
        # Its own directory in the system's temporary one: as root, pgbouncer runs as postgres, which must reach it
        # (pytest's temporary directories are private to root).
        self.directory = Path(tempfile.mkdtemp(prefix="fc-pgbouncer-"))
        user = self.server.username or "postgres"
        # In trust mode pgbouncer logs in to the server with the password listed here: the URL's, if it has one.
        password = (self.server.password or "").replace('"', '""')
        (self.directory / "userlist.txt").write_text(f'"{user}" "{password}"\n')
        ini = self.directory / "pgbouncer.ini"
        ini.write_text(self.ini())
        if os.geteuid() == 0:  # pgbouncer runs as postgres: it must write its log and pid file here
            shutil.chown(self.directory, "postgres")
            for path in self.directory.iterdir():
                shutil.chown(path, "postgres")
        return ini

    # -- the process ------------------------------------------------------------------------------------
    def start(self) -> PgBouncer:
        self.port = free_port()
        ini = self._write_files()
        command = [BINARY, *(["-u", "postgres"] if os.geteuid() == 0 else []), str(ini)]
        try:
            # In pytest's process group: a run interrupted or killed as a group takes its pooler with it.
            with open(self.directory / "stderr.log", "wb") as output:
                self.process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"pgbouncer exited early:\n{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise TimeoutError(f"pgbouncer on port {self.port} not ready after {timeout}s:\n{self.log()}")

    def stop(self) -> None:
        if self.process is None:
            if self.directory != Path():  # started no process: only its directory to remove
                shutil.rmtree(self.directory, ignore_errors=True)
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # "safe shutdown": after the running transactions
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> PgBouncer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log(self) -> str:
        for path in (self.directory / "pgbouncer.log", self.directory / "stderr.log"):  # stderr: before the log opens
            if path.exists():
                return path.read_text(errors="replace")
        return ""

    # -- talking to it ----------------------------------------------------------------------------------
    def url(self, database_url: str) -> str:
        """`database_url` (a database of the same server) as reached through this pooler."""
        return make_url(database_url).set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)

    def show(self, what: str) -> list[dict]:
        """`SHOW <what>` on PgBouncer's admin console (POOLS, SERVERS, CLIENTS), as dicts."""
        user = self.server.username or "postgres"
        # The admin console speaks only the simple query protocol: psycopg's client-side binding.
        with psycopg.connect(
            host="127.0.0.1", port=self.port, dbname="pgbouncer", user=user, autocommit=True,
            cursor_factory=psycopg.ClientCursor,
        ) as conn:  # fmt: skip
            cursor = conn.execute(f"SHOW {what}")
            names = [column.name for column in cursor.description or []]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
