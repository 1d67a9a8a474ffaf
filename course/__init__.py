"""Founder Course: a Flask LMS that turns a founder's guide into an online course.

The app is built by `create_app` (course/app.py); docs/ARCHITECTURE.md shows how the packages are layered.
`import course` loads nothing else: the app's modules come with `create_app`'s first use, so the production entry
point (course/wsgi.py) can settle what the process imports before SQLAlchemy comes in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from course.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from course.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
