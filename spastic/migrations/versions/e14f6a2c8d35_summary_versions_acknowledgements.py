"""summary versions and acknowledgements: one stored PDF per summary version; physicians
acknowledge a version; the clinic's acknowledgement deadline

Revision ID: e14f6a2c8d35
Revises: a16c3e5f7b90
Create Date: 2026-12-01 23:40:00.000000

"""
from alembic import op
import sqlalchemy as sa

from spastic.models.base import UTCDateTime


# revision identifiers, used by Alembic.
revision = 'e14f6a2c8d35'
down_revision = 'a16c3e5f7b90'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('clinic', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('acknowledge_within_days', sa.Integer(), nullable=False, server_default='7')
        )
    with op.batch_alter_table('summary_document', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=True))
    # Copies stored before versions were numbered: number them in the order they were stored.
    op.execute(
        'UPDATE summary_document SET version = (SELECT count(*) FROM summary_document AS s '
        'WHERE s.visit_id = summary_document.visit_id AND s.id <= summary_document.id)'
    )
    with op.batch_alter_table('summary_document', schema=None) as batch_op:
        batch_op.alter_column('version', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint('uq_summary_document_visit_id_content_key', type_='unique')
        batch_op.create_unique_constraint(
            batch_op.f('uq_summary_document_visit_id_version'), ['visit_id', 'version']
        )
    op.create_table(
        'acknowledgement',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('visit_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('physician_id', sa.Integer(), nullable=False),
        sa.Column('acknowledged_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['physician_id'], ['user_account.id'],
            name=op.f('fk_acknowledgement_physician_id_user_account'),
        ),
        sa.ForeignKeyConstraint(
            ['visit_id'], ['visit.id'], name=op.f('fk_acknowledgement_visit_id_visit')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_acknowledgement')),
        sa.UniqueConstraint(
            'visit_id', 'version', 'physician_id',
            name=op.f('uq_acknowledgement_visit_id_version_physician_id'),
        ),
    )
    with op.batch_alter_table('acknowledgement', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_acknowledgement_visit_id'), ['visit_id'], unique=False
        )


def downgrade():
    with op.batch_alter_table('acknowledgement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_acknowledgement_visit_id'))
    op.drop_table('acknowledgement')
    with op.batch_alter_table('summary_document', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_summary_document_visit_id_version'), type_='unique')
        batch_op.create_unique_constraint(
            'uq_summary_document_visit_id_content_key', ['visit_id', 'content_key']
        )
        batch_op.drop_column('version')
    with op.batch_alter_table('clinic', schema=None) as batch_op:
        batch_op.drop_column('acknowledge_within_days')
