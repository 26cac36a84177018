"""A data protection impact assessment document per panel, drawn from the agreements in force.

Who can see and change what (agency x category, from the ISA grants in force today), the
retention period and the review intervals (the panel's settings), and the lawful basis,
purpose and signatories recorded on each agreement. Nothing about any person: counts only.
Gaps a DPO must close are listed (no retention period, no lawful basis recorded...).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from cohort.models import Case
from core import clock
from core.extensions import db
from lifecycle.models import Tombstone
from panels.models import Panel
from sharing.crypto import CATEGORIES
from sharing.gateway import agreements_in_force
from sharing.models import Isa, isa_panels


def _agreements(panel: Panel) -> list[Isa]:
    today = clock.today()
    return list(db.session.execute(
        select(Isa).join(isa_panels, isa_panels.c.isa_id == Isa.id)
        .where(isa_panels.c.panel_id == panel.id, agreements_in_force(today)).order_by(Isa.ref)
    ).scalars())


def _matrix(isas: list[Isa]) -> dict[str, dict[str, str]]:
    """agency code -> category -> "read" / "read and change" (the widest grant in force)."""
    out: dict[str, dict[str, str]] = {}
    for isa in isas:
        for grant in isa.grants:
            row = out.setdefault(grant.agency.code, {})
            if row.get(grant.category) != "read and change":
                row[grant.category] = "read and change" if grant.access == "rw" else "read"
    return dict(sorted(out.items()))


def document(panel: Panel) -> dict[str, Any]:
    isas = _agreements(panel)
    counts = dict(db.session.execute(
        select(Case.status, func.count()).where(Case.panel_id == panel.id).group_by(Case.status)
    ).all())
    erased = db.session.execute(select(func.count()).select_from(Tombstone).where(Tombstone.panel_id == panel.id))
    gaps = []
    if panel.retention_days_after_exit is None:
        gaps.append("No retention period is set (retention_days_after_exit): exited people are kept indefinitely.")
    if not panel.inclusion_review_days:
        gaps.append("No inclusion review interval is set (inclusion_review_days).")
    if not isas:
        gaps.append("No agreement is in force: nothing is shared on this panel.")
    gaps += [f"{i.ref}: no lawful basis recorded." for i in isas if not (i.lawful_basis or "").strip()]
    gaps += [f"{i.ref}: no purpose recorded." for i in isas if not (i.purpose or "").strip()]
    return {
        "panel": {"code": panel.code, "name": panel.name, "kind": panel.kind,
                  "chair": panel.chair.code if panel.chair else None},
        "made_on": clock.today().isoformat(),
        "agreements": [{"ref": i.ref, "title": i.title, "purpose": i.purpose, "lawful_basis": i.lawful_basis,
                        "starts": i.starts.isoformat(), "review": i.review.isoformat() if i.review else None,
                        "expires": i.expires.isoformat(), "signatories": i.signatories} for i in isas],
        "categories": list(CATEGORIES),
        "matrix": _matrix(isas),
        "retention_days_after_exit": panel.retention_days_after_exit,
        "inclusion_review_days": panel.inclusion_review_days,
        "review_interval_days": panel.review_interval_days,
        "cases": {"live": sum(n for s, n in counts.items() if s != "exited"), "exited": counts.get("exited", 0),
                  "erased": erased.scalar_one()},
        "gaps": gaps,
    }
