"""dashboard roll-up: per-learner numbers kept up to date by the write paths, backfilled from existing rows

Two tables (course/dashboard/models.py): `learner_course_stats`, one row per learner and course (lessons
completed, quizzes passed, quizzes failing, best scores, furthest lesson, last view, last attempt, over the
current outline), and `learner_chapter_done`, the chapters each learner has complete. The backfill runs, for
every course, the statements course/dashboard/rollup.py uses to recompute a course (copied here as they are at
this revision, so that later changes to the module do not change what this migration does).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 15:48:32.538595

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# The current outline of :course_id (as course/dashboard/rollup.py reads it when this revision was written).
OUTLINE = """
lessons AS (
    SELECT l.id AS lesson_id, l.chapter_id AS chapter_id,
           ROW_NUMBER() OVER (ORDER BY m.position, c.position, c.id, l.position, l.id) - 1 AS pos
    FROM lesson l JOIN chapter c ON c.id = l.chapter_id JOIN module m ON m.id = c.module_id
    WHERE l.course_id = :course_id AND c.course_id = :course_id
      AND l.archived_at IS NULL AND c.archived_at IS NULL AND m.archived_at IS NULL
),
quizzes AS (
    SELECT q.id AS quiz_id, q.chapter_id AS chapter_id
    FROM quiz q JOIN chapter c ON c.id = q.chapter_id JOIN module m ON m.id = c.module_id
    WHERE q.course_id = :course_id AND c.course_id = :course_id
      AND q.archived_at IS NULL AND c.archived_at IS NULL AND m.archived_at IS NULL
)"""

STATS = """
WITH
{outline},
viewed AS (
    SELECT p.user_id AS user_id, MAX(p.last_viewed_at) AS last_viewed_at
    FROM lesson_progress p
    WHERE p.course_id = :course_id
    GROUP BY p.user_id
),
current_lessons AS (
    SELECT p.user_id AS user_id, SUM(CASE WHEN p.completed_at IS NOT NULL THEN 1 ELSE 0 END) AS lessons_done,
           MAX(l.pos) AS furthest_lesson
    FROM lessons l JOIN lesson_progress p ON p.lesson_id = l.lesson_id
    WHERE TRUE
    GROUP BY p.user_id
),
per_quiz AS (
    SELECT a.user_id AS user_id, a.quiz_id AS quiz_id, MAX(CASE WHEN a.passed THEN 1 ELSE 0 END) AS passed,
           MAX(a.number) AS tries, MAX(a.percent) AS best, MAX(a.submitted_at) AS last_at
    FROM quizzes q JOIN quiz_attempt a ON a.quiz_id = q.quiz_id
    WHERE TRUE
    GROUP BY a.user_id, a.quiz_id
),
attempts AS (
    SELECT user_id, SUM(passed) AS quizzes_passed,
           SUM(CASE WHEN passed = 0 AND tries >= 2 THEN 1 ELSE 0 END) AS quizzes_failing,
           SUM(best) AS best_sum, COUNT(*) AS best_count, MAX(last_at) AS last_attempt_at
    FROM per_quiz
    GROUP BY user_id
),
learners AS (
    SELECT user_id FROM viewed
    UNION
    SELECT a.user_id FROM quiz q JOIN quiz_attempt a ON a.quiz_id = q.id WHERE q.course_id = :course_id
)
INSERT INTO learner_course_stats (user_id, course_id, lessons_done, quizzes_passed, quizzes_failing, best_sum,
                                  best_count, furthest_lesson, last_viewed_at, last_attempt_at)
SELECT u.user_id, :course_id, COALESCE(c.lessons_done, 0), COALESCE(a.quizzes_passed, 0),
       COALESCE(a.quizzes_failing, 0), COALESCE(a.best_sum, 0), COALESCE(a.best_count, 0), c.furthest_lesson,
       v.last_viewed_at, a.last_attempt_at
FROM learners u
LEFT JOIN viewed v ON v.user_id = u.user_id
LEFT JOIN current_lessons c ON c.user_id = u.user_id
LEFT JOIN attempts a ON a.user_id = u.user_id
WHERE TRUE
ON CONFLICT (user_id, course_id) DO UPDATE SET
    lessons_done = excluded.lessons_done, quizzes_passed = excluded.quizzes_passed,
    quizzes_failing = excluded.quizzes_failing, best_sum = excluded.best_sum, best_count = excluded.best_count,
    furthest_lesson = excluded.furthest_lesson, last_viewed_at = excluded.last_viewed_at,
    last_attempt_at = excluded.last_attempt_at
"""

CHAPTERS = """
WITH
{outline},
chapters AS (
    SELECT chapter_id, COUNT(*) AS items
    FROM (SELECT chapter_id FROM lessons UNION ALL SELECT chapter_id FROM quizzes) outline_items
    GROUP BY chapter_id
),
items AS (
    SELECT p.user_id AS user_id, l.chapter_id AS chapter_id
    FROM lessons l JOIN lesson_progress p ON p.lesson_id = l.lesson_id
    WHERE p.completed_at IS NOT NULL
    UNION ALL
    SELECT user_id, chapter_id
    FROM (SELECT DISTINCT a.user_id AS user_id, a.quiz_id AS quiz_id, q.chapter_id AS chapter_id
          FROM quizzes q JOIN quiz_attempt a ON a.quiz_id = q.quiz_id
          WHERE a.passed ) passed
)
INSERT INTO learner_chapter_done (user_id, chapter_id, course_id)
SELECT user_id, chapter_id, :course_id
FROM (SELECT i.user_id AS user_id, i.chapter_id AS chapter_id
      FROM items i JOIN chapters c ON c.chapter_id = i.chapter_id
      GROUP BY i.user_id, i.chapter_id, c.items
      HAVING COUNT(*) >= c.items) complete
WHERE TRUE
ON CONFLICT (user_id, chapter_id) DO NOTHING
"""


def backfill():
    bind = op.get_bind()
    for course_id in bind.execute(sa.text("SELECT id FROM course ORDER BY id")).scalars().all():
        bind.execute(sa.text(STATS), {"course_id": course_id})
        bind.execute(sa.text(CHAPTERS), {"course_id": course_id})

STATS, CHAPTERS = (sql.replace("{outline}", OUTLINE.strip("\n")) for sql in (STATS, CHAPTERS))


def upgrade():
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table('learner_course_stats',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('lessons_done', sa.Integer(), nullable=False),
    sa.Column('quizzes_passed', sa.Integer(), nullable=False),
    sa.Column('quizzes_failing', sa.Integer(), nullable=False),
    sa.Column('best_sum', sa.Float(), nullable=False),
    sa.Column('best_count', sa.Integer(), nullable=False),
    sa.Column('furthest_lesson', sa.Integer(), nullable=True),
    sa.Column('last_viewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], name=op.f('fk_learner_course_stats_course_id_course')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_learner_course_stats_user_id_user_account')),
    sa.PrimaryKeyConstraint('user_id', 'course_id', name=op.f('pk_learner_course_stats'))
    )
    with op.batch_alter_table('learner_course_stats', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_learner_course_stats_course_id'), ['course_id'], unique=False)

    op.create_table('learner_chapter_done',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('chapter_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['chapter_id'], ['chapter.id'], name=op.f('fk_learner_chapter_done_chapter_id_chapter')),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], name=op.f('fk_learner_chapter_done_course_id_course')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_learner_chapter_done_user_id_user_account')),
    sa.PrimaryKeyConstraint('user_id', 'chapter_id', name=op.f('pk_learner_chapter_done'))
    )
    with op.batch_alter_table('learner_chapter_done', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_learner_chapter_done_chapter_id'), ['chapter_id'], unique=False)
        batch_op.create_index('ix_learner_chapter_done_course_user', ['course_id', 'user_id'], unique=False)

    # ### end Alembic commands ###
    backfill()


def downgrade():
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table('learner_chapter_done', schema=None) as batch_op:
        batch_op.drop_index('ix_learner_chapter_done_course_user')
        batch_op.drop_index(batch_op.f('ix_learner_chapter_done_chapter_id'))

    op.drop_table('learner_chapter_done')
    with op.batch_alter_table('learner_course_stats', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_learner_course_stats_course_id'))

    op.drop_table('learner_course_stats')
    # ### end Alembic commands ###
