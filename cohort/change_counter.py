"""A count per panel that moves whenever the panel's cases are written, kept by the database.

The tracker's change token is read on every page, poll and API call. Counting and summing
a 5,000-case panel for it cost 0.6 ms a time; a trigger on `cases` instead bumps the
panel's row in `tracker_changes` on every insert, update and delete, whatever wrote it
(the ORM, an import's COPY, a restore, a hand-run UPDATE), so the token is a look-up.

On PostgreSQL the bump is deferred to the commit and made once per panel per transaction,
however many of its cases the transaction wrote: a panel's row is locked only while a
writer commits, so writers on one panel queue for the length of a commit, never behind a
long transaction (SQLite serialises writers anyway, and bumps on every row). The bump
becomes visible with the writes it counts, at commit. The sum over all panels moves with
any case written anywhere, which is what the "on other panels" flag needs.
"""

from __future__ import annotations

from sqlalchemy import event, text
from sqlalchemy.engine import Connection

from core.extensions import db

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


def install(conn: Connection) -> None:
    """Create the triggers (idempotent); the migration and `create_all` both call this."""
    for statement in _POSTGRESQL if conn.dialect.name == "postgresql" else _SQLITE:
        conn.execute(text(statement))


@event.listens_for(db.metadata, "after_create")
def _after_create(_metadata, conn: Connection, **_kw) -> None:
    install(conn)
