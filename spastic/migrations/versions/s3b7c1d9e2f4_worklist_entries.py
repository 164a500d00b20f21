"""the worklist's stored entries (per patient, a step function of the date), filled

Revision ID: s3b7c1d9e2f4
Revises: d13b5a7e0c21
Create Date: 2026-12-02 03:40:00.000000

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.orm import Session


# revision identifiers, used by Alembic.
revision = 's3b7c1d9e2f4'
down_revision = 'd13b5a7e0c21'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'worklist_entry',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('patient_id', sa.Integer(), nullable=False),
        sa.Column('clinic_id', sa.Integer(), nullable=False),
        sa.Column('valid_from', sa.Date(), nullable=False),
        sa.Column('valid_until', sa.Date(), nullable=False),
        sa.Column('sort_name', sa.String(length=210), nullable=False),
        sa.Column('review_date', sa.Date(), nullable=True),
        sa.Column('refill_due', sa.Date(), nullable=True),
        sa.Column('has_pump', sa.Boolean(), nullable=False),
        sa.Column('flag_rank', sa.Integer(), nullable=False),
        sa.Column('last_visit', sa.Date(), nullable=True),
        sa.Column('last_dose_change', sa.Date(), nullable=True),
        sa.Column('booked_review', sa.Date(), nullable=True),
        sa.Column('review_interval_days', sa.Integer(), nullable=False),
        sa.Column('review_after_change_days', sa.Integer(), nullable=False),
        sa.Column('flags', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ['clinic_id'], ['clinic.id'], name=op.f('fk_worklist_entry_clinic_id_clinic')
        ),
        sa.ForeignKeyConstraint(
            ['patient_id'], ['patient.id'], name=op.f('fk_worklist_entry_patient_id_patient')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_worklist_entry')),
    )
    with op.batch_alter_table('worklist_entry', schema=None) as batch_op:
        batch_op.create_index(
            'ix_worklist_entry_clinic_valid', ['clinic_id', 'valid_until'], unique=False
        )
        batch_op.create_index(
            batch_op.f('ix_worklist_entry_patient_id'), ['patient_id'], unique=False
        )
    # Fill it from every patient's history, by the worklist's own definition.
    from spastic.patients.worklist_entries import rebuild

    session = Session(bind=op.get_bind())
    rebuild(session=session)
    session.flush()
    session.close()


def downgrade():
    with op.batch_alter_table('worklist_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_worklist_entry_patient_id'))
        batch_op.drop_index('ix_worklist_entry_clinic_valid')
    op.drop_table('worklist_entry')
