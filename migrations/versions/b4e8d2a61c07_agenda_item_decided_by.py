"""agenda_items.decided_by_id: a meeting's risk decision lands on the case as its recorder's

Revision ID: b4e8d2a61c07
Revises: 3f6c1b8d2e57
Create Date: 2026-12-03 15:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'b4e8d2a61c07'
down_revision = '3f6c1b8d2e57'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('agenda_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decided_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_agenda_items_decided_by_id_users'), 'users', ['decided_by_id'],
                                    ['id'])


def downgrade():
    with op.batch_alter_table('agenda_items', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_agenda_items_decided_by_id_users'), type_='foreignkey')
        batch_op.drop_column('decided_by_id')
