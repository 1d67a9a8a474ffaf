"""The tool's endpoints for an LMS: OIDC login initiation (`/lti/login`), the launch (`/lti/launch`) that signs
the user in and opens the course or a chapter — or, for a teacher's deep-linking request, the picker whose choice
goes back signed (`/lti/deep-link`) — and the tool's public keys (`/lti/jwks`).

The login and launch are exempt from CSRF: the platform's signed id_token, the state cookie and the one-time
nonce authenticate them. pylti1p3's errors are 4xx pages: an unknown platform or invalid launch 400, a replayed
launch 403."""

from __future__ import annotations

import logging
import re
from functools import cache
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_user

from course.accounts.services import record_login
from course.accounts.sessions import clear_session, mark_login, open_session
from course.content.lookup import live_courses
from course.content.outline import course_outline
from course.extensions import csrf, db
from course.lti import (
    grades,  # noqa: F401 - connects the receiver that queues scores for the platforms
    keys,
)
from course.lti.forms import DeepLinkForm
from course.lti.launch import Launched, accept_resource_launch, is_teacher
from course.lti.refusal import LaunchRefused
from course.ratelimit import limit
from course.sql import reads_first, writing

log = logging.getLogger(__name__)

bp = Blueprint("lti", __name__, url_prefix="/lti")
DEEP_LINK_SESSION = "lti_deep_link"
HOST_ONLY = re.compile(r"[A-Za-z0-9.\-]+(:[0-9]{1,5})?")


@cache
def library_errors() -> tuple[type[Exception], ...]:
    """pylti1p3's own errors and a platform that does not answer; odd claims are LaunchRefused (course/lti/claims.py).
    pylti1p3 and requests are imported by the first LTI request, not by every web worker at start."""
    import requests
    from pylti1p3.exception import LtiException, OIDCException, ToolConfException

    return (LtiException, OIDCException, ToolConfException, requests.RequestException, keys.MissingKey)


def _tool():
    """course.lti.tool (pylti1p3's classes, subclassed), imported at the first LTI request."""
    from course.lti import tool

    return tool


def _already_used() -> str:
    return _("This launch was already used. Open the course again from your LMS.")


def refuse(error: Exception) -> None:
    """A pylti1p3 error as a page: a replay 403, anything else 400; the library's text goes to the log only."""
    log.info("LTI request refused: %s", error)
    from pylti1p3.exception import LtiInvalidNonceException

    if isinstance(error, keys.MissingKey):
        abort(503, description=_("LTI is not set up on this site yet."))
    if isinstance(error, LtiInvalidNonceException):
        abort(403, description=_already_used())
    if isinstance(error, LaunchRefused):
        abort(error.status, description=str(error))
    abort(400, description=_("This launch could not be verified. Open the course again from your LMS."))


@bp.route("/login", methods=["GET", "POST"])
@csrf.exempt  # third-party initiated login: the platform's request, checked against the registrations
@limit("LTI")
def login():
    target = request.values.get("target_link_uri") or ""
    launch_url = url_for("lti.launch", _external=True)
    if target and urlsplit(target).netloc != urlsplit(launch_url).netloc:
        abort(400, description=_("This launch could not be verified. Open the course again from your LMS."))
    try:
        response = _tool().oidc_login().redirect(launch_url)
    except library_errors() as error:
        refuse(error)
    db.session.commit()  # the nonce and state, for whichever instance receives the launch
    return response


@bp.route("/launch", methods=["POST"])
@csrf.exempt  # authenticated by the platform's signed id_token, the state cookie and the one-time nonce
@limit("LTI")
@reads_first
def launch():
    tool = _tool()
    message = tool.message_launch()
    try:
        message.get_launch_data()  # validates the token; its claims are then in message.claims
        deep_link = message.is_deep_link_launch()
        resource = message.is_resource_launch()
    except (*library_errors(), LaunchRefused) as error:
        refuse(error)
    claims = message.claims
    with writing():  # the nonce used up now, whatever this app then decides: the token cannot be replayed
        fresh = tool.consume_nonce(claims.nonce)
    if not fresh:
        abort(403, description=_already_used())
    if deep_link:
        if not is_teacher(claims.roles):
            abort(403, description=_("Only a teacher can add the course to the LMS."))
        session[DEEP_LINK_SESSION] = message.get_launch_id()
        return _picker(DeepLinkForm(launch_id=message.get_launch_id()))
    if not resource:
        abort(400, description=_("This kind of LTI message is not supported."))
    try:
        with writing():
            launched = accept_resource_launch(claims)
            record_login(launched.user, "lti")
            open_session(launched.user)
    except LaunchRefused as refusal:
        abort(refusal.status, description=str(refusal))
    return _sign_in_and_open(launched)


def _sign_in_and_open(launched: Launched):
    clear_session()
    login_user(launched.user)
    mark_login()
    if launched.notice:
        flash(launched.notice, "warning")
    course, chapter = launched.target.course, launched.target.chapter
    if chapter is not None:
        outline = course_outline(course)
        lessons = next((oc.lessons for oc in outline.chapters if oc.chapter.id == chapter.id), ())
        if lessons:
            return redirect(url_for("learn.lesson", course_key=course.key, lesson_key=lessons[0].key))
    return redirect(url_for("learn.outline", course_key=course.key))


def _targets() -> list[tuple[str, str]]:
    """The picker's choices: each live course, and each of its chapters (value "course" or "course/chapter")."""
    choices = []
    for course in live_courses():
        choices.append((course.key, _("The whole course: %(title)s", title=course.title)))
        for oc in course_outline(course).chapters:
            choices.append((f"{course.key}/{oc.chapter.key}", f"{course.title} › {oc.chapter.title}"))
    return choices


def _picker(form: DeepLinkForm, status: int = 200):
    form.target.choices = _targets()
    return render_template("lti/deep_link.html", form=form), status


@bp.route("/deep-link", methods=["POST"])
@limit("LTI")
def deep_link():
    form = DeepLinkForm()
    form.target.choices = _targets()
    if not form.validate():
        return _picker(form, 400)
    if session.get(DEEP_LINK_SESSION) != form.launch_id.data:  # the launch this browser received
        abort(403, description=_already_used())
    from pylti1p3.deep_link_resource import DeepLinkResource
    from pylti1p3.lineitem import LineItem

    from course.lti.claims import parse_launch

    try:
        message = _tool().restored_launch(form.launch_id.data)
        link = message.get_deep_link()
        settings = parse_launch(message.get_launch_data()).deep_linking
    except (*library_errors(), LaunchRefused) as error:
        refuse(error)
    return_url = settings.deep_link_return_url if settings else ""
    parts = urlsplit(return_url)
    if parts.scheme not in ("http", "https") or not HOST_ONLY.fullmatch(parts.netloc):
        abort(400, description=_("This launch could not be verified. Open the course again from your LMS."))
    course_key, _sep, chapter_key = form.target.data.partition("/")
    title = dict(form.target.choices)[form.target.data]
    custom = {"course": course_key, **({"chapter": chapter_key} if chapter_key else {})}
    resource = (
        DeepLinkResource()
        .set_url(url_for("lti.launch", _external=True))
        .set_title(title[:255])
        .set_custom_params(custom)
        .set_lineitem(
            LineItem()
            .set_label(title[:255])
            .set_score_maximum(100)
            .set_tag(form.target.data)
            .set_resource_id(form.target.data)
        )
    )
    token = link.get_response_jwt([resource])
    session.pop(DEEP_LINK_SESSION, None)
    response = render_template("lti/deep_link_return.html", return_url=return_url, token=token)
    origin = f"{parts.scheme}://{parts.netloc}"
    csp = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; "
        f"base-uri 'none'; frame-ancestors 'none'; form-action 'self' {origin}"
    )
    return response, 200, {"Content-Security-Policy": csp}


@bp.route("/jwks")
def jwks():
    return jsonify(keys.jwks())
