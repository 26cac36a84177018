"""tracker_changes: a per-panel write count kept by triggers on cases

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


def upgrade():
    from cohort import change_counter

    op.create_table('tracker_changes',
    sa.Column('panel_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('panel_id')
    )
    op.execute("INSERT INTO tracker_changes (panel_id, seq) SELECT panel_id, count(*) FROM cases GROUP BY panel_id")
    change_counter.install(op.get_bind())


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS cases_changed ON cases")
        op.execute("DROP FUNCTION IF EXISTS tracker_changes_bump()")
    else:
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS cases_changed_{name}")
    op.drop_table('tracker_changes')
