"""the worklist's index covers what its page sorts, filters and counts by

Revision ID: s5a2d7e4c1f8
Revises: s4c1e5a9d2b7
Create Date: 2026-12-02 19:30:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 's5a2d7e4c1f8'
down_revision = 's4c1e5a9d2b7'
branch_labels = None
depends_on = None

COVERED = [
    'clinic_id',
    'valid_until',
    'valid_from',
    'flag_rank',
    'review_date',
    'refill_due',
    'has_pump',
    'sort_name',
    'patient_id',
]


def upgrade():
    with op.batch_alter_table('worklist_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_worklist_entry_clinic_valid')
        batch_op.create_index('ix_worklist_entry_clinic_valid', COVERED, unique=False)


def downgrade():
    with op.batch_alter_table('worklist_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_worklist_entry_clinic_valid')
        batch_op.create_index(
            'ix_worklist_entry_clinic_valid', ['clinic_id', 'valid_until'], unique=False
        )
