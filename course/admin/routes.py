"""Administration: users and roles. Admins only (403 for everyone else).

The list of users is filtered by a search, a role and a status; each change made from it (a role, enabling, two-step
login, a password link) and each page it leads to (disabling, deleting: a confirmation page first) carries the
list's filters as `back`, so that the admin returns to the list they were on."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from course.accounts import mfa
from course.accounts.access import admin_required
from course.accounts.emails import notify_two_step_login, send_account_created, send_password_reset_by_admin
from course.accounts.models import Role, User
from course.accounts.provisioning import (
    EmailTaken,
    create_account,
    has_password,
    password_link_for,
    record_password_link_sent,
)
from course.accounts.services import AccountError, change_role, set_active
from course.accounts.sessions import signed_in_user
from course.accounts.tokens import SET_PASSWORD
from course.admin.forms import ROLE_NAMES, NewUserForm, UserFilterForm
from course.admin.users import MAX_PAGE, PAGE_SIZE, carried, list_args, search, to_carry
from course.extensions import db
from course.forms import positive_int
from course.privacy.deletion import delete_account_as_admin
from course.ratelimit import limit, user_or_address

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _back_to_list(code: int = 302):
    """To the list of users, with the filters the form or link carried."""
    return redirect(url_for("admin.users", **carried(request.values.get("back"))), code)


@bp.route("/users")
@admin_required
def users():
    form = UserFilterForm(formdata=request.args)
    if not form.validate():  # a role or status that is not in the lists: said at its field
        return _list_page(form, list_args(request.args)), 400
    query = search(form.q.data, form.role.data, form.status.data)
    page = positive_int(request.args.get("page"), 1, MAX_PAGE)
    found = db.paginate(query, page=page, per_page=PAGE_SIZE, error_out=False)
    if not found.items and found.pages and page > found.pages:  # past the end (a stale link): the last page
        found = db.paginate(query, page=found.pages, per_page=PAGE_SIZE, error_out=False)
    args = list_args({"q": form.q.data, "role": form.role.data, "status": form.status.data})
    return _list_page(form, args, found)


def _list_page(form: UserFilterForm, args: dict[str, str], found=None) -> str:
    shown = found.items if found is not None else []
    page = found.page if found is not None else 1
    return render_template(
        "admin/users.html",
        form=form,
        users=shown,
        args=args,  # the filters, for the pager's links
        back=to_carry({**args, "page": str(page)}),  # the filters and this page, for each row's forms and links
        page=page,
        pages=max(found.pages, 1) if found is not None else 1,
        total=found.total if found is not None else 0,
        roles=[(r.value, ROLE_NAMES[r]) for r in Role],
        with_mfa=mfa.users_with_factor([u.id for u in shown]),
        without_password={u.id for u in shown if not has_password(u) and u.deleted_at is None},
    )


@bp.route("/users/new", methods=["GET", "POST"])
@admin_required
def new_user():
    """Create an account: it has no password until its owner chooses one from the link emailed to them."""
    form = NewUserForm()
    if form.validate_on_submit():
        admin = signed_in_user()
        try:
            user = create_account(admin, form.email.data, form.name.data, form.role.data, form.language.data)
        except EmailTaken as exc:
            db.session.rollback()
            form.email.errors.append(str(exc))
        else:
            emailed = send_account_created(user)
            db.session.commit()
            if emailed:
                message = _(
                    "The account of %(email)s is created, and a link to choose a password was emailed to them.",
                    email=user.email,
                )
                flash(message, "success")
            else:
                message = _(
                    "The account of %(email)s is created, but the email with its link could not be sent. Send it "
                    "again from this list later.",
                    email=user.email,
                )
                flash(message, "error")
            return redirect(url_for("admin.users", q=user.email), 303)
    return render_template("admin/new_user.html", form=form), 400 if form.errors else 200


@bp.route("/users/<int:user_id>", methods=["POST"])
@admin_required
def update_user(user_id: int):
    user = _user_or_404(user_id)
    admin = signed_in_user()
    action = request.form.get("action", "")
    try:
        if action == "role":
            role = request.form.get("role", "")
            if role not in {r.value for r in Role}:
                abort(400, description=_("Unknown role."))
            change_role(admin, user, role)
            message = _("%(email)s is now %(role)s.", email=user.email, role=ROLE_NAMES[user.role])
        elif action == "enable":
            set_active(admin, user, True)
            message = _("%(email)s is enabled.", email=user.email)
        elif action == "disable":  # only after its confirmation page
            back = to_carry(carried(request.form.get("back")))
            return redirect(url_for("admin.disable_user", user_id=user.id, back=back), 303)
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
        return _back_to_list(303)
    if action == "reset-mfa":
        notify_two_step_login(user, "reset")
    db.session.commit()
    flash(message, "success")
    return _back_to_list()


@bp.route("/users/<int:user_id>/disable", methods=["GET", "POST"])
@admin_required
def disable_user(user_id: int):
    """Disable an account, after a confirmation page: its sessions end, and it cannot log in until enabled."""
    user = _user_or_404(user_id)
    if request.method == "POST":
        if not user.active:  # already disabled (a second click) or deleted: nothing to do, nothing recorded
            flash(_("%(email)s is disabled.", email=user.email), "success")
            return _back_to_list(303)
        try:
            set_active(signed_in_user(), user, False)
        except AccountError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return _back_to_list(303)
        db.session.commit()
        flash(_("%(email)s is disabled.", email=user.email), "success")
        return _back_to_list()
    if user.id == current_user.id:
        abort(403, description=_("You cannot change your own role or disable your own account."))
    return _confirmation("admin/disable_user.html", user)


@bp.route("/users/<int:user_id>/password-reset", methods=["POST"])
@admin_required
@limit("account", key_func=user_or_address)
def send_password_link(user_id: int):
    """Email the account a password link: a reset link, or (while it has no password yet) its set-password link
    again. Sent before the entry is recorded, so that the entry says whether the mail server took it."""
    user = _user_or_404(user_id)
    try:
        purpose = password_link_for(user)
    except AccountError as exc:
        flash(str(exc), "error")
        return _back_to_list(303)
    emailed = send_account_created(user) if purpose == SET_PASSWORD else send_password_reset_by_admin(user)
    record_password_link_sent(signed_in_user(), user, purpose, emailed)
    db.session.commit()
    if not emailed:
        flash(_("The email to %(email)s could not be sent. Try again later.", email=user.email), "error")
    elif purpose == SET_PASSWORD:
        message = _(
            "%(email)s has not chosen a password yet: the link to choose one was emailed again.", email=user.email
        )
        flash(message, "success")
    else:
        flash(_("A link to choose a new password was emailed to %(email)s.", email=user.email), "success")
    return _back_to_list()


@bp.route("/users/<int:user_id>/delete", methods=["GET", "POST"])
@admin_required
def delete_user(user_id: int):
    """Delete someone's account, after a confirmation page (an admin's own: from their account page)."""
    user = _user_or_404(user_id)
    if user.id == current_user.id:
        abort(403, description=_("You cannot delete your own account here. Use your account page."))
    if request.method == "POST":
        try:
            delete_account_as_admin(signed_in_user(), user)
        except AccountError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return _back_to_list(303)
        db.session.commit()
        flash(_("The account is deleted: its personal data is removed."), "success")
        return _back_to_list(303)
    return _confirmation("admin/delete_user.html", user)


def _confirmation(template: str, user: User) -> str:
    """A page that asks before a change to `user`, with the way back to the list the admin came from."""
    filters = carried(request.args.get("back"))
    return render_template(
        template,
        user=user,
        role=ROLE_NAMES[user.role],
        back=to_carry(filters),
        list_url=url_for("admin.users", **filters),
    )
