"""the dashboard's cache key: a counter per course (in a few shards) moved by every change the dashboard reads

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 07:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "rollup_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollup_version")),
        sa.UniqueConstraint("course_id", "shard", name=op.f("uq_rollup_version_course_id_shard")),
    )


def downgrade():
    op.drop_table("rollup_version")
