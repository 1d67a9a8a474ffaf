"""Reading and validating a content directory.

`read_content(root)` parses every file, validates it against the schema, the question types and the
cross-file rules (unique ids, references, translations, diagrams), and returns the parsed tree with every
problem found as `file:line: message`. The loader refuses to touch the database while there is any problem.

The parts: `yaml_reader` (YAML with the line of every place), `validation` (the schema), `markdown_check`
(lesson bodies), `translations` (the rules across languages); this module walks the tree and keeps the rules
across files.
"""

from __future__ import annotations

import gc
import hashlib
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from course.content.documents import (
    ChapterDoc,
    CourseDoc,
    LessonDoc,
    LessonTranslationDoc,
    ModuleDoc,
    Problem,
    QuizDoc,
    QuizTranslationDoc,
)
from course.content.markdown_check import markdown_problems, mermaid_errors
from course.content.question_types import QUESTION_TYPES
from course.content.schema import (
    ChapterFile,
    CourseFile,
    LessonFront,
    LessonTranslation,
    ModuleFile,
    QuizFile,
    QuizTranslation,
    readable,
    stand_in,
)
from course.content.translations import check_translations
from course.content.validation import describe, line_for, validate
from course.content.yaml_reader import YamlReader

# Where the rest of the code and the tests import them from.
__all__ = [
    "CourseDoc",
    "Problem",
    "collector_paused",
    "course_folders",
    "describe",
    "line_for",
    "mermaid_errors",
    "read_content",
]

Spec = TypeVar("Spec", bound=BaseModel)

LANG_SUFFIX = r"(?P<lang>[a-z]{2}(?:-[A-Za-z]{2,4})?)"
TRANSLATED_LESSON = re.compile(rf"^(?P<stem>.+)\.{LANG_SUFFIX}\.md$")
TRANSLATED_QUIZ = re.compile(rf"^quiz\.{LANG_SUFFIX}\.yaml$")


def read_content(root: Path) -> tuple[list[CourseDoc], list[Problem], int]:
    """Parse and validate every course under `root`. Returns (courses, problems, number of files read)."""
    with collector_paused():
        return _read_content(root)


def _read_content(root: Path) -> tuple[list[CourseDoc], list[Problem], int]:
    reader = _Reader(root)
    if not root.is_dir():
        reader.problem(root, 1, "no such content directory")
        return [], reader.problems, 0
    folders = course_folders(root)
    if not folders:
        reader.problem(root, 1, "no course folder (a folder with a course.yaml) found")
    courses = []
    folder_of: dict[str, Path] = {}  # course id → its folder
    for folder in folders:
        course = reader.read_course(folder)
        if course.spec.id in folder_of:
            other = folder_of[course.spec.id].name
            reader.problem(folder / "course.yaml", 1, f"course id `{course.spec.id}` is also used by {other}/")
        if course.spec.id is not None:
            folder_of[course.spec.id] = folder
        courses.append(course)
    return courses, sorted(set(reader.problems)), reader.file_count


def course_folders(root: Path) -> list[Path]:
    if (root / "course.yaml").is_file():
        return [root]
    if not root.is_dir():
        return []
    # Beside the course folders: the rendered diagrams (course/content/diagrams.py), not a course.
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name != "diagrams")


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection meanwhile. Reading and loading a course allocates millions of small objects
    (parsed files, line maps, rows) that stay alive until the end: the collector would scan them again and
    again, finding nothing to free, for about a quarter of the time of a large course. Reference counting
    still frees everything else at once; cycles wait for the next collection after this."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# Settings added after quizzes had versions: left out while unset, so an unchanged quiz keeps its version.
LATER_SETTINGS = ("draw", "retry_after")


def quiz_version(spec: QuizFile) -> str:
    data = spec.model_dump()
    for name in LATER_SETTINGS:
        if data.get(name) is None:
            data.pop(name, None)
    for question in data.get("questions") or ():
        if question.get("group") is None:
            question.pop("group", None)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


class _Reader:
    """Reads the files of a content directory into documents, and collects the problems of all of them."""

    def __init__(self, root: Path):
        self.root = root
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []  # what does not stop a load: kept with its course (CourseDoc.warnings)
        self.file_count = 0
        self.yaml_reader = YamlReader()

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root.parent if self.root.is_dir() else self.root))
        except ValueError:
            return str(path)

    def problem(self, path: Path, line: int, message: str) -> None:
        self.problems.append(Problem(self.rel(path), max(line, 1), message))

    def yaml(self, path: Path, text: str, line_offset: int = 0) -> tuple[Any, dict[tuple, int]] | None:
        """The data of a YAML text and the line of every place in it; None if it is not YAML."""
        read = self.yaml_reader.read(text, line_offset)
        for line, message in read.problems:
            self.problem(path, line, message)
        return (read.data, read.lines) if read.readable else None

    # -- files -------------------------------------------------------------------------------
    # A file that cannot be read at all (missing, not YAML) gets a stand-in spec with nothing readable: its
    # problem is reported, and the files around and below it are still read and checked.
    def read_yaml_file(self, model: type[Spec], path: Path) -> tuple[Spec, dict]:
        if not path.is_file():
            self.problem(path, 1, f"missing {path.name}")
            return stand_in(model), {}
        self.file_count += 1
        parsed = self.yaml(path, path.read_text(encoding="utf-8", errors="replace"))
        if parsed is None:
            return stand_in(model), {}
        data, lines = parsed
        return validate(model, data, path, lines, self.problem), lines

    def _front_matter(self, path: Path, model: type[Spec]) -> tuple[Spec, dict, str]:
        """Read a Markdown file with YAML front matter: (spec, line map, body); the body is checked too."""
        self.file_count += 1
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.problem(path, raw[: exc.start].count(b"\n") + 1, "the file is not valid UTF-8")
            return stand_in(model), {}, ""
        lines = text.replace("\r\n", "\n").split("\n")
        if not lines or lines[0].strip() != "---":
            self.problem(path, 1, "a lesson starts with front matter: a line `---`, YAML fields, a line `---`")
            return stand_in(model), {}, ""
        end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
        if end is None:
            self.problem(path, 1, "the front matter is never closed with a line `---`")
            return stand_in(model), {}, ""
        parsed = self.yaml(path, "\n".join(lines[1:end]), line_offset=1)
        # The body is checked even when the front matter is not YAML: only the front matter is unreadable.
        linemap = parsed[1] if parsed else {}
        spec = validate(model, parsed[0], path, linemap, self.problem) if parsed else stand_in(model)
        rest = lines[end + 1 :]
        leading_blank = next((i for i, line in enumerate(rest) if line.strip()), len(rest))
        body = "\n".join(rest).strip("\n")
        warnings: list[tuple[int, str]] = []
        for line, message in markdown_problems(body, end + 2 + leading_blank, warnings):
            self.problem(path, line, message)
        self.warnings += [Problem(self.rel(path), line, message) for line, message in warnings]
        return spec, linemap, body

    def read_lesson(self, path: Path) -> LessonDoc:
        spec, linemap, body = self._front_matter(path, LessonFront)
        return LessonDoc(spec, body, path, linemap)

    def read_lesson_translation(self, path: Path) -> LessonTranslationDoc:
        spec, linemap, body = self._front_matter(path, LessonTranslation)
        return LessonTranslationDoc(spec, body, path, linemap)

    def read_quiz(self, path: Path) -> QuizDoc:
        spec, lines = self.read_yaml_file(QuizFile, path)
        for i, question in enumerate(spec.questions or ()):
            if question.type is None:  # missing or unknown: reported already
                continue
            for loc, message in QUESTION_TYPES[question.type].check(question):
                if readable(spec, "questions", i, *loc):
                    self.problem(
                        path,
                        line_for(lines, ("questions", i, *loc)),
                        f"question {question.id or f'#{i + 1}'}: {message}",
                    )
        self.check_draw(spec, path, lines)
        return QuizDoc(spec, path, lines, quiz_version(spec))

    def check_draw(self, spec: QuizFile, path: Path, lines: dict[tuple, int]) -> None:
        """`draw: N` serves N of the quiz's M questions (1 ≤ N ≤ M), at least one of each `group`; a group is
        only for a quiz that draws."""
        questions = spec.questions or ()
        groups = {q.group for q in questions if q.group}
        if spec.draw is None:
            for i, question in enumerate(questions):
                if question.group:
                    where = line_for(lines, ("questions", i, "group"))
                    self.problem(path, where, f"question {question.id}: `group` is only used with the quiz's `draw`")
            return
        if not readable(spec, "questions"):
            return
        where = line_for(lines, ("draw",))
        if spec.draw > len(questions):
            self.problem(path, where, f"`draw: {spec.draw}` is more than the quiz's {len(questions)} questions")
        elif len(groups) > spec.draw:
            self.problem(path, where, f"`draw: {spec.draw}` cannot represent each of the {len(groups)} groups")

    def read_quiz_translation(self, path: Path) -> QuizTranslationDoc:
        spec, lines = self.read_yaml_file(QuizTranslation, path)
        return QuizTranslationDoc(spec, path, lines)

    # -- the tree ------------------------------------------------------------------------------
    def entries(self, folder: Path, allowed: set[str]) -> tuple[list[Path], list[Path]]:
        dirs, files = [], []
        for entry in sorted(folder.iterdir(), key=lambda p: p.name):
            if entry.name.startswith("."):
                continue
            if entry.is_dir():
                dirs.append(entry)
            elif (
                entry.name in allowed
                or (entry.suffix == ".md" and ".md" in allowed)
                or ("quiz.yaml" in allowed and TRANSLATED_QUIZ.match(entry.name))
            ):
                files.append(entry)
            elif entry.name.lower() != "readme.md":
                self.problem(entry, 1, f"unexpected file in {folder.name}/ (expected {', '.join(sorted(allowed))})")
        return dirs, files

    def read_course(self, folder: Path) -> CourseDoc:
        spec, _lines = self.read_yaml_file(CourseFile, folder / "course.yaml")
        module_dirs, _ = self.entries(folder, {"course.yaml"})
        first_warning = len(self.warnings)
        modules = [self.read_module(module_dir) for module_dir in module_dirs]
        if not module_dirs:
            self.problem(folder / "course.yaml", 1, "the course has no module folders")
        course = CourseDoc(spec, folder, modules, version=self.digest(folder))
        course.warnings = sorted(set(self.warnings[first_warning:]))
        self.check_course(course)
        check_translations(course, self.problem)
        return course

    def read_module(self, folder: Path) -> ModuleDoc:
        spec, _lines = self.read_yaml_file(ModuleFile, folder / "module.yaml")
        chapter_dirs, _ = self.entries(folder, {"module.yaml"})
        chapters = [self.read_chapter(chapter_dir) for chapter_dir in chapter_dirs]
        if not chapter_dirs:
            self.problem(folder / "module.yaml", 1, "the module has no chapter folders")
        return ModuleDoc(spec, folder, chapters)

    def read_chapter(self, folder: Path) -> ChapterDoc:
        spec, _lines = self.read_yaml_file(ChapterFile, folder / "chapter.yaml")
        subdirs, files = self.entries(folder, {"chapter.yaml", "quiz.yaml", ".md"})
        for sub in subdirs:
            self.problem(sub, 1, "a chapter folder holds lesson files and quiz.yaml, not folders")
        markdown = [f for f in files if f.suffix == ".md"]
        translated = {f: m for f in markdown if (m := TRANSLATED_LESSON.match(f.name))}
        lessons = [self.read_lesson(f) for f in markdown if f not in translated]
        by_stem = {doc.path.name.removesuffix(".md"): doc for doc in lessons}
        for path, match in translated.items():
            lesson = by_stem.get(match["stem"])
            if lesson is None:
                self.problem(path, 1, f"a translation of `{match['stem']}.md`, which does not exist")
                continue
            lesson.translations[match["lang"]] = self.read_lesson_translation(path)
        quiz = self.read_quiz(folder / "quiz.yaml") if (folder / "quiz.yaml").exists() else None
        for path in files:
            if match := TRANSLATED_QUIZ.match(path.name):
                if quiz is None:
                    self.problem(path, 1, "a quiz translation without a quiz.yaml")
                else:
                    quiz.translations[match["lang"]] = self.read_quiz_translation(path)
        if not lessons:
            self.problem(folder / "chapter.yaml", 1, "the chapter has no lessons")
        return ChapterDoc(spec, folder, lessons, quiz)

    def digest(self, folder: Path) -> str:
        sha = hashlib.sha256()
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            sha.update(str(path.relative_to(folder)).encode())
            sha.update(path.read_bytes())
        return sha.hexdigest()[:16]

    # -- rules across files ------------------------------------------------------------------
    def check_course(self, course: CourseDoc) -> None:
        """Ids unique in the course, per kind; a question's lesson is a lesson of the course."""
        seen: dict[str, dict[str, tuple[Path, int]]] = {}  # kind → id → where it was first used

        def claim(kind: str, key: str | None, path: Path, line: int) -> None:
            if key is None:  # missing or wrong: reported already
                return
            first = seen.setdefault(kind, {}).get(key)
            if first:
                self.problem(path, line, f"{kind} id `{key}` is already used at {self.rel(first[0])}:{first[1]}")
            else:
                seen[kind][key] = (path, line)

        lesson_keys = {lesson.spec.id for _, _, lesson in course.lessons()}
        every_lesson_id_known = None not in lesson_keys
        for module in course.modules:
            claim("module", module.spec.id, module.path / "module.yaml", 1)
            for chapter in module.chapters:
                claim("chapter", chapter.spec.id, chapter.path / "chapter.yaml", 1)
                for lesson in chapter.lessons:
                    claim("lesson", lesson.spec.id, lesson.path, line_for(lesson.lines, ("id",)))
                    for i, prompt in enumerate(lesson.spec.workbook):
                        claim("workbook prompt", prompt.id, lesson.path, line_for(lesson.lines, ("workbook", i)))
                if chapter.quiz is None:
                    continue
                quiz = chapter.quiz
                claim("quiz", quiz.spec.id, quiz.path, line_for(quiz.lines, ("id",)))
                for i, question in enumerate(quiz.spec.questions or ()):
                    line = line_for(quiz.lines, ("questions", i))
                    claim("question", question.id, quiz.path, line)
                    if question.lesson and every_lesson_id_known and question.lesson not in lesson_keys:
                        self.problem(
                            quiz.path,
                            line_for(quiz.lines, ("questions", i, "lesson")),
                            f"question {question.id or f'#{i + 1}'}: no lesson has the id `{question.lesson}`",
                        )
