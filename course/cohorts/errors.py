"""The error every cohort operation raises when it refuses."""


class CohortError(ValueError):
    """A refused cohort operation; the message is shown to the user and nothing was changed."""
