"""What a viewer may see of a case: one function for pages, API, exports and agendas.

Each field belongs to one ISA category (CONTRACT.md). Fields in a category the viewer's
agency may not read on the case's panel are left out, and the category is named in
`withheld`. Where identity is withheld the nominal is shown by a stable pseudonym.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sharing.crypto import CATEGORIES
from sharing.policy import Policy
from sharing.pseudonym import pseudonym

IDENTITY_FIELDS = ("given_name", "family_name", "aliases", "date_of_birth", "gender", "pnc", "cro", "nomis", "crn")
CONTACT_FIELDS = ("address", "postcode")
OFFENDING_FIELDS = (
    "lead_agency", "lead_officer", "referral_date", "referring_agency", "last_engagement", "order_end_date",
    "cohort_type", "mappa_category", "exit_reason", "exited_on",
)
RISK_FIELDS = ("rag", "risk_level", "mappa_level", "next_review", "last_reviewed")
RESETTLEMENT_FIELDS = ("accommodation", "employment")

FIELD_CATEGORY: dict[str, str] = {
    **{f: "identity" for f in IDENTITY_FIELDS},
    **{f: "contact" for f in CONTACT_FIELDS},
    **{f: "offending" for f in OFFENDING_FIELDS},
    **{f: "risk" for f in RISK_FIELDS},
    **{f: "resettlement" for f in RESETTLEMENT_FIELDS},
}


def _json(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def display_name(case, policy: Policy) -> str:
    """The name this viewer may see, or the nominal's pseudonym."""
    if policy.can(case.panel_id, "identity"):
        name = case.nominal.full_name
        if name:
            return name
    return pseudonym(case.nominal.uid)


def field_value(case, field: str):
    nominal = case.nominal
    if field in IDENTITY_FIELDS or field in CONTACT_FIELDS:
        return getattr(nominal, field)
    if field == "lead_agency":
        return case.lead_agency.code if case.lead_agency else None
    if field == "referring_agency":
        return case.referring_agency.code if case.referring_agency else None
    return getattr(case, field)


def case_dict(case, policy: Policy, *, json: bool = True) -> dict[str, Any]:
    """The case as this viewer may see it: always id/ref/status/version, then permitted fields."""
    readable = policy.readable(case.panel_id)
    out: dict[str, Any] = {
        "id": case.id,
        "nominal_id": case.nominal_id,
        "panel": case.panel.code,
        "ref": case.ref,
        "version": case.version,
        "status": case.status,
        "name": display_name(case, policy),
    }
    for field, category in FIELD_CATEGORY.items():
        if category in readable:
            value = field_value(case, field)
            out[field] = _json(value) if json else value
    out["withheld"] = [c for c in CATEGORIES if c not in readable]
    return out


def rag_history(case, policy: Policy) -> list[dict[str, Any]] | None:
    """When, who, from, to, rationale — only where risk is readable."""
    if not policy.can(case.panel_id, "risk"):
        return None
    from cohort.models import RagChange
    from core.extensions import db

    rows = db.session.execute(
        db.select(RagChange).filter_by(case_id=case.id).order_by(RagChange.at, RagChange.id)
    ).scalars()
    return [
        {
            "at": r.at.isoformat() + "Z",
            "by": r.user.name if r.user else "system",
            "agency": r.user.agency.code if r.user else "",
            "from": r.from_rag,
            "to": r.to_rag,
            "rationale": r.rationale,
            "source": r.source,
        }
        for r in rows
    ]


def notes(case, policy: Policy) -> list[dict[str, Any]]:
    """Notes in categories the viewer may read, newest first."""
    from cohort.models import Note
    from core.extensions import db

    readable = policy.readable(case.panel_id)
    if not readable:
        return []
    rows = db.session.execute(
        db.select(Note).where(Note.case_id == case.id, Note.category.in_(sorted(readable)))
        .order_by(Note.at.desc(), Note.id.desc())
    ).scalars()
    return [
        {"id": n.id, "category": n.category, "at": n.at.isoformat() + "Z",
         "by": n.user.name if n.user else "system", "agency": n.user.agency.code if n.user else "", "body": n.body}
        for n in rows
    ]


def needs(case, policy: Policy) -> list[dict[str, Any]]:
    """Resettlement needs on the pathways whose category the viewer may read."""
    from cohort.models import PATHWAYS, Need
    from core.extensions import db

    readable = policy.readable(case.panel_id)
    rows = {n.pathway: n for n in db.session.execute(db.select(Need).filter_by(case_id=case.id)).scalars()}
    out = []
    for key, (label, category) in PATHWAYS.items():
        if category not in readable or key not in rows:
            continue
        need = rows[key]
        out.append({"pathway": key, "label": label, "category": category, "level": need.level, "note": need.note})
    return out


def case_detail(case, policy: Policy) -> dict[str, Any]:
    """One case for GET /cases/<id>: the case dict, RAG history, needs and notes as permitted."""
    out = case_dict(case, policy)
    history = rag_history(case, policy)
    if history is not None:
        out["rag_history"] = history
    out["needs"] = needs(case, policy)
    out["notes"] = notes(case, policy)
    return out
