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


# The triggers as this revision made them (frozen: cohort.change_counter now installs the
# per-category ones of 6b8e0d4f2a17, whose columns do not exist yet here).
_SQLITE = (
    "CREATE TRIGGER IF NOT EXISTS cases_changed_insert AFTER INSERT ON cases BEGIN"
    " INSERT INTO tracker_changes (panel_id, seq) VALUES (NEW.panel_id, 1)"
    " ON CONFLICT (panel_id) DO UPDATE SET seq = seq + 1; END",
    "CREATE TRIGGER IF NOT EXISTS cases_changed_update AFTER UPDATE ON cases BEGIN"
    " INSERT INTO tracker_changes (panel_id, seq) VALUES (NEW.panel_id, 1)"
    " ON CONFLICT (panel_id) DO UPDATE SET seq = seq + 1;"
    " INSERT INTO tracker_changes (panel_id, seq) SELECT OLD.panel_id, 1 WHERE OLD.panel_id <> NEW.panel_id"
    " ON CONFLICT (panel_id) DO UPDATE SET seq = seq + 1; END",
    "CREATE TRIGGER IF NOT EXISTS cases_changed_delete AFTER DELETE ON cases BEGIN"
    " INSERT INTO tracker_changes (panel_id, seq) VALUES (OLD.panel_id, 1)"
    " ON CONFLICT (panel_id) DO UPDATE SET seq = seq + 1; END",
)
_POSTGRESQL = (
    """CREATE OR REPLACE FUNCTION tracker_changes_bump() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  panel integer;
BEGIN
  FOREACH panel IN ARRAY CASE TG_OP WHEN 'INSERT' THEN ARRAY[NEW.panel_id] WHEN 'DELETE' THEN ARRAY[OLD.panel_id]
                                    ELSE ARRAY[NEW.panel_id, OLD.panel_id] END
  LOOP
    -- Once per panel per transaction: the token only has to move, and bumping on every
    -- row would leave an import of 10,000 cases with 10,000 dead versions of the row.
    IF current_setting('tracker_changes.bumped_' || panel, true) IS DISTINCT FROM 'yes' THEN
      INSERT INTO tracker_changes (panel_id, seq) VALUES (panel, 1)
      ON CONFLICT (panel_id) DO UPDATE SET seq = tracker_changes.seq + 1;
      PERFORM set_config('tracker_changes.bumped_' || panel, 'yes', true);
    END IF;
  END LOOP;
  RETURN NULL;
END $$""",
    "DROP TRIGGER IF EXISTS cases_changed ON cases",
    # Deferred to the commit: the panel's row is locked only while the writer commits, not
    # for the rest of its transaction (an import's COPY, a key rotation's batch).
    "CREATE CONSTRAINT TRIGGER cases_changed AFTER INSERT OR UPDATE OR DELETE ON cases"
    " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tracker_changes_bump()",
)


def upgrade():
    op.create_table('tracker_changes',
    sa.Column('panel_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('panel_id')
    )
    op.execute("INSERT INTO tracker_changes (panel_id, seq) SELECT panel_id, count(*) FROM cases GROUP BY panel_id")
    bind = op.get_bind()
    for statement in _POSTGRESQL if bind.dialect.name == "postgresql" else _SQLITE:
        op.execute(statement)
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
