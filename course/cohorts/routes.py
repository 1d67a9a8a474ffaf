"""Running cohorts: create and edit, schedule, invites, enrolment (link, CSV), unenrol, move, extensions.

The cohort list and "new cohort" need an instructor or admin (403 otherwise). Every page of one cohort is a
404 for anyone who does not run it — a learner, or an instructor of another cohort — so an id in a URL does not
reveal that the cohort exists (the dashboard does the same).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from functools import wraps

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from course.accounts.provisioning import has_password
from course.accounts.sessions import signed_in_user
from course.audit.queries import AuditFilter
from course.clock import today
from course.cohorts import enrolment as enrolments
from course.cohorts import invites, services
from course.cohorts.activity import MAX_PAGE, activity_page
from course.cohorts.csv_import import import_csv
from course.cohorts.errors import CohortError, FieldError
from course.cohorts.forms import AddLearnerForm, CohortForm, CsvUploadForm, ExtensionForm, MoveForm
from course.cohorts.models import Cohort
from course.cohorts.reschedule import shifted_message
from course.cohorts.schedule import read_schedule_form, schedule_rows, set_schedule
from course.content.lookup import get_course_or_404, live_courses
from course.content.models import Course
from course.extensions import db
from course.forms import EmptyForm, positive_int
from course.ratelimit import limit, user_or_address

bp = Blueprint("cohorts", __name__)


def staff_required(view):
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.is_instructor:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def staff_cohort(cohort_id: int) -> Cohort:
    """The cohort, for one of its instructors or an administrator; a 404 for anyone else (the other route modules
    of the blueprint use it and the helpers below too)."""
    return services.get_cohort_for_staff_or_404(cohort_id, current_user)


def _form_choices(form: CohortForm) -> None:
    form.course.choices = [(c.id, c.title) for c in live_courses()]
    form.instructors.choices = [(u.id, f"{u.name} <{u.email}>") for u in services.possible_instructors()]


def _settings(form: CohortForm) -> services.CohortSettings:
    return services.CohortSettings(
        name=form.name.data or "",
        starts_on=form.starts_on.data,
        ends_on=form.ends_on.data,
        capacity=form.capacity.data,
        enrol_opens_on=form.enrol_opens_on.data,
        enrol_closes_on=form.enrol_closes_on.data,
        inactive_after_days=form.inactive_after_days.data,
        auto_nudges=form.auto_nudges_posted,
    )


def _refused_on_form(form: CohortForm, error: CohortError) -> None:
    """A refused setting marks its field when the form shows it, else the form as a whole."""
    db.session.rollback()
    shown = error.field in form and (error.field != "instructors" or current_user.is_admin)
    (form[error.field].errors if shown else form.form_errors).append(str(error))


def _form_status(form: CohortForm) -> int:
    return 400 if form.is_submitted() and (form.errors or form.form_errors) else 200


@bp.route("/cohorts")
@staff_required
def index():
    cohorts = services.visible_cohorts(current_user)
    courses = {c.id: c for c in db.session.scalars(select(Course))}
    return render_template("cohorts/index.html", cohorts=cohorts, courses=courses, today=today())


@bp.route("/cohorts/new", methods=["GET", "POST"])
@staff_required
def create():
    form = CohortForm()
    _form_choices(form)
    if request.method == "GET":
        start = today() + timedelta(days=7)
        form.starts_on.data, form.ends_on.data = start, start + timedelta(weeks=10)
        form.instructors.data = [current_user.id]
    if form.validate_on_submit():
        course = db.session.get(Course, form.course.data)
        user = signed_in_user()
        try:
            cohort = services.create_cohort(course, _settings(form), form.instructors.data or [], created_by=user)
        except CohortError as exc:
            _refused_on_form(form, exc)
        else:
            db.session.commit()
            flash(
                _("Cohort “%(name)s” created with one chapter a week. Adjust the schedule below.", name=cohort.name),
                "success",
            )
            return redirect(url_for("cohorts.detail", cohort_id=cohort.id))
    return render_template("cohorts/form.html", form=form, cohort=None), _form_status(form)


@bp.route("/cohorts/<int:cohort_id>")
@login_required
def detail(cohort_id: int):
    return render_detail(staff_cohort(cohort_id))


def render_detail(
    cohort: Cohort,
    status: int = 200,
    errors: list[str] | None = None,
    field_errors: list[FieldError] | None = None,
    upload: CsvUploadForm | None = None,
    add: AddLearnerForm | None = None,
):
    """The cohort page; with `errors` (a refused action) or `field_errors` (a form's controls with a problem) it
    is re-rendered with a 400, the messages, the controls marked and what was posted."""
    rejected = bool(errors or field_errors or (upload and upload.errors) or (add and add.errors))
    others = [c for c in services.visible_cohorts(current_user, cohort.course_id) if c.id != cohort.id]
    learners = services.learners_of(cohort)
    return render_template(
        "cohorts/detail.html",
        cohort=cohort,
        course=db.session.get(Course, cohort.course_id),
        learners=learners,
        without_password={user.id for _enrolment, user in learners if not has_password(user)},
        resend_key=uuid.uuid4().hex,  # "resend the invitation" once per page shown (a double click sends once)
        add=add or AddLearnerForm(formdata=None),
        others=others,
        instructors=services.instructors_of(cohort),
        schedule=schedule_rows(cohort),
        form=EmptyForm(),
        upload=upload or CsvUploadForm(formdata=None),
        window_problem=enrolments.enrolment_window_problem(cohort),
        errors=errors or [],
        field_errors=field_errors or [],
        invalid={error.control_id: error.message for error in field_errors or []},
        posted=request.form if rejected else None,
        **_dashboard_links(cohort),
    ), status


def _dashboard_links(cohort: Cohort) -> dict:
    """Links into the instructor dashboard, when that blueprint is installed."""
    views = current_app.view_functions
    links: dict = {"dashboard_url": None, "learner_url": None}
    if "dashboard.overview" in views:
        links["dashboard_url"] = url_for("dashboard.overview", cohort_id=cohort.id)
    if "dashboard.learner" in views:
        links["learner_url"] = lambda user_id: url_for("dashboard.learner", cohort_id=cohort.id, user_id=user_id)
    return links


@bp.route("/cohorts/<int:cohort_id>/activity")
@login_required
def activity(cohort_id: int):
    """The cohort's entries of the audit log, newest first (read only: nothing changes or deletes an entry)."""
    cohort = staff_cohort(cohort_id)
    number = positive_int(request.args.get("page"), 1, MAX_PAGE)
    page, rows = activity_page(AuditFilter(cohort_id=cohort.id), number, services.visible_cohorts(current_user))
    return render_template("cohorts/activity.html", cohort=cohort, page=page, rows=rows)


@bp.route("/cohorts/<int:cohort_id>/edit", methods=["GET", "POST"])
@login_required
def edit(cohort_id: int):
    cohort = staff_cohort(cohort_id)
    form = CohortForm(obj=cohort if request.method == "GET" else None)
    _form_choices(form)
    form.course.choices = [c for c in form.course.choices if c[0] == cohort.course_id]
    form.offer_schedule_shift(cohort)
    if request.method == "GET":
        form.course.data = cohort.course_id
        form.instructors.data = [i.user_id for i in cohort.instructors]
    if form.validate_on_submit():
        user = signed_in_user()
        try:
            settings, shift = _settings(form), form.shift_requested
            moved = services.update_cohort(cohort, settings, form.instructors.data or [], user, shift_schedule=shift)
        except CohortError as exc:
            _refused_on_form(form, exc)
        else:
            db.session.commit()
            flash(_("Cohort saved."), "success")
            if moved:
                flash(shifted_message(moved), "success")
            return redirect(url_for("cohorts.detail", cohort_id=cohort.id))
    return render_template("cohorts/form.html", form=form, cohort=cohort), _form_status(form)


@bp.route("/cohorts/<int:cohort_id>/schedule", methods=["POST"])
@login_required
def schedule(cohort_id: int):
    cohort = staff_cohort(cohort_id)
    form = read_schedule_form(cohort, request.form)
    if form.errors:
        return render_detail(cohort, 400, field_errors=form.errors)
    try:
        set_schedule(cohort, form.dates)
    except CohortError as exc:
        return refused(cohort, exc, exc.field)
    db.session.commit()
    flash(_("Schedule saved."), "success")
    return redirect(url_for("cohorts.detail", cohort_id=cohort.id) + "#schedule")


# -- the invite link -----------------------------------------------------------------------------------------


def _invite_changed(cohort: Cohort, message: str):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("cohorts.detail", cohort_id=cohort.id) + "#invite")


@bp.route("/cohorts/<int:cohort_id>/invite/rotate", methods=["POST"])
@login_required
def rotate_invite(cohort_id: int):
    cohort = staff_cohort(cohort_id)
    invites.rotate_invite(cohort)
    return _invite_changed(cohort, _("A new invite link was made; the old one no longer works."))


@bp.route("/cohorts/<int:cohort_id>/invite/disable", methods=["POST"])
@login_required
def disable_invite(cohort_id: int):
    cohort = staff_cohort(cohort_id)
    invites.set_invite_enabled(cohort, False)
    return _invite_changed(cohort, _("Invite link disabled."))


@bp.route("/cohorts/<int:cohort_id>/invite/enable", methods=["POST"])
@login_required
def enable_invite(cohort_id: int):
    cohort = staff_cohort(cohort_id)
    invites.set_invite_enabled(cohort, True)
    return _invite_changed(cohort, _("Invite link enabled."))


# -- enrolment -----------------------------------------------------------------------------------------------


@bp.route("/cohorts/<int:cohort_id>/enrol/csv", methods=["POST"])
@login_required
@limit("upload", key_func=user_or_address)
def enrol_csv(cohort_id: int):
    cohort = staff_cohort(cohort_id)
    form = CsvUploadForm()
    if not form.validate_on_submit():
        if form.file.errors:
            form.file.errors[:] = [_("Choose a CSV file to upload.")]
        return render_detail(cohort, 400, upload=form)
    allowed = {c.id for c in services.visible_cohorts(current_user)}
    try:
        report = import_csv(form.file.data.read(2_000_000), cohort, allowed)
        if not report.ok:
            db.session.rollback()  # the accounts, enrolments and invitations of the file go together
            return render_template("cohorts/import_report.html", cohort=cohort, report=report), 400
        db.session.commit()
    except IntegrityError:  # another upload made the same new accounts at the same moment: nothing is kept
        db.session.rollback()
        return render_detail(cohort, 409, [_("Another upload enrolled some of these learners at the same moment; "
                                             "nothing was changed. Upload the file again.")])  # fmt: skip
    return render_template("cohorts/import_report.html", cohort=cohort, report=report)


def learner_changed(cohort: Cohort, message: str):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("cohorts.detail", cohort_id=cohort.id) + "#learners")


def refused(cohort: Cohort, error: CohortError, control_id: str | None = None, label: str | None = None):
    """The page again with the refusal: next to the control it is about (and named by `label` in the summary),
    or for the page as a whole."""
    db.session.rollback()
    if control_id is None:
        return render_detail(cohort, 400, [str(error)])
    return render_detail(cohort, 400, field_errors=[FieldError(control_id, str(error), label)])


@bp.route("/cohorts/<int:cohort_id>/learners/<int:user_id>/unenrol", methods=["POST"])
@login_required
def unenrol(cohort_id: int, user_id: int):
    cohort = staff_cohort(cohort_id)
    enrolment, user = services.get_learner_enrolment_or_404(cohort, user_id)
    enrolments.unenrol(enrolment)
    return learner_changed(cohort, _("%(name)s was removed from the cohort; their progress is kept.", name=user.name))


@bp.route("/cohorts/<int:cohort_id>/learners/<int:user_id>/move", methods=["POST"])
@login_required
def move(cohort_id: int, user_id: int):
    cohort = staff_cohort(cohort_id)
    enrolment, user = services.get_learner_enrolment_or_404(cohort, user_id)
    form = MoveForm()
    form.target.choices = [(c.id, c.name) for c in services.visible_cohorts(current_user, cohort.course_id)]
    # The page shows the choice of cohort only when there is another one to move to.
    shown = len(form.target.choices) > 1
    control = (f"target-{user.id}", _("Move %(name)s to", name=user.name)) if shown else (None, None)
    if not form.validate_on_submit():
        return refused(cohort, CohortError(_("Choose a cohort you run.")), *control)
    target = services.get_cohort_for_staff_or_404(form.target.data, current_user)
    try:
        enrolments.move(enrolment, target)
    except CohortError as exc:
        return refused(cohort, exc, *control)
    message = _("%(name)s moved to “%(cohort)s”; their progress is kept.", name=user.name, cohort=target.name)
    return learner_changed(cohort, message)


@bp.route("/cohorts/<int:cohort_id>/learners/<int:user_id>/extension", methods=["POST"])
@login_required
def extension(cohort_id: int, user_id: int):
    cohort = staff_cohort(cohort_id)
    enrolment, user = services.get_learner_enrolment_or_404(cohort, user_id)
    form = ExtensionForm()
    control = (f"days-{user.id}", _("Extra days for %(name)s", name=user.name))
    if not form.validate_on_submit():
        message = _("An extension is a whole number of days between 0 and 365.")
        return refused(cohort, CohortError(message), *control)
    try:
        enrolments.set_extension(enrolment, form.days.data, form.note.data or "")
    except CohortError as exc:
        return refused(cohort, exc, *control)
    message = _("Extension saved: %(n)d extra days for %(name)s.", n=form.days.data, name=user.name)
    return learner_changed(cohort, message)


# -- joining through an invite link ------------------------------------------------------------------------


@bp.route("/join/<code>", methods=["GET", "POST"])
def join(code: str):
    cohort = invites.cohort_by_invite(code)
    if cohort is None:
        abort(404, description=_("This invite link is not valid any more. Ask your instructor for a new one."))
    course = get_course_or_404(db.session.get(Course, cohort.course_id).key)
    page = {"cohort": cohort, "course": course, "form": EmptyForm()}
    problem = enrolments.enrolment_window_problem(cohort)
    if not current_user.is_authenticated:
        return render_template("cohorts/join.html", **page, problem=problem, enrolment=None)
    enrolment = enrolments.enrolment_for(current_user.id, course.id)
    if request.method == "POST":
        try:
            enrolments.enrol(cohort, signed_in_user(), source="invite")
        except CohortError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return render_template("cohorts/join.html", **page, problem=str(exc), enrolment=enrolment), 409
        db.session.commit()
        flash(_("You joined “%(name)s”. Welcome!", name=cohort.name), "success")
        return redirect(url_for("learn.outline", course_key=course.key))
    return render_template("cohorts/join.html", **page, problem=problem, enrolment=enrolment)
