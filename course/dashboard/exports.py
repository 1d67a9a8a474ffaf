"""CSV exports of the dashboard — the learner grid, the at-risk list, a quiz's item statistics — streamed: rows
are written as they are read from the database, so a 10,000-learner export starts at once and never sits
whole in memory (the CSV conventions — BOM, formula guard, streaming, times in the reader's zone with their
offset, yes/no in their language — are in `course.csv_download`).

A cell holds what the page shows, as a number a spreadsheet can sum: the same rounding (whole percentages,
two-decimal correlations: `course.dashboard.labels`), titles in the reader's content language (the course map's
and the statistics'), a header's unit in the header ("Facility %", "Last active (Asia/Shanghai)").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any, NamedTuple

from flask_babel import gettext as _

from course.cohorts.models import Cohort
from course.csv_download import cell, content_disposition, csv_lines, csv_response, time_zone_name  # noqa: F401 - routes use them here
from course.dashboard import lists
from course.dashboard.coursemap import CourseMap
from course.dashboard.itemflags import UPPER_SHARE
from course.dashboard.labels import (
    decimal_number,
    flag_label,
    flag_reason,
    name_list,
    percent_number,
    reason_label,
    whole_percent,
)
from course.dashboard.quizstats import QuestionStat, QuizStats
from course.i18n import sentences


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
    zone = time_zone_name()
    header = [
        _("Full name"),
        _("Email"),
        _("Enrolled (%(zone)s)", zone=zone),
        _("Progress %"),
        _("Lessons done"),
        _("Last active (%(zone)s)", zone=zone),
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
                if chapter_cell.chapter.quiz:  # as the grid shows it: a whole percentage
                    line.append(None if chapter_cell.best is None else round(chapter_cell.best))
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
        _("Last active (%(zone)s)", zone=time_zone_name()),
        _("Extension days"),
    ]

    def rows() -> Iterator[list[Any]]:
        for learner in lists.all_at_risk_rows(cohort, cm, now, params):
            reasons = name_list(reason_label(reason, params.inactive_days(cohort)) for reason in learner.reasons)
            yield [
                learner.name,
                learner.email,
                reasons,
                learner.idle_days,
                name_list(q.title for q in learner.failed_quizzes),
                name_list(c.title for c in learner.overdue),
                learner.percent,
                learner.last_active,
                learner.extension_days,
            ]

    return Export(header, rows())


def quiz_export(stats: QuizStats) -> Export:
    """One row per question and option (or common typed answer): tidy data for a spreadsheet, rounded as the
    page rounds (facility and shares in whole percentages, discrimination to two decimals)."""
    header = [
        _("Question"),
        _("Question id"),
        _("Prompt"),
        _("Type"),
        _("Responses"),
        _("Facility %"),
        _("Discrimination"),
        _("Flags"),
        _("Why flagged"),
        _("Answer"),
        _("Answer id"),
        _("Correct answer"),
        _("Chosen"),
        _("Share %"),
        _("Chosen by the strongest %(share)s", share=whole_percent(UPPER_SHARE)),
    ]

    def rows() -> Iterator[list[Any]]:
        for number, q in enumerate(stats.questions, start=1):
            head = _question_cells(number, q)
            if q.has_options:
                for option in q.options:
                    share = percent_number(option.share) if q.responses else None
                    yield head + [option.text, option.key, option.keyed, option.chosen, share, option.chosen_upper]
            elif q.answers:
                for answer in q.answers:
                    share = percent_number(answer.count / q.responses) if q.responses else None
                    yield head + [answer.text, None, answer.correct, answer.count, share, None]
            else:
                yield head + [None] * 6

    return Export(header, rows())


def _question_cells(number: int, q: QuestionStat) -> list[Any]:
    """The question's own cells, numbered as on the page."""
    return [
        number,
        q.key,
        q.prompt,
        str(q.label),
        q.responses,
        percent_number(q.facility),
        decimal_number(q.discrimination),
        name_list(flag_label(kind) for kind in q.flag_kinds),
        sentences(flag_reason(flag) for flag in q.flags),
    ]
