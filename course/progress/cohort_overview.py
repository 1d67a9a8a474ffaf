"""What a cohort's headline numbers share between the dashboard (course/dashboard/overview.py) and the API
(course/api/cohort_numbers.py), which sit in one layer and may not import each other: one definition each."""

from __future__ import annotations

from collections import Counter


def median_percent(by_done: dict[int, int], total: int) -> float | None:
    """The median of learners' progress %, from {items done: learners}."""
    n = sum(by_done.values())
    if not n or not total:
        return None
    ordered = sorted(by_done.items())

    def nth(k: int) -> int:  # the k-th smallest value, counting from 0
        seen = 0
        for value, count in ordered:
            seen += count
            if k < seen:
                return value
        return ordered[-1][0]

    middle = (nth((n - 1) // 2) + nth(n // 2)) / 2
    return min(100.0, 100 * middle / total)


def median_percent_of(items_done: list[int], total: int) -> float | None:
    """The same median, from each learner's items done."""
    return median_percent(dict(Counter(items_done)), total)
