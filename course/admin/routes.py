"""Administration: users and roles. Admins only (403 for everyone else)."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import Select, or_, select

from course.accounts import mfa
from course.accounts.emails import notify_two_step_login
from course.accounts.models import Role, User
from course.accounts.services import AccountError, change_role, set_active
from course.extensions import db
from course.forms import positive_int
from course.privacy.deletion import delete_account_as_admin

bp = Blueprint("admin", __name__, url_prefix="/admin")
ROLE_NAMES = {Role.LEARNER: _l("Learner"), Role.INSTRUCTOR: _l("Instructor"), Role.ADMIN: _l("Admin")}
PAGE_SIZE = 50
MAX_PAGE = 100_000
MAX_QUERY = 100


def admin_required(view):
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def _search(q: str) -> Select:
    """Users whose name or email contains `q` (its % and _ are plain characters), newest first."""
    query = select(User).order_by(User.created_at.desc(), User.id.desc())
    if q:
        query = query.where(or_(User.email.icontains(q, autoescape=True), User.name.icontains(q, autoescape=True)))
    return query


@bp.route("/users")
@admin_required
def users():
    q = request.args.get("q", "").strip()[:MAX_QUERY]
    page = positive_int(request.args.get("page"), 1, MAX_PAGE)
    found = db.paginate(_search(q), page=page, per_page=PAGE_SIZE, error_out=False)
    if not found.items and found.pages and page > found.pages:  # past the end (a stale link): the last page
        found = db.paginate(_search(q), page=found.pages, per_page=PAGE_SIZE, error_out=False)
    return render_template(
        "admin/users.html",
        users=found.items,
        q=q,
        page=found.page,
        pages=max(found.pages, 1),
        total=found.total,
        roles=[(r.value, ROLE_NAMES[r]) for r in Role],
        with_mfa=mfa.users_with_factor([u.id for u in found.items]),
    )


@bp.route("/users/<int:user_id>", methods=["POST"])
@admin_required
def update_user(user_id: int):
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    admin = current_user._get_current_object()
    action = request.form.get("action", "")
    try:
        if action == "role":
            role = request.form.get("role", "")
            if role not in {r.value for r in Role}:
                abort(400, description=_("Unknown role."))
            change_role(admin, user, role)
            message = _("%(email)s is now %(role)s.", email=user.email, role=ROLE_NAMES[user.role])
        elif action in ("disable", "enable"):
            set_active(admin, user, action == "enable")
            message = (
                _("%(email)s is disabled.", email=user.email)
                if action == "disable"
                else _("%(email)s is enabled.", email=user.email)
            )
        elif action == "reset-mfa":  # a lost phone: they set up two-step login again at their next login
            if not mfa.reset(user):
                abort(400, description=_("This account has no two-step login to reset."))
            message = _(
                "Two-step login of %(email)s is reset: they set it up again at their next login.", email=user.email
            )
        else:
            abort(400, description=_("Unknown action."))
    except AccountError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("admin.users")), 303
    db.session.commit()
    if action == "reset-mfa":
        notify_two_step_login(user, "reset")
    flash(message, "success")
    return redirect(url_for("admin.users", q=request.form.get("q", "")[:MAX_QUERY] or None))


@bp.route("/users/<int:user_id>/delete", methods=["GET", "POST"])
@admin_required
def delete_user(user_id: int):
    """Delete someone's account, after a confirmation page (an admin's own: from their account page)."""
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    if user.id == current_user.id:
        abort(403, description=_("You cannot delete your own account here. Use your account page."))
    if request.method == "POST":
        try:
            delete_account_as_admin(current_user._get_current_object(), user)
        except AccountError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(url_for("admin.users"), 303)
        db.session.commit()
        flash(_("The account is deleted: its personal data is removed."), "success")
        return redirect(url_for("admin.users"), 303)
    return render_template("admin/delete_user.html", user=user, role=ROLE_NAMES[user.role])
