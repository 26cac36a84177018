"""Retention: which exited cases are past their panel's period, and erasing them.

A case is due when its exit date plus the panel's `retention_days_after_exit` is on or
before today (0 allowed); a panel without the setting erases nothing and says so. The plan
is read the same way for a dry run and for `--commit`, so the dry run shows exactly what
the commit would do. `apply` writes the erasure journal before the database commits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select

from cohort.models import Case
from core import clock
from core.extensions import db
from lifecycle import erasure, journal
from lifecycle.erasure import ErasureResult
from panels.models import Panel
from sharing import audit


@dataclass
class PanelPlan:
    code: str
    days: int | None
    case_ids: list[int] = field(default_factory=list)


@dataclass
class Plan:
    today: dt.date
    panels: list[PanelPlan]

    @property
    def case_ids(self) -> list[int]:
        return [i for p in self.panels for i in p.case_ids]

    def lines(self) -> list[str]:
        out = []
        for p in self.panels:
            if p.days is None:
                out.append(f"{p.code}: no retention period set (retention_days_after_exit): nothing erased")
            else:
                out.append(f"{p.code}: {len(p.case_ids)} case(s) exited on or before "
                           f"{(self.today - dt.timedelta(days=p.days)).isoformat()} ({p.days} days after exit)")
        return out


def plan(today: dt.date | None = None) -> Plan:
    """Every exited case past its panel's retention period, panel by panel."""
    today = today or clock.today()
    panels = []
    for panel in db.session.execute(select(Panel).order_by(Panel.code)).scalars():
        days = panel.retention_days_after_exit
        entry = PanelPlan(panel.code, days)
        if days is not None:
            cutoff = today - dt.timedelta(days=days)
            entry.case_ids = list(db.session.execute(
                select(Case.id).where(Case.panel_id == panel.id, Case.status == "exited",
                                      Case.exited_on.is_not(None), Case.exited_on <= cutoff).order_by(Case.id)
            ).scalars())
        panels.append(entry)
    return Plan(today, panels)


def people_affected(case_ids: list[int]) -> int:
    """How many people the erasure would remove altogether (no case left on any panel)."""
    nominal_ids: set[int] = set()
    for chunk in erasure.chunks(case_ids):
        nominal_ids.update(n for (n,) in db.session.execute(select(Case.nominal_id).where(Case.id.in_(chunk))))
    erased = set(case_ids)
    kept: set[int] = set()
    for chunk in erasure.chunks(sorted(nominal_ids)):
        for nid, cid in db.session.execute(select(Case.nominal_id, Case.id).where(Case.nominal_id.in_(chunk))):
            if cid not in erased:
                kept.add(nid)
    return len(nominal_ids - kept)


def apply(*, source: str = "command line", user=None, today: dt.date | None = None) -> ErasureResult:
    """Erase everything past retention (flushes; the caller commits). Journalled, then logged."""
    the_plan = plan(today)
    if not the_plan.case_ids:
        return ErasureResult()  # nothing due: nothing written, nothing logged
    codes = {p.id: p.code for p in db.session.execute(select(Panel)).scalars()}
    run = erasure.new_run(source)
    result = erasure.erase_cases(the_plan.case_ids, run, panel_codes=codes)
    if result.cases or result.nominals:
        journal.append(run_id=run.id, at=run.at.isoformat(), case_uids=result.case_uids,
                       nominal_uids=result.nominal_uids)
    audit.record("erase", user=user, purpose=f"retention: {source}", detail=summary(result))
    return result


def summary(result: ErasureResult) -> str:
    panels = ", ".join(f"{code} {n}" for code, n in sorted(result.by_panel.items())) or "none"
    text = (f"erased {result.cases} case(s) ({panels}) and {result.nominals} person(s) no panel holds; "
            f"{result.rows} row(s) deleted; {result.events} access-log event(s) pseudonymised")
    if result.exports_held:
        shown = ", ".join(map(str, result.exports_held[:20])) + (" ..." if len(result.exports_held) > 20 else "")
        text += (f"; {len(result.exports_held)} export(s) not yet recorded destroyed held them "
                 f"(no. {shown}): ask their exporters to destroy every copy")
    if result.legacy_events:
        text += (f"; {result.legacy_events} event(s) written before the log carried pseudonyms keep the "
                 "erased record's number")
    return text


def reapply_journal(*, source: str = "restore") -> tuple[ErasureResult, list[str]]:
    """After a restore: erase again whatever the journal says was erased (flushes only)."""
    total, problems = ErasureResult(), []
    run = None
    for entry in journal.entries():
        if isinstance(entry, str):
            problems.append(entry)
            continue
        case_ids, nominal_ids = journal.still_held(entry)
        if not case_ids and not nominal_ids:
            continue
        run = run or erasure.new_run(source)
        done = erasure.erase_cases(case_ids, run, extra_nominals=nominal_ids)
        for name in ("cases", "nominals", "rows", "events", "legacy_events"):
            setattr(total, name, getattr(total, name) + getattr(done, name))
    if run is not None:
        audit.record("erase", purpose=f"retention: {source}",
                     detail=f"re-applied after a restore: {summary(total)}")
    return total, problems
