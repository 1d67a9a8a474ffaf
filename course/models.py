"""Every model, imported in one place for Alembic (migrations/env.py) and the tests."""

from course.accounts.api_token_models import ApiToken
from course.accounts.models import LoginSession, RecoveryCode, Role, TotpFactor, User
from course.audit.models import AuditEntry
from course.badges.models import BadgeCredential
from course.cohorts.announcement_models import Announcement, AnnouncementDismissal
from course.cohorts.calendar_models import CalendarFeed
from course.cohorts.digest_models import CohortDigest
from course.cohorts.models import ChapterRelease, Cohort, CohortInstructor, Enrolment
from course.content.models import Chapter, Course, Lesson, Module, Question, QuestionOption, Quiz, WorkbookPrompt
from course.lti.models import LtiAccount, LtiDeployment, LtiLaunchValue, LtiPlatform, LtiResourceLink, LtiScore
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
    "ApiToken",
    "AnnouncementDismissal",
    "Attempt",
    "AuditEntry",
    "BadgeCredential",
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
    "LtiAccount",
    "LtiDeployment",
    "LtiLaunchValue",
    "LtiPlatform",
    "LtiResourceLink",
    "LtiScore",
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
