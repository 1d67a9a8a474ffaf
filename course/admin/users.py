"""The admins' list of users: its query (a search, a role, a status), and the list's filters carried through a
change (a role changed, an account disabled) so that the admin comes back to the list they were on."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import Select, or_, select

from course.accounts.models import Role, User
from course.admin.forms import MAX_QUERY, STATUS_NAMES
from course.forms import positive_int

PAGE_SIZE = 50
MAX_PAGE = 100_000
MAX_BACK = 400  # characters of a carried query string: the longest valid one is about 160
ROLES = frozenset(r.value for r in Role)


def search(q: str = "", role: str = "", status: str = "") -> Select:
    """Users whose name or email contains `q` (its % and _ are plain characters), of `role` and in `status`
    (active, disabled, deleted; "" for any), newest first."""
    query = select(User).order_by(User.created_at.desc(), User.id.desc())
    if q:
        query = query.where(or_(User.email.icontains(q, autoescape=True), User.name.icontains(q, autoescape=True)))
    if role:
        query = query.where(User.role == Role(role))
    if status == "active":
        query = query.where(User.active.is_(True), User.deleted_at.is_(None))
    elif status == "disabled":
        query = query.where(User.active.is_(False), User.deleted_at.is_(None))
    elif status == "deleted":
        query = query.where(User.deleted_at.is_not(None))
    return query


def list_args(values: Mapping[str, str]) -> dict[str, str]:
    """The list's filters and page from `values`, each kept only when valid and not empty (what `url_for` takes)."""
    found = {}
    if q := str(values.get("q") or "").strip()[:MAX_QUERY]:
        found["q"] = q
    if (role := values.get("role")) in ROLES:
        found["role"] = role
    if (status := values.get("status")) in STATUS_NAMES:
        found["status"] = status
    if (page := positive_int(values.get("page"), 1, MAX_PAGE)) > 1:
        found["page"] = str(page)
    return found


def carried(back: str | None) -> dict[str, str]:
    """The list's filters from the `back` value a form or link carried (a query string; anything else: none)."""
    if not back or len(back) > MAX_BACK:
        return {}
    try:
        return list_args(dict(parse_qsl(back, max_num_fields=8)))
    except ValueError:  # more fields than a list has
        return {}


def to_carry(args: Mapping[str, str]) -> str | None:
    """The `back` value for these filters (None: the plain list)."""
    return urlencode(list_args(args)) or None
