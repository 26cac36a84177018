"""GET /api/v1/cases/<id>/chronology: the case's timeline as the caller may read it (JSON)."""

from __future__ import annotations

from chronology.timeline import SOURCES, Entry, chronology
from cohort import queries
from core.api import ID, api, endpoint, request_args, shape
from sharing import audit
from sharing.crypto import CATEGORIES
from sharing.policy import current_policy

ENTRY = shape("ChronologyEntry", {
    "type": "object", "required": ["at", "date_only", "category", "source", "title", "by", "detail"],
    "properties": {
        "at": {"type": "string", "description": "ISO date-time (UTC, Z); for date-only records, noon that day"},
        "date_only": {"type": "boolean"},
        "category": {"type": "string", "enum": list(CATEGORIES)},
        "source": {"type": "string", "enum": list(SOURCES)},
        "title": {"type": "string"},
        "by": {"type": "string"},
        "detail": {"type": ["string", "null"]},
        "meeting_id": ID,
    },
})
CHRONOLOGY = shape("Chronology", {
    "type": "object", "required": ["case_id", "entries"],
    "properties": {"case_id": ID, "entries": {"type": "array", "items": ENTRY}},
})


def _entry(e: Entry) -> dict:
    out = {"at": e.at.isoformat() + "Z", "date_only": e.date_only, "category": e.category, "source": e.source,
           "title": e.title, "by": e.by, "detail": e.detail}
    if e.meeting_id is not None:
        out["meeting_id"] = e.meeting_id
    return out


@api.get("/cases/<int:case_id>/chronology")
@endpoint("The case's chronology, newest first: only entries in categories the caller may read",
          query={"category": {"type": "string", "enum": list(CATEGORIES),
                              "description": "One category only (a category the caller may not read gives "
                                             "every readable entry, as the page does)"}},
          responses={200: CHRONOLOGY, 404: "No such case on a panel the caller takes part in",
                     422: "A category outside the list"})
def case_chronology(case_id: int):
    policy = current_policy()
    case = queries.case_or_404(case_id, policy)
    readable = policy.readable(case.panel_id)
    category = request_args().get("category")
    category = category if category in readable else None
    entries = chronology(case, policy, category=category)
    audit.record("view", panel=case.panel, nominal_id=case.nominal_id, case_id=case.id,
                 categories=[category] if category else readable, detail=f"api chronology: {len(entries)} entries")
    return {"case_id": case.id, "entries": [_entry(e) for e in entries]}
