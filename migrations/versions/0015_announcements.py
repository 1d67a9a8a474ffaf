"""announcements: an instructor's message to a cohort, and the learners who dismissed it

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 03:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "announcement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body_markdown", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("submission_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cohort_id"], ["cohort.id"], name=op.f("fk_announcement_cohort_id_cohort"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["author_id"], ["user_account.id"], name=op.f("fk_announcement_author_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcement")),
        sa.UniqueConstraint("cohort_id", "submission_key", name=op.f("uq_announcement_cohort_id_submission_key")),
    )
    op.create_index(op.f("ix_announcement_author_id"), "announcement", ["author_id"], unique=False)
    op.create_table(
        "announcement_dismissal",
        sa.Column("announcement_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("dismissed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["announcement_id"], ["announcement.id"], name=op.f("fk_announcement_dismissal_announcement_id_announcement"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_announcement_dismissal_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("announcement_id", "user_id", name=op.f("pk_announcement_dismissal")),
    )
    op.create_index(op.f("ix_announcement_dismissal_user_id"), "announcement_dismissal", ["user_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_announcement_dismissal_user_id"), table_name="announcement_dismissal")
    op.drop_table("announcement_dismissal")
    op.drop_index(op.f("ix_announcement_author_id"), table_name="announcement")
    op.drop_table("announcement")
