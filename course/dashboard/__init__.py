"""The instructor dashboard: per-cohort overview, learner grid, at-risk list, quiz statistics, drill-down,
CSV exports, and the demo-data generator."""

from course.dashboard import indexes  # noqa: F401 - puts the dashboard's indexes on the metadata
