"""Open Badges 3.0 credentials and their status list

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 04:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "badge_credential",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("completion_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("status_list", sa.Integer(), nullable=False),
        sa.Column("status_index", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.String(length=64), nullable=False),
        sa.Column("verification_method", sa.String(length=300), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["completion_id"], ["completion.id"], name=op.f("fk_badge_credential_completion_id_completion")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_badge_credential_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_badge_credential")),
        sa.UniqueConstraint("completion_id", name=op.f("uq_badge_credential_completion_id")),
        sa.UniqueConstraint("credential_id", name=op.f("uq_badge_credential_credential_id")),
        sa.UniqueConstraint("status_list", "status_index", name=op.f("uq_badge_credential_status_list_status_index")),
    )
    op.create_index(op.f("ix_badge_credential_user_id"), "badge_credential", ["user_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_badge_credential_user_id"), table_name="badge_credential")
    op.drop_table("badge_credential")
