"""Changes to information-sharing agreements, each logged in the same transaction.

Services flush; the request commits. Every change writes an "admin" row to the access log
saying what changed, so an auditor can see when an agency gained or lost access and who
made it so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from auth.models import Agency
from core.extensions import db
from panels.models import Panel
from sharing import audit
from sharing.crypto import CATEGORIES
from sharing.models import ISA_STATUSES, Isa, IsaGrant

# action -> (statuses it applies to, the status it leads to, past tense for messages)
TRANSITIONS = {
    "activate": (("draft", "suspended"), "active", "made active"),
    "suspend": (("active",), "suspended", "suspended"),
    "end": (("draft", "active", "suspended"), "ended", "ended"),
}


class IsaInvalid(ValueError):
    """A change that cannot be accepted; `field` names the form field it belongs to."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass
class IsaData:
    ref: str
    title: str
    purpose: str
    panel_ids: list[int]
    starts: dt.date
    review: dt.date | None
    expires: dt.date
    signatories: str
    grants: dict[tuple[int, str], str]  # (agency_id, category) -> "r" | "rw"
    status: str = "draft"


def _validate(data: IsaData, isa: Isa | None) -> None:
    ref = data.ref.strip()
    if not ref:
        raise IsaInvalid("Enter a reference", "ref")
    clash = db.session.execute(db.select(Isa.id).where(Isa.ref == ref)).scalar_one_or_none()
    if clash is not None and (isa is None or clash != isa.id):
        raise IsaInvalid(f"An agreement with the reference {ref} already exists", "ref")
    if not data.panel_ids:
        raise IsaInvalid("Choose the panels this agreement covers", "panels")
    if data.expires <= data.starts:
        raise IsaInvalid("The expiry date must be after the start date", "expires")
    if data.review is not None and not data.starts <= data.review <= data.expires:
        raise IsaInvalid("The review date must fall between the start and expiry dates", "review")
    if data.status not in ISA_STATUSES or data.status == "ended":
        raise IsaInvalid("Choose whether the agreement is a draft or active", "status")
    for (_agency, category), access in data.grants.items():
        if category not in CATEGORIES or access not in ("r", "rw"):
            raise IsaInvalid("Choose none, read or read and write for each agency and category", "grants")
    if not data.grants:
        raise IsaInvalid("Give at least one agency access to at least one category", "grants")


def _apply(isa: Isa, data: IsaData) -> list[str]:
    """Write the data onto the agreement; return a description of each change."""
    changes: list[str] = []
    for name in ("ref", "title", "purpose", "starts", "review", "expires", "signatories", "status"):
        value = getattr(data, name)
        if isinstance(value, str):
            value = value.strip()
        if getattr(isa, name) != value:
            old = getattr(isa, name)
            setattr(isa, name, value)
            if name in ("purpose", "signatories"):
                changes.append(f"{name} changed")
            else:
                changes.append(f"{name}: {old or 'none'} -> {value or 'none'}")
    panels = list(db.session.execute(db.select(Panel).where(Panel.id.in_(data.panel_ids))).scalars())
    if sorted(p.id for p in isa.panels) != sorted(p.id for p in panels):
        isa.panels = sorted(panels, key=lambda p: p.code)
        changes.append("panels: " + ", ".join(p.code for p in isa.panels))
    codes = dict(db.session.execute(db.select(Agency.id, Agency.code)).all())
    have = {(g.agency_id, g.category): g for g in isa.grants}
    for key, grant in have.items():
        if key not in data.grants:
            isa.grants.remove(grant)
            changes.append(f"grant removed: {codes.get(grant.agency_id)} {grant.category}")
    for (agency_id, category), access in sorted(data.grants.items()):
        grant = have.get((agency_id, category))
        if grant is None:
            isa.grants.append(IsaGrant(agency_id=agency_id, category=category, access=access))
            changes.append(f"grant added: {codes.get(agency_id, agency_id)} {category} {access}")
        elif grant.access != access:
            changes.append(f"grant changed: {codes.get(agency_id)} {category} {grant.access} -> {access}")
            grant.access = access
    return changes


def create_isa(data: IsaData) -> Isa:
    _validate(data, None)
    isa = Isa(ref=data.ref.strip(), starts=data.starts, expires=data.expires)
    db.session.add(isa)
    changes = _apply(isa, data)
    db.session.flush()
    audit.record("admin", purpose="information-sharing agreement",
                 detail=f"agreement {isa.ref} created ({isa.status}): " + "; ".join(changes))
    return isa


def update_isa(isa: Isa, data: IsaData) -> list[str]:
    """Edit an agreement that has not ended; returns what changed (nothing logged if nothing did)."""
    if isa.status == "ended":
        raise IsaInvalid("This agreement has ended and cannot be changed")
    data.status = isa.status  # status changes go through change_status, never an edit
    _validate(data, isa)
    changes = _apply(isa, data)
    if changes:
        db.session.flush()
        audit.record("admin", purpose="information-sharing agreement",
                     detail=f"agreement {isa.ref} changed: " + "; ".join(changes))
    return changes


def change_status(isa: Isa, action: str) -> str:
    """Suspend, reactivate or end an agreement; returns the new status.

    The policy is built afresh for every request, so a user who is signed in loses (or
    regains) access on their very next request.
    """
    if action not in TRANSITIONS:
        raise IsaInvalid("Choose what to do with the agreement")
    allowed_from, to, done = TRANSITIONS[action]
    if isa.status not in allowed_from:
        raise IsaInvalid(f"An agreement that is {isa.status} cannot be {done}")
    old = isa.status
    isa.status = to
    db.session.flush()
    audit.record("admin", purpose="information-sharing agreement", detail=f"agreement {isa.ref} {done}: {old} -> {to}")
    return to
