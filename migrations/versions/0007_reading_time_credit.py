"""reading time credit: where each (learner, lesson) row's reading time has been counted up to

`lesson_progress.time_credited_until`: reading time is credited from a lesson's last view (or from this marker,
once some of it has been credited) to the learner's next action in the course (course/progress/services.py).
Existing rows start empty: their next credit counts from their last view, as marking complete did.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('lesson_progress', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time_credited_until', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('lesson_progress', schema=None) as batch_op:
        batch_op.drop_column('time_credited_until')
