"""Reading and validating a content directory.

`read_content(root)` parses every file, validates it against the schema, the question types and the
cross-file rules (unique ids, references, diagrams), and returns the parsed tree with every problem found
as `file:line: message`. The loader refuses to touch the database while there is any problem.
"""

from __future__ import annotations

import copy
import gc
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from course.content import mermaid
from course.content.question_types import QUESTION_TYPES
from course.content.schema import (
    ChapterFile,
    CourseFile,
    LessonFront,
    LessonTranslation,
    ModuleFile,
    QuizFile,
    QuizTranslation,
    lenient,
    readable,
    stand_in,
    with_unread,
)

M = TypeVar("M", bound=BaseModel)

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)")
# libyaml's parser when PyYAML was built with it (its wheels are), else the pure-Python one.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
STRAY_TOKEN = re.compile(r"<\|[a-z_]+\|>")
LANG_SUFFIX = r"(?P<lang>[a-z]{2}(?:-[A-Za-z]{2,4})?)"
TRANSLATED_LESSON = re.compile(rf"^(?P<stem>.+)\.{LANG_SUFFIX}\.md$")
TRANSLATED_QUIZ = re.compile(rf"^quiz\.{LANG_SUFFIX}\.yaml$")


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


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

    def lessons(self) -> Iterable[tuple[ModuleDoc, ChapterDoc, LessonDoc]]:
        for module in self.modules:
            for chapter in module.chapters:
                for lesson in chapter.lessons:
                    yield module, chapter, lesson


class _Reader:
    def __init__(self, root: Path):
        self.root = root
        self.problems: list[Problem] = []
        self.file_count = 0

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root.parent if self.root.is_dir() else self.root))
        except ValueError:
            return str(path)

    def problem(self, path: Path, line: int, message: str) -> None:
        self.problems.append(Problem(self.rel(path), max(line, 1), message))

    # -- YAML with line numbers ------------------------------------------------------------
    def yaml(self, path: Path, text: str, line_offset: int = 0) -> tuple[Any, dict[tuple, int]] | None:
        plain = _PlainYaml.read(text, line_offset)
        if plain is not None:
            for line, message in plain.problems:
                self.problem(path, line, message)
            return plain.data, plain.lines
        # Anchors, tags, merge keys, several documents, a syntax error: composed and constructed by PyYAML.
        try:
            loader = _SafeLoader(text)  # one parse gives both the nodes (lines) and the data
            try:
                node = loader.get_single_node()
                data = loader.construct_document(node) if node is not None else None
            finally:
                loader.dispose()
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
            line = (mark.line + 1 if mark else 1) + line_offset
            reason = getattr(exc, "problem", None) or str(exc)
            self.problem(path, line, f"invalid YAML: {reason}")
            return None
        lines: dict[tuple, int] = {}
        if node is not None:
            self._walk(path, node, (), lines, line_offset)
        return data, lines

    def _walk(self, path: Path, node: yaml.Node, at: tuple, lines: dict, offset: int) -> None:
        lines.setdefault(at, node.start_mark.line + 1 + offset)
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = key_node.value
                if key in seen:
                    self.problem(path, key_node.start_mark.line + 1 + offset, f"duplicate key `{key}`")
                seen.add(key)
                lines[(*at, key)] = key_node.start_mark.line + 1 + offset
                self._walk(path, value_node, (*at, key), lines, offset)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._walk(path, item, (*at, i), lines, offset)
        elif isinstance(node, yaml.ScalarNode) and (token := STRAY_TOKEN.search(str(node.value))):
            self.problem(path, node.start_mark.line + 1 + offset, f"stray token {token.group(0)!r}")

    def validate(self, model: type[M], data: Any, path: Path, lines: dict[tuple, int]) -> M:
        """The file's spec. A schema error does not stop the reading: every one is reported, and the rest of the
        file is still read (`_salvage`) so that the other rules run on it too, in the same pass."""
        if not isinstance(data, dict):
            self.problem(path, lines.get((), 1), "expected a mapping of fields (key: value)")
            return stand_in(model)
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            errors = exc.errors()
        for error in errors:
            self.problem(path, line_for(lines, tuple(error["loc"])), describe(error))
        return _salvage(model, data, errors)

    # -- files -------------------------------------------------------------------------------
    # A file that cannot be read at all (missing, not YAML) gets a stand-in spec with nothing readable: its
    # problem is reported, and the files around and below it are still read and checked.
    def read_yaml_file(self, model: type[M], path: Path) -> tuple[M, dict]:
        if not path.is_file():
            self.problem(path, 1, f"missing {path.name}")
            return stand_in(model), {}
        self.file_count += 1
        text = path.read_text(encoding="utf-8", errors="replace")
        parsed = self.yaml(path, text)
        if parsed is None:
            return stand_in(model), {}
        data, lines = parsed
        return self.validate(model, data, path, lines), lines

    def _front_matter(self, path: Path, model: type[M]) -> tuple[M, dict, str]:
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
        spec = self.validate(model, parsed[0], path, linemap) if parsed else stand_in(model)
        rest = lines[end + 1 :]
        leading_blank = next((i for i, line in enumerate(rest) if line.strip()), len(rest))
        body = "\n".join(rest).strip("\n")
        self.check_markdown(path, body, end + 2 + leading_blank)
        return spec, linemap, body

    def read_lesson(self, path: Path) -> LessonDoc:
        spec, linemap, body = self._front_matter(path, LessonFront)
        return LessonDoc(spec, body, path, linemap)

    def read_lesson_translation(self, path: Path) -> LessonTranslationDoc:
        spec, linemap, body = self._front_matter(path, LessonTranslation)
        return LessonTranslationDoc(spec, body, path, linemap)

    def check_markdown(self, path: Path, body: str, first_line: int) -> None:
        if not body.strip():
            self.problem(path, first_line, "the lesson has no text")
            return
        open_fence: tuple[str, int, str, list[str]] | None = None  # marker, line, info, collected lines
        for i, line in enumerate(body.split("\n")):
            number = first_line + i
            if open_fence is None:
                if match := FENCE.match(line):
                    open_fence = (match.group(1), number, match.group(2).lower(), [])
                    continue
                if line.startswith("# "):
                    self.problem(path, number, "use `##` and below in a lesson: the title is the page heading")
                if STRAY_TOKEN.search(line):
                    self.problem(path, number, f"stray token {STRAY_TOKEN.search(line).group(0)!r}")
            else:
                marker, start, info, collected = open_fence
                stripped = line.strip()
                if stripped and set(stripped) == {marker[0]} and len(stripped) >= len(marker):
                    if info == "mermaid":
                        self.check_mermaid(path, "\n".join(collected), start)
                    open_fence = None
                else:
                    collected.append(line)
        if open_fence is not None:
            self.problem(path, open_fence[1], "this code block is never closed")

    def check_mermaid(self, path: Path, source: str, fence_line: int) -> None:
        for exc in mermaid_errors(source):
            self.problem(path, fence_line + exc.line, f"mermaid diagram: {exc}")

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
        version = hashlib.sha256(json.dumps(spec.model_dump(), sort_keys=True).encode()).hexdigest()[:16]
        return QuizDoc(spec, path, lines, version)

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
        modules = [self.read_module(d) for d in module_dirs]
        if not module_dirs:
            self.problem(folder / "course.yaml", 1, "the course has no module folders")
        course = CourseDoc(spec, folder, modules, version=self.digest(folder))
        self.check_course(course)
        _check_translations(self, course)
        return course

    def read_module(self, folder: Path) -> ModuleDoc:
        spec, _lines = self.read_yaml_file(ModuleFile, folder / "module.yaml")
        chapter_dirs, _ = self.entries(folder, {"module.yaml"})
        chapters = [self.read_chapter(d) for d in chapter_dirs]
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
        seen: dict[str, dict[str, tuple[Path, int]]] = {}

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


class _Unusual(Exception):
    """The YAML uses more than plain mappings, sequences and scalars: read it the general way."""


_STR = "tag:yaml.org,2002:str"
_SCALAR_TAGS = {
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:timestamp",
}


class _PlainYaml:
    """One pass over the parser's events that gives what `_Reader.yaml` gets from composing the nodes,
    constructing the data and walking the nodes — the data, the line of every path, the duplicate keys and
    stray tokens — without building the node tree (most of the time of reading a large course).

    It reads plain YAML only: mappings with scalar keys, sequences and untagged scalars in one document.
    Anything else (anchors and aliases, tags, merge keys, several documents, a syntax error) returns None,
    and the caller reads the file the general way, which reports its problems as before."""

    def __init__(self, loader: Any, offset: int):
        self.loader = loader
        self.offset = offset
        self.lines: dict[tuple, int] = {}
        self.problems: list[tuple[int, str]] = []
        self.data: Any = None
        self.tags: dict[str, str] = {}

    @classmethod
    def read(cls, text: str, offset: int) -> _PlainYaml | None:
        try:
            loader = _SafeLoader(text)  # the pure-Python reader checks the characters here already
        except yaml.YAMLError:
            return None
        try:
            plain = cls(loader, offset)
            loader.get_event()  # stream start
            if loader.check_event(yaml.StreamEndEvent):
                return None  # no document
            loader.get_event()  # document start
            plain.data = plain.node(())
            loader.get_event()  # document end
            if not loader.check_event(yaml.StreamEndEvent):
                return None  # another document
            return plain
        except Exception:  # whatever it is, the general way meets it again and reports it
            return None
        finally:
            loader.dispose()

    def node(self, at: tuple) -> Any:
        event = self.loader.get_event()
        if event.anchor is not None or getattr(event, "tag", None) is not None:
            raise _Unusual
        line = event.start_mark.line + 1 + self.offset
        self.lines.setdefault(at, line)
        if isinstance(event, yaml.ScalarEvent):
            if token := STRAY_TOKEN.search(event.value):
                self.problems.append((line, f"stray token {token.group(0)!r}"))
            return self.scalar(event)
        if isinstance(event, yaml.SequenceStartEvent):
            items = []
            while not self.loader.check_event(yaml.SequenceEndEvent):
                items.append(self.node((*at, len(items))))
            self.loader.get_event()
            return items
        if isinstance(event, yaml.MappingStartEvent):
            mapping: dict[Any, Any] = {}
            seen: set[str] = set()
            while not self.loader.check_event(yaml.MappingEndEvent):
                key_event = self.loader.get_event()
                if not isinstance(key_event, yaml.ScalarEvent) or key_event.anchor or key_event.tag:
                    raise _Unusual
                key = key_event.value
                key_line = key_event.start_mark.line + 1 + self.offset
                if key in seen:
                    self.problems.append((key_line, f"duplicate key `{key}`"))
                seen.add(key)
                self.lines[(*at, key)] = key_line
                constructed = self.scalar(key_event)
                mapping[constructed] = self.node((*at, key))
            self.loader.get_event()
            return mapping
        raise _Unusual  # an alias

    def scalar(self, event: yaml.ScalarEvent) -> Any:
        if not event.implicit[0]:
            return event.value  # quoted or a block: a string
        tag = self.tags.get(event.value)
        if tag is None:  # a plain scalar's type depends on its text only (the keys and values that repeat)
            tag = self.tags[event.value] = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag == _STR:
            return event.value
        if tag not in _SCALAR_TAGS:
            raise _Unusual  # e.g. `<<` (a merge key) or `=`
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        return self.loader.yaml_constructors[tag](self.loader, node)


def _check_translations(reader: _Reader, course: CourseDoc) -> None:
    """Every item exists in each declared language, with the same ids; no undeclared translations.
    (A part with a schema error is left out of these comparisons until it is fixed.)"""
    if not (readable(course.spec, "translations") and readable(course.spec, "language")):
        return
    langs = list(course.spec.translations)
    manifest = course.path / "course.yaml"
    if course.spec.language in langs:
        reader.problem(manifest, 1, f"`{course.spec.language}` is the course's own language, not a translation")
    for lang in langs:
        if lang not in course.spec.i18n and readable(course.spec, "i18n", lang, inside=False):
            reader.problem(manifest, 1, f"missing `i18n: {lang}: title: …` for the course")
        for module in course.modules:
            if lang not in module.spec.i18n and readable(module.spec, "i18n", lang, inside=False):
                reader.problem(module.path / "module.yaml", 1, f"missing `i18n: {lang}: title: …`")
            for chapter in module.chapters:
                if lang not in chapter.spec.i18n and readable(chapter.spec, "i18n", lang, inside=False):
                    reader.problem(chapter.path / "chapter.yaml", 1, f"missing `i18n: {lang}: title: …`")
                for lesson in chapter.lessons:
                    _check_lesson_translation(reader, lesson, lang)
                if chapter.quiz is not None:
                    _check_quiz_translation(reader, chapter.quiz, lang)
    for _module, _chapter, lesson in course.lessons():
        for lang, doc in lesson.translations.items():
            if lang not in langs:
                reader.problem(doc.path, 1, f"`{lang}` is not among the course's translations (course.yaml)")
    for module in course.modules:
        for chapter in module.chapters:
            for lang, doc in chapter.quiz.translations.items() if chapter.quiz else []:
                if lang not in langs:
                    reader.problem(doc.path, 1, f"`{lang}` is not among the course's translations (course.yaml)")


def _check_lesson_translation(reader: _Reader, lesson: LessonDoc, lang: str) -> None:
    doc = lesson.translations.get(lang)
    if doc is None:
        expected = lesson.path.name.removesuffix(".md") + f".{lang}.md"
        reader.problem(lesson.path, 1, f"no `{lang}` translation: expected {expected}")
        return
    spec, own = doc.spec, lesson.spec
    if None not in (spec.id, own.id) and spec.id != own.id:
        reader.problem(doc.path, line_for(doc.lines, ("id",)), f"the id must be `{own.id}`, as in the lesson")
    if readable(spec, "takeaways") and readable(own, "takeaways") and len(spec.takeaways) != len(own.takeaways):
        reader.problem(
            doc.path,
            line_for(doc.lines, ("takeaways",)),
            f"{len(spec.takeaways)} takeaways; the lesson has {len(own.takeaways)}",
        )
    ids, translated = [w.id for w in own.workbook], [w.id for w in spec.workbook]
    if readable(spec, "workbook") and readable(own, "workbook") and ids != translated:
        reader.problem(
            doc.path,
            line_for(doc.lines, ("workbook",)),
            f"workbook prompt ids {translated} differ from the lesson's {ids}",
        )


def _check_quiz_translation(reader: _Reader, quiz: QuizDoc, lang: str) -> None:
    doc = quiz.translations.get(lang)
    if doc is None:
        reader.problem(quiz.path, 1, f"no `{lang}` translation: expected quiz.{lang}.yaml")
        return
    if None not in (doc.spec.id, quiz.spec.id) and doc.spec.id != quiz.spec.id:
        reader.problem(doc.path, line_for(doc.lines, ("id",)), f"the id must be `{quiz.spec.id}`, as in quiz.yaml")
    if not (readable(doc.spec, "questions", inside=False) and readable(quiz.spec, "questions", inside=False)):
        return
    translated = {q.id: (i, q) for i, q in enumerate(doc.spec.questions) if q.id is not None}
    all_translated_known = len(translated) == len(doc.spec.questions)
    for n, question in enumerate(quiz.spec.questions):
        if question.id is None:
            continue
        if question.id not in translated:
            if all_translated_known:
                reader.problem(doc.path, 1, f"question {question.id} is missing")
            continue
        i, tq = translated.pop(question.id)
        option_ids = [o.id for o in question.options]
        if (
            readable(quiz.spec, "questions", n, "options")
            and readable(doc.spec, "questions", i, "options")
            and [o.id for o in tq.options] != option_ids
        ):
            reader.problem(
                doc.path,
                line_for(doc.lines, ("questions", i, "options")),
                f"question {question.id}: option ids must be {option_ids}, in that order",
            )
        if question.type is None or not readable(doc.spec, "questions", i, "accepted"):
            continue
        if question.type == "short_text" and not tq.accepted:
            reader.problem(
                doc.path,
                line_for(doc.lines, ("questions", i)),
                f"question {question.id}: list the answers accepted in `{lang}`",
            )
        if question.type != "short_text" and tq.accepted:
            reader.problem(
                doc.path,
                line_for(doc.lines, ("questions", i, "accepted")),
                f"question {question.id}: `accepted` is only for short_text questions",
            )
    if None not in (q.id for q in quiz.spec.questions):
        for key, (i, _q) in translated.items():
            reader.problem(doc.path, line_for(doc.lines, ("questions", i)), f"quiz.yaml has no question {key}")


def _salvage(model: type[M], data: dict, errors: list[Any]) -> M:
    """What can be read of `data` despite its schema `errors`: the wrong values are left out (a wrong optional
    field takes its default, a required one is None, a list item that is not a mapping becomes an empty one so
    that the items after it keep their places and lines) and their places recorded as unreadable."""
    data = copy.deepcopy(data)
    unread: set[tuple] = set()
    wrong: dict[tuple, bool] = {}  # place → keep its place in a list (an item that should be a mapping)
    for error in errors:
        loc, kind = tuple(error["loc"]), error["type"]
        if kind == "extra_forbidden":  # ignored; nothing else depends on it
            wrong[loc] = False
        elif kind == "missing":
            unread.add(loc)
        elif place := _deepest(data, loc):
            unread.add(place)
            wrong[place] = kind in ("model_type", "model_attributes_type", "dict_type")
    # Deepest and last first, so that removing an item does not move what is still to be removed.
    for place in sorted(wrong, key=lambda p: [(isinstance(part, int), part) for part in p], reverse=True):
        parent = _deepest(data, place[:-1])
        if parent != place[:-1]:
            continue  # already gone with its container
        container = _at(data, parent)
        if isinstance(container, list) and wrong[place]:
            container[place[-1]] = {}
        else:
            del container[place[-1]]
    try:
        spec = lenient(model).model_validate(data)
    except ValidationError:  # not expected: every wrong value was left out
        return stand_in(model)
    return with_unread(spec, frozenset(unread))


def _deepest(data: Any, loc: tuple) -> tuple:
    """The longest start of `loc` that is a place in `data`."""
    place: list = []
    for part in loc:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            break
        place.append(part)
    return tuple(place)


def _at(data: Any, place: tuple) -> Any:
    for part in place:
        data = data[part]
    return data


def mermaid_errors(source: str) -> list[mermaid.MermaidError]:
    """Every error the Mermaid check finds in a diagram. The check stops at the first error, so it runs again
    with that line blanked out, until it passes or meets an error it cannot go past: in the header (the
    diagram type) or at the end (a `subgraph` never closed). At most one error per line."""
    lines = source.splitlines()
    errors: list[mermaid.MermaidError] = []
    while True:
        try:
            mermaid.check("\n".join(lines))
            return errors
        except mermaid.MermaidError as exc:
            if any((e.line, str(e)) == (exc.line, str(exc)) for e in errors):
                return errors  # the same error again: the last line did not cause it
            errors.append(exc)
            header = next((i for i, text in enumerate(lines) if text.strip() and not text.strip().startswith("%%")), 0)
            at = exc.line - 1
            if not header < at < len(lines) or not lines[at].strip():
                return errors
            lines[at] = ""


def line_for(lines: dict[tuple, int], loc: tuple) -> int:
    """The line of the deepest known part of `loc`."""
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return 1


def describe(error: dict) -> str:
    loc = error["loc"]
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")
    kind = error["type"]
    if kind == "missing":
        return f"`{where}` is required"
    if kind == "extra_forbidden":
        return f"unknown field `{where}`"
    if kind == "string_pattern_mismatch":
        return f"`{where}` must be 1–64 lowercase letters, digits and '-' (got {error['input']!r})"
    if kind == "literal_error":
        return f"`{where}`: {error['msg'].replace('Input should be', 'should be')} (got {error['input']!r})"
    return f"`{where}`: {error['msg']}" if where else error["msg"]


def course_folders(root: Path) -> list[Path]:
    if (root / "course.yaml").is_file():
        return [root]
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")) if root.is_dir() else []


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
    keys: dict[str, Path] = {}
    for folder in folders:
        course = reader.read_course(folder)
        if course.spec.id in keys:
            other = keys[course.spec.id].name
            reader.problem(folder / "course.yaml", 1, f"course id `{course.spec.id}` is also used by {other}/")
        if course.spec.id is not None:
            keys[course.spec.id] = folder
        courses.append(course)
    return courses, sorted(set(reader.problems)), reader.file_count
