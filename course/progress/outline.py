"""A learner's view of a course: the course's outline (`course.content.outline`) with the learner's status and
progress at every level — lessons opened and completed, quizzes tried and passed, chapters their cohort has not
opened yet.

The release rule: a chapter is locked for a learner when their cohort's schedule has not opened it yet (its date is
after today) and they have not started it (opened none of its lessons, never tried its quiz). A chapter they
started — self-paced before joining the cohort, in the cohort they moved from, or before its date was moved later —
stays open to them whole, lessons and quiz, so joining a cohort never hides progress; the others open on their date.

Built from the cached outline and one statement of the learner's own rows (`learner_state`), whatever the size
of the course. Percentages count the current outline's items (lessons and quizzes), so they never exceed 100 %.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from course.cohorts.schedule import LearnerSchedule
from course.content import cache as content_cache
from course.content.models import Chapter, Course, Lesson, Module, Quiz, WorkbookPrompt
from course.content.outline import Outline, course_outline
from course.progress.learner_state import Answer, CompletionRecord, LearnerState, Progress, learner_state


def percent(done: int, total: int) -> int:
    """Progress as a whole percentage of `total` items, never above 100: the one rule every page shows."""
    return min(100, round(100 * done / total)) if total else 0


@dataclass
class QuizStatus:
    quiz: Quiz
    attempts: int = 0
    best_percent: float | None = None
    passed: bool = False
    open: bool = True  # the learner may take it: its chapter is open and (with the quiz gate) read

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


class _Counted:
    """Progress over a number of items (lessons and quizzes): a chapter's own, or totalled over parts."""

    items_total: int
    items_done: int

    @property
    def percent(self) -> int:
        return percent(self.items_done, self.items_total)

    @property
    def completed(self) -> bool:
        return self.items_total > 0 and self.items_done == self.items_total


@dataclass
class ChapterStatus(_Counted):
    chapter: Chapter
    lessons: list[LessonStatus] = field(default_factory=list)
    quiz: QuizStatus | None = None
    opens_on: date | None = None  # set while the chapter is locked for the learner (see the release rule above)

    @property
    def locked(self) -> bool:
        return self.opens_on is not None

    @property
    def started(self) -> bool:
        """The learner opened one of its lessons or tried its quiz."""
        return any(ls.started for ls in self.lessons) or (self.quiz is not None and self.quiz.attempts > 0)

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
    def lessons_left(self) -> list[LessonStatus]:
        return [ls for ls in self.lessons if not ls.completed]

    @property
    def read(self) -> bool:
        """Every lesson of the chapter is complete."""
        return all(ls.completed for ls in self.lessons)


class _RollUp(_Counted):
    """Items (lessons and quizzes) totalled over the parts below: a module's chapters, a course's modules."""

    def _parts(self) -> list:
        raise NotImplementedError

    @property
    def items_total(self) -> int:
        return sum(part.items_total for part in self._parts())

    @property
    def items_done(self) -> int:
        return sum(part.items_done for part in self._parts())


@dataclass
class ModuleStatus(_RollUp):
    module: Module
    chapters: list[ChapterStatus] = field(default_factory=list)

    def _parts(self) -> list:
        return self.chapters


@dataclass
class LearnerOutline(_RollUp):
    course: Course
    outline: Outline
    modules: list[ModuleStatus]
    completion: CompletionRecord | None = None
    last_lesson: LessonStatus | None = None
    schedule: LearnerSchedule | None = None
    # The learner's workbook answers (by prompt id) to the prompts of the lesson the outline was built for
    # (`build_outline_of_key(answers_for=…)`), by that lesson's key; empty when it was built for none.
    answers: dict[str, dict[int, Answer]] = field(default_factory=dict)
    reviews_due: int | None = None  # how many of the learner's review cards are due now, if asked for

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

    @property
    def prompts(self) -> dict[int, tuple[WorkbookPrompt, ...]]:
        """Lesson id → its live workbook prompts, in order."""
        return self.outline.prompts

    def prompts_of(self, lesson: Lesson) -> tuple[WorkbookPrompt, ...]:
        return self.outline.prompts_of(lesson)

    def find_lesson(self, key: str) -> tuple[ChapterStatus, LessonStatus] | None:
        for chapter in self.chapters:
            for ls in chapter.lessons:
                if ls.lesson.key == key:
                    return chapter, ls
        return None

    def find_lesson_by_id(self, lesson_id: int) -> tuple[ChapterStatus, LessonStatus] | None:
        for chapter in self.chapters:
            for ls in chapter.lessons:
                if ls.lesson.id == lesson_id:
                    return chapter, ls
        return None

    def find_quiz(self, key: str) -> tuple[ChapterStatus, QuizStatus] | None:
        for chapter in self.chapters:
            if chapter.quiz and chapter.quiz.quiz.key == key:
                return chapter, chapter.quiz
        return None

    @property
    def nothing_open(self) -> bool:
        """Every chapter is locked: the learner's cohort has not opened the course to them yet."""
        return bool(self.chapters) and all(c.locked for c in self.chapters)

    @property
    def next_opening(self) -> ChapterStatus | None:
        """The locked chapter that opens first (on the same date, the first in course order)."""
        return min((c for c in self.chapters if c.locked), key=lambda c: c.opens_on, default=None)

    def neighbours(self, lesson_key: str) -> tuple[Lesson | None, Lesson | None]:
        """The lessons before and after `lesson_key` in course order, among those the learner can open (a locked
        chapter's lessons are skipped: "previous" and "next" never lead to a locked page)."""
        order = [ls.lesson for c in self.chapters if not c.locked for ls in c.lessons]
        keys = [lesson.key for lesson in order]
        i = keys.index(lesson_key)
        return (order[i - 1] if i > 0 else None, order[i + 1] if i + 1 < len(order) else None)

    def left_but(self, quiz: Quiz) -> int:
        """The lessons not complete and the quizzes other than `quiz` not passed (0: passing `quiz` would complete
        the course)."""
        return sum(not ls.completed for ls in self.lessons) + sum(
            not q.passed for q in self.quizzes if q.quiz.id != quiz.id
        )

    def next_step(self) -> tuple[str, object] | None:
        """Where "continue" leads: the lesson the learner was last reading if it is unfinished (a lesson they opened
        is never locked), else the first unfinished lesson or unpassed quiz of an open chapter, in course order.
        None when nothing open is left to do (then `next_opening` says when more opens)."""
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


def build_outline(course: Course, user_id: int | None) -> LearnerOutline:
    """The course's outline as `user_id` sees it (an anonymous reader: None, every item not started)."""
    return _assembled(course, learner_state(user_id, course.id) if user_id is not None else LearnerState())


def build_outline_of_key(
    course_key: str, user_id: int, answers_for: str | None = None, reviews_due: bool = False
) -> LearnerOutline | None:
    """`build_outline` for a learner's page, which names the course by its key: the course's row is read with the
    learner's state, in one statement, and so is what the page shows besides, if asked: their workbook answers to
    the prompts of the lesson whose key is `answers_for`, and with `reviews_due` how many of their review cards are
    due. None when no live course has that key."""
    mine = learner_state(user_id, course_key=course_key, lesson_key=answers_for, reviews_due=reviews_due)
    if mine.course is None:
        return None
    return _assembled(content_cache.course(*mine.course), mine)


def _assembled(course: Course, mine: LearnerState) -> LearnerOutline:
    outline = course_outline(course)
    schedule = mine.schedule
    modules = []
    for module in outline.modules:
        module_status = ModuleStatus(module.module)
        for chapter in module.chapters:
            status = ChapterStatus(chapter.chapter)
            status.lessons = [LessonStatus(lesson, mine.progress.get(lesson.id)) for lesson in chapter.lessons]
            if chapter.quiz is not None:
                results = mine.quizzes.get(chapter.quiz.id)
                if results is None:
                    status.quiz = QuizStatus(chapter.quiz)
                else:
                    status.quiz = QuizStatus(chapter.quiz, results.attempts, results.best_percent, results.passed)
            if schedule is not None and not schedule.is_open(chapter.chapter.id) and not status.started:
                status.opens_on = schedule.opens[chapter.chapter.id]
            if status.quiz is not None:
                status.quiz.open = not status.locked and (not course.quiz_gate or status.read)
            module_status.chapters.append(status)
        modules.append(module_status)
    learner = LearnerOutline(course, outline, modules, mine.completion, schedule=schedule, reviews_due=mine.reviews_due)
    if mine.answers is not None:
        learner.answers[mine.answers_for] = mine.answers
    viewed = [ls for ls in learner.lessons if ls.progress]
    if viewed:
        learner.last_lesson = max(viewed, key=lambda ls: ls.progress.last_viewed_at)
    return learner
