"""discarded drafts and visits (who, when, why); each MAS grade's provenance (carried_from)

Revision ID: d13b5a7e0c21
Revises: d13c7f3b2a58
Create Date: 2026-12-01 23:45:00.000000

"""
from alembic import op
import sqlalchemy as sa

from spastic.models.base import UTCDateTime


# revision identifiers, used by Alembic.
revision = 'd13b5a7e0c21'
down_revision = 'd13c7f3b2a58'
branch_labels = None
depends_on = None


def upgrade():
    for table in ('visit', 'draft'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('discarded_at', UTCDateTime(), nullable=True))
            batch_op.add_column(sa.Column('discarded_by_id', sa.Integer(), nullable=True))
            batch_op.add_column(
                sa.Column('discard_reason', sa.String(length=300), nullable=True)
            )
            batch_op.create_foreign_key(
                batch_op.f(f'fk_{table}_discarded_by_id_user_account'),
                'user_account',
                ['discarded_by_id'],
                ['id'],
            )
    with op.batch_alter_table('mas_score', schema=None) as batch_op:
        batch_op.add_column(sa.Column('carried_from', sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table('mas_score', schema=None) as batch_op:
        batch_op.drop_column('carried_from')
    for table in ('draft', 'visit'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(
                batch_op.f(f'fk_{table}_discarded_by_id_user_account'), type_='foreignkey'
            )
            batch_op.drop_column('discard_reason')
            batch_op.drop_column('discarded_by_id')
            batch_op.drop_column('discarded_at')
