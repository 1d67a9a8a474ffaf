"""Syncing one kind of row at a time, in bulk.

The existing rows of a kind are read in one query and compared with the items the files want, in Python; the
new rows are written in one executemany INSERT, then their ids read back by content id (the next kind's rows
point to them), and only the changed rows are updated, in one bulk UPDATE by primary key. Each write is noted
in the load's plan.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, insert, select, update

from course.content.load_plan import LoadPlan
from course.content.models import Chapter, Lesson, Module, Question, QuestionOption, Quiz, WorkbookPrompt
from course.extensions import db


@dataclass(frozen=True)
class RowKind:
    """A kind of row below the course: which columns are its content (a difference is "changed") and
    which its place (its parent's id, its position among its siblings, its file), which of them name the parent
    (a row whose parent changes is "moved"), and what finds the row again (its content id)."""

    name: str
    model: type
    content: tuple[str, ...]
    placement: tuple[str, ...]
    parent: tuple[str, ...]
    identity: tuple[str, ...] = ("key",)

    def content_id(self, row: Any) -> Any:
        return row.key if self.identity == ("key",) else tuple(getattr(row, name) for name in self.identity)


MODULE = RowKind("module", Module, ("title", "summary", "kind", "i18n"), ("position",), ())
CHAPTER = RowKind("chapter", Chapter, ("title", "summary", "i18n"), ("module_id", "position"), ("module_id",))
LESSON = RowKind(
    "lesson",
    Lesson,
    ("title", "body_md", "body_html", "takeaways", "i18n", "i18n_body"),
    ("chapter_id", "position", "source"),
    ("chapter_id",),
)
PROMPT = RowKind("workbook prompt", WorkbookPrompt, ("prompt", "i18n"), ("lesson_id", "position"), ("lesson_id",))
QUIZ = RowKind(
    "quiz",
    Quiz,
    ("title", "pass_mark", "max_attempts", "reveal", "draw", "retry_after", "version", "i18n"),
    ("chapter_id",),
    ("chapter_id",),
)
QUESTION = RowKind(
    "question",
    Question,
    ("type", "prompt", "explanation", "lesson_key", "points", "accepted", "draw_group", "i18n"),
    ("quiz_id", "position"),
    ("quiz_id",),
)
# An option belongs to its question for good: the question's id is part of its identity, not of its place.
OPTION = RowKind(
    "option", QuestionOption, ("text", "correct", "i18n"), ("position",), ("question_id",), ("question_id", "key")
)


@dataclass
class Item:
    """One row as the files want it."""

    content_id: Any  # as `RowKind.content_id` gives it for a row
    label: str  # how the plan names it
    new: dict[str, Any]  # the columns a new row also gets (its key, its course or question)
    content: dict[str, Any]
    placement: dict[str, Any]


def row_key(row: Any) -> str:
    return row.key


class Syncer:
    """Writes the rows of one load, noting each write in its plan; it only flushes."""

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
        changed = [name for name, value in content.items() if getattr(row, name) != value]
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
        self, kind: RowKind, course_id: int, items: list[Item], ids_needed: bool = True
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
        found = [(item, row) for item in items if (row := existing.pop(item.content_id, None)) is not None]
        moved = _moved(kind, found)
        rows = {item.content_id: row for item, row in found}
        for item in items:
            row = rows.get(item.content_id)
            if row is None:
                inserts.append({**item.new, **item.content, **item.placement})
                added.add(item.content_id)
                self.plan.note(kind.name, "added", item.label)
                continue
            ids[item.content_id] = row.id
            restored: dict[str, Any] = {}
            if row.archived_at is not None:
                restored["archived_at"] = None
                self.plan.note(kind.name, "restored", item.label)
            changed = {name: value for name, value in item.content.items() if getattr(row, name) != value}
            placed = {name: value for name, value in item.placement.items() if getattr(row, name) != value}
            if changed:
                self.plan.note(kind.name, "changed", item.label)
            if item.content_id in moved:
                self.plan.note(kind.name, "moved", item.label)
            elif placed and row.archived_at is None:  # a restored row is reported as such
                self.plan.quiet[kind.name]["renumbered" if "position" in placed else "renamed"] += 1
            if restored or changed or placed:
                updates.append({"id": row.id, **restored, **changed, **placed})
        if updates:
            db.session.execute(update(model), updates)  # ORM bulk UPDATE by primary key
        if inserts:
            # One executemany (on PostgreSQL as fast as it gets, much faster than INSERT … RETURNING of
            # thousands of rows), then the new ids in one query, by content id.
            db.session.execute(insert(model.__table__), inserts)
            if ids_needed:
                columns = [getattr(model, name) for name in kind.identity]
                for row in db.session.execute(_in_course(select(model.id, *columns), model, course_id)):
                    if (content_id := kind.content_id(row)) in added:
                        ids[content_id] = row.id
        return ids, list(existing.values())

    def archive_kind(self, kind: RowKind, leftovers: Iterable[Any], label: Callable[[Any], str] = row_key) -> None:
        rows = [row for row in leftovers if row.archived_at is None]
        for row in rows:
            self.plan.note(kind.name, "archived", label(row))
        if rows:
            db.session.execute(update(kind.model), [{"id": row.id, "archived_at": self.now} for row in rows])


def _moved(kind: RowKind, found: list[tuple[Item, Any]]) -> set[Any]:
    """The content ids of the items a reader would call moved: those now under another parent, and among the
    rest of each parent's items, the fewest whose order changed — all but a longest run of items that kept
    their order (`_kept_in_order`). The others' position numbers may change too, but they were not moved."""
    moved: set[Any] = set()
    siblings: dict[tuple, list[tuple[Item, Any]]] = defaultdict(list)
    for item, row in found:
        parent = tuple(item.placement.get(name, item.new.get(name)) for name in kind.parent)
        if parent != tuple(getattr(row, name) for name in kind.parent):
            moved.add(item.content_id)
        elif row.archived_at is None and "position" in kind.placement:  # a restored row is reported as such
            siblings[parent].append((item, row))
    others = [name for name in kind.placement if name != "position" and name not in kind.parent]  # a file name
    for group in siblings.values():
        kept = _kept_in_order(
            [row.position for _, row in group],
            [all(getattr(row, name) == item.placement[name] for name in others) for item, row in group],
        )
        moved.update(item.content_id for index, (item, _row) in enumerate(group) if index not in kept)
    return moved


def _kept_in_order(old: list[int], same_file: list[bool]) -> set[int]:
    """The indexes of a longest subsequence of `old` (the old positions, in the new order) that increases.
    Among the longest, the one with the most items whose file kept its name (a renamed file is the likelier
    move), then the one that ends earliest in the new order, each step too: for a swap of two, the first
    of the old order is the one that moved. O(n log n): a Fenwick tree of the best run ending at each rank."""
    ranks = {position: rank for rank, position in enumerate(sorted(set(old)), start=1)}
    tree: list[tuple | None] = [None] * (len(ranks) + 1)  # (length, same files, -index) of the best run
    best: list[tuple] = []  # per index: the best run ending there, as in `tree`
    before: list[int | None] = []  # per index: the index before it in that run
    for index, position in enumerate(old):
        top: tuple | None = None
        rank = ranks[position] - 1  # strictly lower old positions
        while rank > 0:
            if tree[rank] is not None and (top is None or tree[rank] > top):
                top = tree[rank]
            rank -= rank & -rank
        run = (1 + top[0], same_file[index] + top[1], -index) if top else (1, int(same_file[index]), -index)
        before.append(-top[2] if top else None)
        best.append(run)
        rank = ranks[position]
        while rank < len(tree):
            if tree[rank] is None or run > tree[rank]:
                tree[rank] = run
            rank += rank & -rank
    kept: set[int] = set()
    end: int | None = max(range(len(best)), key=best.__getitem__, default=None)
    while end is not None:
        kept.add(end)
        end = before[end]
    return kept


def _existing(kind: RowKind, course_id: int) -> dict[Any, Any]:
    """The rows of a kind in the course, archived ones too: {content id: row}, in the order they were made."""
    model = kind.model
    names = dict.fromkeys(("id", "archived_at", *kind.identity, *kind.content, *kind.placement))
    query = select(*(getattr(model, name) for name in names))
    return {
        kind.content_id(row): row for row in db.session.execute(_in_course(query, model, course_id).order_by(model.id))
    }


def _in_course(query: Select, model: type, course_id: int) -> Select:
    if model is QuestionOption:  # an option belongs to the course of its question
        return query.join(Question, Question.id == QuestionOption.question_id).where(Question.course_id == course_id)
    return query.where(model.course_id == course_id)
