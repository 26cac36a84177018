"""Storing, listing and reading case documents under the access policy.

A document is readable exactly where its category is: listing filters in SQL on the
categories the viewer may read, and a document outside them is answered as None, the same
as a document that does not exist, so a caller cannot tell the two apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

from flask import Response, abort, url_for

from chronology.timeline import EXTRA_SOURCES, Entry
from cohort.models import Case
from cohort.services import Invalid, require
from core import clock
from core.extensions import db
from documents.filetypes import KINDS, NotAllowed, detect, safe_name
from documents.models import CaseDocument
from sharing import audit
from sharing.crypto import CATEGORIES
from sharing.gateway import reveal
from sharing.policy import Policy

MAX_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class DocumentView:
    """A document as a viewer who may read its category sees it in a list."""

    id: int
    name: str
    category: str
    kind: str
    size: int
    uploaded_at: object
    by: str


def writable_categories(case: Case, policy: Policy) -> list[str]:
    return [c for c in CATEGORIES if policy.can(case.panel_id, c, "write")]


def upload(case: Case, *, data: bytes, filename: str | None, category: str, policy: Policy) -> CaseDocument:
    """Check, encrypt under its category and store one document; log it."""
    if category not in CATEGORIES:
        raise Invalid("Choose what kind of information the document holds")
    require(policy, case.panel_id, category)
    if not data:
        raise Invalid("The selected file is empty")
    if len(data) > MAX_BYTES:
        raise Invalid(f"The selected file must be smaller than {MAX_BYTES // (1024 * 1024)} MB")
    try:
        kind = detect(data)
    except NotAllowed as exc:
        raise Invalid(str(exc)) from None
    user = policy.user
    doc = CaseDocument(case_id=case.id, category=category, kind=kind, size=len(data), uploaded_at=clock.utcnow(),
                       user_id=user.id if user else None)
    doc.name = safe_name(filename, kind)
    doc.content = data
    db.session.add(doc)
    db.session.flush()
    audit.record("change", user=user, panel=case.panel, nominal_id=case.nominal_id, case_id=case.id,
                 categories=[category], detail=f"document {doc.id} uploaded ({kind}, {len(data)} bytes)")
    return doc


def _readable(case: Case, policy: Policy):
    readable = sorted(policy.readable(case.panel_id)) or ["-"]
    return db.select(CaseDocument).where(CaseDocument.case_id == case.id, CaseDocument.category.in_(readable))


def _by(user) -> str:
    return f"{user.name} ({user.agency.code})" if user is not None else "the service"


def documents(case: Case, policy: Policy) -> list[DocumentView]:
    """The case's documents in categories the viewer may read, newest first."""
    rows = db.session.execute(
        _readable(case, policy).order_by(CaseDocument.uploaded_at.desc(), CaseDocument.id.desc())
    ).scalars()
    return [DocumentView(d.id, reveal(d, "name", policy), d.category, d.kind, d.size, d.uploaded_at, _by(d.user))
            for d in rows]


def readable_document(case: Case, document_id: int, policy: Policy) -> CaseDocument | None:
    """The document if it is on this case and the viewer may read its category; else None."""
    return db.session.execute(_readable(case, policy).where(CaseDocument.id == document_id)).scalar_one_or_none()


def content_of(doc: CaseDocument, policy: Policy) -> tuple[str, str, bytes]:
    """(download name, Content-Type, bytes) of a readable document, through the gateway."""
    return reveal(doc, "name", policy), KINDS[doc.kind][0], reveal(doc, "content", policy)


NOT_FOUND = "There is no document with that number on this case"


def download(case: Case, document_id: int, policy: Policy, *, content_type: str | None = None) -> Response:
    """The document as an attachment, logged as an export of its category; 404 (logged as refused)
    when it is not on the case or its category is withheld, the same answer either way.

    `content_type` overrides the document's own (the API always answers octet-stream)."""
    doc = readable_document(case, document_id, policy)
    if doc is None:
        audit.refused("document: none readable with that number on the case", panel=case.panel, case_id=case.id)
        abort(404, NOT_FOUND)
    name, own_type, data = content_of(doc, policy)
    audit.record("export", panel=case.panel, nominal_id=case.nominal_id, case_id=case.id, categories=[doc.category],
                 detail=f"document {doc.id} downloaded ({doc.kind}, {doc.size} bytes)")
    resp = Response(data, content_type=content_type or own_type)
    resp.headers["Content-Disposition"] = f"attachment; filename=\"document\"; filename*=UTF-8''{quote(name)}"
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


def _chronology(case: Case, policy: Policy) -> Iterable[Entry]:
    """Each upload in the case chronology, under the document's category."""
    for d in db.session.execute(db.select(CaseDocument).filter_by(case_id=case.id)).scalars():
        yield Entry(d.uploaded_at, d.category, "document", d.id, "Document added", _by(d.user),
                    reveal(d, "name", policy), link=url_for("documents.download", case_id=case.id, document_id=d.id),
                    link_text="Download")


EXTRA_SOURCES.append(_chronology)
