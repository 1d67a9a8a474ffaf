"""spaced review: a learner's review card per question they got wrong (FSRS state), and each review's record

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 02:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "review_card",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("due", sa.DateTime(timezone=True), nullable=False),
        sa.Column("interval_days", sa.Integer(), nullable=False),
        sa.Column("reps", sa.Integer(), nullable=False),
        sa.Column("lapses", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["question_id"], ["question.id"], name=op.f("fk_review_card_question_id_question")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_review_card_user_id_user_account"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_card")),
        sa.UniqueConstraint("user_id", "question_id", name=op.f("uq_review_card_user_id_question_id")),
    )
    op.create_index(op.f("ix_review_card_due"), "review_card", ["due"], unique=False)
    op.create_index(op.f("ix_review_card_question_id"), "review_card", ["question_id"], unique=False)
    op.create_table(
        "review_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("card_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("submission_key", sa.String(length=64), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("correct", sa.Boolean(), nullable=False),
        sa.Column("interval_days", sa.Integer(), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["card_id"], ["review_card.id"], name=op.f("fk_review_log_card_id_review_card"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["question_id"], ["question.id"], name=op.f("fk_review_log_question_id_question")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_review_log_user_id_user_account"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_log")),
        sa.UniqueConstraint("card_id", "submission_key", name=op.f("uq_review_log_card_id_submission_key")),
    )
    op.create_index(op.f("ix_review_log_question_id"), "review_log", ["question_id"], unique=False)
    op.create_index(op.f("ix_review_log_user_id"), "review_log", ["user_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_review_log_user_id"), table_name="review_log")
    op.drop_index(op.f("ix_review_log_question_id"), table_name="review_log")
    op.drop_table("review_log")
    op.drop_index(op.f("ix_review_card_question_id"), table_name="review_card")
    op.drop_index(op.f("ix_review_card_due"), table_name="review_card")
    op.drop_table("review_card")
