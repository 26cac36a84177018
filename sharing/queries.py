"""Reads of the sharing feature: agreements, their warnings, the sharing matrix, the access log.

None of these return case data: agreements and the access log are about who may see and who
has seen, so administrators and auditors can use them without reading a single case.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import or_

from auth.models import Agency
from core.extensions import db
from core.templating import format_date
from panels.models import Panel
from sharing.crypto import CATEGORIES
from sharing.gateway import agreements_in_force
from sharing.models import AccessEvent, AccessEventNominal, Isa, IsaGrant, isa_panels

WARN_DAYS = 30
PAGE_SIZE = 50


# -- agreements ---------------------------------------------------------------------------

def all_isas() -> list[Isa]:
    return list(db.session.execute(db.select(Isa).order_by(Isa.expires, Isa.ref)).scalars())


def get_isa(isa_id: int) -> Isa | None:
    return db.session.get(Isa, isa_id)


def display_status(isa: Isa, on: dt.date) -> str:
    """What the agreement means today: "in force", "expired", "not started", or its status."""
    if isa.status == "active":
        if on < isa.starts:
            return "not started"
        if on >= isa.expires:
            return "expired"
        return "in force"
    return isa.status


def _days(n: int) -> str:
    return "1 day" if abs(n) == 1 else f"{abs(n)} days"


def isa_warnings(on: dt.date, agency_id: int | None = None) -> list[dict]:
    """Agreements whose review or expiry date is within 30 days or has passed; with
    `agency_id`, only those that agency is party to (a grant to it), so a partner is never
    told of an agreement, or the panel its reference names, it takes no part in.

    Only live agreements (active or suspended) warn: drafts are not sharing yet and ended
    ones never will again. An expired agreement warns about its expiry, not its review.
    """
    stmt = db.select(Isa).where(Isa.status.in_(("active", "suspended"))).order_by(Isa.expires, Isa.ref)
    if agency_id is not None:
        stmt = stmt.where(Isa.id.in_(db.select(IsaGrant.isa_id).where(IsaGrant.agency_id == agency_id)))
    rows = db.session.execute(stmt).scalars()
    out: list[dict] = []
    for isa in rows:
        days_to_expiry = (isa.expires - on).days
        if days_to_expiry <= 0:
            out.append(_warning(isa, "expiry", isa.expires, days_to_expiry,
                                f"{isa.ref} expired on {format_date(isa.expires)}: nothing is shared under it. "
                                "Renew it or end it."))
            continue
        if days_to_expiry <= WARN_DAYS:
            out.append(_warning(isa, "expiry", isa.expires, days_to_expiry,
                                f"{isa.ref} expires on {format_date(isa.expires)} (in {_days(days_to_expiry)}): "
                                "sharing under it stops that day unless it is renewed."))
        if isa.review is not None:
            days_to_review = (isa.review - on).days
            if days_to_review < 0:
                out.append(_warning(isa, "review", isa.review, days_to_review,
                                    f"{isa.ref} review was due on {format_date(isa.review)} "
                                    f"({_days(days_to_review)} ago)."))
            elif days_to_review <= WARN_DAYS:
                when = "today" if days_to_review == 0 else f"in {_days(days_to_review)}"
                out.append(_warning(isa, "review", isa.review, days_to_review,
                                    f"{isa.ref} review is due on {format_date(isa.review)} ({when})."))
    return out


def _warning(isa: Isa, kind: str, date: dt.date, days: int, message: str) -> dict:
    return {"isa_id": isa.id, "ref": isa.ref, "kind": kind, "date": date, "days": days, "message": message}


@dataclass
class PanelMatrix:
    panel: Panel
    agencies: list[Agency]
    cells: dict[tuple[int, str], str] = field(default_factory=dict)  # (agency_id, category) -> r | rw
    refs: list[str] = field(default_factory=list)

    def access(self, agency_id: int, category: str) -> str:
        return self.cells.get((agency_id, category), "")


def sharing_matrix(on: dt.date) -> list[PanelMatrix]:
    """For each panel: which agency may read or write which category under agreements in force on `on`.

    Several agreements covering one panel combine; the widest grant wins (the policy's rule).
    """
    panels = list(db.session.execute(db.select(Panel).order_by(Panel.code)).scalars())
    rows = db.session.execute(
        db.select(isa_panels.c.panel_id, IsaGrant.agency_id, IsaGrant.category, IsaGrant.access, Isa.ref)
        .join(Isa, Isa.id == IsaGrant.isa_id)
        .join(isa_panels, isa_panels.c.isa_id == Isa.id)
        .where(agreements_in_force(on))
    ).all()
    agencies = {a.id: a for a in db.session.execute(db.select(Agency).order_by(Agency.code)).scalars()}
    by_panel: dict[int, PanelMatrix] = {p.id: PanelMatrix(p, []) for p in panels}
    for panel_id, agency_id, category, access, ref in rows:
        pm = by_panel[panel_id]
        key = (agency_id, category)
        if access == "rw" or key not in pm.cells:
            pm.cells[key] = access
        if ref not in pm.refs:
            pm.refs.append(ref)
    for pm in by_panel.values():
        ids = {agency_id for agency_id, _ in pm.cells}
        pm.agencies = [a for a in agencies.values() if a.id in ids]
        pm.refs.sort()
    return list(by_panel.values())


def grant_table(isa: Isa) -> tuple[list[Agency], dict[tuple[int, str], str]]:
    """The agreement's parties (agencies with any grant) and its agency x category grants."""
    cells = {(g.agency_id, g.category): g.access for g in isa.grants}
    parties = sorted({g.agency for g in isa.grants}, key=lambda a: a.code)
    return parties, cells


# -- the access log -----------------------------------------------------------------------

@dataclass
class LogFilters:
    email: str = ""
    agency: str = ""
    action: str = ""
    outcome: str = ""
    panel: str = ""
    nominal_id: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in self.__dict__.items() if v not in ("", None)]
        return "filters: " + (", ".join(parts) if parts else "none")


def _london_midnight_utc(day: dt.date) -> dt.datetime:
    from core.clock import LONDON

    return dt.datetime.combine(day, dt.time(), tzinfo=LONDON).astimezone(dt.UTC).replace(tzinfo=None)


def _filtered(filters: LogFilters):
    stmt = db.select(AccessEvent)
    if filters.email:
        stmt = stmt.where(AccessEvent.user_email.ilike(f"%{_escape_like(filters.email.strip())}%", escape="\\"))
    if filters.agency:
        stmt = stmt.where(AccessEvent.agency_code == filters.agency)
    if filters.action:
        stmt = stmt.where(AccessEvent.action == filters.action)
    if filters.outcome:
        stmt = stmt.where(AccessEvent.outcome == filters.outcome)
    if filters.panel:
        stmt = stmt.where(AccessEvent.panel_code == filters.panel)
    if filters.nominal_id is not None:
        stmt = stmt.where(_about_nominal(filters.nominal_id))
    # Dates are London days: "from 1 June" starts at local midnight, "to 30 June" includes all of it.
    if filters.date_from is not None:
        stmt = stmt.where(AccessEvent.at >= _london_midnight_utc(filters.date_from))
    if filters.date_to is not None:
        stmt = stmt.where(AccessEvent.at < _london_midnight_utc(filters.date_to + dt.timedelta(days=1)))
    return stmt


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _about_nominal(nominal_id: int):
    return _about_nominals([nominal_id])


def _about_nominals(nominal_ids: list[int]):
    """Events naming one of the nominals, one of their cases, or showing them among others
    (a tracker page, an export, an agenda: access_event_nominals)."""
    from cohort.models import Case

    case_ids = db.select(Case.id).where(Case.nominal_id.in_(nominal_ids)).scalar_subquery()
    shown = db.select(AccessEventNominal.event_seq).where(AccessEventNominal.nominal_id.in_(nominal_ids))
    return or_(AccessEvent.nominal_id.in_(nominal_ids), AccessEvent.case_id.in_(case_ids),
               AccessEvent.seq.in_(shown.scalar_subquery()))


@dataclass
class LogPage:
    events: list[AccessEvent]
    page: int
    pages: int
    total: int


def log_page(filters: LogFilters, page: int = 1, size: int = PAGE_SIZE) -> LogPage:
    """One page of matching events, newest first."""
    stmt = _filtered(filters)
    total = db.session.execute(db.select(db.func.count()).select_from(stmt.subquery())).scalar_one()
    pages = max(1, -(-total // size))
    page = min(max(1, page), pages)
    events = list(
        db.session.execute(stmt.order_by(AccessEvent.seq.desc()).limit(size).offset((page - 1) * size)).scalars()
    )
    return LogPage(events, page, pages, total)


def log_events(filters: LogFilters, batch: int = 1000):
    """Every matching event, newest first, streamed in batches (for the CSV export)."""
    stmt = _filtered(filters).order_by(AccessEvent.seq.desc())
    last_seq = None
    while True:
        q = stmt if last_seq is None else stmt.where(AccessEvent.seq < last_seq)
        rows = list(db.session.execute(q.limit(batch)).scalars())
        if not rows:
            return
        yield from rows
        last_seq = rows[-1].seq


def nominal_events(nominal_id: int | list[int]) -> list[AccessEvent]:
    """Everything the log holds about one nominal (or several): who, agency, when, what,
    categories, purpose -- including pages and files that showed them among others."""
    ids = [nominal_id] if isinstance(nominal_id, int) else list(nominal_id)
    if not ids:
        return []
    stmt = db.select(AccessEvent).where(_about_nominals(ids)).order_by(AccessEvent.seq.desc())
    return list(db.session.execute(stmt).scalars())


def nominals_matching(q: str) -> list[int]:
    """Nominal ids whose name or identifier matches `q` (as the tracker search matches), over
    everyone: the auditor answers for the whole log. Records merged into a match come too --
    the log names them under their old ids."""
    from cohort.models import Nominal
    from cohort.queries import match_nominals  # the search cohort uses, decrypting in its own scope

    found = match_nominals(q, db.select(Nominal.id))
    if not found:
        return []
    merged = db.session.execute(db.select(Nominal.id).where(Nominal.merged_into_id.in_(found))).scalars()
    return [*found, *sorted(set(merged) - set(found))]


def log_choices() -> dict[str, list[str]]:
    """Values the filters offer: agencies, panels and actions that appear in the service."""
    from sharing.audit import ACTIONS

    return {
        "agencies": [c for (c,) in db.session.execute(db.select(Agency.code).order_by(Agency.code))],
        "panels": [c for (c,) in db.session.execute(db.select(Panel.code).order_by(Panel.code))],
        "actions": list(ACTIONS),
        "outcomes": ["allowed", "refused"],
        "categories": list(CATEGORIES),
    }


def lapsed_sharing(agency_id: int | None, panel_id: int, on) -> str | None:
    """Why an agency that was party to a panel's agreement sees nothing there now, in words
    for the partner ("Sharing on IOM is suspended since ..."), or None if it never was or
    an agreement is in force (then the refusal is about the role, not the agreement).

    It names only the agency's own agreements, so it says nothing about anyone's data."""
    if agency_id is None:
        return None
    rows = db.session.execute(
        db.select(Isa, Panel.code)
        .join(IsaGrant, IsaGrant.isa_id == Isa.id).join(isa_panels, isa_panels.c.isa_id == Isa.id)
        .join(Panel, Panel.id == isa_panels.c.panel_id)
        .where(IsaGrant.agency_id == agency_id, isa_panels.c.panel_id == panel_id)
        .order_by(Isa.updated_at.desc())
    ).unique().all()
    if not rows or any(isa.in_force(on) for isa, _code in rows):
        return None
    isa, code = rows[0]
    if isa.status == "suspended":
        why = f"is suspended since {format_date(isa.updated_at)}"
    elif isa.status == "ended":
        why = f"ended on {format_date(isa.updated_at)}"
    elif isa.status == "active" and isa.expires <= on:
        why = f"expired on {format_date(isa.expires)}"
    elif isa.status == "active":
        why = f"starts on {format_date(isa.starts)}"
    else:
        why = "is not in force yet"
    return f"Sharing on {code} under agreement {isa.ref} {why}. Ask the panel coordinator."
