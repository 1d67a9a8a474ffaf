"""Real gunicorn servers for the concurrency tests and the load benchmark, and a small browser to talk to them.

    with Gunicorn(database_url, workers=2, overrides={"RATELIMIT_QUIZ": "100000 per minute"}) as server:
        browser = Browser([server.url])
        browser.login("ada@example.com", "a password")

A server runs `gunicorn "course.wsgi:create_app({...overrides...}, cli=False)"` (the production entry point's
factory, as it builds its app: without the command-line tools, and without greenlet) in development mode
(plain-http cookies) with its own SECRET_KEY and DATABASE_URL: the overrides are literal values gunicorn passes to
the factory, which is how settings the environment does not reach (rate limits, hashing cost) are set. Every
server started here is its own process group, ended by its id when the `with` block exits.

Only the standard library is used (http.client, /proc), so the tests need nothing beyond the app's own
dependencies.
"""

from __future__ import annotations

import html
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "concurrency-tests-secret-key-0123456789abcdef"
NO_LIMITS = {
    "RATELIMIT_LOGIN": "100000 per minute",
    "RATELIMIT_REGISTER": "100000 per minute",
    "RATELIMIT_QUIZ": "100000 per minute",
    "RATELIMIT_UPLOAD": "100000 per minute",
    "RATELIMIT_LOGIN_FAILURES": "100000 per minute",
}
CHEAP_HASHING = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 1024}  # what TestingConfig hashes with
# How the README runs gunicorn in production: without docstrings and asserts (PYTHONOPTIMIZE=2, about 4 MB less
# in every worker), with code compiled without column positions (PYTHONNODEBUGRANGES=1, 0.8 MB less), with glibc's
# mmap threshold fixed so that password hashing's memory is given back. Every server started here runs that way,
# so the tests that use them check it works.
PRODUCTION_ENV = {"PYTHONOPTIMIZE": "2", "PYTHONNODEBUGRANGES": "1", "MALLOC_MMAP_THRESHOLD_": "131072"}
NO_RESPONSE = (OSError, http.client.HTTPException)  # a connection reset, refused or closed before an answer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- processes, read from /proc ------------------------------------------------------------------------
def parent_pid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])  # fields after "(comm)": state, ppid, …


def children(pid: int) -> list[int]:
    return sorted(int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and parent_pid(int(p.name)) == pid)


def rss_kib(pid: int) -> int:
    """Resident memory of a process in KiB (VmRSS in /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise ValueError(f"no VmRSS for {pid}")


# -- gunicorn ----------------------------------------------------------------------------------------
@dataclass
class Gunicorn:
    database_url: str
    workers: int = 2
    overrides: dict[str, Any] = field(default_factory=lambda: {**NO_LIMITS, **CHEAP_HASHING})
    port: int = 0
    env: dict[str, str] = field(default_factory=dict)  # extra environment (e.g. REDIS_URL)
    log_path: Path | None = None  # default: a temporary file, removed when the server stops
    process: subprocess.Popen | None = None
    _own_log: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def command(self) -> list[str]:
        spec = f"course.wsgi:create_app({self.overrides!r}, cli=False)"  # as course.wsgi builds its `app`
        return [
            sys.executable, "-m", "gunicorn", "--workers", str(self.workers), "--bind", f"127.0.0.1:{self.port}",
            "--no-control-socket",  # gunicorn 27 otherwise puts every instance's control socket at one path
            "--graceful-timeout", "5", spec,
        ]  # fmt: skip

    def start(self) -> Gunicorn:
        self.port = self.port or free_port()
        if self.log_path is None:
            handle, name = tempfile.mkstemp(prefix=f"gunicorn-{self.port}-", suffix=".log")
            os.close(handle)
            self.log_path, self._own_log = Path(name), True
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "TEST_DATABASE_URL", "CONTENT_DIR")}
        env.update(
            FOUNDER_COURSE_ENV="development", SECRET_KEY=SECRET_KEY, DATABASE_URL=self.database_url, REQUEST_LOG="0"
        )
        env["PUBLIC_URL"] = self.url  # what production requires, and the only host it then accepts
        env.update(PRODUCTION_ENV)
        env.update(self.env)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.command(), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    def wait_ready(self, timeout: float = 30) -> Gunicorn:
        """Until /healthz answers 200 and every worker is booted."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited early:\n{self.log()}")
            try:
                status = Browser([self.url], timeout=2).get("/healthz").status
            except NO_RESPONSE:
                status = None
            if status == 200 and len(self.worker_pids()) == self.workers:
                return self
            time.sleep(0.1)
        raise TimeoutError(f"gunicorn on {self.url} not ready after {timeout}s:\n{self.log()}")

    def worker_pids(self) -> list[int]:
        """The master's children: its worker processes."""
        return children(self.pid)

    def wait_workers(self, exclude: set[int] = frozenset(), timeout: float = 30) -> list[int]:
        """Wait until the master has its full count of workers, none of them in `exclude` (after a kill)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pids = self.worker_pids()
            if len(pids) == self.workers and not set(pids) & set(exclude):
                return pids
            time.sleep(0.05)
        raise TimeoutError(f"gunicorn on {self.url} did not respawn its workers:\n{self.log()}")

    def kill_worker(self, pid: int | None = None) -> int:
        """SIGKILL one worker (the first, unless `pid` names one); the master starts a new one."""
        pids = self.worker_pids()
        victim = pid if pid is not None else pids[0]
        assert victim in pids, (victim, pids)
        os.kill(victim, signal.SIGKILL)
        return victim

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # the group this server was started in
                self.process.wait(timeout=5)
        self.process = None
        if self._own_log and self.log_path is not None:
            self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> Gunicorn:
        return self.start().wait_ready()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- a browser ---------------------------------------------------------------------------------------
@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: str
    server: str

    @property
    def location(self) -> str:
        return urllib.parse.urlsplit(self.headers.get("location", "")).path

    @property
    def messages(self) -> list[str]:
        """The flash messages and form errors on the page (what a failed request told the user)."""
        return [html.unescape(m) for m in MESSAGE.findall(self.body)]

    def __repr__(self) -> str:
        return f"<{self.status} from {self.server}: {self.location or self.messages}>"


MESSAGE = re.compile(r'<p class="(?:flash[^"]*|error)"[^>]*>([^<]*)</p>')
CSRF_INPUT = re.compile(r'<input[^>]*name="(?:[\w-]+-)?csrf_token"[^>]*value="([^"]+)"')


class Browser:
    """Cookies shared by several servers (as a browser shares them across ports of one host), forms posted as
    application/x-www-form-urlencoded, redirects not followed. Thread-safe: one learner's browser may send
    several requests at once. After `freeze()` responses no longer change the cookies (flash messages would
    otherwise grow the session cookie with every request sent in parallel)."""

    def __init__(self, servers: list[str], timeout: float = 60, language: str = "en") -> None:
        self.servers = servers
        self.timeout = timeout
        self.language = language
        self.cookies: dict[str, str] = {}
        self.frozen = False
        self.csrf = ""
        self._lock = threading.Lock()

    def request(self, method: str, path: str, form: Any = None, server: int = 0) -> Response:
        base = self.servers[server % len(self.servers)]
        parts = urllib.parse.urlsplit(base)
        headers = {"Accept-Language": self.language, "Connection": "close"}
        with self._lock:
            if self.cookies:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            raw = conn.getresponse()
            text = raw.read().decode("utf-8", errors="replace")
            response = Response(raw.status, {k.lower(): v for k, v in raw.getheaders()}, text, base)
            self._keep_cookies(raw.msg.get_all("Set-Cookie") or [])
        finally:
            conn.close()
        return response

    def _keep_cookies(self, headers: list[str]) -> None:
        if self.frozen:
            return
        with self._lock:
            for header in headers:
                for name, morsel in SimpleCookie(header).items():
                    expired = morsel["max-age"] == "0" or (morsel["expires"] and "1970" in morsel["expires"])
                    if expired or not morsel.value:
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = morsel.coded_value

    def get(self, path: str, server: int = 0) -> Response:
        return self.request("GET", path, server=server)

    def post(self, path: str, form: Any = None, server: int = 0) -> Response:
        """POST a form; the CSRF token taken from the last page (see `fetch_token`) is added."""
        data = list(form.items()) if isinstance(form, dict) else list(form or [])
        return self.request("POST", path, [*data, ("csrf_token", self.csrf)], server=server)

    def fetch_token(self, path: str, server: int = 0) -> str:
        """GET a page with a form and keep its CSRF token (it stays valid as long as the session)."""
        response = self.get(path, server=server)
        found = CSRF_INPUT.search(response.body)
        assert response.status == 200 and found, (path, response.status, response.body[:500])
        self.csrf = found.group(1)
        return self.csrf

    def login(self, email: str, password: str, then: str = "/courses", server: int = 0) -> None:
        """Log in, then open `then` (a page with a form) for a CSRF token of the new session."""
        self.fetch_token("/login", server=server)
        response = self.post("/login", {"email": email, "password": password}, server=server)
        assert response.status == 302, (email, response.status, response.body[:500])
        self.fetch_token(then, server=server)

    def freeze(self) -> Browser:
        self.frozen = True
        return self
