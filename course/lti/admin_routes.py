"""The LTI pages for staff: registering platforms (admins only) and the resource links launched, with their roster
sync (admins, and the instructors of the cohort a link's deployment enrols into)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from course.accounts.access import admin_required
from course.cohorts.models import Cohort, CohortInstructor
from course.extensions import db
from course.lti.forms import PlatformForm, deployment_lines
from course.lti.models import LtiDeployment, LtiPlatform, LtiResourceLink
from course.lti.platforms import (
    PlatformError,
    PlatformSettings,
    delete_platform,
    deployments_of,
    platforms,
    save_platform,
)
from course.lti.refusal import LaunchRefused
from course.lti.roster import fetch_members, may_sync, sync_roster
from course.lti.routes import bp


def _platform_or_404(platform_id: int) -> LtiPlatform:
    platform = db.session.get(LtiPlatform, platform_id)
    if platform is None:
        abort(404)
    return platform


def _cohort_choices() -> list[tuple[str, str]]:
    cohorts = db.session.scalars(select(Cohort).order_by(Cohort.name, Cohort.id)).all()
    return [("", _("No cohort")), *((str(c.id), c.name) for c in cohorts)]


@bp.route("/platforms")
@admin_required
def platforms_page():
    return render_template(
        "lti/platforms.html",
        platforms=platforms(),
        login_url=url_for("lti.login", _external=True),
        launch_url=url_for("lti.launch", _external=True),
        jwks_url=url_for("lti.jwks", _external=True),
    )


def _settings(form: PlatformForm) -> PlatformSettings:
    return PlatformSettings(
        name=form.name.data,
        issuer=form.issuer.data,
        client_id=form.client_id.data,
        deployment_ids=tuple(deployment_lines(form.deployment_ids.data)),
        auth_login_url=form.auth_login_url.data,
        auth_token_url=form.auth_token_url.data,
        key_set_url=form.key_set_url.data,
        cohort_id=int(form.cohort_id.data) if form.cohort_id.data else None,
    )


def _edit(platform: LtiPlatform | None):
    form = PlatformForm(obj=platform)
    form.cohort_id.choices = _cohort_choices()
    if platform is not None and not form.is_submitted():
        deployments = deployments_of(platform)
        form.deployment_ids.data = "\n".join(d.deployment_id for d in deployments)
        form.cohort_id.data = str(deployments[0].cohort_id or "") if deployments else ""
    if form.validate_on_submit():
        try:
            save_platform(platform, _settings(form))
        except PlatformError as error:
            db.session.rollback()
            form.issuer.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("The platform is saved."), "success")
            return redirect(url_for("lti.platforms_page"))
    status = 400 if form.is_submitted() and form.errors else 200
    return render_template("lti/platform_form.html", form=form, platform=platform), status


@bp.route("/platforms/new", methods=["GET", "POST"])
@admin_required
def new_platform():
    return _edit(None)


@bp.route("/platforms/<int:platform_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_platform(platform_id: int):
    return _edit(_platform_or_404(platform_id))


@bp.route("/platforms/<int:platform_id>/delete", methods=["POST"])
@admin_required
def remove_platform(platform_id: int):
    delete_platform(_platform_or_404(platform_id))
    db.session.commit()
    flash(_("The platform is deleted."), "success")
    return redirect(url_for("lti.platforms_page"))


def _visible_links() -> list[tuple[LtiResourceLink, LtiDeployment, LtiPlatform]]:
    """The links the user may sync (`roster.may_sync`), in one query: all for an admin, else those of the cohorts
    they teach."""
    query = (
        select(LtiResourceLink, LtiDeployment, LtiPlatform)
        .join(LtiDeployment, LtiDeployment.id == LtiResourceLink.deployment_id)
        .join(LtiPlatform, LtiPlatform.id == LtiDeployment.platform_id)
        .order_by(LtiPlatform.name, LtiResourceLink.id)
    )
    if not current_user.is_admin:
        query = query.join(
            CohortInstructor,
            (CohortInstructor.cohort_id == LtiDeployment.cohort_id) & (CohortInstructor.user_id == current_user.id),
        )
    return [(link, dep, plat) for link, dep, plat in db.session.execute(query).all()]


@bp.route("/links")
@login_required
def links_page():
    if not current_user.is_instructor:
        abort(403)
    return render_template("lti/links.html", links=_visible_links())


@bp.route("/links/<int:link_id>/roster", methods=["POST"])
@login_required
def sync_link_roster(link_id: int):
    link = db.session.get(LtiResourceLink, link_id)
    if link is None:
        abort(404)
    deployment = db.session.get(LtiDeployment, link.deployment_id)
    if not may_sync(current_user, deployment):
        abort(403)
    platform = db.session.get(LtiPlatform, deployment.platform_id)
    db.session.commit()  # no transaction open across the platform's HTTP call
    try:
        members = fetch_members(platform, link)
        result = sync_roster(current_user, link, members)
    except LaunchRefused as refusal:
        db.session.rollback()
        abort(refusal.status if refusal.status < 500 else 400, description=str(refusal))
    db.session.commit()
    flash(
        _(
            "Roster synced: %(enrolled)d enrolled, %(unchanged)d already enrolled, %(skipped)d skipped.",
            enrolled=result.enrolled,
            unchanged=result.already,
            skipped=result.skipped,
        ),
        "success",
    )
    return redirect(url_for("lti.links_page"))
