"""user language and time zone: the language and time zone a user chose, shown on every device

`user_account.language` (one of the app's LANGUAGES) and `user_account.time_zone` (an IANA name). Both start
empty: the browser's language and the site's time zone (BABEL_DEFAULT_TIMEZONE) apply until the user chooses.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('time_zone')
        batch_op.drop_column('language')
