"""Covering indexes the dashboard's per-learner subqueries read (migration 0003 creates them).

Each lets SQLite answer one per-learner number from the index alone: a seek to the learner, then a short
range (their ~40 progress rows, their ~10 attempts) without touching the table. Declared here, on the models'
tables, so the metadata (and the migrations test) knows them.
"""

from sqlalchemy import Index

from course.cohorts.models import Enrolment
from course.progress.models import LessonProgress
from course.quiz.models import Attempt

INDEXES = (
    # the cohort's learners in user order
    Index("ix_enrolment_cohort_user", Enrolment.cohort_id, Enrolment.user_id),
    # last lesson view in a course (a max: one seek)
    Index("ix_lesson_progress_user_course_viewed", LessonProgress.user_id, LessonProgress.course_id,
          LessonProgress.last_viewed_at),
    # lessons completed within a range of lesson ids
    Index("ix_lesson_progress_user_lesson_done", LessonProgress.user_id, LessonProgress.lesson_id,
          LessonProgress.completed_at),
    # quizzes passed, best and first-attempt scores, failures, last attempt
    Index("ix_quiz_attempt_user_quiz_result", Attempt.user_id, Attempt.quiz_id, Attempt.number, Attempt.passed,
          Attempt.percent, Attempt.submitted_at),
)
