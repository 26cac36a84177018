"""The case's documents through the API: the list the caller may read, and each one's content.

A document in a category the caller may not read answers the same 404 as one that does not
exist (and both are logged as refusals, as on the page); a download that succeeds is logged
as an export of its category, exactly as the page download is, since the file leaves the
service either way.
"""

from __future__ import annotations

from cohort import queries
from core.api import ID, api, endpoint, shape
from documents import services
from documents.filetypes import KINDS
from sharing import audit
from sharing.crypto import CATEGORIES
from sharing.policy import current_policy

DOCUMENT = shape("CaseDocument", {
    "type": "object",
    "required": ["id", "name", "category", "kind", "size", "uploaded_at", "by", "download", "content"],
    "properties": {
        "id": ID, "name": {"type": "string"}, "category": {"type": "string", "enum": list(CATEGORIES)},
        "kind": {"type": "string", "enum": list(KINDS)}, "size": {"type": "integer", "minimum": 1},
        "uploaded_at": {"type": "string"}, "by": {"type": "string"},
        "download": {"type": "string", "description": "The page path that downloads it (signed-in session)"},
        "content": {"type": "string", "description": "The API path that downloads it (this token)"},
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
        "content": f"/api/v1/cases/{case.id}/documents/{d.id}/content",
    } for d in docs]}


CONTENT = ({"type": "string", "format": "binary"},
           "The document's bytes (Content-Disposition names the file; its kind is in the list)",
           "application/octet-stream")


@api.get("/cases/<int:case_id>/documents/<int:document_id>/content")
@endpoint("Download a document the caller may read (logged as an export of its category)",
          responses={200: CONTENT,
                     404: "No such case on a panel the caller takes part in, or no document with that number "
                          "on the case in a category the caller may read (the same answer)"})
def document_content(case_id: int, document_id: int):
    policy = current_policy()
    # octet-stream whatever the kind: the client saves it, never renders it (the list gives its kind)
    return services.download(queries.case_or_404(case_id, policy), document_id, policy,
                             content_type="application/octet-stream")
