"""the patient search index: each patient's folded name and MRN words, filled

Revision ID: s4c1e5a9d2b7
Revises: s3b7c1d9e2f4
Create Date: 2026-12-02 07:50:00.000000

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.orm import Session


# revision identifiers, used by Alembic.
revision = 's4c1e5a9d2b7'
down_revision = 's3b7c1d9e2f4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'patient_search_token',
        sa.Column('patient_id', sa.Integer(), nullable=False),
        sa.Column(
            'token',
            sa.String(length=100).with_variant(sa.String(length=100, collation='C'), 'postgresql'),
            nullable=False,
        ),
        sa.Column('clinic_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['clinic_id'], ['clinic.id'], name=op.f('fk_patient_search_token_clinic_id_clinic')
        ),
        sa.ForeignKeyConstraint(
            ['patient_id'],
            ['patient.id'],
            name=op.f('fk_patient_search_token_patient_id_patient'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('patient_id', 'token', name=op.f('pk_patient_search_token')),
    )
    with op.batch_alter_table('patient_search_token', schema=None) as batch_op:
        batch_op.create_index(
            'ix_patient_search_token_clinic', ['clinic_id', 'token', 'patient_id'], unique=False
        )
    # Index every patient already stored, by the search's own definition of a word.
    from spastic.patients.search_index import rebuild

    session = Session(bind=op.get_bind())
    rebuild(session=session)
    session.flush()
    session.close()


def downgrade():
    with op.batch_alter_table('patient_search_token', schema=None) as batch_op:
        batch_op.drop_index('ix_patient_search_token_clinic')
    op.drop_table('patient_search_token')
