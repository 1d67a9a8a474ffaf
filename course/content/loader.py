"""Syncing parsed content into SQL.

`sync(courses)` brings the database in line with the files: it adds what is new, updates what changed,
moves what was reordered or re-parented, archives what was removed (never deletes it), and restores what
comes back. It only flushes; the caller commits once, or rolls back for a dry run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from course.content.models import Chapter, Course, Lesson, Module, WorkbookPrompt
from course.content.parser import CourseDoc
from course.content.render import render_markdown
from course.db_types import utcnow
from course.extensions import db
from course.quiz.models import Question, QuestionOption, Quiz

KINDS = ("course", "module", "chapter", "lesson", "workbook prompt", "quiz", "question", "option")
PLURAL = {"quiz": "quizzes"}
ACTIONS = ("added", "changed", "moved", "archived", "restored")


@dataclass
class Plan:
    entries: dict[str, dict[str, list[str]]] = field(
        default_factory=lambda: {kind: defaultdict(list) for kind in KINDS}
    )

    def note(self, kind: str, action: str, key: str) -> None:
        self.entries[kind][action].append(key)

    def count(self, kind: str, action: str) -> int:
        return len(self.entries[kind].get(action, []))

    @property
    def empty(self) -> bool:
        return not any(keys for actions in self.entries.values() for keys in actions.values())

    def lines(self) -> list[str]:
        if self.empty:
            return ["no changes"]
        out = []
        for kind in KINDS:
            parts = [f"{action} {self.count(kind, action)}" for action in ACTIONS if self.count(kind, action)]
            if parts:
                out.append(f"{PLURAL.get(kind, kind + 's') + ':':<18}" + ", ".join(parts))
                for action in ACTIONS:
                    keys = self.entries[kind].get(action, [])
                    if keys and action != "added":
                        shown = ", ".join(keys[:8]) + (f" … (+{len(keys) - 8})" if len(keys) > 8 else "")
                        out.append(f"    {action}: {shown}")
        return out


class _Syncer:
    def __init__(self, plan: Plan, now: datetime):
        self.plan = plan
        self.now = now

    def upsert(
        self,
        kind: str,
        existing: dict[Any, Any],
        key: Any,
        factory: Callable[[], Any],
        content: dict[str, Any],
        placement: dict[str, Any],
        label: str,
    ) -> Any:
        """Create or update one row. `content` changes are "changed", `placement` changes "moved"."""
        row = existing.pop(key, None)
        if row is None:
            row = factory()
            for name, value in {**content, **placement}.items():
                setattr(row, name, value)
            db.session.add(row)
            self.plan.note(kind, "added", label)
            return row
        if row.archived_at is not None:
            row.archived_at = None
            self.plan.note(kind, "restored", label)
        changed = [n for n, v in content.items() if getattr(row, n) != v]
        moved = [n for n, v in placement.items() if getattr(row, n) != v]
        for name in changed + moved:
            setattr(row, name, content.get(name, placement.get(name)))
        if changed:
            self.plan.note(kind, "changed", label)
        if moved:
            self.plan.note(kind, "moved", label)
        return row

    def archive_rest(self, kind: str, leftovers: Iterable[Any], label: Callable[[Any], str]) -> None:
        for row in leftovers:
            if row.archived_at is None:
                row.archived_at = self.now
                self.plan.note(kind, "archived", label(row))


def _by_key(model: type, course_id: int) -> dict[str, Any]:
    return {row.key: row for row in db.session.scalars(select(model).where(model.course_id == course_id))}


def sync(courses: list[CourseDoc], archive_missing_courses: bool = True) -> Plan:
    plan = Plan()
    syncer = _Syncer(plan, utcnow())
    existing_courses = {c.key: c for c in db.session.scalars(select(Course))}
    for doc in courses:
        _sync_course(syncer, doc, existing_courses)
    if archive_missing_courses:
        syncer.archive_rest("course", existing_courses.values(), lambda c: c.key)
    db.session.flush()
    return plan


def _sync_course(s: _Syncer, doc: CourseDoc, existing_courses: dict[str, Course]) -> None:
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
        {},
        spec.id,
    )
    if course.content_version != doc.version:
        course.content_version = doc.version
    db.session.flush()

    modules, chapters = _by_key(Module, course.id), _by_key(Chapter, course.id)
    lessons, prompts = _by_key(Lesson, course.id), _by_key(WorkbookPrompt, course.id)
    quizzes, questions = _by_key(Quiz, course.id), _by_key(Question, course.id)
    options: dict[tuple[int, str], QuestionOption] = {
        (o.question_id, o.key): o
        for o in db.session.scalars(select(QuestionOption).join(Question).where(Question.course_id == course.id))
    }

    for m_pos, mdoc in enumerate(doc.modules, start=1):
        m = mdoc.spec
        module = s.upsert(
            "module",
            modules,
            m.id,
            lambda k=m.id: Module(course_id=course.id, key=k),
            {"title": m.title, "summary": m.summary, "kind": m.kind, "i18n": _texts(m.i18n, doc)},
            {"position": m_pos},
            m.id,
        )
        db.session.flush()
        for c_pos, cdoc in enumerate(mdoc.chapters, start=1):
            c = cdoc.spec
            chapter = s.upsert(
                "chapter",
                chapters,
                c.id,
                lambda k=c.id: Chapter(course_id=course.id, key=k),
                {"title": c.title, "summary": c.summary, "i18n": _texts(c.i18n, doc)},
                {"module_id": module.id, "position": c_pos},
                c.id,
            )
            db.session.flush()
            for l_pos, ldoc in enumerate(cdoc.lessons, start=1):
                lf = ldoc.spec
                lesson = s.upsert(
                    "lesson",
                    lessons,
                    lf.id,
                    lambda k=lf.id: Lesson(course_id=course.id, key=k),
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
                    {"chapter_id": chapter.id, "position": l_pos, "source": str(ldoc.path.relative_to(doc.path))},
                    lf.id,
                )
                db.session.flush()
                for p_pos, wp in enumerate(lf.workbook, start=1):
                    s.upsert(
                        "workbook prompt",
                        prompts,
                        wp.id,
                        lambda k=wp.id: WorkbookPrompt(course_id=course.id, key=k),
                        {
                            "prompt": wp.prompt,
                            "i18n": {
                                lang: {"prompt": tw.prompt}
                                for lang, t in ldoc.translations.items()
                                for tw in t.spec.workbook
                                if tw.id == wp.id
                            },
                        },
                        {"lesson_id": lesson.id, "position": p_pos},
                        wp.id,
                    )
            if cdoc.quiz is not None:
                _sync_quiz(s, course, chapter, cdoc.quiz, quizzes, questions, options)

    s.archive_rest("module", modules.values(), lambda r: r.key)
    s.archive_rest("chapter", chapters.values(), lambda r: r.key)
    s.archive_rest("lesson", lessons.values(), lambda r: r.key)
    s.archive_rest("workbook prompt", prompts.values(), lambda r: r.key)
    s.archive_rest("quiz", quizzes.values(), lambda r: r.key)
    s.archive_rest("question", questions.values(), lambda r: r.key)
    # Options of archived questions stay as they were; options dropped from live questions are archived.
    archived_question_ids = {q.id for q in questions.values()}
    question_keys = dict(
        db.session.execute(select(Question.id, Question.key).where(Question.course_id == course.id)).all()
    )
    s.archive_rest(
        "option",
        (o for (qid, _), o in options.items() if qid not in archived_question_ids),
        lambda o: f"{question_keys[o.question_id]}/{o.key}",
    )


def _texts(i18n: dict, doc: CourseDoc) -> dict:
    return {lang: t.model_dump() for lang, t in i18n.items() if lang in doc.spec.translations}


def _sync_quiz(s, course, chapter, qdoc, quizzes, questions, options) -> None:  # noqa: ANN001
    q = qdoc.spec
    quiz = s.upsert(
        "quiz",
        quizzes,
        q.id,
        lambda: Quiz(course_id=course.id, key=q.id),
        {
            "title": q.title,
            "pass_mark": q.pass_mark,
            "max_attempts": q.max_attempts,
            "reveal": q.reveal,
            "version": qdoc.version,
            "i18n": {lang: {"title": t.spec.title} for lang, t in qdoc.translations.items()},
        },
        {"chapter_id": chapter.id},
        q.id,
    )
    db.session.flush()
    translated: dict[str, dict] = {}  # question id → {lang: translated question}
    for lang, t in qdoc.translations.items():
        for tq in t.spec.questions:
            translated.setdefault(tq.id, {})[lang] = tq
    for pos, qs in enumerate(q.questions, start=1):
        question = s.upsert(
            "question",
            questions,
            qs.id,
            lambda k=qs.id: Question(course_id=course.id, key=k),
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
            {"quiz_id": quiz.id, "position": pos},
            qs.id,
        )
        db.session.flush()
        if qs.type == "true_false":
            specs = [("true", "true", qs.answer is True), ("false", "false", qs.answer is False)]
        else:
            specs = [(o.id, o.text, o.correct) for o in qs.options]
        option_texts = {(lang, o.id): o.text for lang, tq in translated.get(qs.id, {}).items() for o in tq.options}
        for o_pos, (key, text, correct) in enumerate(specs, start=1):
            s.upsert(
                "option",
                options,
                (question.id, key),
                lambda qid=question.id, k=key: QuestionOption(question_id=qid, key=k),
                {
                    "text": text,
                    "correct": correct,
                    "i18n": {
                        lang: {"text": option_texts[(lang, key)]}
                        for lang in qdoc.translations
                        if (lang, key) in option_texts
                    },
                },
                {"position": o_pos},
                f"{qs.id}/{key}",
            )
