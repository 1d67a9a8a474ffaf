"""The instructor dashboard of a cohort: overview, learner grid, at-risk list, quiz statistics, one learner,
CSV exports.

Access: every route needs a login, then `get_cohort_for_staff_or_404`: an instructor sees the cohorts they
teach, an admin every cohort. Anyone else — a learner, or an instructor of another cohort — gets 404, never
403, so a cohort id in a URL does not even reveal that the cohort exists. A learner not enrolled in the cohort,
or an unknown quiz, is 404 too. Bad query parameters (sort, page, days …) fall back to their defaults.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask_babel import format_number
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import text

from course.cohorts.models import Cohort
from course.cohorts.services import get_cohort_for_staff_or_404, get_learner_enrolment_or_404
from course.dashboard import charts, stats
from course.dashboard.coursemap import GRACE_DAYS, CourseMap, QuizInfo, load_course_map
from course.dashboard.drilldown import learner_detail
from course.dashboard.exports import csv_response, export_name
from course.dashboard.quizstats import MIN_RESPONSES, QuizStats, quiz_stats
from course.db_types import utcnow
from course.extensions import db
from course.sql import begin_transaction

bp = Blueprint("dashboard", __name__)


def _load(cohort_id: int) -> tuple[Cohort, CourseMap]:
    cohort = get_cohort_for_staff_or_404(cohort_id, current_user)
    if db.session.get_bind().dialect.name == "postgresql":
        # The per-learner statement is large but quick; once PostgreSQL has statistics its estimated cost passes
        # jit_above_cost, and compiling it took longer (about a second) than running it. For this transaction
        # only (a transaction, where reads would otherwise run in autocommit mode: see course.sql).
        begin_transaction()
        db.session.execute(text("SET LOCAL jit = off"))
    return cohort, load_course_map(cohort)


def _quiz_or_404(cm: CourseMap, quiz_key: str) -> QuizInfo:
    quiz = cm.quiz_by_key(quiz_key)
    if quiz is None:
        abort(404)
    return quiz


def _context(cohort: Cohort, cm: CourseMap, section: str, **extra: object) -> dict:
    has_cohort_pages = "cohorts.detail" in current_app.view_functions
    cohort_url = url_for("cohorts.detail", cohort_id=cohort.id) if has_cohort_pages else None
    return {
        "cohort": cohort,
        "cm": cm,
        "section": section,
        "cohort_url": cohort_url,
        "grace_days": GRACE_DAYS,
        "inactive_days": stats.DEFAULT_INACTIVE_DAYS,
        **extra,
    }


# -- pages --------------------------------------------------------------------------------------------------


@bp.route("/cohorts/<int:cohort_id>/dashboard")
@login_required
def overview(cohort_id: int):
    cohort, cm = _load(cohort_id)
    data = stats.overview(cohort, cm, utcnow())
    funnel_chart = charts.horizontal_bars(
        [(f"{s.lesson.index + 1}. {s.lesson.title}", s.reached, _percent_of(s.reached, data.enrolled))
         for s in data.funnel],
        max_value=data.enrolled or 1,
    )
    histogram_chart = charts.horizontal_bars(
        [("100%" if start == 100 else f"{start}–{start + 9}%", n, format_number(n)) for start, n in data.histogram],
        label_width=90,
    )
    return render_template(
        "dashboard/overview.html",
        **_context(cohort, cm, "overview", o=data, funnel_chart=funnel_chart, histogram_chart=histogram_chart),
    )


def _percent_of(part: int, whole: int) -> str:
    """e.g. "1,234 (56%)", the count formatted for the reader's locale."""
    return f"{format_number(part)} ({round(100 * part / whole)}%)" if whole else format_number(part)


@bp.route("/cohorts/<int:cohort_id>/dashboard/learners")
@login_required
def learners(cohort_id: int):
    cohort, cm = _load(cohort_id)
    params = stats.GridParams.from_args(request.args)
    page = stats.grid(cohort, cm, utcnow(), params)
    return render_template("dashboard/learners.html", **_context(cohort, cm, "learners", page=page, params=params))


@bp.route("/cohorts/<int:cohort_id>/dashboard/at-risk")
@login_required
def at_risk(cohort_id: int):
    cohort, cm = _load(cohort_id)
    params = stats.AtRiskParams.from_args(request.args)
    page = stats.at_risk(cohort, cm, utcnow(), params)
    return render_template("dashboard/at_risk.html", **_context(cohort, cm, "at_risk", page=page, params=params))


@bp.route("/cohorts/<int:cohort_id>/dashboard/quizzes")
@login_required
def quizzes(cohort_id: int):
    cohort, cm = _load(cohort_id)
    summaries = stats.quiz_summaries(cohort, cm)
    return render_template("dashboard/quizzes.html", **_context(cohort, cm, "quizzes", summaries=summaries))


@bp.route("/cohorts/<int:cohort_id>/dashboard/quizzes/<quiz_key>")
@login_required
def quiz(cohort_id: int, quiz_key: str):
    cohort, cm = _load(cohort_id)
    data = quiz_stats(cohort, _quiz_or_404(cm, quiz_key))
    return render_template(
        "dashboard/quiz.html", **_context(cohort, cm, "quizzes", s=data, min_responses=MIN_RESPONSES)
    )


@bp.route("/cohorts/<int:cohort_id>/learners/<int:user_id>")
@login_required
def learner(cohort_id: int, user_id: int):
    cohort, cm = _load(cohort_id)
    enrolment, user = get_learner_enrolment_or_404(cohort, user_id)
    detail = learner_detail(cohort, enrolment, user)
    row = stats.learner_rows(cohort, cm, utcnow(), [user.id])[0]
    return render_template("dashboard/learner.html", **_context(cohort, cm, "learners", d=detail, row=row))


# -- CSV exports --------------------------------------------------------------------------------------------


@bp.route("/cohorts/<int:cohort_id>/export/grid.csv")
@login_required
def export_grid(cohort_id: int):
    cohort, cm = _load(cohort_id)
    now = utcnow()
    header = [_("Full name"), _("Email"), _("Enrolled on"), _("Progress %"), _("Lessons done"), _("Last active"),
              _("Completed"), _("Extension days")]
    for chapter in cm.chapters:
        if chapter.lessons:
            header.append(_("%(chapter)s: lessons done (of %(n)d)", chapter=chapter.title, n=len(chapter.lessons)))
        if chapter.quiz:
            header.append(_("%(chapter)s: best quiz %%", chapter=chapter.title))

    def rows():  # noqa: ANN202
        for r in stats.all_learner_rows(cohort, cm, now):
            line = [r.name, r.email, r.enrolled_at, r.percent, r.lessons_done, r.last_active, r.completed,
                    r.extension_days]
            for c in r.cells:
                if c.chapter.lessons:
                    line.append(c.lessons_done)
                if c.chapter.quiz:
                    line.append(c.best)
            yield line

    return csv_response(export_name(cohort.name, cohort.id, "grid", now.date()), header, rows())


@bp.route("/cohorts/<int:cohort_id>/export/at-risk.csv")
@login_required
def export_at_risk(cohort_id: int):
    cohort, cm = _load(cohort_id)
    now = utcnow()
    params = stats.AtRiskParams.from_args(request.args)
    header = [_("Full name"), _("Email"), _("Reasons"), _("Days since last activity"), _("Quizzes failed twice"),
              _("Chapters overdue"), _("Progress %"), _("Last active"), _("Extension days")]

    def rows():  # noqa: ANN202
        for r in stats.all_at_risk_rows(cohort, cm, now, params):
            yield [r.name, r.email, "; ".join(reason_label(x, params.days) for x in r.reasons), r.idle_days,
                   "; ".join(q.title for q in r.failed_quizzes), "; ".join(c.title for c in r.overdue), r.percent,
                   r.last_active, r.extension_days]

    return csv_response(export_name(cohort.name, cohort.id, "at-risk", now.date()), header, rows())


@bp.route("/cohorts/<int:cohort_id>/export/quizzes/<quiz_key>.csv")
@login_required
def export_quiz(cohort_id: int, quiz_key: str):
    cohort, cm = _load(cohort_id)
    data = quiz_stats(cohort, _quiz_or_404(cm, quiz_key))
    header = [_("Question"), _("Question id"), _("Prompt"), _("Type"), _("Responses"), _("Facility"),
              _("Discrimination"), _("Flags"), _("Answer"), _("Answer id"), _("Correct answer"), _("Chosen"),
              _("Share")]
    return csv_response(
        export_name(cohort.name, cohort.id, f"quiz-{quiz_key}", utcnow().date()), header, quiz_csv_rows(data)
    )


def quiz_csv_rows(data: QuizStats):  # noqa: ANN201
    """One row per question and option (or common typed answer): tidy data for a spreadsheet."""
    for q in data.questions:
        head = [q.position, q.key, q.prompt, str(q.label), q.responses,
                round(q.facility, 3) if q.facility is not None else None,
                round(q.discrimination, 3) if q.discrimination is not None else None,
                "; ".join(flag_label(f) for f in q.flags)]
        if q.has_options:
            for o in q.options:
                yield head + [o.text, o.key, o.keyed, o.chosen, round(o.share, 3)]
        elif q.answers:
            for a in q.answers:
                share = round(a.count / q.responses, 3) if q.responses else None
                yield head + [a.text, None, a.correct, a.count, share]
        else:
            yield head + [None] * 5


def reason_label(reason: str, days: int) -> str:
    return {
        "inactive": _("inactive %(days)d+ days", days=days),
        "quiz": _("failed a quiz twice"),
        "schedule": _("behind the schedule"),
    }[reason]


def flag_label(flag: str) -> str:
    return {"too_easy": _("too easy"), "too_hard": _("too hard"), "miskeyed": _("possibly miskeyed")}[flag]


@bp.app_template_global()
def dashboard_reason(reason: str, days: int) -> str:
    return reason_label(reason, days)


@bp.app_template_global()
def dashboard_flag(flag: str) -> str:
    return flag_label(flag)


@bp.app_template_filter("share_pct")
def share_pct(value: float | None) -> str:
    """A share (0..1) as a whole percentage; '—' when unknown."""
    return "—" if value is None else f"{round(100 * value)}%"
