"""People on more than one panel at once: who, which panel should lead, and the monthly counts.

The plans aim for "reduction in duplication of offenders being discussed at more than one
panel". A viewer is told a person is on two panels only where it reads identity on both
(sharing.gateway.visible_other_panel_ids, the rule the tracker and agenda use), so a nominal
counts as an overlap for them when it is active on two or more of *those* panels.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from cohort.models import Case, Nominal
from core import clock
from core.extensions import db
from sharing.gateway import unsealing, visible_other_panel_ids
from sharing.policy import Policy
from sharing.pseudonym import pseudonym

# The statutory / highest-risk arrangement leads (MAPPA over SGV over IOM over DIP over MARAC).
LEAD_ORDER = ("MAPPA", "SGV", "IOM", "DIP", "MARAC", "ASB", "OTHER")
KIND_WHY = {
    "MAPPA": "MAPPA is the statutory arrangement for the highest-risk sexual and violent offenders",
    "SGV": "serious group violence is the highest-risk arrangement after MAPPA",
    "IOM": "IOM leads over DIP and MARAC/ASB",
    "DIP": "DIP leads over MARAC/ASB",
    "MARAC": "MARAC leads over ASB and other panels",
    "ASB": "ASB leads over other panels",
    "OTHER": "no statutory arrangement applies",
}
PUBLISHED = ("published", "closed")


def _rank(case: Case) -> int:
    kind = case.panel.kind if case.panel.kind in LEAD_ORDER else "OTHER"
    return LEAD_ORDER.index(kind)


def _kind(case: Case) -> str:
    return LEAD_ORDER[_rank(case)]


def active_cases(panel_ids: list[int] | None, nominal_ids: list[int] | None = None) -> list[Case]:
    """Cases not exited, of nominals that are not merged-away pointers."""
    stmt = (db.select(Case).join(Nominal, Nominal.id == Case.nominal_id)
            .where(Case.status != "exited", Nominal.merged_into_id.is_(None)).order_by(Case.nominal_id, Case.id))
    if panel_ids is not None:
        stmt = stmt.where(Case.panel_id.in_(panel_ids))
    if nominal_ids is not None:
        stmt = stmt.where(Case.nominal_id.in_(nominal_ids))
    return list(db.session.execute(stmt).unique().scalars())


def _group(cases: list[Case]) -> dict[int, list[Case]]:
    out: dict[int, list[Case]] = {}
    for case in cases:
        out.setdefault(case.nominal_id, []).append(case)
    return {nid: cs for nid, cs in out.items() if len({c.panel_id for c in cs}) > 1}


def overlapping_panels(nominal_ids: list[int]) -> dict[int, list[str]]:
    """For the "on other panels" flag: nominal id -> codes of every panel it is active on (2+ only)."""
    ids = list(nominal_ids)
    if not ids:
        return {}
    return {nid: sorted({c.panel.code for c in cs}) for nid, cs in _group(active_cases(None, ids)).items()}


@dataclass
class Overlap:
    nominal_id: int
    name: str
    cases: list[Case]
    lead: Case
    why: str

    @property
    def panels(self) -> list[str]:
        return [c.panel.code for c in self.cases]


def suggest_lead(cases: list[Case], policy: Policy | None) -> tuple[Case, str]:
    """The panel that should lead, and why in words: arrangement, then red RAG, then oldest referral."""
    best = min(_rank(c) for c in cases)
    tied = [c for c in cases if _rank(c) == best]
    kind = LEAD_ORDER[best]
    if len(tied) == 1:
        lead = tied[0]
        others = sorted({_kind(c) for c in cases if c is not lead})
        why = (f"{lead.panel.code} should lead: {KIND_WHY[kind]} (order: MAPPA, SGV, IOM, DIP, MARAC); "
               f"also on {', '.join(others)}.")
        return lead, why

    def risk_readable(c: Case) -> bool:
        return policy is None or policy.can(c.panel_id, "risk")

    red = [c for c in tied if c.rag == "red" and risk_readable(c)]
    same = f"all of {', '.join(c.panel.code for c in tied)} are {kind} panels"
    if len(red) == 1:
        return red[0], f"{red[0].panel.code} should lead: {same}, and it has the red RAG."
    pool = red or tied
    lead = min(pool, key=lambda c: (c.referral_date or dt.date.max, c.id))
    when = f" ({lead.referral_date.strftime('%-d %B %Y')})" if lead.referral_date else ""
    red_note = ", both at red RAG" if len(red) > 1 else ""
    return lead, f"{lead.panel.code} should lead: {same}{red_note}, and it has the oldest referral{when}."


def _overlap_panels(policy: Policy | None) -> list[int] | None:
    """The panels a viewer may be told one person is on together (None: every panel)."""
    return None if policy is None else visible_other_panel_ids(policy, None)


@unsealing("names of people on several of the viewer's panels")
def overlaps_for(policy: Policy | None) -> list[Overlap]:
    """Nominals active on 2+ of the viewer's identity panels (all panels for None), with a suggested lead."""
    panel_ids = _overlap_panels(policy)
    if panel_ids is not None and len(panel_ids) < 2:
        return []
    out = []
    for nid, cases in _group(active_cases(panel_ids)).items():
        lead, why = suggest_lead(cases, policy)
        nominal = cases[0].nominal
        name = nominal.full_name or pseudonym(nominal.uid)
        out.append(Overlap(nid, name, sorted(cases, key=lambda c: (_rank(c), c.panel.code)), lead, why))
    out.sort(key=lambda o: (-len(o.cases), o.name.casefold(), o.nominal_id))
    return out


# -- month by month ------------------------------------------------------------------------

def _month_starts(today: dt.date, months: int) -> list[dt.date]:
    first = today.replace(day=1)
    out = []
    for i in range(months - 1, -1, -1):
        y, m = divmod(first.month - 1 - i, 12)
        out.append(dt.date(first.year + y, m + 1, 1))
    return out


def _month_end(start: dt.date) -> dt.date:
    nxt = dt.date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def _active_on(case_row, day: dt.date) -> bool:
    _nid, _pid, referral, exited_on, status, created = case_row
    start = referral or created.date()
    if start > day:
        return False
    if exited_on is not None:
        return exited_on > day
    return status != "exited"


def monthly_counts(policy: Policy | None, *, months: int = 12, today: dt.date | None = None) -> list[dict]:
    """Per month: nominals discussed at 2+ panels (published/closed agendas) and active on 2+ at month end."""
    from panels.models import AgendaItem, Meeting

    today = today or clock.today()
    starts = _month_starts(today, months)
    panel_ids = _overlap_panels(policy)
    if panel_ids is not None and not panel_ids:
        return [{"month": s, "discussed": 0, "active": 0, "to_date": s.month == today.month and
                 s.year == today.year} for s in starts]
    agenda = (db.select(Meeting.date, Meeting.panel_id, Case.nominal_id)
              .join(AgendaItem, AgendaItem.meeting_id == Meeting.id).join(Case, Case.id == AgendaItem.case_id)
              .where(Meeting.status.in_(PUBLISHED), Meeting.date >= starts[0], Meeting.date <= today))
    cases = db.select(Case.nominal_id, Case.panel_id, Case.referral_date, Case.exited_on, Case.status,
                      Case.created_at)
    if panel_ids is not None:
        agenda = agenda.where(Meeting.panel_id.in_(panel_ids))
        cases = cases.where(Case.panel_id.in_(panel_ids))
    discussed: dict[dt.date, dict[int, set[int]]] = {}
    for day, pid, nid in db.session.execute(agenda):
        discussed.setdefault(day.replace(day=1), {}).setdefault(nid, set()).add(pid)
    case_rows = list(db.session.execute(cases))
    out = []
    for start in starts:
        end = min(_month_end(start), today)
        on: dict[int, set[int]] = {}
        for row in case_rows:
            if _active_on(row, end):
                on.setdefault(row[0], set()).add(row[1])
        out.append({
            "month": start,
            "discussed": sum(1 for p in discussed.get(start, {}).values() if len(p) > 1),
            "active": sum(1 for p in on.values() if len(p) > 1),
            "to_date": end < _month_end(start),
        })
    return out


def monthly_csv(rows: list[dict]) -> str:
    """The monthly counts as CSV (numbers and months only: nothing to neutralise)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["month", "discussed_at_2_or_more_panels", "active_on_2_or_more_panels_at_month_end"])
    for r in rows:
        w.writerow([r["month"].strftime("%Y-%m"), r["discussed"], r["active"]])
    return buf.getvalue()
