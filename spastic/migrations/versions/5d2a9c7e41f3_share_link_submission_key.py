"""share link submission key: one link and one email per "Send to physician" form

Revision ID: 5d2a9c7e41f3
Revises: 1c87cf4d1456
Create Date: 2026-12-01 20:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5d2a9c7e41f3'
down_revision = '1c87cf4d1456'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('share_link', schema=None) as batch_op:
        batch_op.add_column(sa.Column('submission_key', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f('uq_share_link_submission_key'), ['submission_key']
        )


def downgrade():
    with op.batch_alter_table('share_link', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_share_link_submission_key'), type_='unique')
        batch_op.drop_column('submission_key')
