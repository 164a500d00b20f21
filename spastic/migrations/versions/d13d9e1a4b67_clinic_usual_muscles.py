"""clinic usual muscles: the set a first visit of a new patient starts from

Revision ID: d13d9e1a4b67
Revises: 5d2a9c7e41f3
Create Date: 2026-12-01 23:55:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd13d9e1a4b67'
down_revision = '5d2a9c7e41f3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('clinic', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('usual_muscles', sa.String(length=1000), nullable=False, server_default='[]')
        )


def downgrade():
    with op.batch_alter_table('clinic', schema=None) as batch_op:
        batch_op.drop_column('usual_muscles')
