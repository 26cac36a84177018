"""Data-protection lifecycle: tombstones, erasure runs, the export register, panel retention, ISA lawful basis, access-log subjects

Revision ID: a16e0c2d9f41
Revises: fc1647917b27
Create Date: 2026-12-04 19:50:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a16e0c2d9f41'
down_revision = 'fc1647917b27'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('erasure_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('today', sa.Date(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('cases', sa.Integer(), nullable=False),
    sa.Column('nominals', sa.Integer(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erasure_runs'))
    )
    op.create_table('tombstones',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('case_uid', sa.String(length=32), nullable=False),
    sa.Column('panel_id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('referral_date', sa.Date(), nullable=True),
    sa.Column('exited_on', sa.Date(), nullable=True),
    sa.Column('erased_on', sa.Date(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['panel_id'], ['panels.id'], name=op.f('fk_tombstones_panel_id_panels')),
    sa.ForeignKeyConstraint(['run_id'], ['erasure_runs.id'], name=op.f('fk_tombstones_run_id_erasure_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tombstones')),
    sa.UniqueConstraint('case_uid', name=op.f('uq_tombstones_case_uid'))
    )
    with op.batch_alter_table('tombstones', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tombstones_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tombstones_panel_id'), ['panel_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tombstones_run_id'), ['run_id'], unique=False)

    op.create_table('export_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('agency_code', sa.String(length=32), nullable=False),
    sa.Column('panel_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('purpose_note', sa.Text(), nullable=False),
    sa.Column('destroy_by', sa.Date(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('reminded_on', sa.Date(), nullable=True),
    sa.Column('destroyed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['panel_id'], ['panels.id'], name=op.f('fk_export_records_panel_id_panels')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_export_records_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_records'))
    )
    with op.batch_alter_table('export_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_export_records_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_export_records_destroy_by'), ['destroy_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_export_records_panel_id'), ['panel_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_export_records_user_id'), ['user_id'], unique=False)

    op.create_table('export_subjects',
    sa.Column('export_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('nominal_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_export_subjects_case_id_cases')),
    sa.ForeignKeyConstraint(['export_id'], ['export_records.id'], name=op.f('fk_export_subjects_export_id_export_records'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['nominal_id'], ['nominals.id'], name=op.f('fk_export_subjects_nominal_id_nominals')),
    sa.PrimaryKeyConstraint('export_id', 'case_id', name=op.f('pk_export_subjects'))
    )
    with op.batch_alter_table('export_subjects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_export_subjects_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_export_subjects_nominal_id'), ['nominal_id'], unique=False)

    with op.batch_alter_table('panels', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retention_days_after_exit', sa.Integer(), nullable=True))
    with op.batch_alter_table('isas', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lawful_basis', sa.Text(), server_default='', nullable=False))
    with op.batch_alter_table('access_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject', sa.String(length=24), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('access_events', schema=None) as batch_op:
        batch_op.drop_column('subject')
    with op.batch_alter_table('isas', schema=None) as batch_op:
        batch_op.drop_column('lawful_basis')
    with op.batch_alter_table('panels', schema=None) as batch_op:
        batch_op.drop_column('retention_days_after_exit')
    op.drop_table('export_subjects')
    op.drop_table('export_records')
    op.drop_table('tombstones')
    op.drop_table('erasure_runs')
