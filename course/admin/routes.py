"""Administration: users and roles. Admins only (403 for everyone else)."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select

from course.auth.models import Role, User
from course.auth.services import end_all_sessions
from course.extensions import db

bp = Blueprint("admin", __name__, url_prefix="/admin")
ROLE_NAMES = {Role.LEARNER: _l("Learner"), Role.INSTRUCTOR: _l("Instructor"), Role.ADMIN: _l("Admin")}
PAGE_SIZE = 50


def admin_required(view):  # noqa: ANN001, ANN201
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):  # noqa: ANN202
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


@bp.route("/users")
@admin_required
def users():
    q = request.args.get("q", "").strip()[:100]
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() and int(page) > 0 else 1
    query = select(User)
    if q:
        like = f"%{q.lower()}%"
        query = query.where(or_(func.lower(User.email).like(like), func.lower(User.name).like(like)))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(User.created_at.desc(), User.id.desc())
                              .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    pages = max(1, -(-total // PAGE_SIZE))
    return render_template("admin/users.html", users=rows, q=q, page=page, pages=pages, total=total,
                           roles=[(r.value, ROLE_NAMES[r]) for r in Role])


@bp.route("/users/<int:user_id>", methods=["POST"])
@admin_required
def update_user(user_id: int):
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    action = request.form.get("action", "")
    if user.id == current_user.id and action in ("role", "disable"):
        flash(_("You cannot change your own role or disable your own account."), "error")
        return redirect(url_for("admin.users")), 303
    if action == "role":
        role = request.form.get("role", "")
        if role not in {r.value for r in Role}:
            abort(400, description=_("Unknown role."))
        user.role = Role(role)
        end_all_sessions(user)  # the new role applies from a fresh login
        message = _("%(email)s is now %(role)s.", email=user.email, role=ROLE_NAMES[user.role])
    elif action in ("disable", "enable"):
        user.active = action == "enable"
        end_all_sessions(user)
        message = _("%(email)s is disabled.", email=user.email) if action == "disable" else _(
            "%(email)s is enabled.", email=user.email)
    else:
        abort(400, description=_("Unknown action."))
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("admin.users", q=request.form.get("q") or None))
