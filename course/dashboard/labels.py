"""How the dashboard names an at-risk reason and an item-statistics flag, and shows a share or a list of names:
the same words and rounding on its pages and in its exports."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _

from course.dashboard.itemflags import UPPER_SHARE, Flag


def reason_label(reason: str, days: int) -> str:
    return {
        "inactive": _("no activity for %(days)d+ days", days=days),
        "schedule": _("more than one chapter behind"),
        "quiz": _("failed a quiz twice or more"),
    }[reason]


def flag_label(flag: str) -> str:
    return {"too_hard": _("too hard"), "miskeyed": _("possibly miskeyed")}[flag]


def flag_reason(flag: Flag) -> str:
    """Why the question is flagged, in one sentence."""
    if flag.evidence == "strong_chose_wrong":
        return _(
            "Of the %(group)d strongest learners (the top %(share)s by first-attempt score), %(wrong)d chose the "
            "wrong answer “%(option)s” and only %(right)d the correct answer “%(key)s”.",
            group=flag.group,
            share=whole_percent(UPPER_SHARE),
            wrong=flag.option_chosen,
            option=flag.option,
            right=flag.key_chosen,
            key=flag.key,
        )
    if flag.evidence == "negative_discrimination":
        return _(
            "Learners who did better on the rest of the quiz got it wrong more often: a discrimination of "
            "%(value)s over %(n)d answers, significantly below zero.",
            value=decimal(flag.discrimination),
            n=flag.responses,
        )
    return _(
        "Only %(share)s of the %(n)d learners who answered got it right.",
        share=whole_percent(flag.share),
        n=flag.responses,
    )


def whole_percent(share: float | None) -> str:
    """A share (0..1) as a whole percentage, as every dashboard page shows it: "62%"; "—" when unknown."""
    return "—" if share is None else f"{percent_number(share)}%"


def percent_number(share: float | None) -> int | None:
    """The number `whole_percent` shows (for a CSV cell)."""
    return None if share is None else round(100 * share)


def decimal(value: float | None) -> str:
    """A correlation as the pages show it: two decimals, a real minus sign; "—" when unknown."""
    return "—" if value is None else f"{value:.2f}".replace("-", "−")


def decimal_number(value: float | None) -> float | None:
    """The number `decimal` shows (for a CSV cell)."""
    return None if value is None else round(value, 2)


def name_list(names: Iterable[str]) -> str:
    """Names (chapter or quiz titles) in one cell or line, separated as the reader's language separates them."""
    # Translators: the separator between titles in a list, e.g. "；" in Chinese.
    return _("; ").join(names)
