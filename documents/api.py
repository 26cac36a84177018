"""GET /api/v1/cases/<id>/documents: the case's documents the caller may read (not their bytes)."""

from __future__ import annotations

from cohort import queries
from core.api import ID, api, endpoint, shape
from documents import services
from documents.filetypes import KINDS
from sharing import audit
from sharing.crypto import CATEGORIES
from sharing.policy import current_policy

DOCUMENT = shape("CaseDocument", {
    "type": "object", "required": ["id", "name", "category", "kind", "size", "uploaded_at", "by", "download"],
    "properties": {
        "id": ID, "name": {"type": "string"}, "category": {"type": "string", "enum": list(CATEGORIES)},
        "kind": {"type": "string", "enum": list(KINDS)}, "size": {"type": "integer", "minimum": 1},
        "uploaded_at": {"type": "string"}, "by": {"type": "string"},
        "download": {"type": "string", "description": "The page path that downloads it (signed-in session)"},
    },
})


@api.get("/cases/<int:case_id>/documents")
@endpoint("The case's documents in categories the caller may read, newest first",
          responses={200: {"type": "object", "required": ["documents"],
                           "properties": {"documents": {"type": "array", "items": DOCUMENT}}},
                     404: "No such case on a panel the caller takes part in"})
def case_documents(case_id: int):
    policy = current_policy()
    case = queries.case_or_404(case_id, policy)
    docs = services.documents(case, policy)
    audit.record("view", panel=case.panel, nominal_id=case.nominal_id, case_id=case.id,
                 categories=sorted({d.category for d in docs}), detail=f"api documents: {len(docs)} listed")
    return {"documents": [{
        "id": d.id, "name": d.name, "category": d.category, "kind": d.kind, "size": d.size,
        "uploaded_at": d.uploaded_at.isoformat() + "Z", "by": d.by,
        "download": f"/cases/{case.id}/documents/{d.id}",
    } for d in docs]}
