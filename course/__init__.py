"""Founder Course: a Flask LMS that turns a founder's guide into an online course.

The app is built by `create_app` (course/app.py); docs/ARCHITECTURE.md shows how the packages are layered.
"""

from course.app import create_app

__all__ = ["create_app"]
