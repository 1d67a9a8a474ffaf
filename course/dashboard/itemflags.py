"""Which questions of a quiz's item statistics to flag, and the evidence for each flag.

A flag asks an instructor to look at a question again, so it is raised only on evidence that would survive a
second cohort, never on noise:

- Nothing is flagged before MIN_RESPONSES learners answered the question.
- Possibly miskeyed, either of:
  - among the strongest learners — the top UPPER_SHARE (27 %, Kelley's upper group) by first-attempt score — a
    wrong option was chosen by more of them than a correct one (the classic distractor analysis), clearly so: a
    one-sided sign test at the 5 % level between the two counts (9 against 7 is a coin toss, 6 against 0 is not),
    or
  - the discrimination is NEGATIVE_DISCRIMINATION or lower AND significantly below zero: a one-sided test at
    the 5 % level on Fisher's transformation, atanh(r)·√(n − 3) ≤ −1.645; and at least MIN_GROUP learners got
    it right and MIN_GROUP wrong (with fewer, one strong learner's slip decides the sign).
- Too hard: fewer than TOO_HARD of the learners got it right.

A very easy question is not flagged: most learners should get most of an end-of-chapter quiz right, and with
a handful of wrong answers its discrimination says nothing (a 98 %-correct question at −0.02 is not a problem).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

MIN_RESPONSES = 20
UPPER_SHARE = 0.27
MIN_GROUP = 5  # learners right, and learners wrong, before a negative discrimination counts
NEGATIVE_DISCRIMINATION = -0.2
ONE_SIDED_5_PERCENT = 1.645  # the standard normal's 95th percentile
SIGN_TEST_P = 0.05
TOO_HARD = 0.2


class OptionCounts(Protocol):
    text: str
    keyed: bool
    chosen_upper: int  # by the strongest learners


class QuestionCounts(Protocol):
    responses: int
    correct: int
    discrimination: float | None
    upper_responses: int  # answers from the strongest learners
    options: Sequence[OptionCounts]


@dataclass(frozen=True)
class Flag:
    """A flag and its evidence; `course.dashboard.labels` says it in a sentence."""

    kind: str  # "miskeyed" or "too_hard"
    evidence: str  # "strong_chose_wrong", "negative_discrimination" or "facility"
    responses: int
    share: float | None = None  # facility, for "facility"
    discrimination: float | None = None  # for "negative_discrimination"
    group: int = 0  # the strongest learners who answered, for "strong_chose_wrong"
    option: str = ""  # the wrong option they preferred …
    option_chosen: int = 0
    key: str = ""  # … to this correct one
    key_chosen: int = 0


def upper_group_size(attempts: int) -> int:
    """How many of `attempts` first attempts, best first, are the strongest learners: 27 %, rounded up."""
    return math.ceil(UPPER_SHARE * attempts - 1e-9)


def significantly_negative(r: float, n: int) -> bool:
    """r is below zero at the 5 % level (one-sided), by Fisher's z: atanh(r)·√(n − 3) ≤ −1.645."""
    if n <= 3 or r >= 0:
        return False
    return math.atanh(max(r, -0.999999)) * math.sqrt(n - 3) <= -ONE_SIDED_5_PERCENT


def clearly_more(more: int, fewer: int) -> bool:
    """`more` against `fewer` is unlikely (p < 5 %) if each of those choices were a coin toss: a sign test."""
    n = more + fewer
    if more <= fewer:
        return False
    return sum(math.comb(n, k) for k in range(more, n + 1)) / 2**n < SIGN_TEST_P


def strong_chose_wrong(q: QuestionCounts) -> Flag | None:
    """The wrong option most chosen by the strongest learners, if clearly more of them chose it than a correct
    option."""
    keyed = [o for o in q.options if o.keyed]
    wrong = [o for o in q.options if not o.keyed]
    if not keyed or not wrong or q.upper_responses < MIN_GROUP:
        return None
    key = min(keyed, key=lambda o: o.chosen_upper)
    lure = max(wrong, key=lambda o: o.chosen_upper)
    if not clearly_more(lure.chosen_upper, key.chosen_upper):
        return None
    return Flag(
        "miskeyed", "strong_chose_wrong", q.responses, group=q.upper_responses,
        option=lure.text, option_chosen=lure.chosen_upper, key=key.text, key_chosen=key.chosen_upper,
    )  # fmt: skip


def flags_for(q: QuestionCounts) -> list[Flag]:
    if q.responses < MIN_RESPONSES:
        return []
    flags = []
    if lure := strong_chose_wrong(q):
        flags.append(lure)
    r, wrong = q.discrimination, q.responses - q.correct
    if (
        r is not None
        and r <= NEGATIVE_DISCRIMINATION
        and min(q.correct, wrong) >= MIN_GROUP
        and significantly_negative(r, q.responses)
    ):
        flags.append(Flag("miskeyed", "negative_discrimination", q.responses, discrimination=r))
    facility = q.correct / q.responses
    if facility < TOO_HARD:
        flags.append(Flag("too_hard", "facility", q.responses, share=facility))
    return flags
