"""accounts made by a learning platform's launch are marked: grade passback asks only for theirs

Every quiz attempt asked the database whether the learner had come through a platform's link that takes scores
(LTI grade passback), one statement in every submission's write, for learners of whom no platform knows. Only a
launch makes such an account (course/lti/launch.py), so the account carries it: `from_platform`, read with the
signed-in user at the start of each request. Accounts made by launches before this migration are marked from
their `lti_account` rows.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06 11:20:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(sa.Column("from_platform", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE user_account SET from_platform = TRUE WHERE id IN (SELECT user_id FROM lti_account)")


def downgrade():
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("from_platform")
