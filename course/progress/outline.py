"""A learner's view of a course: the outline with status and progress at every level.

Built from one query of the learner's rows (progress, attempt summaries, completion, cohort schedule), whatever
the size of the course, and computed against the current, non-archived outline, so
percentages never exceed 100 %.

The outline rows themselves (modules, chapters, lessons, quizzes, workbook prompts) come from the process's
cache of the course's content (`course.content.cache`): a page reads only the learner's own rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import Cast, Date, Float, Integer, String, bindparam, case, cast, func, literal, null, select, union_all

from course.cohorts.models import ChapterRelease, Cohort, Enrolment
from course.cohorts.services import LearnerSchedule
from course.content.cache import course_structure
from course.content.models import Chapter, Course, Lesson, Module, WorkbookPrompt
from course.extensions import db
from course.progress.models import Completion, LessonProgress
from course.quiz.models import Attempt, Quiz


@dataclass
class QuizStatus:
    quiz: Quiz
    attempts: int = 0
    best_percent: float | None = None
    passed: bool = False
    open: bool = True

    @property
    def attempts_left(self) -> int | None:
        if self.quiz.max_attempts is None:
            return None
        return max(self.quiz.max_attempts - self.attempts, 0)


@dataclass
class LessonStatus:
    lesson: Lesson
    progress: Progress | None = None  # the learner's row for the lesson, if they opened it

    @property
    def completed(self) -> bool:
        return self.progress is not None and self.progress.completed_at is not None

    @property
    def started(self) -> bool:
        return self.progress is not None


@dataclass
class ChapterStatus:
    chapter: Chapter
    lessons: list[LessonStatus] = field(default_factory=list)
    quiz: QuizStatus | None = None
    opens_on: date | None = None  # set for learners in a cohort whose schedule has not opened it yet

    @property
    def locked(self) -> bool:
        return self.opens_on is not None

    @property
    def lessons_done(self) -> int:
        return sum(ls.completed for ls in self.lessons)

    @property
    def items_total(self) -> int:
        return len(self.lessons) + (1 if self.quiz else 0)

    @property
    def items_done(self) -> int:
        return self.lessons_done + (1 if self.quiz and self.quiz.passed else 0)

    @property
    def percent(self) -> int:
        return _percent(self.items_done, self.items_total)

    @property
    def completed(self) -> bool:
        return self.items_total > 0 and self.items_done == self.items_total

    @property
    def lessons_left(self) -> list[LessonStatus]:
        return [ls for ls in self.lessons if not ls.completed]


class _RollUp:
    """Items (lessons and quizzes) totalled over the parts below: a module's chapters, a course's modules."""

    def _parts(self) -> list:
        raise NotImplementedError

    @property
    def items_total(self) -> int:
        return sum(part.items_total for part in self._parts())

    @property
    def items_done(self) -> int:
        return sum(part.items_done for part in self._parts())

    @property
    def percent(self) -> int:
        return _percent(self.items_done, self.items_total)

    @property
    def completed(self) -> bool:
        return self.items_total > 0 and self.items_done == self.items_total


@dataclass
class ModuleStatus(_RollUp):
    module: Module
    chapters: list[ChapterStatus] = field(default_factory=list)

    def _parts(self) -> list:
        return self.chapters


@dataclass
class CourseOutline(_RollUp):
    course: Course
    modules: list[ModuleStatus]
    completion: CompletionRecord | None = None
    last_lesson: LessonStatus | None = None
    schedule: LearnerSchedule | None = None

    @property
    def chapters(self) -> list[ChapterStatus]:
        return [c for m in self.modules for c in m.chapters]

    @property
    def lessons(self) -> list[LessonStatus]:
        return [ls for c in self.chapters for ls in c.lessons]

    @property
    def quizzes(self) -> list[QuizStatus]:
        return [c.quiz for c in self.chapters if c.quiz]

    def _parts(self) -> list:
        return self.modules

    @property
    def all_done(self) -> bool:
        return self.completed

    @property
    def started(self) -> bool:
        return any(ls.started for ls in self.lessons)

    @property
    def time_spent_seconds(self) -> int:
        return sum(ls.progress.time_spent_seconds for ls in self.lessons if ls.progress)

    @property
    def started_at(self) -> datetime | None:
        times = [ls.progress.first_viewed_at for ls in self.lessons if ls.progress]
        return min(times) if times else None

    def find_lesson(self, key: str) -> tuple[ChapterStatus, LessonStatus] | None:
        for chapter in self.chapters:
            for ls in chapter.lessons:
                if ls.lesson.key == key:
                    return chapter, ls
        return None

    def find_quiz(self, key: str) -> tuple[ChapterStatus, QuizStatus] | None:
        for chapter in self.chapters:
            if chapter.quiz and chapter.quiz.quiz.key == key:
                return chapter, chapter.quiz
        return None

    def neighbours(self, lesson_key: str) -> tuple[Lesson | None, Lesson | None]:
        order = [ls.lesson for ls in self.lessons]
        keys = [lesson.key for lesson in order]
        i = keys.index(lesson_key)
        return (order[i - 1] if i > 0 else None, order[i + 1] if i + 1 < len(order) else None)

    def next_step(self) -> tuple[str, object] | None:
        """Where "continue" leads: the lesson the learner was last reading if it is unfinished, else the
        first unfinished lesson or unpassed quiz in course order."""
        if self.last_lesson is not None and not self.last_lesson.completed:
            return "lesson", self.last_lesson.lesson
        for chapter in self.chapters:
            if chapter.locked:
                continue
            for ls in chapter.lessons:
                if not ls.completed:
                    return "lesson", ls.lesson
            if chapter.quiz and not chapter.quiz.passed:
                return "quiz", chapter.quiz.quiz
        return None


def _percent(done: int, total: int) -> int:
    return min(100, round(100 * done / total)) if total else 0


class Progress(NamedTuple):
    """The learner's row for a lesson (LessonProgress's columns a page shows)."""

    lesson_id: int
    first_viewed_at: datetime
    last_viewed_at: datetime
    completed_at: datetime | None
    time_spent_seconds: int


class CompletionRecord(NamedTuple):
    """The learner's completion of the course (Completion's columns a page shows)."""

    id: int
    started_at: datetime
    completed_at: datetime
    time_spent_seconds: int
    verification_code: str


# The learner's rows in one statement built once (a page runs it on every request; building a statement costs
# more than running it): kind "p", a lesson's progress; "a", a quiz's attempts (count, best %, passed); "c", the
# completion; "e", their cohort (its last day, their extension); "r", a chapter's release date in that cohort.
# The first branch gives the columns their types; the others fill the columns they do not use with NULL.
def _nothing(type_: type) -> Cast:
    return cast(null(), type_)


_LEARNER_ROWS = union_all(
    select(
        literal("p").label("kind"),
        LessonProgress.lesson_id.label("id"),
        LessonProgress.first_viewed_at.label("t1"),
        LessonProgress.last_viewed_at.label("t2"),
        LessonProgress.completed_at.label("t3"),
        LessonProgress.time_spent_seconds.label("n"),
        _nothing(Float).label("best"),
        _nothing(Integer).label("passed"),
        _nothing(String).label("code"),
        _nothing(Date).label("day"),
    ).where(LessonProgress.user_id == bindparam("user_id"), LessonProgress.course_id == bindparam("course_id")),
    select(
        literal("a"),
        Attempt.quiz_id,
        null(),
        null(),
        null(),
        func.count(Attempt.id),
        func.max(Attempt.percent),
        func.max(case((Attempt.passed, 1), else_=0)),
        null(),
        null(),
    )
    .join(Quiz, Quiz.id == Attempt.quiz_id)
    .where(Attempt.user_id == bindparam("user_id"), Quiz.course_id == bindparam("course_id"))
    .group_by(Attempt.quiz_id),
    select(
        literal("c"),
        Completion.id,
        Completion.started_at,
        Completion.completed_at,
        null(),
        Completion.time_spent_seconds,
        null(),
        null(),
        Completion.verification_code,
        null(),
    ).where(Completion.user_id == bindparam("user_id"), Completion.course_id == bindparam("course_id")),
    select(
        literal("e"), Cohort.id, null(), null(), null(), Enrolment.extension_days, null(), null(), null(),
        Cohort.ends_on,
    )
    .join(Cohort, Cohort.id == Enrolment.cohort_id)
    .where(Enrolment.user_id == bindparam("user_id"), Enrolment.course_id == bindparam("course_id")),
    select(
        literal("r"), ChapterRelease.chapter_id, null(), null(), null(), null(), null(), null(), null(),
        ChapterRelease.opens_on,
    )
    .join(Enrolment, Enrolment.cohort_id == ChapterRelease.cohort_id)
    .where(Enrolment.user_id == bindparam("user_id"), Enrolment.course_id == bindparam("course_id")),
)  # fmt: skip


@dataclass
class LearnerState:
    progress: dict[int, Progress] = field(default_factory=dict)  # by lesson id
    attempts: dict[int, tuple[int, float | None, bool]] = field(default_factory=dict)  # quiz id → count, best, passed
    completion: CompletionRecord | None = None
    schedule: LearnerSchedule | None = None  # their cohort's, if they are in one


def learner_state(user_id: int, course_id: int) -> LearnerState:
    """Everything of the learner's that an outline shows, in one statement."""
    found = LearnerState()
    releases: dict[int, date] = {}
    rows = db.session.connection().execute(_LEARNER_ROWS, {"user_id": user_id, "course_id": course_id})
    for kind, row_id, t1, t2, t3, n, best, passed, code, day in rows:
        if kind == "p":
            found.progress[row_id] = Progress(row_id, t1, t2, t3, n)
        elif kind == "a":
            found.attempts[row_id] = (n, best, bool(passed))
        elif kind == "c":
            found.completion = CompletionRecord(row_id, t1, t2, n, code)
        elif kind == "e":
            found.schedule = LearnerSchedule(row_id, day, n, releases)
        elif day is not None:  # "r": a chapter with a release date
            releases[row_id] = day
    return found


def build_outline(course: Course, user_id: int | None) -> CourseOutline:
    structure = course_structure(course)
    modules, chapters, lessons, quizzes = structure.modules, structure.chapters, structure.lessons, structure.quizzes

    progress: dict[int, Progress] = {}
    attempts: dict[int, tuple[int, float | None, bool]] = {}
    completion = None
    schedule = None
    if user_id is not None:
        mine = learner_state(user_id, course.id)
        progress, attempts, completion, schedule = mine.progress, mine.attempts, mine.completion, mine.schedule

    live_modules = {m.id for m in modules}
    by_chapter: dict[int, ChapterStatus] = {}
    module_status = {m.id: ModuleStatus(m) for m in modules}
    for chapter in chapters:
        if chapter.module_id in live_modules:
            status = ChapterStatus(chapter)
            if schedule is not None and not schedule.is_open(chapter.id):
                status.opens_on = schedule.opens[chapter.id]
            by_chapter[chapter.id] = status
            module_status[chapter.module_id].chapters.append(status)
    for lesson in lessons:
        if lesson.chapter_id in by_chapter:
            by_chapter[lesson.chapter_id].lessons.append(LessonStatus(lesson, progress.get(lesson.id)))
    for quiz in quizzes:
        if quiz.chapter_id in by_chapter:
            count, best, passed = attempts.get(quiz.id, (0, None, False))
            chapter_status = by_chapter[quiz.chapter_id]
            is_open = not chapter_status.locked and (
                not course.quiz_gate or all(ls.completed for ls in chapter_status.lessons)
            )
            chapter_status.quiz = QuizStatus(quiz, count, best, passed, is_open)

    outline = CourseOutline(course, list(module_status.values()), completion, schedule=schedule)
    viewed = [ls for ls in outline.lessons if ls.progress]
    if viewed:
        outline.last_lesson = max(viewed, key=lambda ls: ls.progress.last_viewed_at)
    return outline


def lesson_prompts(course: Course, lesson: Lesson) -> list[WorkbookPrompt]:
    return list(course_structure(course).prompts.get(lesson.id, ()))


def prompts_by_lesson(course: Course) -> dict[int, list[WorkbookPrompt]]:
    return {lesson_id: list(prompts) for lesson_id, prompts in course_structure(course).prompts.items()}
