"""quizzes that measure: question pools and a cool-down between attempts

`quiz.draw`: how many of the quiz's questions an attempt serves (NULL: all of them).
`quiz.retry_after`: the seconds a learner waits between two attempts (NULL: no wait).
`question.draw_group`: the question's group, so that a drawn attempt represents each group.
The reveal policy needs no column: `quiz.reveal` holds the quiz's own, else its course's `quiz_reveal`.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-12 05:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("quiz", schema=None) as batch_op:
        batch_op.add_column(sa.Column("draw", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("retry_after", sa.Integer(), nullable=True))
    with op.batch_alter_table("question", schema=None) as batch_op:
        batch_op.add_column(sa.Column("draw_group", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("question", schema=None) as batch_op:
        batch_op.drop_column("draw_group")
    with op.batch_alter_table("quiz", schema=None) as batch_op:
        batch_op.drop_column("retry_after")
        batch_op.drop_column("draw")
