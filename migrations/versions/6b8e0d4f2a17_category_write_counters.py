"""category write counters: cases.category_versions, tracker_changes per (panel, category)

The version a viewer sees and the tracker's change token count only writes to what the
viewer may read (issue 12: they were a channel for withheld data).

Revision ID: 6b8e0d4f2a17
Revises: e4b7c1d93a58
Create Date: 2026-12-04 20:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '6b8e0d4f2a17'
down_revision = 'e4b7c1d93a58'
branch_labels = None
depends_on = None


def _drop_triggers(bind) -> None:
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS cases_changed ON cases")
    else:
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS cases_changed_{name}")


def upgrade():
    from cohort import change_counter

    bind = op.get_bind()
    _drop_triggers(bind)
    op.add_column('cases', sa.Column('category_versions', sa.JSON(), server_default='{}', nullable=False))
    op.drop_table('tracker_changes')
    op.create_table('tracker_changes',
    sa.Column('panel_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('panel_id', 'category', name=op.f('pk_tracker_changes'))
    )
    op.execute("INSERT INTO tracker_changes (panel_id, category, seq)"
               " SELECT panel_id, 'base', count(*) FROM cases GROUP BY panel_id")
    change_counter.install(bind)


def downgrade():
    bind = op.get_bind()
    _drop_triggers(bind)
    if bind.dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS tracker_changes_bump_one(integer, text)")
    op.drop_table('tracker_changes')
    op.create_table('tracker_changes',
    sa.Column('panel_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('panel_id')
    )
    op.execute("INSERT INTO tracker_changes (panel_id, seq) SELECT panel_id, count(*) FROM cases GROUP BY panel_id")
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('category_versions')
