"""access_event_nominals: every nominal an access event showed (issue 12, hole 9)

Revision ID: 9a3c5e7f1b20
Revises: a16e0c2d9f41
Create Date: 2026-12-04 19:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '9a3c5e7f1b20'
down_revision = 'a16e0c2d9f41'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('access_event_nominals',
    sa.Column('event_seq', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=24), nullable=False),
    sa.Column('nominal_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['event_seq'], ['access_events.seq'],
                            name=op.f('fk_access_event_nominals_event_seq_access_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('event_seq', 'subject', name=op.f('pk_access_event_nominals'))
    )
    with op.batch_alter_table('access_event_nominals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_event_nominals_nominal_id'), ['nominal_id'], unique=False)


def downgrade():
    with op.batch_alter_table('access_event_nominals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_event_nominals_nominal_id'))

    op.drop_table('access_event_nominals')
