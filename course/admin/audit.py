"""The audit log, for admins: every entry, filtered by user, action, cohort and dates (in the reader's time zone),
a page at a time, and the filtered entries as a CSV file. Read only: no route changes or deletes an entry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import render_template, request
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_login import current_user

from course.accounts.services import find_user
from course.admin.forms import AuditFilterForm
from course.admin.routes import admin_required, bp
from course.audit.labels import action_choices
from course.audit.log import Action, record
from course.audit.queries import AuditFilter, Page
from course.cohorts.activity import MAX_PAGE, Person, Shown, activity_page, all_activity
from course.cohorts.models import Cohort
from course.cohorts.services import visible_cohorts
from course.csv_download import csv_response
from course.db_types import utcnow
from course.forms import positive_int
from course.sql import begin_transaction, writing

LARGEST_ID = 999_999_999  # what `positive_int` reads: nine digits


@bp.route("/audit")
@admin_required
def audit():
    form, filters, cohorts = _read_filters()
    if filters is None:
        return _page(form), 400
    page, rows = activity_page(filters, positive_int(request.args.get("page"), 1, MAX_PAGE), cohorts)
    return _page(form, page=page, rows=rows)


@bp.route("/audit.csv")
@admin_required
def audit_csv():
    """The filtered entries, streamed; the export itself is recorded first."""
    form, filters, cohorts = _read_filters()
    if filters is None:
        return _page(form), 400
    with writing():
        details = {"what": "audit", "filters": filters.as_details()}
        record(Action.DATA_EXPORTED, cohort_id=filters.cohort_id, details=details)
    begin_transaction()  # the rows are read through a server-side cursor on PostgreSQL
    return csv_response(f"audit-log-{utcnow().date().isoformat()}.csv", _csv_header(), _csv_rows(filters))


def _page(form: AuditFilterForm, page: Page | None = None, rows: list[Shown] | None = None) -> str:
    args = {key: value for key, value in request.args.items() if key != "page" and value}
    return render_template("admin/audit.html", form=form, page=page, rows=rows or [], args=args)


def _read_filters() -> tuple[AuditFilterForm, AuditFilter | None, list[Cohort]]:
    """The form read from the query string, and its filter (None if the form has errors)."""
    cohorts = visible_cohorts(current_user)  # an admin's: every cohort
    form = AuditFilterForm(formdata=request.args)
    form.action.choices = [("", _("Any action")), *action_choices()]
    form.cohort.choices = [("", _("Any cohort")), *((str(c.id), c.name) for c in cohorts)]
    if not form.validate():
        return form, None, cohorts
    user_id = _user_id(form)
    if form.user.errors:
        return form, None, cohorts
    filters = AuditFilter(
        user_id=user_id,
        action=form.action.data or None,
        cohort_id=int(form.cohort.data) if form.cohort.data else None,
        since=_start_of(form.since.data) if form.since.data else None,
        until=_start_of(form.until.data + timedelta(days=1)) if form.until.data else None,
    )
    return form, filters, cohorts


def _user_id(form: AuditFilterForm) -> int | None:
    """The account the user field names, by number or by email; an error on the field if none does."""
    typed = (form.user.data or "").strip().removeprefix("#")
    if not typed:
        return None
    if typed.isdecimal():
        number = positive_int(typed, 0, LARGEST_ID)
        if not number:
            form.user.errors.append(_("Not an account number."))
        return number or None
    user = find_user(typed)
    if user is None:
        form.user.errors.append(_("No account has this email."))
        return None
    return user.id


def _start_of(day: date) -> datetime:
    """The moment `day` begins in the reader's time zone."""
    return get_timezone().localize(datetime.combine(day, time.min)).astimezone(UTC)


# -- the CSV file ------------------------------------------------------------------------------------------------
def _csv_header() -> list[str]:
    return [
        _("Time (UTC)"),
        _("Action"),
        _("Actor id"),
        _("Actor"),
        _("Actor email"),
        _("IP address"),
        _("Target id"),
        _("Target"),
        _("Target email"),
        _("Cohort id"),
        _("Subject"),
        _("Before"),
        _("After"),
        _("Details"),
    ]


def _csv_rows(filters: AuditFilter) -> Iterator[list[Any]]:
    for entry, actor, target in all_activity(filters):
        yield [
            entry.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            entry.action,
            *_person(actor),
            entry.ip,
            *_person(target),
            entry.cohort_id,
            entry.subject,
            _json(entry.before),
            _json(entry.after),
            _json(entry.details),
        ]


def _person(person: Person | None) -> list[Any]:
    if person is None:
        return [None, None, None]
    if person.name is None:
        return [person.id, _("(deleted account)"), None]
    return [person.id, person.name, person.email]


def _json(values: dict[str, Any] | None) -> str | None:
    return json.dumps(values, ensure_ascii=False, sort_keys=True) if values is not None else None
