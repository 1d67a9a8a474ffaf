"""What a learner does in a course, as services a test can call without a request: complete a lesson, save a
workbook answer, submit a quiz — and the rules that decide whether they may, read from their outline (is the
chapter open, is the quiz open, has their cohort ended, are attempts left) and, for a quiz with a cool-down, from
their last attempt (`course.quiz.attempts.next_attempt_at`). A quiz form is read with its attempt's layout
(`course.quiz.layout`): the questions it served, its options' tokens mapped back to their ids.

They flush, never commit; the view commits (a quiz submission reads first and writes in a block of its own:
see `course.sql`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import NamedTuple

from flask_babel import format_date
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from course.content.models import Course, Lesson, Quiz, WorkbookPrompt
from course.progress import rollup
from course.progress.completion import maybe_complete_course
from course.progress.opening import format_opening
from course.progress.outline import ChapterStatus, LearnerOutline, LessonStatus, QuizStatus
from course.progress.reading import mark_complete
from course.quiz import attempts
from course.quiz.grading import Submission, grade_submission, read_submission
from course.quiz.layout import attempt_key, layout
from course.quiz.layout import forget as forget_layout
from course.quiz.models import Attempt


class Refused(Enum):
    LOCKED = "locked"  # the learner's cohort has not opened the chapter yet
    ENDED = "ended"  # their cohort ended (and their extension with it)
    NOT_OPEN = "not open"  # the quiz opens when the chapter's lessons are complete
    USED_UP = "used up"  # every attempt the quiz allows is used
    COOLING_DOWN = "cooling down"  # the quiz's cool-down after their last attempt has not ended
    STALE = "stale"  # a quiz form whose submission key is not the learner's next attempt (an old or forged page)


class Refusal(NamedTuple):
    """Why the learner may not do something now: the reason, and a message for them."""

    reason: Refused
    message: str


def chapter_refusal(chapter: ChapterStatus) -> Refusal | None:
    """A chapter the learner's cohort has not opened yet: when it opens, in the reader's time zone."""
    if chapter.locked:
        return Refusal(Refused.LOCKED, _("This chapter opens on %(date)s.", date=format_opening(chapter.opens_on)))
    return None


# -- lessons --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LessonCompleted:
    completed_course: bool  # this completed the course (it was not complete before)
    quiz_opened: Quiz | None  # the chapter's quiz, now open: every lesson of the chapter is complete
    following: Lesson | None  # the next lesson in course order


def nothing_to_complete(outline: LearnerOutline, status: LessonStatus) -> bool:
    """The lesson was complete already (as `outline`, the learner's, was read) and so was the course, or the course
    is not done: marking it complete again would change nothing, so it writes nothing — not even reading time,
    which the learner's next action credits from the same point (README, "How progress and completion work")."""
    return status.completed and (outline.completion is not None or not outline.all_done)


def lesson_completed(
    outline: LearnerOutline, chapter: ChapterStatus, status: LessonStatus, *, completed_course: bool
) -> LessonCompleted:
    """Where marking `status`'s lesson complete leads: the chapter's quiz if that opened it, else the next lesson."""
    chapter_read = all(ls.completed or ls.lesson.id == status.lesson.id for ls in chapter.lessons)
    quiz = chapter.quiz
    _previous, following = outline.neighbours(status.lesson.key)
    return LessonCompleted(
        completed_course=completed_course,
        quiz_opened=quiz.quiz if quiz and chapter_read and not quiz.passed else None,
        following=following,
    )


def complete_lesson(
    user_id: int, outline: LearnerOutline, chapter: ChapterStatus, status: LessonStatus
) -> LessonCompleted:
    """Mark the lesson complete (again is harmless), and issue the course's completion if that was the last
    thing left. `outline` is the learner's, as read before."""
    marked = mark_complete(user_id, status.lesson)
    completion = None
    # Completed just now: the learner's roll-up row, recomputed by that under the write lock, says whether anything
    # is left to do, which saves reading their outline again when something is (nearly always).
    if not marked.newly or marked.may_be_all_done:
        completion = maybe_complete_course(user_id, outline.course)
    return lesson_completed(
        outline, chapter, status, completed_course=completion is not None and outline.completion is None
    )


def find_prompt(outline: LearnerOutline, prompt_key: str) -> tuple[ChapterStatus, LessonStatus, WorkbookPrompt] | None:
    """A live workbook prompt of the course, with the lesson it belongs to."""
    for lesson_id, prompts in outline.prompts.items():
        for prompt in prompts:
            if prompt.key == prompt_key:
                found = outline.find_lesson_by_id(lesson_id)
                return (*found, prompt) if found else None
    return None


# -- quizzes --------------------------------------------------------------------------------------------------
def next_attempt_key(user_id: int, status: QuizStatus) -> str:
    """The submission key of the learner's next attempt at the quiz: the quiz page's, the same on every reload."""
    return attempt_key(user_id, status.quiz, status.attempts + 1)


def submission_refusal(outline: LearnerOutline, status: QuizStatus, opens_at: datetime | None = None) -> Refusal | None:
    """Why the learner may not submit this quiz now, if they may not: their cohort ended (plus their extension),
    the chapter's lessons are not all complete (the quiz gate), they used every attempt, or the quiz's cool-down
    after their last attempt ends only at `opens_at` (`attempts.next_attempt_at`)."""
    if outline.schedule is not None and outline.schedule.closed():
        message = _(
            "Your cohort ended on %(date)s: quizzes are closed. Ask your instructor for an extension.",
            date=format_date(outline.schedule.deadline, "long"),
        )
        return Refusal(Refused.ENDED, message)
    if not status.open:
        return Refusal(
            Refused.NOT_OPEN, _("Finish the chapter's lessons first: the quiz opens when they are complete.")
        )
    if status.attempts_left == 0:
        return Refusal(
            Refused.USED_UP, _("You have used all %(n)d attempts for this quiz.", n=status.quiz.max_attempts)
        )
    if opens_at is not None:
        return Refusal(Refused.COOLING_DOWN, attempts.cool_down_message(opens_at))
    return None


@dataclass(frozen=True)
class CheckedSubmission:
    """A quiz form read against the rules and the questions, before anything is written."""

    refusal: Refusal | None = None
    submission: Submission | None = None  # the answers read (None when refused)
    earlier: Attempt | None = None  # the attempt this same submission made already (a retried request)

    @property
    def ready(self) -> bool:
        """Nothing stands in the way of recording it."""
        return self.refusal is None and self.submission is not None and self.submission.ok


def check_submission(user_id: int, outline: LearnerOutline, status: QuizStatus, form: MultiDict) -> CheckedSubmission:
    """Read a quiz form (`status.quiz` with its questions) without writing, and grade it if every answer is valid.
    Its submission key must be the one the quiz page issues for the learner's next attempt (`next_attempt_key`), or
    the key of an attempt they made (a replay: its result is shown); any other is refused as a stale page. A
    submission that is refused or incomplete but was sent before (the same key: a retry after its answer was lost)
    names the attempt it made, so its result can be shown, even when that attempt is what now closes the quiz or the
    quiz changed since.
    (A twin of a submission that would be accepted is found by `record_submission`, under the write lock.)"""
    key = form.get("submission_key", "")
    if key and key != next_attempt_key(user_id, status):
        # Only the key the quiz page issued for the next attempt picks a layout: any other key is a replay of an
        # attempt made (its result is shown) or a stale or forged page, which could otherwise choose its own draw.
        earlier = attempts.find_by_key(user_id, key)
        if earlier is None:
            return CheckedSubmission(Refusal(Refused.STALE, attempts.stale_message()))
        return CheckedSubmission(None, None, earlier)
    refusal = submission_refusal(outline, status, attempts.next_attempt_at(user_id, status.quiz))
    submission = read_submission(status.quiz, form, layout(user_id, status.quiz, key)) if refusal is None else None
    if submission is not None and submission.ok:
        grade_submission(status.quiz, submission)  # graded now, without a write lock: the write only records it
    earlier = None
    if (refusal is not None or not submission.ok) and key:
        earlier = attempts.find_by_key(user_id, key)
    return CheckedSubmission(refusal, submission, earlier)


@dataclass(frozen=True)
class RecordedSubmission:
    attempt: Attempt
    created: bool  # False: the same submission was recorded before (a double click, a retry)
    completed_course: bool  # this attempt completed the course


NEARLY_DONE = 2  # items left besides the quiz being submitted: few enough that another tab may finish them at once


def record_submission(
    user_id: int, course: Course, outline: LearnerOutline, status: QuizStatus, submission: Submission, key: str
) -> RecordedSubmission:
    """Grade and record a checked submission; issue the course's completion if it passed the last quiz left.
    Raises `attempts.SubmissionError` when it is refused as a whole (the limit reached meanwhile)."""
    left = outline.left_but(status.quiz)
    attempt, created = attempts.record(user_id, status.quiz, submission, key, expected=status.attempts + 1)
    if created:
        forget_layout(user_id, status.quiz, key)
    completion = None
    # Nothing else left when the outline was read; or a little, which another tab may have finished meanwhile: then
    # the learner's roll-up row, recomputed in this write, decides (as for a completion: `complete_lesson`).
    if (
        created
        and attempt.passed
        and (left == 0 or (left <= NEARLY_DONE and rollup.may_be_all_done(user_id, course.id)))
    ):
        completion = maybe_complete_course(user_id, course)
    return RecordedSubmission(attempt, created, completion is not None and outline.completion is None)
