"""cohort setting for the at-risk list: after how many days without activity a learner counts as inactive

`cohort.inactive_after_days`: the instructor dashboard flags a learner who has done nothing for this many days
(and still has released chapters to finish). Existing cohorts get the old fixed value, 7.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 10:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("cohort", schema=None) as batch_op:
        batch_op.add_column(sa.Column("inactive_after_days", sa.Integer(), server_default="7", nullable=False))
        batch_op.create_check_constraint(
            op.f("ck_cohort_inactive_after_days_range"), "inactive_after_days BETWEEN 1 AND 365"
        )


def downgrade():
    with op.batch_alter_table("cohort", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_cohort_inactive_after_days_range"), type_="check")
        batch_op.drop_column("inactive_after_days")
