"""Every model, imported in one place for Alembic (migrations/env.py) and the tests."""

from course.accounts.models import LoginSession, RecoveryCode, Role, TotpFactor, User
from course.audit.models import AuditEntry
from course.cohorts.announcement_models import Announcement, AnnouncementDismissal
from course.cohorts.calendar_models import CalendarFeed
from course.cohorts.digest_models import CohortDigest
from course.cohorts.models import ChapterRelease, Cohort, CohortInstructor, Enrolment
from course.content.models import Chapter, Course, Lesson, Module, Question, QuestionOption, Quiz, WorkbookPrompt
from course.outbox.models import NotificationOptOut, OutboxMessage
from course.progress.models import (
    Completion,
    LearnerChapterDone,
    LearnerCourseStats,
    LessonProgress,
    WorkbookAnswer,
)
from course.progress.review_models import ReviewCard, ReviewLog
from course.quiz.models import Attempt, AttemptAnswer
from course.ratelimit import RateLimitCounter

__all__ = [
    "Announcement",
    "AnnouncementDismissal",
    "Attempt",
    "AuditEntry",
    "AttemptAnswer",
    "CalendarFeed",
    "Chapter",
    "ChapterRelease",
    "Cohort",
    "CohortDigest",
    "CohortInstructor",
    "Completion",
    "Course",
    "Enrolment",
    "LearnerChapterDone",
    "LearnerCourseStats",
    "Lesson",
    "LessonProgress",
    "LoginSession",
    "Module",
    "NotificationOptOut",
    "OutboxMessage",
    "Question",
    "QuestionOption",
    "Quiz",
    "RateLimitCounter",
    "RecoveryCode",
    "ReviewCard",
    "ReviewLog",
    "Role",
    "TotpFactor",
    "User",
    "WorkbookAnswer",
    "WorkbookPrompt",
]
