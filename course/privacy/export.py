"""A user's data as files to download: everything stored about them, table by table, as JSON (`export_data`), and
their workbook — their plan, lesson by lesson in course order — as Markdown (`workbook_markdown`). Each export is
recorded in the audit log, in the caller's transaction (the caller commits).

Besides secrets, the JSON withholds (as null) what is not the user's to see (`WITHHELD`): who acted on their
account, and from which address, when it was someone else; and which of their answers were right, where the quiz
shows the score only."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import case, func, select

from course.accounts.models import User
from course.audit.log import Action, record
from course.content.i18n import tr
from course.content.models import Course, Quiz, WorkbookPrompt
from course.db_types import utcnow
from course.extensions import db
from course.privacy.tables import user_tables
from course.progress.models import WorkbookAnswer
from course.progress.outline import build_outline
from course.progress.workbook import workbook_plan
from course.quiz.attempts import reveal_level
from course.quiz.models import Attempt

FORMAT = "founder-course-data"
VERSION = 1


def export_data(user: User) -> dict[str, Any]:
    """Everything stored about `user`: their row and, in every table that refers to them, the rows about them
    (`course.privacy.tables`), secrets left out and others' data withheld (`WITHHELD`; the document lists both).
    JSON-ready values."""
    record(Action.DATA_EXPORTED, actor_id=user.id, target_user_id=user.id, details={"what": "data"})
    db.session.flush()
    tables: dict[str, list[dict[str, Any]]] = {}
    left_out: list[str] = []
    for found in user_tables():
        shown = found.shown_columns
        rows = db.session.execute(
            select(*shown).where(found.rows_of(user.id)).order_by(*found.table.primary_key.columns)
        )
        tables[found.name] = [{column: _plain(value) for column, value in row._mapping.items()} for row in rows]
        left_out += [f"{found.name}.{column.name}" for column in found.secret_columns]
        if (withheld := WITHHELD.get(found.name)) is not None:
            withheld.apply(tables[found.name], user.id)
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": utcnow().isoformat(),
        "user_id": user.id,
        "about": _("Everything this course stores about your account: in each table, the rows about you."),
        "secrets_left_out": left_out,
        "secrets_note": _(
            "Secrets are left out: your password's hash, session tokens, the digests of your login sessions and "
            "recovery codes, and two-step login secrets. They tell nothing about you, and a copy could open your "
            "account."
        ),
        "withheld": [f"{table}.{column}" for table, withheld in WITHHELD.items() for column in withheld.columns],
        "withheld_note": _(
            "Some values are null. In the audit log's entries of what someone else did about your account (an "
            "instructor, an admin, the system, or a login attempt), who did it and from which address: that is "
            "their data, not yours. In your answers to a quiz that shows only your score (as its result pages "
            "do), whether each was right and its points: each attempt keeps its score."
        ),
        "tables": tables,
    }


# -- what is withheld from rows the export holds ---------------------------------------------------------------
@dataclass(frozen=True)
class Withheld:
    """Columns of a table set to null in the rows `rows_to_hide(user_id)` picks."""

    columns: tuple[str, ...]
    rows_to_hide: Callable[[int], Callable[[dict[str, Any]], bool]]

    def apply(self, rows: list[dict[str, Any]], user_id: int) -> None:
        hidden = self.rows_to_hide(user_id)
        for row in rows:
            if hidden(row):
                row.update(dict.fromkeys(self.columns))


def _done_by_someone_else(user_id: int) -> Callable[[dict[str, Any]], bool]:
    """An audit entry the user did not make: its actor and their address are someone else's data."""
    return lambda entry: entry["actor_id"] != user_id


def _answers_to_score_only_quizzes(user_id: int) -> Callable[[dict[str, Any]], bool]:
    """An answer in an attempt at a quiz whose result pages show this user the score only (`reveal_level`):
    exporting between attempts must not tell which answers were right."""
    passed_by_quiz = dict(
        db.session.execute(
            select(Attempt.quiz_id, func.max(case((Attempt.passed, 1), else_=0)))
            .where(Attempt.user_id == user_id)
            .group_by(Attempt.quiz_id)
        ).all()
    )
    quizzes = db.session.scalars(select(Quiz).where(Quiz.id.in_(passed_by_quiz))).all()
    score_only = [quiz.id for quiz in quizzes if reveal_level(quiz, bool(passed_by_quiz[quiz.id])) == "score"]
    hidden = set(
        db.session.scalars(select(Attempt.id).where(Attempt.user_id == user_id, Attempt.quiz_id.in_(score_only)))
    )
    return lambda answer: answer["attempt_id"] in hidden


WITHHELD: dict[str, Withheld] = {
    "audit_entry": Withheld(("actor_id", "ip"), _done_by_someone_else),
    "attempt_answer": Withheld(("correct", "points"), _answers_to_score_only_quizzes),
}


def _plain(value: Any) -> Any:
    """A column's value as JSON can hold it."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def workbook_markdown(user: User) -> str:
    """The user's workbook answers as Markdown: for each course they answered in, their plan lesson by lesson in
    course order (the completion summary's "My plan"), in the reader's language."""
    record(Action.DATA_EXPORTED, actor_id=user.id, target_user_id=user.id, details={"what": "workbook"})
    answered = (
        select(WorkbookPrompt.course_id)
        .join(WorkbookAnswer, WorkbookAnswer.prompt_id == WorkbookPrompt.id)
        .where(WorkbookAnswer.user_id == user.id)
    )
    courses = db.session.scalars(select(Course).where(Course.id.in_(answered)).order_by(Course.id)).all()
    lines = [f"# {_('My plan')}", "", _("Your workbook answers, gathered in the order of the course."), ""]
    if not courses:
        lines += [_("You have not written any workbook answers yet."), ""]
    for course in courses:
        lines += [f"## {tr(course, 'title')}", ""]
        for lesson, answers in workbook_plan(build_outline(course, user.id), user.id):
            lines += [f"### {tr(lesson, 'title')}", ""]
            for prompt, answer in answers:
                lines += [tr(prompt, "prompt"), "", *_quoted(answer.text), ""]
    return "\n".join(lines)


def _quoted(text: str) -> list[str]:
    """A Markdown block quote of `text`, line by line."""
    return [f"> {line}".rstrip() for line in text.splitlines()] or [">"]
