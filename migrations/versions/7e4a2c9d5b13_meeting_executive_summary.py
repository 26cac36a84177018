"""meeting_executive_summary: the coordinator's shareable executive summary of a meeting (issue 14)

Revision ID: 7e4a2c9d5b13
Revises: b3f1c7e2a9d4
Create Date: 2026-12-07 14:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '7e4a2c9d5b13'
down_revision = 'b3f1c7e2a9d4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('summary_enc', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('summary_updated_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.drop_column('summary_updated_at')
        batch_op.drop_column('summary_enc')
