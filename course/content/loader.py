"""Syncing parsed content into SQL.

`sync(courses)` brings the database in line with the files: it adds what is new, updates what changed,
moves what was reordered or re-parented, archives what was removed (never deletes it), and restores what
comes back. It only flushes; the caller commits once, or rolls back for a dry run.

It works one kind of row at a time, from the top (modules, chapters, lessons, workbook prompts, quizzes,
questions, options): the existing rows of a kind are read in one query and compared with the files in
Python; the new rows are written in one executemany INSERT, then their ids read back by content id (the
next kind's rows point to them), and only the changed rows are updated, in one bulk UPDATE by primary key.
A course of 10,000 questions costs a few dozen statements, not one per row.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, insert, select, update

from course.content.models import Chapter, Course, Lesson, Module, Question, QuestionOption, Quiz, WorkbookPrompt
from course.content.parser import CourseDoc, LessonDoc, QuizDoc, collector_paused
from course.content.render import render_markdown
from course.db_types import utcnow
from course.extensions import db

KINDS = ("course", "module", "chapter", "lesson", "workbook prompt", "quiz", "question", "option")
PLURAL = {"quiz": "quizzes"}
ACTIONS = ("added", "changed", "moved", "archived", "restored")
# Rows rewritten only for their place, without being moved themselves: counted in the plan, not listed.
QUIET = ("renumbered", "renamed")  # position shifted by the others' changes / lesson file renamed in place


@dataclass
class LoadPlan:
    """What a load does, per kind: the items added, changed (their content), moved (to another parent, or
    among the fewest items whose order among their siblings changed), archived and restored; and how many
    rows were only renumbered or renamed (their position number or file name follows the others' changes)."""

    entries: dict[str, dict[str, list[str]]] = field(
        default_factory=lambda: {kind: defaultdict(list) for kind in KINDS}
    )
    quiet: dict[str, Counter[str]] = field(default_factory=lambda: {kind: Counter() for kind in KINDS})

    def note(self, kind: str, action: str, key: str) -> None:
        self.entries[kind][action].append(key)

    def count(self, kind: str, action: str) -> int:
        if action in QUIET:
            return self.quiet[kind][action]
        return len(self.entries[kind].get(action, []))

    @property
    def size(self) -> int:
        """How many things the plan writes so far (items listed, and rows only renumbered or renamed)."""
        listed = sum(len(keys) for actions in self.entries.values() for keys in actions.values())
        return listed + sum(sum(counts.values()) for counts in self.quiet.values())

    @property
    def empty(self) -> bool:
        """Nothing to write: not even a position number or a file name."""
        return not any(keys for actions in self.entries.values() for keys in actions.values()) and not any(
            self.quiet.values()
        )

    def lines(self) -> list[str]:
        if self.empty:
            return ["no changes"]
        out = []
        for kind in KINDS:
            parts = [f"{action} {self.count(kind, action)}" for action in ACTIONS if self.count(kind, action)]
            quiet = [f"{self.count(kind, what)} {what}" for what in QUIET if self.count(kind, what)]
            if quiet:
                parts.append(f"({', '.join(quiet)})")
            if parts:
                out.append(f"{PLURAL.get(kind, kind + 's') + ':':<18}" + ", ".join(parts).replace(", (", " ("))
                for action in ACTIONS:
                    keys = self.entries[kind].get(action, [])
                    if keys and action != "added":
                        shown = ", ".join(keys[:8]) + (f" … (+{len(keys) - 8})" if len(keys) > 8 else "")
                        out.append(f"    {action}: {shown}")
        return out


@dataclass(frozen=True)
class _Kind:
    """A kind of row below the course: which columns are its content (a difference is "changed") and
    which its place (its parent's id, its position among its siblings, its file), which of them name the parent
    (a row whose parent changes is "moved"), and what finds the row again (its content id)."""

    name: str
    model: type
    content: tuple[str, ...]
    placement: tuple[str, ...]
    parent: tuple[str, ...]
    identity: tuple[str, ...] = ("key",)

    def ident(self, row: Any) -> Any:
        return row.key if self.identity == ("key",) else tuple(getattr(row, name) for name in self.identity)


MODULE = _Kind("module", Module, ("title", "summary", "kind", "i18n"), ("position",), ())
CHAPTER = _Kind("chapter", Chapter, ("title", "summary", "i18n"), ("module_id", "position"), ("module_id",))
LESSON = _Kind(
    "lesson",
    Lesson,
    ("title", "body_md", "body_html", "takeaways", "i18n", "i18n_body"),
    ("chapter_id", "position", "source"),
    ("chapter_id",),
)
PROMPT = _Kind("workbook prompt", WorkbookPrompt, ("prompt", "i18n"), ("lesson_id", "position"), ("lesson_id",))
QUIZ = _Kind(
    "quiz", Quiz, ("title", "pass_mark", "max_attempts", "reveal", "version", "i18n"), ("chapter_id",), ("chapter_id",)
)
QUESTION = _Kind(
    "question",
    Question,
    ("type", "prompt", "explanation", "lesson_key", "points", "accepted", "i18n"),
    ("quiz_id", "position"),
    ("quiz_id",),
)
# An option belongs to its question for good: the question's id is part of its identity, not of its place.
OPTION = _Kind(
    "option", QuestionOption, ("text", "correct", "i18n"), ("position",), ("question_id",), ("question_id", "key")
)


@dataclass
class _Item:
    """One row as the files want it."""

    ident: Any  # the content id, as `_Kind.ident` gives it for a row
    label: str  # how the plan names it
    new: dict[str, Any]  # the columns a new row also gets (its key, its course or question)
    content: dict[str, Any]
    placement: dict[str, Any]


def _key(row: Any) -> str:
    return row.key


class _Syncer:
    def __init__(self, plan: LoadPlan, now: datetime):
        self.plan = plan
        self.now = now

    def upsert(
        self,
        kind: str,
        existing: dict[Any, Any],
        key: Any,
        factory: Callable[[], Any],
        content: dict[str, Any],
        label: str,
    ) -> Any:
        """Create or update one ORM object (a course: one row, with its `loaded_at` kept by the ORM)."""
        row = existing.pop(key, None)
        if row is None:
            row = factory()
            for name, value in content.items():
                setattr(row, name, value)
            db.session.add(row)
            self.plan.note(kind, "added", label)
            return row
        if row.archived_at is not None:
            row.archived_at = None
            self.plan.note(kind, "restored", label)
        changed = [n for n, v in content.items() if getattr(row, n) != v]
        for name in changed:
            setattr(row, name, content[name])
        if changed:
            self.plan.note(kind, "changed", label)
        return row

    def archive_rest(self, kind: str, leftovers: Iterable[Any], label: Callable[[Any], str]) -> None:
        for row in leftovers:
            if row.archived_at is None:
                row.archived_at = self.now
                self.plan.note(kind, "archived", label(row))

    def sync_kind(
        self, kind: _Kind, course_id: int, items: list[_Item], ids_needed: bool = True
    ) -> tuple[dict[Any, int], list[Any]]:
        """Bring one kind of row in the course in line with `items`, in bulk: insert the new rows, update the
        changed ones. Returns {content id: primary key} of the items (without `ids_needed`, of the ones that
        existed only: no kind points to the rows of a leaf kind), and the rows no longer in the files."""
        model = kind.model
        existing = _existing(kind, course_id)
        ids: dict[Any, int] = {}
        inserts: list[dict[str, Any]] = []
        added: set[Any] = set()
        updates: list[dict[str, Any]] = []
        found = [(item, row) for item in items if (row := existing.pop(item.ident, None)) is not None]
        moved = _moved(kind, found)
        rows = {item.ident: row for item, row in found}
        for item in items:
            row = rows.get(item.ident)
            if row is None:
                inserts.append({**item.new, **item.content, **item.placement})
                added.add(item.ident)
                self.plan.note(kind.name, "added", item.label)
                continue
            ids[item.ident] = row.id
            values: dict[str, Any] = {}
            if row.archived_at is not None:
                values["archived_at"] = None
                self.plan.note(kind.name, "restored", item.label)
            changed = {n: v for n, v in item.content.items() if getattr(row, n) != v}
            placed = {n: v for n, v in item.placement.items() if getattr(row, n) != v}
            if changed:
                self.plan.note(kind.name, "changed", item.label)
            if item.ident in moved:
                self.plan.note(kind.name, "moved", item.label)
            elif placed and row.archived_at is None:  # a restored row is reported as such
                self.plan.quiet[kind.name]["renumbered" if "position" in placed else "renamed"] += 1
            if values or changed or placed:
                updates.append({"id": row.id, **values, **changed, **placed})
        if updates:
            db.session.execute(update(model), updates)  # ORM bulk UPDATE by primary key
        if inserts:
            # One executemany (on PostgreSQL as fast as it gets, much faster than INSERT … RETURNING of
            # thousands of rows), then the new ids in one query, by content id.
            db.session.execute(insert(model.__table__), inserts)
            if ids_needed:
                columns = [getattr(model, name) for name in kind.identity]
                for row in db.session.execute(_in_course(select(model.id, *columns), model, course_id)):
                    if (ident := kind.ident(row)) in added:
                        ids[ident] = row.id
        return ids, list(existing.values())

    def archive_kind(self, kind: _Kind, leftovers: Iterable[Any], label: Callable[[Any], str] = _key) -> None:
        rows = [row for row in leftovers if row.archived_at is None]
        for row in rows:
            self.plan.note(kind.name, "archived", label(row))
        if rows:
            db.session.execute(update(kind.model), [{"id": row.id, "archived_at": self.now} for row in rows])


def _moved(kind: _Kind, found: list[tuple[_Item, Any]]) -> set[Any]:
    """The content ids of the items a reader would call moved: those now under another parent, and among the
    rest of each parent's items, the fewest whose order changed — all but a longest run of items that kept
    their order (`_kept_in_order`). The others' position numbers may change too, but they were not moved."""
    moved: set[Any] = set()
    siblings: dict[tuple, list[tuple[_Item, Any]]] = defaultdict(list)
    for item, row in found:
        parent = tuple(item.placement.get(n, item.new.get(n)) for n in kind.parent)
        if parent != tuple(getattr(row, n) for n in kind.parent):
            moved.add(item.ident)
        elif row.archived_at is None and "position" in kind.placement:  # a restored row is reported as such
            siblings[parent].append((item, row))
    others = [n for n in kind.placement if n != "position" and n not in kind.parent]  # a lesson's file name
    for group in siblings.values():
        kept = _kept_in_order(
            [row.position for _, row in group],
            [all(getattr(row, n) == item.placement[n] for n in others) for item, row in group],
        )
        moved.update(item.ident for i, (item, _row) in enumerate(group) if i not in kept)
    return moved


def _kept_in_order(old: list[int], same_file: list[bool]) -> set[int]:
    """The indexes of a longest subsequence of `old` (the old positions, in the new order) that increases.
    Among the longest, the one with the most items whose file kept its name (a renamed file is the likelier
    move), then the one that ends earliest in the new order, each step too: for a swap of two, the first
    of the old order is the one that moved. O(n log n): a Fenwick tree of the best run ending at each rank."""
    ranks = {position: rank for rank, position in enumerate(sorted(set(old)), start=1)}
    tree: list[tuple | None] = [None] * (len(ranks) + 1)  # (length, same files, -index) of the best run
    best: list[tuple] = []
    before: list[int | None] = []
    for i, position in enumerate(old):
        top: tuple | None = None
        rank = ranks[position] - 1  # strictly lower old positions
        while rank > 0:
            if tree[rank] is not None and (top is None or tree[rank] > top):
                top = tree[rank]
            rank -= rank & -rank
        key = (1 + top[0], same_file[i] + top[1], -i) if top else (1, int(same_file[i]), -i)
        before.append(-top[2] if top else None)
        best.append(key)
        rank = ranks[position]
        while rank < len(tree):
            if tree[rank] is None or key > tree[rank]:
                tree[rank] = key
            rank += rank & -rank
    kept: set[int] = set()
    end: int | None = max(range(len(best)), key=best.__getitem__, default=None)
    while end is not None:
        kept.add(end)
        end = before[end]
    return kept


def _existing(kind: _Kind, course_id: int) -> dict[Any, Any]:
    """The rows of a kind in the course, archived ones too: {content id: row}, in the order they were made."""
    model = kind.model
    names = dict.fromkeys(("id", "archived_at", *kind.identity, *kind.content, *kind.placement))
    query = select(*(getattr(model, name) for name in names))
    return {kind.ident(row): row for row in db.session.execute(_in_course(query, model, course_id).order_by(model.id))}


def _in_course(query: Select, model: type, course_id: int) -> Select:
    if model is QuestionOption:  # an option belongs to the course of its question
        return query.join(Question, Question.id == QuestionOption.question_id).where(Question.course_id == course_id)
    return query.where(model.course_id == course_id)


def sync(courses: list[CourseDoc], archive_missing_courses: bool = True) -> LoadPlan:
    plan = LoadPlan()
    syncer = _Syncer(plan, utcnow())
    with collector_paused():
        existing_courses = {c.key: c for c in db.session.scalars(select(Course))}
        for doc in courses:
            _sync_course(syncer, doc, existing_courses)
        if archive_missing_courses:
            syncer.archive_rest("course", existing_courses.values(), _key)
        db.session.flush()
    return plan


def _sync_course(s: _Syncer, doc: CourseDoc, existing_courses: dict[str, Course]) -> None:
    size_before = s.plan.size
    course = _sync_course_rows(s, doc, existing_courses)
    if s.plan.size != size_before:
        # Anything written for this course moves its `loaded_at`: the key under which every process caches its
        # content (course.content.cache), also when the files' digest did not change (a renderer's new output).
        course.loaded_at = s.now


def _sync_course_rows(s: _Syncer, doc: CourseDoc, existing_courses: dict[str, Course]) -> Course:
    spec = doc.spec
    meta = {
        "author": spec.author,
        "author_note": spec.author_note,
        "closing": spec.closing,
        "keywords": list(spec.keywords),
    }
    course = s.upsert(
        "course",
        existing_courses,
        spec.id,
        lambda: Course(key=spec.id),
        {
            "title": spec.title,
            "language": spec.language,
            "summary": spec.summary,
            "meta": meta,
            "quiz_gate": spec.quiz_gate,
            "i18n": {lang: t.model_dump() for lang, t in spec.i18n.items() if lang in spec.translations},
        },
        spec.id,
    )
    if course.content_version != doc.version:
        course.content_version = doc.version
    db.session.flush()
    cid = course.id
    chapter_docs = [c for m in doc.modules for c in m.chapters]
    quiz_docs = [c.quiz for c in chapter_docs if c.quiz is not None]

    # Level by level: each kind's rows point to the ids of the kind above, new or not.
    modules, gone = s.sync_kind(MODULE, cid, _module_items(doc, cid))
    s.archive_kind(MODULE, gone)
    chapters, gone = s.sync_kind(CHAPTER, cid, _chapter_items(doc, cid, modules))
    s.archive_kind(CHAPTER, gone)
    lesson_items = [
        _lesson_item(doc, lesson, cid, chapters[c.spec.id], pos)
        for c in chapter_docs
        for pos, lesson in enumerate(c.lessons, start=1)
    ]
    lessons, gone = s.sync_kind(LESSON, cid, lesson_items)
    s.archive_kind(LESSON, gone)
    prompt_items = [i for _, _, lesson in doc.lessons() for i in _prompt_items(lesson, cid, lessons)]
    _, gone = s.sync_kind(PROMPT, cid, prompt_items, ids_needed=False)
    s.archive_kind(PROMPT, gone)
    quiz_items = [_quiz_item(c.quiz, cid, chapters[c.spec.id]) for c in chapter_docs if c.quiz is not None]
    quizzes, gone = s.sync_kind(QUIZ, cid, quiz_items)
    s.archive_kind(QUIZ, gone)
    question_items = [i for q in quiz_docs for i in _question_items(q, cid, quizzes[q.spec.id])]
    questions, archived_questions = s.sync_kind(QUESTION, cid, question_items)
    s.archive_kind(QUESTION, archived_questions)
    option_items = [i for q in quiz_docs for i in _option_items(q, questions)]
    _, gone = s.sync_kind(OPTION, cid, option_items, ids_needed=False)
    # Options of archived questions stay as they were; options dropped from live questions are archived.
    archived_ids = {row.id for row in archived_questions}
    question_keys = {question_id: key for key, question_id in questions.items()}
    s.archive_kind(
        OPTION,
        (o for o in gone if o.question_id not in archived_ids),
        lambda o: f"{question_keys[o.question_id]}/{o.key}",
    )
    return course


def _texts(i18n: dict, doc: CourseDoc) -> dict:
    return {lang: t.model_dump() for lang, t in i18n.items() if lang in doc.spec.translations}


def _module_items(doc: CourseDoc, course_id: int) -> list[_Item]:
    return [
        _Item(
            m.spec.id,
            m.spec.id,
            {"course_id": course_id, "key": m.spec.id},
            {"title": m.spec.title, "summary": m.spec.summary, "kind": m.spec.kind, "i18n": _texts(m.spec.i18n, doc)},
            {"position": pos},
        )
        for pos, m in enumerate(doc.modules, start=1)
    ]


def _chapter_items(doc: CourseDoc, course_id: int, modules: dict[Any, int]) -> list[_Item]:
    return [
        _Item(
            c.spec.id,
            c.spec.id,
            {"course_id": course_id, "key": c.spec.id},
            {"title": c.spec.title, "summary": c.spec.summary, "i18n": _texts(c.spec.i18n, doc)},
            {"module_id": modules[m.spec.id], "position": pos},
        )
        for m in doc.modules
        for pos, c in enumerate(m.chapters, start=1)
    ]


def _lesson_item(doc: CourseDoc, ldoc: LessonDoc, course_id: int, chapter_id: int, position: int) -> _Item:
    lf = ldoc.spec
    return _Item(
        lf.id,
        lf.id,
        {"course_id": course_id, "key": lf.id},
        {
            "title": lf.title,
            "body_md": ldoc.body,
            "body_html": render_markdown(ldoc.body),
            "takeaways": list(lf.takeaways),
            "i18n": {lang: {"title": t.spec.title} for lang, t in ldoc.translations.items()},
            "i18n_body": {
                lang: {"body_html": render_markdown(t.body), "takeaways": list(t.spec.takeaways)}
                for lang, t in ldoc.translations.items()
            },
        },
        {"chapter_id": chapter_id, "position": position, "source": str(ldoc.path.relative_to(doc.path))},
    )


def _prompt_items(ldoc: LessonDoc, course_id: int, lessons: dict[Any, int]) -> list[_Item]:
    return [
        _Item(
            wp.id,
            wp.id,
            {"course_id": course_id, "key": wp.id},
            {
                "prompt": wp.prompt,
                "i18n": {
                    lang: {"prompt": tw.prompt}
                    for lang, t in ldoc.translations.items()
                    for tw in t.spec.workbook
                    if tw.id == wp.id
                },
            },
            {"lesson_id": lessons[ldoc.spec.id], "position": pos},
        )
        for pos, wp in enumerate(ldoc.spec.workbook, start=1)
    ]


def _quiz_item(qdoc: QuizDoc, course_id: int, chapter_id: int) -> _Item:
    q = qdoc.spec
    return _Item(
        q.id,
        q.id,
        {"course_id": course_id, "key": q.id},
        {
            "title": q.title,
            "pass_mark": q.pass_mark,
            "max_attempts": q.max_attempts,
            "reveal": q.reveal,
            "version": qdoc.version,
            "i18n": {lang: {"title": t.spec.title} for lang, t in qdoc.translations.items()},
        },
        {"chapter_id": chapter_id},
    )


def _translated_questions(qdoc: QuizDoc) -> dict[str, dict]:
    """{question id: {lang: translated question}}"""
    translated: dict[str, dict] = {}
    for lang, t in qdoc.translations.items():
        for tq in t.spec.questions:
            translated.setdefault(tq.id, {})[lang] = tq
    return translated


def _question_items(qdoc: QuizDoc, course_id: int, quiz_id: int) -> list[_Item]:
    translated = _translated_questions(qdoc)
    return [
        _Item(
            qs.id,
            qs.id,
            {"course_id": course_id, "key": qs.id},
            {
                "type": qs.type,
                "prompt": qs.prompt,
                "explanation": qs.explanation,
                "lesson_key": qs.lesson,
                "points": qs.points,
                "accepted": list(qs.accepted),
                "i18n": {
                    lang: {"prompt": tq.prompt, "explanation": tq.explanation, "accepted": list(tq.accepted)}
                    for lang, tq in translated.get(qs.id, {}).items()
                },
            },
            {"quiz_id": quiz_id, "position": pos},
        )
        for pos, qs in enumerate(qdoc.spec.questions, start=1)
    ]


def _option_items(qdoc: QuizDoc, questions: dict[Any, int]) -> list[_Item]:
    translated = _translated_questions(qdoc)
    items = []
    for qs in qdoc.spec.questions:
        question_id = questions[qs.id]
        if qs.type == "true_false":
            specs = [("true", "true", qs.answer is True), ("false", "false", qs.answer is False)]
        else:
            specs = [(o.id, o.text, o.correct) for o in qs.options]
        option_texts = {(lang, o.id): o.text for lang, tq in translated.get(qs.id, {}).items() for o in tq.options}
        for pos, (key, text, correct) in enumerate(specs, start=1):
            i18n = {
                lang: {"text": option_texts[(lang, key)]} for lang in qdoc.translations if (lang, key) in option_texts
            }
            items.append(
                _Item(
                    (question_id, key),
                    f"{qs.id}/{key}",
                    {"question_id": question_id, "key": key},
                    {"text": text, "correct": correct, "i18n": i18n},
                    {"position": pos},
                )
            )
    return items
