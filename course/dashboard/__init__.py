"""The instructor dashboard: per-cohort overview, learner grid, at-risk list, quiz statistics, drill-down,
CSV exports, and the demo-data generator."""

from course.dashboard import indexes, models  # noqa: F401 - puts the dashboard's tables and indexes on the metadata
