"""The instructor dashboard of a cohort: overview, learner grid, at-risk list, quiz statistics, one learner,
CSV exports.

Access: every route needs a login, then `get_cohort_for_staff_or_404`: an instructor sees the cohorts they
teach, an admin every cohort. Anyone else — a learner, or an instructor of another cohort — gets 404, never
403, so a cohort id in a URL does not even reveal that the cohort exists. A learner not enrolled in the cohort,
or an unknown quiz, is 404 too. Bad query parameters (sort, page, days …) fall back to their defaults.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask_babel import format_number, to_user_timezone
from flask_login import current_user, login_required
from sqlalchemy import text

from course import charts
from course.audit.log import Action, record
from course.cohorts.models import Cohort
from course.cohorts.services import get_cohort_for_staff_or_404, get_learner_enrolment_or_404
from course.dashboard import exports, itemflags, lists
from course.dashboard.cache import IN_REVIEW, cached
from course.dashboard.coursemap import CourseMap, QuizInfo, load_course_map
from course.dashboard.drilldown import learner_detail
from course.dashboard.labels import decimal, flag_label, flag_reason, name_list, reason_label, whole_percent
from course.dashboard.overview import overview as cohort_overview
from course.dashboard.quizstats import quiz_stats, quiz_summaries
from course.db_types import utcnow
from course.extensions import db
from course.progress.review import learners_in_review
from course.sql import begin_transaction, writing

bp = Blueprint("dashboard", __name__)


def load_cohort(cohort_id: int) -> tuple[Cohort, CourseMap]:
    """The cohort of a dashboard page (404 unless the current user teaches it or is an admin) and its course map."""
    cohort = get_cohort_for_staff_or_404(cohort_id, current_user)
    _read_without_jit()
    return cohort, load_course_map(cohort)


def _read_without_jit() -> None:
    if db.session.get_bind().dialect.name == "postgresql":
        # The per-learner statement is large but quick; once PostgreSQL has statistics its estimated cost passes
        # jit_above_cost, and compiling it took longer (about a second) than running it. For this transaction
        # only (a transaction, where reads would otherwise run in autocommit mode: see course.sql).
        begin_transaction()
        db.session.execute(text("SET LOCAL jit = off"))


def _quiz_or_404(cm: CourseMap, quiz_key: str) -> QuizInfo:
    quiz = cm.quiz_by_key(quiz_key)
    if quiz is None:
        abort(404)
    return quiz


def render_page(template: str, cohort: Cohort, cm: CourseMap, section: str, **extra: object) -> str:
    """A dashboard page: `template` (extending dashboard/_layout.html) with `section` marked in its navigation."""
    has_cohort_pages = "cohorts.detail" in current_app.view_functions
    cohort_url = url_for("cohorts.detail", cohort_id=cohort.id) if has_cohort_pages else None
    return render_template(
        template,
        cohort=cohort,
        cm=cm,
        section=section,
        cohort_url=cohort_url,
        **extra,
    )


def _percent_of(part: int, whole: int) -> str:
    """e.g. "1,234 (56%)", the count formatted for the reader's locale."""
    return f"{format_number(part)} ({round(100 * part / whole)}%)" if whole else format_number(part)


# -- pages --------------------------------------------------------------------------------------------------


@bp.route("/cohorts/<int:cohort_id>/dashboard")
@login_required
def overview(cohort_id: int):
    cohort, cm = load_cohort(cohort_id)
    numbers = cohort_overview(cohort, cm, utcnow())
    funnel_chart = charts.horizontal_bars(
        [
            # the lesson's title carries its number ("1.1 …"): no second one before it
            (step.lesson.title, step.reached, _percent_of(step.reached, numbers.enrolled))
            for step in numbers.funnel
        ],
        max_value=numbers.enrolled or 1,
    )
    histogram_chart = charts.horizontal_bars(
        [("100%" if start == 100 else f"{start}–{start + 9}%", n, format_number(n)) for start, n in numbers.histogram],
        label_width=90,
    )
    return render_page(
        "dashboard/overview.html", cohort, cm, "overview",
        overview=numbers, funnel_chart=funnel_chart, histogram_chart=histogram_chart,
    )  # fmt: skip


@bp.route("/cohorts/<int:cohort_id>/dashboard/learners")
@login_required
def learners(cohort_id: int):
    cohort, cm = load_cohort(cohort_id)
    params = lists.GridParams.from_args(request.args)
    page = lists.grid(cohort, cm, utcnow(), params)
    return render_page("dashboard/learners.html", cohort, cm, "learners", page=page, params=params)


@bp.route("/cohorts/<int:cohort_id>/dashboard/at-risk")
@login_required
def at_risk(cohort_id: int):
    cohort, cm = load_cohort(cohort_id)
    params = lists.AtRiskParams.from_args(request.args)
    page = lists.at_risk(cohort, cm, utcnow(), params)
    return render_page("dashboard/at_risk.html", cohort, cm, "at_risk", page=page, params=params)


@bp.route("/cohorts/<int:cohort_id>/dashboard/quizzes")
@login_required
def quizzes(cohort_id: int):
    cohort, cm = load_cohort(cohort_id)
    return render_page("dashboard/quizzes.html", cohort, cm, "quizzes", summaries=quiz_summaries(cohort, cm))


@bp.route("/cohorts/<int:cohort_id>/dashboard/quizzes/<quiz_key>")
@login_required
def quiz(cohort_id: int, quiz_key: str):
    cohort, cm = load_cohort(cohort_id)
    stats = quiz_stats(cohort, _quiz_or_404(cm, quiz_key))
    question_ids = tuple(q.id for q in stats.questions)
    in_review = cached(
        "in_review",
        cohort.course_id,
        (cohort.id, question_ids),
        lambda: learners_in_review(cohort.id, question_ids),
        IN_REVIEW,
    )
    return render_page("dashboard/quiz.html", cohort, cm, "quizzes", stats=stats, rules=itemflags, in_review=in_review)


@bp.route("/cohorts/<int:cohort_id>/learners/<int:user_id>")
@login_required
def learner(cohort_id: int, user_id: int):
    cohort, cm = load_cohort(cohort_id)
    enrolment, user = get_learner_enrolment_or_404(cohort, user_id)
    detail = learner_detail(cohort, enrolment, user)
    row = lists.learner_rows(cohort, cm, utcnow(), [user.id])[0]
    return render_page("dashboard/learner.html", cohort, cm, "learners", detail=detail, row=row)


# -- CSV exports --------------------------------------------------------------------------------------------


def _download(cohort: Cohort, what: str, export: exports.Export, quiz: str | None = None):
    """The export as a CSV download, recorded in the audit log first (committed before the rows are read)."""
    with writing():
        record(Action.DATA_EXPORTED, cohort_id=cohort.id, details={"what": what, **({"quiz": quiz} if quiz else {})})
    _read_without_jit()  # the rows are read in a transaction of their own, after the entry's
    on = to_user_timezone(utcnow()).date()  # the reader's today, as the times inside
    filename = exports.export_name(cohort.name, cohort.id, f"quiz-{quiz}" if quiz else what, on)
    return exports.csv_response(filename, export.header, export.rows)


@bp.route("/cohorts/<int:cohort_id>/export/grid.csv")
@login_required
def export_grid(cohort_id: int):
    cohort, cm = load_cohort(cohort_id)
    return _download(cohort, "grid", exports.grid_export(cohort, cm, utcnow()))


@bp.route("/cohorts/<int:cohort_id>/export/at-risk.csv")
@login_required
def export_at_risk(cohort_id: int):
    cohort, cm = load_cohort(cohort_id)
    params = lists.AtRiskParams.from_args(request.args)
    return _download(cohort, "at-risk", exports.at_risk_export(cohort, cm, utcnow(), params))


@bp.route("/cohorts/<int:cohort_id>/export/quizzes/<quiz_key>.csv")
@login_required
def export_quiz(cohort_id: int, quiz_key: str):
    cohort, cm = load_cohort(cohort_id)
    stats = quiz_stats(cohort, _quiz_or_404(cm, quiz_key))
    return _download(cohort, "quiz", exports.quiz_export(stats), quiz=quiz_key)


@bp.app_template_global()
def dashboard_reason(reason: str, days: int) -> str:
    return reason_label(reason, days)


@bp.app_template_global()
def dashboard_flag(flag: str) -> str:
    return flag_label(flag)


@bp.app_template_global()
def dashboard_flag_reason(flag: itemflags.Flag) -> str:
    return flag_reason(flag)


@bp.app_template_filter("share_pct")
def share_pct(value: float | None) -> str:
    """A share (0..1) as a whole percentage; '—' when unknown (as the CSV exports round it)."""
    return whole_percent(value)


@bp.app_template_filter("names")
def names(titles: list[str]) -> str:
    """Titles in one line, separated as the reader's language separates them (as in the CSV exports)."""
    return name_list(titles)


@bp.app_template_filter("correlation")
def correlation(value: float | None) -> str:
    """A correlation to two decimals; '—' when unknown (as the CSV exports round it)."""
    return decimal(value)
