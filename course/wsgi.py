"""The production entry point for a WSGI server: `gunicorn course.wsgi:app` (see the README).

The app without its command-line tools (Alembic and the content pipeline stay out of every worker's memory),
configured from the environment: SECRET_KEY, DATABASE_URL, MAIL_SERVER, REDIS_URL, …. It is production unless
FOUNDER_COURSE_ENV says otherwise: a server started without it never runs on the public development key.

`app` is built when it is first asked for (gunicorn asks at once), so `course.wsgi:create_app({...}, cli=False)`,
how the test servers and the benchmarks start gunicorn with their own settings, builds only the app it names.
"""

from __future__ import annotations

import sys
from typing import Any

# SQLAlchemy 2.0 imports greenlet (a C++ library: about 1.3 MB of every worker) for its asyncio extension alone,
# which the app does not use; SQLAlchemy runs without it, as where greenlet is not installed (2.1 imports it only
# for asyncio). None in sys.modules makes that import fail at once. Only here: the tests' Playwright needs it.
sys.modules.setdefault("greenlet", None)

from config import config_name  # noqa: E402 - after greenlet is kept out
from course.app import create_app  # noqa: E402


def __getattr__(name: str) -> Any:
    if name == "app":
        built = globals()["app"] = create_app(config_name(default="production"), cli=False)
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
