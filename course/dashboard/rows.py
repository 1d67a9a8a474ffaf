"""A cohort's learners as Python objects: a row of `LearnerQuery.select(ROW_METRICS)` (course/dashboard/learners.py)
with, for a page of learners, their chapter cells from `LearnerQuery.pivot()`, and the sentences of their at-risk
reasons (course/dashboard/risk.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from course.clock import school_date
from course.dashboard.coursemap import ChapterInfo, CourseMap, QuizInfo
from course.dashboard.risk import FAILED_ATTEMPTS, reason_lines
from course.progress.outline import percent

ROW_METRICS = (
    "items_done",
    "lessons_done",
    "last_active",
    "idle_since",
    "started",
    "completed",
    "active",
    "chapters_behind",
    "behind",
    "far_behind",
    "inactive",
    "failing",
)


@dataclass
class ChapterCell:
    chapter: ChapterInfo
    lessons_done: int
    best: float | None  # best quiz %
    passed: bool
    attempts: int
    fails: int = 0  # failed attempts at its quiz

    @property
    def complete(self) -> bool:
        return self.lessons_done >= len(self.chapter.lessons) and (self.chapter.quiz is None or self.passed)


@dataclass
class LearnerRow:
    user_id: int
    name: str
    email: str
    enrolled_at: datetime
    extension_days: int
    items_total: int
    items_done: int = 0
    lessons_done: int = 0
    last_active: datetime | None = None
    idle_since: datetime | None = None  # last active, or when they could have started
    started: bool = False
    completed: bool = False
    active: bool = False
    chapters_behind: int = 0
    behind: bool = False  # at least one chapter behind the schedule (not on schedule)
    # the at-risk reasons (course/dashboard/risk.py)
    inactive: bool = False
    far_behind: bool = False
    failing: bool = False
    cells: list[ChapterCell] = field(default_factory=list)
    failed_quizzes: list[QuizInfo] = field(default_factory=list)  # failed twice or more, not passed
    overdue: list[ChapterInfo] = field(default_factory=list)  # the unfinished released chapters behind the newest
    idle_days: int | None = None  # days since `idle_since`

    @property
    def percent(self) -> int:
        return percent(self.items_done, self.items_total)

    @property
    def reasons(self) -> list[str]:
        """The at-risk reasons that apply, by key ("inactive", "schedule", "quiz"), in the order of `reason_lines`."""
        flags = (("inactive", self.inactive), ("schedule", self.far_behind), ("quiz", self.failing))
        return [name for name, on in flags if on]

    @property
    def reason_lines(self) -> list[str]:
        """The reasons as one short sentence each, with their numbers (translated for the reader)."""
        fails = {cell.chapter.quiz.id: cell.fails for cell in self.cells if cell.chapter.quiz}
        return reason_lines(
            inactive=self.inactive,
            started=self.started,
            idle_days=self.idle_days,
            far_behind=self.far_behind,
            chapters_behind=self.chapters_behind,
            failed=[(quiz.title, fails.get(quiz.id, 0)) for quiz in self.failed_quizzes] if self.failing else [],
        )

    @property
    def urgency(self) -> tuple:
        """The at-risk list's order as a sort key (the same as `urgency_order` in SQL)."""
        return (-len(self.reasons), self.idle_since or self.enrolled_at, -self.chapters_behind, self.name, self.user_id)


def to_row(row: Any, cm: CourseMap, now: datetime, pivot: dict[str, Any] | None = None) -> LearnerRow:
    """A LearnerRow from a row of `LearnerQuery.select(ROW_METRICS)` and the learner's `LearnerQuery.pivot()`."""
    values = {**row._mapping, **(pivot or {})}
    learner = LearnerRow(
        user_id=values["user_id"],
        name=values["name"],
        email=values["email"],
        enrolled_at=values["enrolled_at"],
        extension_days=values["extension_days"] or 0,
        items_total=cm.items_total,
        items_done=values.get("items_done") or 0,
        lessons_done=values.get("lessons_done") or 0,
        last_active=values.get("last_active"),
        idle_since=values.get("idle_since"),
        started=bool(values.get("started")),
        completed=bool(values.get("completed")),
        active=bool(values.get("active")),
        chapters_behind=values.get("chapters_behind") or 0,
        behind=bool(values.get("behind")),
        inactive=bool(values.get("inactive")),
        far_behind=bool(values.get("far_behind")),
        failing=bool(values.get("failing")),
    )
    since = learner.idle_since or learner.last_active or learner.enrolled_at
    learner.idle_days = max((now - since).days, 0) if since else None
    today = school_date(now)
    unfinished = []
    for chapter in cm.chapters:
        quiz = chapter.quiz
        cell = ChapterCell(
            chapter=chapter,
            lessons_done=(values.get(f"done_{chapter.index}") or 0) if chapter.lessons else 0,
            best=values.get(f"best_{quiz.index}") if quiz else None,
            passed=bool(values.get(f"passed_{quiz.index}")) if quiz else False,
            attempts=(values.get(f"attempts_{quiz.index}") or 0) if quiz else 0,
            fails=(values.get(f"fails_{quiz.index}") or 0) if quiz else 0,
        )
        learner.cells.append(cell)
        if quiz and cell.fails >= FAILED_ATTEMPTS and not cell.passed:
            learner.failed_quizzes.append(quiz)
        released = not chapter.reference and chapter.scheduled and chapter.items_total and chapter.opens_on <= today
        if released and (today - chapter.opens_on).days >= learner.extension_days and not cell.complete:
            unfinished.append(chapter)
    learner.overdue = unfinished[:-1]
    return learner
