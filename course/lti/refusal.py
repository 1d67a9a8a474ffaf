"""What a launch (or a roster sync) this app will not act on raises: kept apart from the claims' pydantic models
(`course/lti/claims.py`), which are loaded at the first launch, not by every web worker at start."""

from __future__ import annotations


class LaunchRefused(Exception):
    """A valid launch this app will not act on; `status` is the HTTP status, the message is for the user."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
