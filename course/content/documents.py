"""What a content directory is read into: a document per file, each with its spec (the schema's model of the
file), its path and the line of every place in it; and the problems found, as `file:line: message`."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from course.content.schema import (
    ChapterFile,
    CourseFile,
    LessonFront,
    LessonTranslation,
    ModuleFile,
    QuizFile,
    QuizTranslation,
)

# A chat model's control token (`<|im_end|>`) left in a text: looked for in every text a learner reads.
STRAY_TOKEN = re.compile(r"<\|[a-z_]+\|>")


@dataclass(frozen=True, order=True)
class Problem:
    """A problem in a content file; problems sort by file, then line."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


# How a check reports a problem: report(file, line, message).
Report = Callable[[Path, int, str], None]


@dataclass
class LessonTranslationDoc:
    spec: LessonTranslation
    body: str
    path: Path
    lines: dict[tuple, int]


@dataclass
class LessonDoc:
    spec: LessonFront
    body: str
    path: Path
    lines: dict[tuple, int]
    translations: dict[str, LessonTranslationDoc] = field(default_factory=dict)


@dataclass
class QuizTranslationDoc:
    spec: QuizTranslation
    path: Path
    lines: dict[tuple, int]


@dataclass
class QuizDoc:
    spec: QuizFile
    path: Path
    lines: dict[tuple, int]
    version: str
    translations: dict[str, QuizTranslationDoc] = field(default_factory=dict)


@dataclass
class ChapterDoc:
    spec: ChapterFile
    path: Path
    lessons: list[LessonDoc] = field(default_factory=list)
    quiz: QuizDoc | None = None


@dataclass
class ModuleDoc:
    spec: ModuleFile
    path: Path
    chapters: list[ChapterDoc] = field(default_factory=list)


@dataclass
class CourseDoc:
    spec: CourseFile
    path: Path
    modules: list[ModuleDoc] = field(default_factory=list)
    version: str = ""
    warnings: list[Problem] = field(default_factory=list)  # e.g. a diagram not rendered: shown, the load goes on

    def lessons(self) -> Iterable[tuple[ModuleDoc, ChapterDoc, LessonDoc]]:
        for module in self.modules:
            for chapter in module.chapters:
                for lesson in chapter.lessons:
                    yield module, chapter, lesson
