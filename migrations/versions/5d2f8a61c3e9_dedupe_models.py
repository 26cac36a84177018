"""dedupe_models: the duplicate check's parameters, kept between runs (issue 17)

Revision ID: 5d2f8a61c3e9
Revises: c3d9e1f5a702
Create Date: 2026-12-04 19:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = '5d2f8a61c3e9'
down_revision = 'c3d9e1f5a702'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('dedupe_models',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trained_at', sa.DateTime(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('nominals', sa.Integer(), nullable=False),
    sa.Column('confirmed', sa.Integer(), nullable=False),
    sa.Column('confirmed_key', sa.String(length=64), nullable=False),
    sa.Column('trained_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['trained_by_id'], ['users.id'], name=op.f('fk_dedupe_models_trained_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dedupe_models'))
    )


def downgrade():
    op.drop_table('dedupe_models')
