"""The error every cohort operation raises when it refuses, and a problem with one control of a cohort page."""

from __future__ import annotations

from typing import NamedTuple


class CohortError(ValueError):
    """A refused cohort operation; the message is shown to the user and nothing was changed.

    `field` names the form field the refusal is about (a CohortForm field's name, or a control's id on the cohort
    page), so the page can mark that field; None when it is about the form as a whole."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class FieldError(NamedTuple):
    """A problem with one control of a hand-written form on a cohort page."""

    control_id: str  # the control's id: it gets aria-invalid, and the summary at the top links to it
    message: str  # shown next to the control
    label: str | None = None  # what names the control in the summary, when the message does not
