"""rate-limit counters in an UNLOGGED table on PostgreSQL: no WAL, so no disk flush at each counted request

A counter is written by every rate-limited request (a quiz submission, a login), in a transaction of its own (so
that it counts even when the request fails), and on PostgreSQL each of those commits waited for the write-ahead log
to reach the disk. An UNLOGGED table writes no WAL: its commits do not wait, and its writes cost less. What it gives
up is what a counter of the last minutes does not need: after a crash of the database server the table is emptied
(every window starts again), and a streaming replica does not have it (a failover starts the windows again too).
SQLite: nothing to do.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05 18:30:00.000000

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE rate_limit_counter SET UNLOGGED")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE rate_limit_counter SET LOGGED")
