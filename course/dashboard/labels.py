"""How the dashboard names an at-risk reason and an item-statistics flag, on its pages and in its exports."""

from __future__ import annotations

from flask_babel import gettext as _


def reason_label(reason: str, days: int) -> str:
    return {
        "inactive": _("inactive %(days)d+ days", days=days),
        "quiz": _("failed a quiz twice"),
        "schedule": _("behind the schedule"),
    }[reason]


def flag_label(flag: str) -> str:
    return {"too_easy": _("too easy"), "too_hard": _("too hard"), "miskeyed": _("possibly miskeyed")}[flag]
