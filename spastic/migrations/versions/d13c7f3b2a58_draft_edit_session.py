"""draft edit session: which page (tab, window) saved the draft last, so that a page's own
earlier save is never reported to it as someone else's

Revision ID: d13c7f3b2a58
Revises: e14f6a2c8d35
Create Date: 2026-12-01 23:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd13c7f3b2a58'
down_revision = 'e14f6a2c8d35'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('draft', schema=None) as batch_op:
        batch_op.add_column(sa.Column('updated_session', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('draft', schema=None) as batch_op:
        batch_op.drop_column('updated_session')
