"""The cohort part of the JSON API (/api/v1): panels, cases, RAG changes, the OpenAPI document.

Same policy as the pages: fields of unreadable categories are left out and named in
`withheld`; refusals are logged; a stale version is 409, never a lost update. Each view
declares its shapes (core.api.endpoint), which both validate the request and write the
OpenAPI document; the Case shape is generated from the gateway's field map and the
model's column types, so a field added there appears here with its category.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, g, render_template

from cohort import queries, services
from cohort.models import CASE_STATUSES, RAGS, Case, Nominal
from cohort.openapi import build_document, reference
from cohort.page_cache import page_cache
from cohort.serialise import FIELD_CATEGORY, case_detail, case_dict
from core.api import NOT_BLANK, api, endpoint, request_args, request_json, shape
from core.extensions import db
from panels.models import Panel
from sharing import audit
from sharing.crypto import CATEGORIES, Encrypted
from sharing.crypto import DATE as DATE_CODEC
from sharing.crypto import LIST as LIST_CODEC
from sharing.policy import current_policy

MAX_PAGE = 1_000_000  # a huge page would overflow the database's OFFSET (a 500)
MAX_RATIONALE = 5000
NOT_FOUND_PANEL = "No such panel, or the caller's agency does not take part"
NOT_FOUND_CASE = "No such case on a panel the caller takes part in"

_ENUMS = {"rag": list(RAGS)}
_AGENCY_FIELDS = {"lead_agency", "referring_agency"}


def _field_schema(field: str) -> dict[str, Any]:
    """The JSON Schema of one case field, from where the model stores it (column or encrypted)."""
    owner = Nominal if hasattr(Nominal, field) and field not in _AGENCY_FIELDS else Case
    attr = owner.__dict__.get(field) or getattr(owner, field)
    if field in _AGENCY_FIELDS:
        kind: dict[str, Any] = {"type": ["string", "null"], "description": "An agency code"}
    elif isinstance(attr, Encrypted):
        codec = (attr.encode, attr.decode)
        if codec == LIST_CODEC:
            kind = {"type": ["array", "null"], "items": {"type": "string"}}
        elif codec == DATE_CODEC:
            kind = {"type": ["string", "null"], "format": "date"}
        else:
            kind = {"type": ["string", "null"]}
    else:
        python_type = attr.property.columns[0].type.python_type
        name = {int: "integer", bool: "boolean"}.get(python_type, "string")
        kind = {"type": [name, "null"]}
        if python_type.__name__ == "date":
            kind["format"] = "date"
    if field in _ENUMS:
        kind["enum"] = [*_ENUMS[field], None]
    category = FIELD_CATEGORY[field]
    kind["description"] = f"{kind.get('description', '')} Category: {category}; left out when withheld.".strip()
    return kind


_CASE_REQUIRED = ["id", "nominal_id", "panel", "ref", "version", "status", "name", "withheld"]
_CASE_PROPERTIES = {
    "id": {"type": "integer"},
    "nominal_id": {"type": "integer"},
    "panel": {"type": "string", "description": "The panel's code"},
    "ref": {"type": "string"},
    "version": {"type": "integer", "description": "Send it back with PATCH; a stale one is 409"},
    "status": {"type": "string", "enum": list(CASE_STATUSES)},
    "name": {"type": "string", "description": "The name, or a stable pseudonym where identity is withheld"},
    **{f: _field_schema(f) for f in FIELD_CATEGORY},
    "withheld": {"type": "array", "items": {"type": "string", "enum": list(CATEGORIES)}},
}
CASE = shape("Case", {
    "type": "object",
    "description": "A case as the caller may see it: fields of categories the caller may not read are "
                   "left out and the categories are named in `withheld`.",
    "required": _CASE_REQUIRED, "properties": _CASE_PROPERTIES, "additionalProperties": False,
})
RAG_CHANGE = shape("RagChange", {
    "type": "object",
    "required": ["at", "by", "agency", "from", "to", "rationale", "source"],
    "properties": {
        "at": {"type": "string", "format": "date-time"},
        "by": {"type": "string"},
        "agency": {"type": "string"},
        "from": {"type": ["string", "null"]},
        "to": {"type": "string"},
        "rationale": {"type": ["string", "null"]},
        "source": {"type": "string"},
    },
})
NEED = shape("Need", {
    "type": "object", "required": ["pathway", "label", "category", "level"],
    "properties": {"pathway": {"type": "string"}, "label": {"type": "string"}, "category": {"type": "string"},
                   "level": {"type": ["string", "null"]}, "note": {"type": ["string", "null"]}},
})
NOTE = shape("Note", {
    "type": "object", "required": ["id", "category", "at", "by", "agency", "body"],
    "properties": {"id": {"type": "integer"}, "category": {"type": "string"},
                   "at": {"type": "string", "format": "date-time"}, "by": {"type": "string"},
                   "agency": {"type": "string"}, "body": {"type": ["string", "null"]}},
})
CASE_DETAIL = shape("CaseDetail", {
    "type": "object",
    "description": "A Case with its RAG history (only where risk is readable), needs and notes.",
    "required": [*_CASE_REQUIRED, "needs", "notes"],
    "properties": {
        **_CASE_PROPERTIES,
        "rag_history": {"type": "array", "items": RAG_CHANGE, "description": "Only where risk is readable"},
        "needs": {"type": "array", "items": NEED, "description": "Pathways whose category is readable"},
        "notes": {"type": "array", "items": NOTE, "description": "Notes in readable categories, newest first"},
    },
    "additionalProperties": False,
})
PANEL = shape("Panel", {
    "type": "object", "required": ["code", "name", "kind"],
    "properties": {"code": {"type": "string"}, "name": {"type": "string"}, "kind": {"type": "string"}},
})
CASES_PAGE = shape("CasesPage", {
    "type": "object", "required": ["cases", "page", "next", "total"],
    "properties": {
        "cases": {"type": "array", "items": CASE, "maxItems": queries.PAGE_SIZE},
        "page": {"type": "integer"},
        "next": {"type": ["integer", "null"], "description": "The next page's number, null on the last"},
        "total": {"type": "integer", "description": "Cases matching the filters"},
    },
})
RAG_CHANGE_IN = {
    "type": "object", "required": ["rag", "rationale", "version"], "additionalProperties": False,
    "properties": {
        "rag": {"type": "string", "enum": list(RAGS)},
        "rationale": {"type": "string", "minLength": 1, "maxLength": MAX_RATIONALE, "pattern": NOT_BLANK,
                      "description": "Why; must contain something other than spaces"},
        "version": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1,
                    "description": "The `version` of the case you read"},
    },
}


@api.get("/panels")
@endpoint("Panels the caller's agency takes part in", responses={
    200: {"type": "object", "required": ["panels"], "properties": {"panels": {"type": "array", "items": PANEL}}}})
def list_panels():
    policy = current_policy()
    ids = policy.panel_ids()
    panels = db.session.execute(db.select(Panel).where(Panel.id.in_(ids)).order_by(Panel.code)).scalars() if ids else []
    return {"panels": [{"code": p.code, "name": p.name, "kind": p.kind} for p in panels]}


@api.get("/panels/<code>/cases")
@endpoint(
    f"The panel's cases, {queries.PAGE_SIZE} a page, in id order",
    query={
        "rag": {"type": "string", "enum": list(RAGS), "description": "Needs risk read on the panel (403 otherwise)"},
        "status": {"type": "string", "enum": list(CASE_STATUSES)},
        "page": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
    },
    responses={200: CASES_PAGE, 403: "Filtering by rag without risk read on the panel, or the agency's sharing "
                                     "on the panel has lapsed (the answer says which agreement)", 404: NOT_FOUND_PANEL,
               422: "A rag or status outside its list (an empty one too), or a page outside 1..1,000,000"},
)
def list_cases(code: str):
    policy = current_policy()
    panel = queries.panel_or_404(code, policy)
    args = request_args()
    rag, status, page = args.get("rag", ""), args.get("status", ""), args.get("page", 1)
    if rag and not policy.can(panel.id, "risk"):
        audit.refused("policy: rag filter needs risk read", panel=panel)
        abort(403, "Filtering by rag needs the risk category, which is not shared with your agency on this panel")
    readable = policy.readable(panel.id)
    token = queries.change_token(panel, policy)

    def draw() -> tuple[bytes, str]:
        stmt = db.select(Case.id).where(Case.panel_id == panel.id)
        if rag:
            stmt = stmt.where(Case.rag == rag)
        if status:
            stmt = stmt.where(Case.status == status)
        total = db.session.execute(db.select(db.func.count()).select_from(stmt.subquery())).scalar_one()
        ids = list(db.session.execute(
            stmt.order_by(Case.id).limit(queries.PAGE_SIZE).offset((page - 1) * queries.PAGE_SIZE)
        ).scalars())
        cases = {c.id: c for c in db.session.execute(db.select(Case).where(Case.id.in_(ids))).unique().scalars()}
        body = {
            "cases": [case_dict(cases[i], policy) for i in ids],
            "page": page,
            "next": page + 1 if page * queries.PAGE_SIZE < total else None,
            "total": total,
        }
        return (current_app.json.dumps(body).encode(), ",".join(map(str, ids)),
                tuple(cases[i].nominal_id for i in ids))

    # Same answer for everyone in the agency until a case changes (cohort.page_cache).
    key = ("api-cases", panel.id, token, g.user.agency_id, frozenset(readable), rag, status, page)
    body, ids, nominal_ids = page_cache().get_or_make(key, draw)
    audit.record("view", panel=panel, categories=readable, nominal_ids=nominal_ids,
                 detail=f"api cases page {page}: {ids}"[:4000])
    return current_app.response_class(body, mimetype="application/json")


@api.get("/cases/<int:case_id>")
@endpoint("One case with its RAG history (where risk is readable), needs and notes",
          responses={200: CASE_DETAIL, 404: NOT_FOUND_CASE})
def get_case(case_id: int):
    policy = current_policy()
    case = queries.case_or_404(case_id, policy)
    out = case_detail(case, policy)
    audit.record("view", panel=case.panel, nominal_id=case.nominal_id, case_id=case.id,
                 categories=policy.readable(case.panel_id), detail="api case")
    return out


@api.patch("/cases/<int:case_id>")
@endpoint(
    "Change the RAG with a rationale, against the version you read",
    body=RAG_CHANGE_IN,
    responses={200: (CASE, "The updated case (version + 1)"), 403: "Needs write access to risk on the panel",
               404: NOT_FOUND_CASE, 409: "The version is stale: someone changed the case first",
               422: "No rationale, an unknown RAG, no version, or a field that is not one of these"},
)
def patch_case(case_id: int):
    policy = current_policy()
    case = queries.case_or_404(case_id, policy)
    if not policy.can(case.panel_id, "risk", "write"):  # refuse before judging the body
        audit.refused("policy: risk write not granted", panel=case.panel, case_id=case.id)
        abort(403, "Changing the RAG needs write access to risk on this panel")
    body = request_json()
    if not isinstance(body, dict):
        abort(422, 'Send a JSON object: {"rag": "red|amber|green", "rationale": "...", "version": N}')
    version = body["version"]
    try:
        services.change_rag(case, to=body["rag"], rationale=body["rationale"], policy=policy,
                            expected_version=version)
    except services.Invalid as exc:
        abort(422, str(exc))
    except services.Refused:
        audit.refused("policy: risk write not granted", panel=case.panel, case_id=case.id)
        abort(403, "Changing the RAG needs write access to risk on this panel")
    except services.StaleVersion as exc:
        abort(409, f"The case is at version {exc.current}, not {version}: read it again and reapply")
    return case_dict(case, policy)


@api.get("/openapi.json")
@endpoint("This document (no token needed)", public=True,
          responses={200: ({"type": "object", "required": ["openapi", "paths"]}, "The OpenAPI 3.1 document")})
def openapi_document():
    return build_document(current_app)


@api.get("/reference")
@endpoint("The API reference for people: this document rendered as a page (no token needed)", public=True,
          responses={200: ({"type": "string"}, "An HTML page", "text/html")})
def reference_page():
    return render_template("api/reference.html", title="API reference", ref=reference(build_document(current_app)))
