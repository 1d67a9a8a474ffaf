"""Every model, imported in one place for Alembic and the CLI."""

import course.dashboard.indexes  # noqa: F401 - the dashboard's covering indexes belong to the schema too
from course.auth.models import Role, User
from course.cohorts.models import ChapterRelease, Cohort, CohortInstructor, Enrolment
from course.content.models import Chapter, Course, Lesson, Module, WorkbookPrompt
from course.dashboard.models import LearnerChapterDone, LearnerCourseStats
from course.progress.models import Completion, LessonProgress, WorkbookAnswer
from course.quiz.models import Attempt, AttemptAnswer, Question, QuestionOption, Quiz
from course.ratelimit import RateLimitCounter

__all__ = [
    "Attempt",
    "ChapterRelease",
    "Cohort",
    "CohortInstructor",
    "Enrolment",
    "AttemptAnswer",
    "Chapter",
    "Completion",
    "Course",
    "LearnerChapterDone",
    "LearnerCourseStats",
    "Lesson",
    "LessonProgress",
    "Module",
    "Question",
    "QuestionOption",
    "RateLimitCounter",
    "Quiz",
    "Role",
    "User",
    "WorkbookAnswer",
    "WorkbookPrompt",
]
