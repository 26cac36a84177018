"""The duplicate and overlap checks in the JSON API (/api/v1), under the same policy as the pages."""

from __future__ import annotations

from flask import abort

from cohort import dedupe, overlaps
from core.api import api
from sharing import audit
from sharing.policy import CASE_ROLES, current_policy


@api.get("/duplicates")
def duplicates():
    """{"pairs": [...]} as `flask dedupe run --json`, among nominals whose identity the analyst may read."""
    policy = current_policy()
    if not policy.has_role("analyst"):
        audit.refused("role: duplicates need the analyst role")
        abort(403, "The duplicate check needs the analyst role")
    result = dedupe.run(policy, store=False)
    return {"pairs": [dedupe.pair_json(p, result.cases, result.scope) for p in result.pairs]}


@api.get("/overlaps")
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
