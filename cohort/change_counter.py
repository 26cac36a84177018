"""Write counters per category: a case's, and a panel's, kept so a viewer's counts see only
what the viewer may read (issue 12: the version and the tracker token were a channel).

Each case carries `category_versions`: how many flushes changed each category of it
("base" for what everyone on the panel sees -- status, reference, panel, person -- and
"_writes" for any write at all). The ORM bumps them here, before each flush, from the
columns that changed (the field -> category map is the gateway's); an edit of a person's
identity or contact details bumps those categories on every case of the person. The
version a viewer is shown, and must send back (409 when stale), is
`sharing.gateway.case_version`: base plus the categories it reads.

The tracker's change token is read on every page, poll and API call. A trigger on `cases`
bumps `tracker_changes` (panel, category) whenever a category's counter moves, and
(panel, "base") on an insert, a delete, a move between panels, or an UPDATE made outside
the ORM that leaves the counters alone (SQL by hand: everyone's token moves, which shows
nothing). The token then sums only the rows of the categories the viewer reads.

On PostgreSQL the bump is deferred to the commit and made once per (panel, category) per
transaction, however many of its cases the transaction wrote: a panel's rows are locked
only while a writer commits, so writers on one panel queue for the length of a commit,
never behind a long transaction (SQLite serialises writers anyway, and bumps on every row).
"""

from __future__ import annotations

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from core.extensions import db
from sharing.crypto import CATEGORIES
from sharing.gateway import CONTACT_FIELDS, FIELD_CATEGORY, IDENTITY_FIELDS

COUNTED = ("base", *CATEGORIES)  # the keys a viewer's sums may include
BASE_COLUMNS = ("status", "ref", "panel_id", "nominal_id")


def _json_changed(key: str) -> str:
    """SQLite: did this UPDATE move the case's counter for `key`?"""
    return (f"json_extract(NEW.category_versions, '$.{key}')"
            f" IS NOT json_extract(OLD.category_versions, '$.{key}')")


def _sqlite_bump(panel: str, key: str, when: str = "1") -> str:
    return (f" INSERT INTO tracker_changes (panel_id, category, seq) SELECT {panel}, '{key}', 1 WHERE {when}"
            " ON CONFLICT (panel_id, category) DO UPDATE SET seq = seq + 1;")


def _sqlite() -> tuple[str, ...]:
    per_category = "".join(_sqlite_bump("NEW.panel_id", k, _json_changed(k))
                           for k in COUNTED)
    untouched = _json_changed("_writes").replace("IS NOT", "IS")
    return (
        "DROP TRIGGER IF EXISTS cases_changed_insert",
        "DROP TRIGGER IF EXISTS cases_changed_update",
        "DROP TRIGGER IF EXISTS cases_changed_delete",
        "CREATE TRIGGER cases_changed_insert AFTER INSERT ON cases BEGIN"
        + _sqlite_bump("NEW.panel_id", "base") + " END",
        "CREATE TRIGGER cases_changed_update AFTER UPDATE ON cases BEGIN" + per_category
        + _sqlite_bump("NEW.panel_id", "base", f"OLD.panel_id <> NEW.panel_id OR ({untouched})")
        + _sqlite_bump("OLD.panel_id", "base", "OLD.panel_id <> NEW.panel_id") + " END",
        "CREATE TRIGGER cases_changed_delete AFTER DELETE ON cases BEGIN"
        + _sqlite_bump("OLD.panel_id", "base") + " END",
    )


_POSTGRESQL = (
    """CREATE OR REPLACE FUNCTION tracker_changes_bump_one(panel integer, cat text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  -- Once per (panel, category) per transaction: the token only has to move, and bumping on
  -- every row would leave an import of 10,000 cases with 10,000 dead versions of the row.
  IF current_setting('tracker_changes.bumped_' || panel || '_' || cat, true) IS DISTINCT FROM 'yes' THEN
    INSERT INTO tracker_changes (panel_id, category, seq) VALUES (panel, cat, 1)
    ON CONFLICT (panel_id, category) DO UPDATE SET seq = tracker_changes.seq + 1;
    PERFORM set_config('tracker_changes.bumped_' || panel || '_' || cat, 'yes', true);
  END IF;
END $$""",
    f"""CREATE OR REPLACE FUNCTION tracker_changes_bump() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  cat text;
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM tracker_changes_bump_one(NEW.panel_id, 'base');
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM tracker_changes_bump_one(OLD.panel_id, 'base');
  ELSE
    FOREACH cat IN ARRAY ARRAY[{", ".join(f"'{k}'" for k in COUNTED)}] LOOP
      IF (NEW.category_versions->>cat) IS DISTINCT FROM (OLD.category_versions->>cat) THEN
        PERFORM tracker_changes_bump_one(NEW.panel_id, cat);
      END IF;
    END LOOP;
    IF OLD.panel_id <> NEW.panel_id THEN
      PERFORM tracker_changes_bump_one(OLD.panel_id, 'base');
      PERFORM tracker_changes_bump_one(NEW.panel_id, 'base');
    ELSIF (NEW.category_versions->>'_writes') IS NOT DISTINCT FROM (OLD.category_versions->>'_writes') THEN
      PERFORM tracker_changes_bump_one(NEW.panel_id, 'base');  -- written around the ORM
    END IF;
  END IF;
  RETURN NULL;
END $$""",
    "DROP TRIGGER IF EXISTS cases_changed ON cases",
    # Deferred to the commit: the panel's rows are locked only while the writer commits, not
    # for the rest of its transaction (an import's COPY, a key rotation's batch).
    "CREATE CONSTRAINT TRIGGER cases_changed AFTER INSERT OR UPDATE OR DELETE ON cases"
    " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tracker_changes_bump()",
)


def install(conn: Connection) -> None:
    """Create (or replace) the triggers; the migrations and `create_all` call this."""
    for statement in _POSTGRESQL if conn.dialect.name == "postgresql" else _sqlite():
        conn.execute(text(statement))


@event.listens_for(db.metadata, "after_create")
def _after_create(_metadata, conn: Connection, **_kw) -> None:
    install(conn)


# -- the counters on each case, bumped by the ORM -----------------------------------------

def _columns_of(mapper, fields, category_of) -> dict[str, str]:
    """attribute key -> category, for the mapped columns behind the fields."""
    keys = set(mapper.columns.keys())
    out = {}
    for field in fields:
        for key in (field, f"{field}_enc", f"{field}_id"):
            if key in keys:
                out[key] = category_of(field)
    return out


@event.listens_for(Session, "before_flush")
def _count_category_writes(session: Session, _flush_context, _instances) -> None:
    from cohort.models import Case, Nominal  # this module is imported by cohort.models itself

    with session.no_autoflush:
        for obj in list(session.dirty):
            if isinstance(obj, Case) and session.is_modified(obj, include_collections=False):
                _bump(obj, _changed(obj, _case_columns(Case)) | {"_writes"})
            elif isinstance(obj, Nominal) and session.is_modified(obj, include_collections=False):
                changed = _changed(obj, _nominal_columns(Nominal))
                if changed:
                    for case in obj.cases:
                        _bump(case, changed | {"_writes"})


def _changed(obj, columns: dict[str, str]) -> set[str]:
    state = inspect(obj)
    return {category for key, category in columns.items() if state.attrs[key].history.has_changes()}


def _bump(case, categories: set[str]) -> None:
    counts = dict(case.category_versions or {})
    for category in categories:
        counts[category] = counts.get(category, 0) + 1
    case.category_versions = counts  # a new dict: the JSON column sees the change


_CASE_COLUMNS: dict[str, str] = {}
_NOMINAL_COLUMNS: dict[str, str] = {}


def _case_columns(model) -> dict[str, str]:
    if not _CASE_COLUMNS:
        _CASE_COLUMNS.update(_columns_of(inspect(model), FIELD_CATEGORY, FIELD_CATEGORY.get))
        _CASE_COLUMNS.update(dict.fromkeys(BASE_COLUMNS, "base"))
    return _CASE_COLUMNS


def _nominal_columns(model) -> dict[str, str]:
    if not _NOMINAL_COLUMNS:
        fields = (*IDENTITY_FIELDS, "ethnicity", "merged_into")
        _NOMINAL_COLUMNS.update(_columns_of(inspect(model), fields, lambda f: "identity"))
        _NOMINAL_COLUMNS.update(_columns_of(inspect(model), CONTACT_FIELDS, lambda f: "contact"))
    return _NOMINAL_COLUMNS


_BUMP_PANEL = text(
    "INSERT INTO tracker_changes (panel_id, category, seq) VALUES (:panel_id, :category, 1)"
    " ON CONFLICT (panel_id, category) DO UPDATE SET seq = tracker_changes.seq + 1"
)


def panel_written(panel_id: int, category: str) -> None:
    """A write the case counters do not see (an inclusion decision, a row of its own that a
    tracker flag is drawn from) moves the panel's change token for readers of `category`,
    without moving any case's version (no one's form goes stale)."""
    db.session.execute(_BUMP_PANEL, {"panel_id": panel_id, "category": category})
