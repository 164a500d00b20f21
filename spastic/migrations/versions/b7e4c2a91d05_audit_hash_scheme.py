"""audit hash scheme: keyed (HMAC) rows from now on, earlier rows named unkeyed

Revision ID: b7e4c2a91d05
Revises: f13570de4da7
Create Date: 2026-12-01 20:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7e4c2a91d05'
down_revision = 'f13570de4da7'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN (no batch table copy): the rows keep their ids and the append-only
    # triggers stay; the default marks every existing row as written with the unkeyed scheme.
    op.add_column(
        'audit_event',
        sa.Column('hash_scheme', sa.String(length=16), server_default='sha256', nullable=False),
    )


def downgrade():
    # Not a batch copy either, which on SQLite would drop the append-only triggers.
    op.execute('ALTER TABLE audit_event DROP COLUMN hash_scheme')
