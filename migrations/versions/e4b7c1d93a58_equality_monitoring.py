"""Equality monitoring: ethnicity on the nominal (identity, encrypted), the population baseline, and the tracker's RAG counts leaving exited cases out (status in their covering index)

Revision ID: e4b7c1d93a58
Revises: d8c4f2a7b913
Create Date: 2026-12-04 19:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e4b7c1d93a58'
down_revision = 'd8c4f2a7b913'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('population_counts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dimension', sa.String(length=32), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_population_counts')),
    sa.UniqueConstraint('dimension', 'label', name=op.f('uq_population_counts_dimension_label'))
    )
    with op.batch_alter_table('nominals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ethnicity_enc', sa.LargeBinary(), nullable=True))
    op.drop_index('ix_cases_panel_rag', table_name='cases')
    op.create_index('ix_cases_panel_rag', 'cases', ['panel_id', 'rag', 'status'], unique=False)


def downgrade():
    op.drop_index('ix_cases_panel_rag', table_name='cases')
    op.create_index('ix_cases_panel_rag', 'cases', ['panel_id', 'rag'], unique=False)
    with op.batch_alter_table('nominals', schema=None) as batch_op:
        batch_op.drop_column('ethnicity_enc')
    op.drop_table('population_counts')
