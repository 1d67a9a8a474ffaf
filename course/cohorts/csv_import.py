"""Bulk enrolment from CSV: every row is validated before anything changes; a file with any bad row
enrols no one and gets a per-row report; a good file creates missing accounts, enrols them and emails each
learner enrolled their invitation (course/cohorts/invitations.py, in the same transaction); the same file
uploaded again changes nothing and emails no one.

Columns: email, name; optionally cohort (a cohort's name) and language (of a new account and of its email:
zh_Hans or en; empty: the account's own, else the site's)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from course.accounts.models import User
from course.accounts.services import normalise_email
from course.audit import log as audit
from course.cohorts.enrolment import enrol
from course.cohorts.errors import CohortError
from course.cohorts.invitations import Invited, create_learner_account, invite, language_code
from course.cohorts.models import Cohort, Enrolment
from course.edge import has_control_characters
from course.extensions import db

MAX_BYTES = 1_000_000
MAX_ROWS = 5_000
REQUIRED = ("email", "name")
OPTIONAL = ("cohort", "language")


@dataclass
class RowError:
    line: int  # the line in the file (the header is line 1)
    message: str


@dataclass
class ImportReport:
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0
    created: list[User] = field(default_factory=list)
    enrolled: int = 0
    unchanged: int = 0
    invitations: list[Invited] = field(default_factory=list)  # each learner of the file: emailed or why not

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class _Row:
    line: int
    email: str
    name: str
    cohort: Cohort
    language: str | None = None


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _FileError(line, _("The file is not UTF-8 text. Save it as “CSV UTF-8” and upload it again.")) from None


class _FileError(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


def parse(data: bytes, default: Cohort) -> tuple[list[_Row], list[RowError]]:
    """Read and validate every row. Nothing is written."""
    if len(data) > MAX_BYTES:
        return [], [RowError(1, _("The file is larger than 1 MB; split it into smaller files."))]
    try:
        text = _decode(data)
    except _FileError as exc:
        return [], [RowError(exc.line, exc.message)]
    if not text.strip():
        return [], [RowError(1, _("The file is empty."))]
    try:
        dialect = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = [h.strip().lower() for h in next(reader)]
    errors: list[RowError] = []
    missing = [h for h in REQUIRED if h not in header]
    unknown = [h for h in header if h not in REQUIRED + OPTIONAL]
    if missing or unknown or len(set(header)) != len(header):
        parts = []
        if missing:
            parts.append(_("missing column(s): %(cols)s", cols=", ".join(missing)))
        if unknown:
            parts.append(_("unknown column(s): %(cols)s", cols=", ".join(unknown)))
        if len(set(header)) != len(header):
            parts.append(_("a column appears twice"))
        expected = ", ".join(REQUIRED + OPTIONAL)
        return [], [
            RowError(
                1, _("Header: %(problems)s. Expected: %(expected)s.", problems="; ".join(parts), expected=expected)
            )
        ]

    cohorts_by_name = {
        c.name.strip().casefold(): c
        for c in db.session.scalars(select(Cohort).where(Cohort.course_id == default.course_id))
    }
    rows: list[_Row] = []
    seen: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if len(rows) + len(errors) >= MAX_ROWS:
            errors.append(RowError(line, _("More than %(n)d rows; split the file.", n=MAX_ROWS)))
            break
        if len(record) != len(header):
            errors.append(RowError(line, _("Expected %(n)d columns, found %(m)d.", n=len(header), m=len(record))))
            continue
        if any(has_control_characters(cell) for cell in record):
            errors.append(RowError(line, _("The row contains characters that are not allowed (control characters).")))
            continue
        values = dict(zip(header, (cell.strip() for cell in record), strict=True))
        try:
            email = normalise_email(validate_email(values["email"], check_deliverability=False).normalized)
        except EmailNotValidError:
            errors.append(RowError(line, _("“%(email)s” is not a valid email address.", email=values["email"])))
            continue
        if email in seen:
            errors.append(RowError(line, _("%(email)s already appears on line %(n)d.", email=email, n=seen[email])))
            continue
        seen[email] = line
        name = values["name"]
        if not name or len(name) > 120:
            errors.append(RowError(line, _("A name is required (at most 120 characters).")))
            continue
        cohort = default
        if values.get("cohort"):
            cohort = cohorts_by_name.get(values["cohort"].casefold())
            if cohort is None:
                errors.append(RowError(line, _("No cohort named “%(name)s” in this course.", name=values["cohort"])))
                continue
        language = None
        if values.get("language"):
            language = language_code(values["language"])
            if language is None:
                choices = ", ".join(current_app.config["LANGUAGES"])
                message = _(
                    "Unknown language “%(value)s”: use one of %(choices)s.", value=values["language"], choices=choices
                )
                errors.append(RowError(line, message))
                continue
        rows.append(_Row(line, email, name, cohort, language))
    if not rows and not errors:
        errors.append(RowError(2, _("The file has a header but no learners.")))
    return rows, errors


def _check_against_database(rows: list[_Row], allowed: set[int]) -> list[RowError]:
    errors: list[RowError] = []
    users = {u.email: u for u in db.session.scalars(select(User).where(User.email.in_([r.email for r in rows])))}
    course_id = rows[0].cohort.course_id
    enrolments = {
        e.user_id: e
        for e in db.session.scalars(
            select(Enrolment).where(
                Enrolment.course_id == course_id, Enrolment.user_id.in_([u.id for u in users.values()] or [-1])
            )
        )
    }
    new_per_cohort: dict[int, list[_Row]] = {}
    for row in rows:
        if row.cohort.id not in allowed:
            errors.append(RowError(row.line, _("You do not run the cohort “%(name)s”.", name=row.cohort.name)))
            continue
        user = users.get(row.email)
        enrolment = enrolments.get(user.id) if user else None
        if enrolment is not None and enrolment.cohort_id != row.cohort.id:
            errors.append(
                RowError(
                    row.line,
                    _(
                        "%(email)s is already in another cohort of this course; move them "
                        "from the cohort page instead.",
                        email=row.email,
                    ),
                )
            )
            continue
        if enrolment is None:
            new_per_cohort.setdefault(row.cohort.id, []).append(row)
    for _cohort_id, new_rows in new_per_cohort.items():
        cohort = new_rows[0].cohort
        if cohort.capacity is not None:
            free = cohort.capacity - cohort.enrolled_count
            for row in new_rows[max(free, 0) :]:
                errors.append(
                    RowError(
                        row.line,
                        _(
                            "The cohort “%(name)s” would be over its capacity of %(n)d.",
                            name=cohort.name,
                            n=cohort.capacity,
                        ),
                    )
                )
    return errors


def import_csv(data: bytes, default: Cohort, allowed_cohort_ids: set[int]) -> ImportReport:
    """Validate everything first; apply only a clean file. The caller commits on `report.ok`, else rolls back."""
    rows, errors = parse(data, default)
    report = ImportReport(errors=errors, rows=len(rows) + len(errors))
    if errors:
        return report
    report.errors = _check_against_database(rows, allowed_cohort_ids)
    if report.errors:
        return report
    to_invite: list[tuple[Enrolment, User, _Row, bool]] = []
    for row in rows:
        user = db.session.scalar(select(User).where(User.email == row.email))
        new_account = user is None
        if user is None:
            # No usable password: the learner chooses theirs from the link in the invitation.
            user = create_learner_account(row.email, row.name, row.language)
            report.created.append(user)
        try:
            enrolment, created = enrol(row.cohort, user, source="csv", check_window=False, audit=False)
        except CohortError as exc:
            report.errors.append(RowError(row.line, str(exc)))
            continue
        if created:
            report.enrolled += 1
            to_invite.append((enrolment, user, row, new_account))
        else:
            report.unchanged += 1
            reason = _("Already in this cohort: not emailed again.")
            report.invitations.append(Invited(user, row.cohort, False, reason=reason))
    # Written once every enrolment is in: the outbox takes the commit of an enrolment's savepoint for the commit
    # of the file (it would wake the worker too early), so no savepoint may follow a message.
    for enrolment, user, row, new_account in to_invite if report.ok else ():
        report.invitations.append(invite(enrolment, user, row.cohort, new_account, row.language))
    if report.ok:  # one entry for the file, with its counts (the caller commits it with the enrolments)
        details = {
            "rows": report.rows,
            "enrolled": report.enrolled,
            "unchanged": report.unchanged,
            "accounts_created": len(report.created),
            "cohort_ids": sorted({row.cohort.id for row in rows}),
        }
        audit.record(audit.Action.CSV_IMPORTED, cohort_id=default.id, details=details)
    return report
