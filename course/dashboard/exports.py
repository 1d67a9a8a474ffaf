"""CSV exports of the dashboard — the learner grid, the at-risk list, a quiz's item statistics — streamed: rows
are written as they are read from the database, so a 10,000-learner export starts at once and never sits
whole in memory (the CSV conventions — BOM, formula guard, streaming — are in `course.csv_download`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any, NamedTuple

from flask_babel import gettext as _

from course.cohorts.models import Cohort
from course.csv_download import cell, content_disposition, csv_lines, csv_response  # noqa: F401 - routes use them here
from course.dashboard import lists
from course.dashboard.coursemap import CourseMap
from course.dashboard.labels import flag_label, reason_label
from course.dashboard.quizstats import QuizStats


def export_name(cohort_name: str, cohort_id: int, what: str, on: date) -> str:
    """e.g. `cohort-3-spring-2027-grid-2027-03-01.csv` (non-ASCII letters kept in the UTF-8 name)."""
    slug = re.sub(r"[^\w]+", "-", cohort_name, flags=re.UNICODE).strip("-").lower()[:40]
    return f"cohort-{cohort_id}-{slug + '-' if slug else ''}{what}-{on.isoformat()}.csv"


# -- what each export holds ------------------------------------------------------------------------------------
class Export(NamedTuple):
    header: list[str]
    rows: Iterator[list[Any]]  # read lazily, while the response is written


def grid_export(cohort: Cohort, cm: CourseMap, now: datetime) -> Export:
    """Every learner of the cohort: their numbers, then per chapter the lessons done and the best quiz score."""
    header = [
        _("Full name"),
        _("Email"),
        _("Enrolled on"),
        _("Progress %"),
        _("Lessons done"),
        _("Last active"),
        _("Completed"),
        _("Extension days"),
    ]
    for chapter in cm.chapters:
        if chapter.lessons:
            header.append(_("%(chapter)s: lessons done (of %(n)d)", chapter=chapter.title, n=len(chapter.lessons)))
        if chapter.quiz:
            header.append(_("%(chapter)s: best quiz %%", chapter=chapter.title))

    def rows() -> Iterator[list[Any]]:
        for learner in lists.all_learner_rows(cohort, cm, now):
            line = [
                learner.name,
                learner.email,
                learner.enrolled_at,
                learner.percent,
                learner.lessons_done,
                learner.last_active,
                learner.completed,
                learner.extension_days,
            ]
            for chapter_cell in learner.cells:
                if chapter_cell.chapter.lessons:
                    line.append(chapter_cell.lessons_done)
                if chapter_cell.chapter.quiz:
                    line.append(chapter_cell.best)
            yield line

    return Export(header, rows())


def at_risk_export(cohort: Cohort, cm: CourseMap, now: datetime, params: lists.AtRiskParams) -> Export:
    """Every learner of the at-risk list (as the page filters it), with their reasons."""
    header = [
        _("Full name"),
        _("Email"),
        _("Reasons"),
        _("Days since last activity"),
        _("Quizzes failed twice"),
        _("Chapters overdue"),
        _("Progress %"),
        _("Last active"),
        _("Extension days"),
    ]

    def rows() -> Iterator[list[Any]]:
        for learner in lists.all_at_risk_rows(cohort, cm, now, params):
            reasons = "; ".join(reason_label(reason, params.days) for reason in learner.reasons)
            yield [
                learner.name,
                learner.email,
                reasons,
                learner.idle_days,
                "; ".join(q.title for q in learner.failed_quizzes),
                "; ".join(c.title for c in learner.overdue),
                learner.percent,
                learner.last_active,
                learner.extension_days,
            ]

    return Export(header, rows())


def quiz_export(stats: QuizStats) -> Export:
    """One row per question and option (or common typed answer): tidy data for a spreadsheet."""
    header = [
        _("Question"),
        _("Question id"),
        _("Prompt"),
        _("Type"),
        _("Responses"),
        _("Facility"),
        _("Discrimination"),
        _("Flags"),
        _("Answer"),
        _("Answer id"),
        _("Correct answer"),
        _("Chosen"),
        _("Share"),
    ]

    def rows() -> Iterator[list[Any]]:
        for q in stats.questions:
            head = [
                q.position,
                q.key,
                q.prompt,
                str(q.label),
                q.responses,
                round(q.facility, 3) if q.facility is not None else None,
                round(q.discrimination, 3) if q.discrimination is not None else None,
                "; ".join(flag_label(f) for f in q.flags),
            ]
            if q.has_options:
                for option in q.options:
                    yield head + [option.text, option.key, option.keyed, option.chosen, round(option.share, 3)]
            elif q.answers:
                for answer in q.answers:
                    share = round(answer.count / q.responses, 3) if q.responses else None
                    yield head + [answer.text, None, answer.correct, answer.count, share]
            else:
                yield head + [None] * 5

    return Export(header, rows())
