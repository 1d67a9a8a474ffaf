"""A course's outline: its live modules, chapters, lessons, quizzes and workbook prompts, in course order.

The one definition of what the current outline is and in which order its items come. An item is live when
neither it nor anything above it is archived. Modules come by position, chapters by their module's order and
then position, lessons by their chapter's order and then position (ties by id everywhere); each chapter has at
most one quiz. Everything that lists, numbers or counts a course's items derives from this: the learner's
outline and its percentages (`course.progress.outline`), a cohort's schedule, the dashboard's course map, the
demo generator. The progress roll-up's SQL restates it, and tests/test_outline.py proves the two agree.

`course_outline(course)` reads it from the process's cache (`course.content.cache`): the rows are detached,
shared by every request of the process, never to be changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import select
from sqlalchemy.orm import Session

from course.content import cache
from course.content.models import Chapter, Course, Lesson, Module, Quiz, WorkbookPrompt


@dataclass(frozen=True)
class OutlineChapter:
    chapter: Chapter
    module: Module
    index: int  # position among the course's chapters, from 0
    lessons: tuple[Lesson, ...] = ()
    quiz: Quiz | None = None

    @property
    def reference(self) -> bool:
        """A chapter of a reference module (the appendix): read at will, never due."""
        return self.module.kind == "reference"

    @property
    def items_total(self) -> int:
        """Lessons plus its quiz: what a learner's progress in the chapter counts."""
        return len(self.lessons) + (1 if self.quiz is not None else 0)


@dataclass(frozen=True)
class OutlineModule:
    module: Module
    chapters: tuple[OutlineChapter, ...] = ()


@dataclass(frozen=True, eq=False)
class Outline:
    course_id: int
    modules: tuple[OutlineModule, ...]
    prompts: dict[int, tuple[WorkbookPrompt, ...]] = field(default_factory=dict)  # lesson id → its prompts

    @cached_property
    def chapters(self) -> tuple[OutlineChapter, ...]:
        return tuple(chapter for module in self.modules for chapter in module.chapters)

    @cached_property
    def lessons(self) -> tuple[Lesson, ...]:
        """Every live lesson, in course order."""
        return tuple(lesson for chapter in self.chapters for lesson in chapter.lessons)

    @cached_property
    def quizzes(self) -> tuple[Quiz, ...]:
        return tuple(chapter.quiz for chapter in self.chapters if chapter.quiz is not None)

    @cached_property
    def lesson_index(self) -> dict[int, int]:
        """Lesson id → its position in course order, from 0."""
        return {lesson.id: i for i, lesson in enumerate(self.lessons)}

    @property
    def items_total(self) -> int:
        """Lessons plus quizzes: what a learner's progress in the course counts (it never exceeds 100 %)."""
        return sum(chapter.items_total for chapter in self.chapters)

    def prompts_of(self, lesson: Lesson) -> tuple[WorkbookPrompt, ...]:
        return self.prompts.get(lesson.id, ())


def course_outline(course: Course) -> Outline:
    """The course's outline, from this process's cache unless its content changed since."""
    return cache.outline(course, load_outline)


def load_outline(session: Session, course: Course) -> Outline:
    """Read the course's live outline rows (four statements) and put them in course order."""

    def live(model: type, *order: object) -> list:
        query = select(model).where(model.course_id == course.id, model.archived_at.is_(None))
        return list(session.scalars(query.order_by(*order, model.id)))

    modules = live(Module, Module.position)
    chapters = live(Chapter, Chapter.position)
    lessons = live(Lesson, Lesson.position)
    quizzes = live(Quiz)
    prompts = live(WorkbookPrompt, WorkbookPrompt.position)

    lessons_of: dict[int, list[Lesson]] = {}
    for lesson in lessons:
        lessons_of.setdefault(lesson.chapter_id, []).append(lesson)
    quiz_of = {quiz.chapter_id: quiz for quiz in quizzes}
    chapters_of: dict[int, list[Chapter]] = {}
    for chapter in chapters:
        chapters_of.setdefault(chapter.module_id, []).append(chapter)
    outline_modules, index = [], 0
    for module in modules:
        outline_chapters = []
        for chapter in chapters_of.get(module.id, []):
            outline_chapters.append(
                OutlineChapter(chapter, module, index, tuple(lessons_of.get(chapter.id, ())), quiz_of.get(chapter.id))
            )
            index += 1
        outline_modules.append(OutlineModule(module, tuple(outline_chapters)))
    outline = Outline(course.id, tuple(outline_modules))
    live_lessons = set(outline.lesson_index)
    for prompt in prompts:
        if prompt.lesson_id in live_lessons:
            outline.prompts.setdefault(prompt.lesson_id, ())
            outline.prompts[prompt.lesson_id] += (prompt,)
    return outline
