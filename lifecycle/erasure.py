"""Erasing cases and people: the rows go, a tombstone stays, the access log is pseudonymised.

What to delete is found from the schema, not listed by hand: every table with a foreign key
to `cases` or `nominals` (RAG history, notes, needs, actions and their updates, agenda items,
referrals, inclusion reviews, blocking keys, duplicate candidates, merges, export subjects,
and whatever a later feature adds) is emptied of the erased rows, children before parents.
A nominal goes when none of its cases is left on any panel, and with it every record merged
into it (the same person).

On SQLite the erasing connection turns `secure_delete` on, so freed pages are zeroed rather
than left holding ciphertext for a backup to copy. The access log keeps its events: the
ones about an erased case or person lose their `nominal_id` and keep the keyed `subject`
pseudonym the hash chain covers (sharing.audit), so `audit verify` still passes.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Table, and_, delete, select, update
from sqlalchemy.exc import OperationalError

from cohort.models import Case, Nominal
from core import clock
from core.extensions import db
from lifecycle.models import ErasureRun, ExportRecord, ExportSubject, Tombstone
from panels.models import Panel
from sharing.models import AccessEvent, AccessEventNominal

CHUNK = 500
log = logging.getLogger(__name__)


@dataclass
class ErasureResult:
    """What one erasure did (counts and ids only: no personal data)."""

    cases: int = 0
    nominals: int = 0
    rows: int = 0
    events: int = 0
    legacy_events: int = 0
    by_panel: dict[str, int] = field(default_factory=dict)
    case_uids: list[str] = field(default_factory=list)
    nominal_uids: list[str] = field(default_factory=list)
    exports_held: list[int] = field(default_factory=list)  # export numbers not yet destroyed that held them


def chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    ids = list(ids)
    for i in range(0, len(ids), CHUNK):
        yield ids[i:i + CHUNK]


def _referencing(table: Table) -> list[tuple[Table, object]]:
    """(child table, its column) for every foreign key pointing at `table`'s id."""
    out = []
    for child in db.metadata.sorted_tables:
        for fk in child.foreign_keys:
            if fk.column.table is table and fk.column.name == "id":
                out.append((child, fk.parent))
    return out


def _delete_rows(table: Table, ids: list[int], seen: set[tuple[str, int]]) -> int:
    """Delete rows of `table` by id, and first every row that refers to them (recursively)."""
    ids = [i for i in ids if (table.name, i) not in seen]
    if not ids:
        return 0
    seen.update((table.name, i) for i in ids)
    removed = 0
    for child, column in _referencing(table):
        for chunk in chunks(ids):
            if "id" in child.c and child.c.id.primary_key:
                child_ids = [r for (r,) in db.session.execute(select(child.c.id).where(column.in_(chunk)))]
                removed += _delete_rows(child, child_ids, seen)
            else:  # an association row: nothing refers to it
                removed += db.session.execute(delete(child).where(column.in_(chunk))).rowcount or 0
    for chunk in chunks(ids):
        removed += db.session.execute(delete(table).where(table.c.id.in_(chunk))).rowcount or 0
    return removed


def _secure_delete() -> None:
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.connection().exec_driver_sql("PRAGMA secure_delete = ON")


def _tombstones(case_ids: list[int], run: ErasureRun, result: ErasureResult) -> dict[int, set[int]]:
    """Write the tombstones; returns the erased cases' nominal ids by panel id."""
    nominal_ids: dict[int, set[int]] = {}
    today = clock.today()
    for chunk in chunks(case_ids):
        rows = db.session.execute(
            select(Case.id, Case.uid, Case.panel_id, Case.ref, Case.referral_date, Case.exited_on, Case.nominal_id)
            .where(Case.id.in_(chunk))
        ).all()
        if rows:
            db.session.execute(Tombstone.__table__.insert(), [
                dict(case_id=r.id, case_uid=r.uid, panel_id=r.panel_id, ref=r.ref, referral_date=r.referral_date,
                     exited_on=r.exited_on, erased_on=today, run_id=run.id)
                for r in rows
            ])
        for r in rows:
            nominal_ids.setdefault(r.panel_id, set()).add(r.nominal_id)
            result.case_uids.append(r.uid)
    return nominal_ids


def _outstanding_exports(case_ids: list[int]) -> list[int]:
    """Exports not yet recorded destroyed that held these cases: copies erasure cannot reach."""
    found: set[int] = set()
    for chunk in chunks(case_ids):
        found.update(db.session.execute(
            select(ExportRecord.id).join(ExportSubject, ExportSubject.export_id == ExportRecord.id)
            .where(ExportSubject.case_id.in_(chunk), ExportRecord.destroyed_at.is_(None))).scalars())
    return sorted(found)


def _orphans(nominal_ids: list[int]) -> list[int]:
    """Of these nominals, the ones no panel holds any more."""
    held: set[int] = set()
    for chunk in chunks(nominal_ids):
        held.update(n for (n,) in db.session.execute(select(Case.nominal_id).where(Case.nominal_id.in_(chunk))))
    return [n for n in nominal_ids if n not in held]


def _with_merged(nominal_ids: list[int]) -> list[int]:
    """The nominals and every record merged into them (a merge keeps the merged row)."""
    out, frontier = set(nominal_ids), list(nominal_ids)
    while frontier:
        found = []
        for chunk in chunks(frontier):
            found += [n for (n,) in db.session.execute(select(Nominal.id).where(Nominal.merged_into_id.in_(chunk)))]
        frontier = [n for n in found if n not in out]
        out.update(frontier)
    return sorted(out)


def _pseudonymise(case_ids: list[int], nominal_ids: list[int], on_panels: dict[str, set[int]],
                  result: ErasureResult) -> None:
    """The access log keeps the events; the erased person is left only as the chained pseudonym:
    everywhere for a person erased altogether, on the erased panel for one another panel holds."""
    ev, shown = AccessEvent.__table__, AccessEventNominal.__table__
    named = and_(ev.c.subject != "", ev.c.nominal_id.is_not(None))
    for chunk in chunks(case_ids):
        result.events += db.session.execute(
            update(ev).where(ev.c.case_id.in_(chunk), named).values(nominal_id=None)).rowcount or 0
    for chunk in chunks(nominal_ids):
        result.events += db.session.execute(
            update(ev).where(ev.c.nominal_id.in_(chunk), named).values(nominal_id=None)).rowcount or 0
        result.events += db.session.execute(
            update(shown).where(shown.c.nominal_id.in_(chunk)).values(nominal_id=None)).rowcount or 0
    for code, ids in on_panels.items():
        on_panel = select(ev.c.seq).where(ev.c.panel_code == code)
        for chunk in chunks(sorted(ids)):
            result.events += db.session.execute(
                update(ev).where(ev.c.nominal_id.in_(chunk), ev.c.panel_code == code, named)
                .values(nominal_id=None)).rowcount or 0
            result.events += db.session.execute(
                update(shown).where(shown.c.nominal_id.in_(chunk), shown.c.event_seq.in_(on_panel))
                .values(nominal_id=None)).rowcount or 0
    for chunk in chunks(nominal_ids):  # written before events carried a subject: the chain covers the id
        result.legacy_events += db.session.execute(
            select(db.func.count()).select_from(ev).where(ev.c.nominal_id.in_(chunk), ev.c.subject == "")
        ).scalar_one()


def erase_cases(case_ids: Sequence[int], run: ErasureRun, *, panel_codes: dict[int, str] | None = None,
                extra_nominals: Sequence[int] = ()) -> ErasureResult:
    """Erase these cases (tombstones left) and every person no panel holds any more. Flushes only."""
    result = ErasureResult()
    case_ids = sorted(set(case_ids))
    _secure_delete()
    if panel_codes:
        for chunk in chunks(case_ids):
            for (pid,) in db.session.execute(select(Case.panel_id).where(Case.id.in_(chunk))):
                code = panel_codes.get(pid, str(pid))
                result.by_panel[code] = result.by_panel.get(code, 0) + 1
    by_panel = _tombstones(case_ids, run, result)
    nominal_ids = sorted(set().union(*by_panel.values(), extra_nominals))
    result.exports_held = _outstanding_exports(case_ids)
    seen: set[tuple[str, int]] = set()
    result.rows += _delete_rows(Case.__table__, case_ids, seen)
    result.cases = len(case_ids)
    gone = _with_merged(_orphans(nominal_ids))
    for chunk in chunks(gone):
        result.nominal_uids += [u for (u,) in db.session.execute(select(Nominal.uid).where(Nominal.id.in_(chunk)))]
    result.rows += _delete_rows(Nominal.__table__, gone, seen)
    result.nominals = len(gone)
    codes = dict(db.session.execute(select(Panel.id, Panel.code)).all())
    kept = {codes[pid]: ids - set(gone) for pid, ids in by_panel.items() if ids - set(gone)}
    _pseudonymise(case_ids, gone, kept, result)
    run.cases += result.cases
    run.nominals += result.nominals
    run.rows += result.rows
    run.events += result.events
    db.session.flush()
    db.session.expire_all()
    return result


def checkpoint_sqlite() -> None:
    """After the commit: fold the WAL into the database file so erased pages do not linger in
    it (SQLite only; a reader holding an old snapshot can delay part of it to the next run)."""
    if db.engine.dialect.name != "sqlite":
        return
    try:
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    except OperationalError:  # busy: SQLite checkpoints by itself later; the pages are zeroed anyway
        log.info("erasure: WAL checkpoint deferred (database busy)")


def new_run(source: str) -> ErasureRun:
    run = ErasureRun(at=clock.utcnow(), today=clock.today(), source=source)
    db.session.add(run)
    db.session.flush()
    return run


def erased_on(case_id: int) -> dt.date | None:
    """When a case id was erased (for a 410 rather than a 404), or None."""
    return db.session.execute(
        select(Tombstone.erased_on).where(Tombstone.case_id == case_id).order_by(Tombstone.id.desc()).limit(1)
    ).scalar()
