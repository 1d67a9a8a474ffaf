"""nudges and the weekly digest: a cohort's "send automatic reminders" setting, and each digest's at-risk learners

`cohort.auto_nudges`: the worker reminds the cohort's inactive or behind learners (on for existing cohorts).
`cohort_digest`: the learners at risk when a week's instructor digest was written, to say who is newly at risk.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 05:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("cohort", schema=None) as batch_op:
        batch_op.add_column(sa.Column("auto_nudges", sa.Boolean(), server_default=sa.true(), nullable=False))
    op.create_table(
        "cohort_digest",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("at_risk_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cohort_id"], ["cohort.id"], name=op.f("fk_cohort_digest_cohort_id_cohort"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cohort_digest")),
        sa.UniqueConstraint("cohort_id", "week", name=op.f("uq_cohort_digest_cohort_id_week")),
    )


def downgrade():
    op.drop_table("cohort_digest")
    with op.batch_alter_table("cohort", schema=None) as batch_op:
        batch_op.drop_column("auto_nudges")
