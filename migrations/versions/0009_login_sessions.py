"""login sessions: one row per signed-in browser, so that logging out ends the session on the server

`login_session` holds a digest of the secret each session cookie carries; a request's user is loaded through
it. Cookies from before this revision carried the user's session token instead: they no longer load a user,
and everyone signs in again once.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 21:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'login_session',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('secret_digest', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_login_session_user_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_login_session')),
        sa.UniqueConstraint('secret_digest', name=op.f('uq_login_session_secret_digest')),
    )
    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_session_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_session_user_id'))
    op.drop_table('login_session')
