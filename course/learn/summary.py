"""The completion summary, its printable view, and the public verification page (with its lookup of a code); the
completion's Open Badges credential downloaded from either."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from course.badges.downloads import json_response
from course.badges.issuing import credential_of
from course.learn.loading import learner_outline
from course.progress import review as reviews
from course.progress.completion import completion_by_code, verification
from course.progress.workbook import workbook_plan

bp = Blueprint("progress", __name__)


def _summary_context(course_key: str) -> dict:
    outline = learner_outline(course_key)
    return {
        "course": outline.course,
        "outline": outline,
        "plan": workbook_plan(outline, current_user.id),
        "completion": outline.completion,
        "credential": credential_of(outline.completion.id) if outline.completion else None,
        "review": reviews.record(current_user.id, outline.course.id),
    }


@bp.route("/courses/<course_key>/summary")
@login_required
def summary(course_key: str):
    return render_template("progress/summary.html", **_summary_context(course_key))


@bp.route("/courses/<course_key>/summary/print")
@login_required
def summary_print(course_key: str):
    context = _summary_context(course_key)
    if context["completion"] is None:
        abort(404)
    return render_template("progress/summary_print.html", **context)


@bp.route("/courses/<course_key>/summary/badge.json")
@login_required
def summary_badge(course_key: str):
    """The learner's own Open Badges credential for the course, as a file."""
    completion = learner_outline(course_key).completion
    credential = credential_of(completion.id) if completion else None
    if credential is None or credential.revoked:
        abort(404)
    return json_response(credential.document, filename=f"{course_key}-open-badge.json")


def _code_in(typed: str) -> str:
    """The verification code in what someone typed: the code itself, or the whole link pasted."""
    typed = typed.strip()
    if "/" in typed:
        try:
            typed = urlsplit(typed).path
        except ValueError:  # not a URL after all (e.g. "http://[abc/…"): the text after its last slash
            pass
        typed = typed.split("?", 1)[0].split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return typed


@bp.route("/verify")
def verify_lookup():
    """The form that checks a code (on the page of a code that is not found, too): on to the code's page."""
    if "code" not in request.args:
        return render_template("progress/verify_lookup.html", code="")
    code = _code_in(request.args["code"])
    if not code:
        error = _("Enter the code from the verification link, or paste the whole link.")
        return render_template("progress/verify_lookup.html", code="", error=error), 400
    return redirect(url_for("progress.verify", code=code))


@bp.route("/verify/<code>")
def verify(code: str):
    found = completion_by_code(code)
    if found is None:  # the app's page, with the code as typed, to correct it
        return render_template("progress/verify_lookup.html", code=code, not_found=True), 404
    completion, course = found
    credential = credential_of(completion.id)
    if completion.withdrawn_at is not None:  # its learner deleted their account: no name, no scores
        return render_template("progress/withdrawn.html", credential=credential), 410
    verified = verification(completion, course)
    return render_template("progress/verify.html", verified=verified, credential=credential, credential_code=code)


@bp.route("/verify/<code>/badge.json")
def verify_badge(code: str):
    """The Open Badges credential of a verified completion, as a file: 410 once revoked."""
    found = completion_by_code(code)
    credential = credential_of(found[0].id) if found else None
    if credential is None:
        abort(404)
    if credential.revoked or found[0].withdrawn_at is not None:
        abort(410)
    return json_response(credential.document, filename=f"{found[1].key}-open-badge.json")
