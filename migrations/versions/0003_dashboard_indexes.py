"""dashboard: covering indexes for the per-learner numbers of the instructor dashboard

Each lets the dashboard answer one per-learner number from an index alone (see course/dashboard/indexes.py
and docs/PERFORMANCE.md): a cohort's learners in user order; a learner's last lesson view in a course;
lessons completed within a range of lesson ids; quiz results per learner and quiz.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 13:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.create_index('ix_enrolment_cohort_user', ['cohort_id', 'user_id'], unique=False)
    with op.batch_alter_table('lesson_progress', schema=None) as batch_op:
        batch_op.create_index('ix_lesson_progress_user_course_viewed', ['user_id', 'course_id', 'last_viewed_at'], unique=False)
        batch_op.create_index('ix_lesson_progress_user_lesson_done', ['user_id', 'lesson_id', 'completed_at'], unique=False)
    with op.batch_alter_table('quiz_attempt', schema=None) as batch_op:
        batch_op.create_index(
            'ix_quiz_attempt_user_quiz_result',
            ['user_id', 'quiz_id', 'number', 'passed', 'percent', 'submitted_at'],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table('quiz_attempt', schema=None) as batch_op:
        batch_op.drop_index('ix_quiz_attempt_user_quiz_result')
    with op.batch_alter_table('lesson_progress', schema=None) as batch_op:
        batch_op.drop_index('ix_lesson_progress_user_lesson_done')
        batch_op.drop_index('ix_lesson_progress_user_course_viewed')
    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.drop_index('ix_enrolment_cohort_user')
