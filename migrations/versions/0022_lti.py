"""LTI 1.3 platforms, launches and grade passback

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 04:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("lti_launch_value",
    sa.Column("key", sa.String(length=255), nullable=False),
    sa.Column("value", sa.JSON(), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("key", name=op.f("pk_lti_launch_value"))
    )
    op.create_index(op.f("ix_lti_launch_value_expires_at"), "lti_launch_value", ["expires_at"], unique=False)
    op.create_table("lti_platform",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("name", sa.String(length=120), nullable=False),
    sa.Column("issuer", sa.String(length=255), nullable=False),
    sa.Column("client_id", sa.String(length=255), nullable=False),
    sa.Column("auth_login_url", sa.String(length=500), nullable=False),
    sa.Column("auth_token_url", sa.String(length=500), nullable=False),
    sa.Column("key_set_url", sa.String(length=500), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_platform")),
    sa.UniqueConstraint("issuer", "client_id", name=op.f("uq_lti_platform_issuer_client_id"))
    )
    op.create_table("lti_account",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("platform_id", sa.Integer(), nullable=False),
    sa.Column("sub", sa.String(length=255), nullable=False),
    sa.Column("user_id", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["platform_id"], ["lti_platform.id"], name=op.f("fk_lti_account_platform_id_lti_platform"), ondelete="CASCADE"),
    sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_lti_account_user_id_user_account"), ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_account")),
    sa.UniqueConstraint("platform_id", "sub", name=op.f("uq_lti_account_platform_id_sub"))
    )
    op.create_index(op.f("ix_lti_account_user_id"), "lti_account", ["user_id"], unique=False)
    op.create_table("lti_deployment",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("platform_id", sa.Integer(), nullable=False),
    sa.Column("deployment_id", sa.String(length=255), nullable=False),
    sa.Column("cohort_id", sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(["cohort_id"], ["cohort.id"], name=op.f("fk_lti_deployment_cohort_id_cohort"), ondelete="SET NULL"),
    sa.ForeignKeyConstraint(["platform_id"], ["lti_platform.id"], name=op.f("fk_lti_deployment_platform_id_lti_platform"), ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_deployment")),
    sa.UniqueConstraint("platform_id", "deployment_id", name=op.f("uq_lti_deployment_platform_id_deployment_id"))
    )
    op.create_index(op.f("ix_lti_deployment_cohort_id"), "lti_deployment", ["cohort_id"], unique=False)
    op.create_index(op.f("ix_lti_deployment_platform_id"), "lti_deployment", ["platform_id"], unique=False)
    op.create_table("lti_resource_link",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("deployment_id", sa.Integer(), nullable=False),
    sa.Column("resource_link_id", sa.String(length=255), nullable=False),
    sa.Column("context_id", sa.String(length=255), nullable=True),
    sa.Column("title", sa.String(length=255), nullable=True),
    sa.Column("course_id", sa.Integer(), nullable=False),
    sa.Column("chapter_id", sa.Integer(), nullable=True),
    sa.Column("lineitem_url", sa.String(length=500), nullable=True),
    sa.Column("lineitems_url", sa.String(length=500), nullable=True),
    sa.Column("ags_scopes", sa.JSON(), nullable=True),
    sa.Column("memberships_url", sa.String(length=500), nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["chapter_id"], ["chapter.id"], name=op.f("fk_lti_resource_link_chapter_id_chapter"), ondelete="SET NULL"),
    sa.ForeignKeyConstraint(["course_id"], ["course.id"], name=op.f("fk_lti_resource_link_course_id_course"), ondelete="CASCADE"),
    sa.ForeignKeyConstraint(["deployment_id"], ["lti_deployment.id"], name=op.f("fk_lti_resource_link_deployment_id_lti_deployment"), ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_resource_link")),
    sa.UniqueConstraint("deployment_id", "resource_link_id", name=op.f("uq_lti_resource_link_deployment_id_resource_link_id"))
    )
    op.create_index(op.f("ix_lti_resource_link_chapter_id"), "lti_resource_link", ["chapter_id"], unique=False)
    op.create_index(op.f("ix_lti_resource_link_course_id"), "lti_resource_link", ["course_id"], unique=False)
    op.create_index(op.f("ix_lti_resource_link_deployment_id"), "lti_resource_link", ["deployment_id"], unique=False)
    op.create_table("lti_score",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("link_id", sa.Integer(), nullable=False),
    sa.Column("user_id", sa.Integer(), nullable=False),
    sa.Column("score_given", sa.Float(), nullable=False),
    sa.Column("score_maximum", sa.Float(), nullable=False),
    sa.Column("activity_progress", sa.String(length=20), nullable=False),
    sa.Column("status", sa.String(length=10), nullable=False),
    sa.Column("tries", sa.Integer(), nullable=False),
    sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(["link_id"], ["lti_resource_link.id"], name=op.f("fk_lti_score_link_id_lti_resource_link"), ondelete="CASCADE"),
    sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_lti_score_user_id_user_account"), ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_score")),
    sa.UniqueConstraint("link_id", "user_id", name=op.f("uq_lti_score_link_id_user_id"))
    )
    op.create_index(op.f("ix_lti_score_status"), "lti_score", ["status"], unique=False)
    op.create_index(op.f("ix_lti_score_user_id"), "lti_score", ["user_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_lti_score_user_id"), table_name="lti_score")
    op.drop_index(op.f("ix_lti_score_status"), table_name="lti_score")
    op.drop_table("lti_score")
    op.drop_index(op.f("ix_lti_resource_link_deployment_id"), table_name="lti_resource_link")
    op.drop_index(op.f("ix_lti_resource_link_course_id"), table_name="lti_resource_link")
    op.drop_index(op.f("ix_lti_resource_link_chapter_id"), table_name="lti_resource_link")
    op.drop_table("lti_resource_link")
    op.drop_index(op.f("ix_lti_deployment_platform_id"), table_name="lti_deployment")
    op.drop_index(op.f("ix_lti_deployment_cohort_id"), table_name="lti_deployment")
    op.drop_table("lti_deployment")
    op.drop_index(op.f("ix_lti_account_user_id"), table_name="lti_account")
    op.drop_table("lti_account")
    op.drop_table("lti_platform")
    op.drop_index(op.f("ix_lti_launch_value_expires_at"), table_name="lti_launch_value")
    op.drop_table("lti_launch_value")
