"""The at-risk rule: who is on a cohort's at-risk list, why (one short sentence a reason), and in which order.

A learner is at risk for any of three reasons, each something that predicts dropping out rather than a missed
date:
- inactive: no lesson opened and no quiz submitted for the cohort's `inactive_after_days` (7 unless the
  instructor changes it), while a chapter the schedule has released is unfinished — a learner who has finished
  everything released so far is waiting for the next chapter, not drifting away. An extension does not change
  this (it moves when a learner is behind, not whether they have stopped). A learner who never started is
  counted from their enrolment, or from the cohort's start if they enrolled before it.
- behind the schedule by more than one chapter. Chapters behind = the chapters the schedule has released that
  the learner has not finished (every lesson completed and the quiz passed), minus one: the chapter just
  released is not "behind". A learner's extension moves their schedule: a chapter counts for them that many
  days after it opens. Reference chapters (the appendix) never count, nor a chapter the schedule does not name
  (added to the course after the cohort was made: open to learners, due on no date).
- repeated quiz failures: two or more failed attempts at a quiz not passed yet (the roll-up's
  `quizzes_failing`, course/progress/rollup.py).
A learner who has completed the course is never at risk.

Urgency, the order of the list: most reasons first, then the longest without activity, then the furthest
behind, then by name.

The numbers are computed in SQL (course/dashboard/learners.py); this module holds the thresholds and the
sentences, which read the numbers of one learner's row.
"""

from __future__ import annotations

from flask_babel import ngettext

RISK_CHAPTERS_BEHIND = 2  # "more than one chapter behind": at risk from this many chapters behind
FAILED_ATTEMPTS = 2  # failed attempts at one quiz, not passed since (the roll-up counts quizzes tried twice)


def reason_lines(
    *,
    inactive: bool,
    started: bool,
    idle_days: int | None,
    far_behind: bool,
    chapters_behind: int,
    failed: list[tuple[str, int]],
) -> list[str]:
    """One short sentence a reason, most telling first: e.g. "No activity for 12 days", "2 chapters behind the
    schedule", "Failed “Chapter 3 quiz” 3 times" (`failed`: each quiz's title, in the reader's content language,
    and its failed attempts)."""
    lines = []
    if inactive:
        days = idle_days or 0
        if started:
            lines.append(ngettext("No activity for %(num)d day", "No activity for %(num)d days", days))
        else:
            lines.append(ngettext("Not started after %(num)d day", "Not started after %(num)d days", days))
    if far_behind:
        lines.append(
            ngettext("%(num)d chapter behind the schedule", "%(num)d chapters behind the schedule", chapters_behind)
        )
    for title, fails in failed:
        lines.append(ngettext("Failed “%(quiz)s” %(num)d time", "Failed “%(quiz)s” %(num)d times", fails, quiz=title))
    return lines
