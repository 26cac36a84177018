"""tracker_changes: a per-panel write count kept by triggers on cases; the tracker's order indexed

Revision ID: 7d1e2a9b4c30
Revises: c55bbc0eae1a
Create Date: 2026-11-23 15:05:00

"""
from alembic import op
import sqlalchemy as sa


revision = '7d1e2a9b4c30'
down_revision = 'c55bbc0eae1a'
branch_labels = None
depends_on = None

# As cohort.models.RAG_ORDER renders (the planner matches the query's ORDER BY to it).
RAG_ORDER = "(CASE WHEN (rag = 'red') THEN 0 WHEN (rag = 'amber') THEN 1 WHEN (rag = 'green') THEN 2 ELSE 3 END)"


def upgrade():
    from cohort import change_counter

    op.create_table('tracker_changes',
    sa.Column('panel_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('panel_id')
    )
    op.execute("INSERT INTO tracker_changes (panel_id, seq) SELECT panel_id, count(*) FROM cases GROUP BY panel_id")
    change_counter.install(op.get_bind())
    # The token no longer scans the panel: the RAG counts need only (panel_id, rag), and
    # nothing reads cases by updated_at any more.
    op.drop_index('ix_cases_panel_change', table_name='cases')
    op.drop_index('ix_cases_updated_at', table_name='cases')
    op.create_index('ix_cases_panel_rag', 'cases', ['panel_id', 'rag'], unique=False)
    op.create_index('ix_cases_panel_rag_order', 'cases', ['panel_id', sa.text(RAG_ORDER), 'ref', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_cases_panel_rag_order', table_name='cases')
    op.drop_index('ix_cases_panel_rag', table_name='cases')
    op.create_index('ix_cases_updated_at', 'cases', ['updated_at'], unique=False)
    op.create_index('ix_cases_panel_change', 'cases', ['panel_id', 'version', 'rag'], unique=False)
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS cases_changed ON cases")
        op.execute("DROP FUNCTION IF EXISTS tracker_changes_bump()")
    else:
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS cases_changed_{name}")
    op.drop_table('tracker_changes')
