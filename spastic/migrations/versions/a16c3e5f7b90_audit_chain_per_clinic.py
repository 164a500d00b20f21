"""audit chain per clinic: each row names its chain; earlier rows form the chain "audit_event"

Revision ID: a16c3e5f7b90
Revises: d13d9e1a4b67
Create Date: 2026-12-01 23:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a16c3e5f7b90'
down_revision = 'd13d9e1a4b67'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN (no batch table copy): the rows keep their ids and the append-only
    # triggers stay; the default puts every existing row in the one chain they were written in.
    op.add_column(
        'audit_event',
        sa.Column('chain', sa.String(length=40), server_default='audit_event', nullable=False),
    )
    op.create_index('ix_audit_event_chain_id', 'audit_event', ['chain', 'id'])


def downgrade():
    op.drop_index('ix_audit_event_chain_id', table_name='audit_event')
    # Not a batch copy either, which on SQLite would drop the append-only triggers.
    op.execute('ALTER TABLE audit_event DROP COLUMN chain')
