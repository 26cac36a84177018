"""POST /api/v1/search: people across the caller's identity panels (the term in the body, never the URL)."""

from __future__ import annotations

from flask import abort

from core.api import DATE, ID, NOT_BLANK, api, endpoint, request_json, shape
from search.queries import search_people
from sharing import audit
from sharing.policy import CASE_ROLES, current_policy

SEARCH_IN = {
    "type": "object", "required": ["q"], "additionalProperties": False,
    "properties": {"q": {"type": "string", "minLength": 2, "maxLength": 200, "pattern": NOT_BLANK,
                         "description": "A name (fuzzy, nicknames count), an alias or an identifier"}},
}
PERSON = shape("PersonFound", {
    "type": "object", "required": ["nominal_id", "name", "matched", "aliases", "date_of_birth", "identifiers", "cases"],
    "properties": {
        "nominal_id": ID, "name": {"type": "string"}, "matched": {"type": "string"},
        "aliases": {"type": "array", "items": {"type": "string"}},
        "date_of_birth": {"anyOf": [DATE, {"type": "null"}]},
        "identifiers": {"type": "object", "additionalProperties": {"type": "string"}},
        "cases": {"type": "array", "items": {
            "type": "object", "required": ["id", "panel", "ref", "status"],
            "properties": {"id": ID, "panel": {"type": "string"}, "ref": {"type": "string"},
                           "status": {"type": "string"}}}},
    },
})
FOUND = shape("PeopleFound", {
    "type": "object", "required": ["people", "too_many"],
    "properties": {"people": {"type": "array", "items": PERSON},
                   "too_many": {"type": "boolean",
                                "description": "More possible matches than are compared: narrow the search"}},
})


@api.post("/search")
@endpoint("Find people by name, alias or identifier on every panel where the caller may read identity",
          body=SEARCH_IN, responses={200: FOUND, 403: "Only coordinators, practitioners and analysts search",
                                     422: "No search term, or one under 2 or over 200 characters"})
def search():
    policy = current_policy()
    if not policy.has_role(*CASE_ROLES):
        audit.refused("search: no case role")
        abort(403, "Only coordinators, practitioners and analysts may search for people")
    found = search_people(request_json()["q"], policy)
    ids = ",".join(str(p.nominal_id) for p in found.people)
    audit.record("search", categories=["identity"],
                 detail=f"api people search: {len(found.people)} person(s): nominals {ids or 'none'}"[:4000])
    return {"too_many": found.too_many, "people": [{
        "nominal_id": p.nominal_id, "name": p.name, "matched": p.matched, "aliases": p.aliases,
        "date_of_birth": p.date_of_birth.isoformat() if p.date_of_birth else None,
        "identifiers": dict(p.identifiers),
        "cases": [{"id": c.id, "panel": c.panel_code, "ref": c.ref, "status": c.status} for c in p.cases],
    } for p in found.people]}
