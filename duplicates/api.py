"""The duplicate and overlap checks in the JSON API (/api/v1), under the same policy as the pages."""

from __future__ import annotations

from flask import abort

from core.api import ID, api, endpoint, shape
from duplicates import candidates, overlaps
from sharing import audit
from sharing.policy import CASE_ROLES, current_policy

SIDE = {"type": "object", "required": ["nominal_id", "refs"], "properties": {
    "nominal_id": ID, "refs": {"type": "array", "items": {"type": "string"},
                               "description": "Case refs on panels where the analyst may read identity"}}}
PAIR = shape("DuplicatePair", {
    "type": "object", "required": ["a", "b", "score", "reasons"],
    "properties": {"a": SIDE, "b": SIDE, "score": {"type": "number", "minimum": 0, "maximum": 1},
                   "band": {"type": "string", "enum": ["probable", "review"],
                            "description": "probable: the verdict (score >= 0.5); review: possibly, needs review"},
                   "reasons": {"type": "array", "items": {"type": "string"}, "description": "The evidence, in words"}},
})
OVERLAP = shape("Overlap", {
    "type": "object", "required": ["nominal_id", "panels", "lead"],
    "properties": {"nominal_id": ID, "panels": {"type": "array", "items": {"type": "string"}, "minItems": 2},
                   "lead": {"type": "string", "description": "The suggested lead panel's code"}},
})


@api.get("/duplicates")
@endpoint("Probable duplicate people (as `flask dedupe run --json`), among those the analyst may identify",
          responses={200: {"type": "object", "required": ["pairs"], "properties": {
              "pairs": {"type": "array", "items": PAIR}}}, 403: "Needs the analyst role"})
def duplicates():
    """{"pairs": [...]} as `flask dedupe run --json`, among nominals whose identity the analyst may read."""
    policy = current_policy()
    if not policy.has_role("analyst"):
        audit.refused("role: duplicates need the analyst role")
        abort(403, "The duplicate check needs the analyst role")
    result = candidates.run(policy, store=False)
    return {"pairs": [candidates.pair_json(p, result.cases, result.scope) for p in result.pairs]}


@api.get("/overlaps")
@endpoint("People active on two or more of the panels the caller takes part in, with a suggested lead",
          responses={200: {"type": "object", "required": ["overlaps"], "properties": {
              "overlaps": {"type": "array", "items": OVERLAP}}}, 403: "Needs a case-working role"})
def overlaps_list():
    """{"overlaps": [{"nominal_id", "panels"}]}: active on 2+ of the panels the caller takes part in."""
    policy = current_policy()
    if not policy.has_role(*CASE_ROLES):
        audit.refused("role: overlaps need a case-working role")
        abort(403, "Overlaps need the analyst, coordinator or practitioner role")
    found = overlaps.overlaps_for(policy)
    audit.record("view", categories=[],
                 detail=f"api overlaps: nominals {','.join(str(o.nominal_id) for o in found) or 'none'}"[:4000])
    return {"overlaps": [{"nominal_id": o.nominal_id, "panels": o.panels, "lead": o.lead.panel.code}
                         for o in found]}
