"""The cohort part of the JSON API (/api/v1): panels, cases, RAG changes, the OpenAPI document.

Same policy as the pages: fields of unreadable categories are left out and named in
`withheld`; refusals are logged; a stale version is 409, never a lost update.
"""

from __future__ import annotations

from flask import abort, current_app, g, request

from cohort import queries, services
from cohort.models import CASE_STATUSES, RAGS, Case
from cohort.page_cache import page_cache
from cohort.serialise import case_detail, case_dict
from core.api import api
from core.extensions import db
from panels.models import Panel
from sharing import audit
from sharing.policy import current_policy

MAX_PAGE = 1_000_000


@api.get("/panels")
def list_panels():
    policy = current_policy()
    ids = policy.panel_ids()
    panels = db.session.execute(db.select(Panel).where(Panel.id.in_(ids)).order_by(Panel.code)).scalars() if ids else []
    return {"panels": [{"code": p.code, "name": p.name, "kind": p.kind} for p in panels]}


@api.get("/panels/<code>/cases")
def list_cases(code: str):
    policy = current_policy()
    panel = queries.panel_or_404(code, policy)
    rag = request.args.get("rag", "")
    status = request.args.get("status", "")
    if rag and rag not in RAGS:
        abort(422, "rag must be red, amber or green")
    if status and status not in CASE_STATUSES:
        abort(422, f"status must be one of {', '.join(CASE_STATUSES)}")
    try:
        page = int(request.args.get("page", "1"))
    except ValueError:
        page = 0
    if page < 1 or page > MAX_PAGE:  # a huge page would overflow the database's OFFSET (a 500)
        abort(422, "page must be a whole number from 1")
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
        return current_app.json.dumps(body).encode(), ",".join(map(str, ids))

    # Same answer for everyone in the agency until a case changes (cohort.page_cache).
    key = ("api-cases", panel.id, token, g.user.agency_id, frozenset(readable), rag, status, page)
    body, ids = page_cache().get_or_make(key, draw)
    audit.record("view", panel=panel, categories=readable, detail=f"api cases page {page}: {ids}"[:4000])
    return current_app.response_class(body, mimetype="application/json")


@api.get("/cases/<int:case_id>")
def get_case(case_id: int):
    policy = current_policy()
    case = queries.case_or_404(case_id, policy)
    out = case_detail(case, policy)
    audit.record("view", panel=case.panel, nominal_id=case.nominal_id, case_id=case.id,
                 categories=policy.readable(case.panel_id), detail="api case")
    return out


@api.patch("/cases/<int:case_id>")
def patch_case(case_id: int):
    policy = current_policy()
    case = queries.case_or_404(case_id, policy)
    if not policy.can(case.panel_id, "risk", "write"):  # refuse before judging the body
        audit.refused("policy: risk write not granted", panel=case.panel, case_id=case.id)
        abort(403, "Changing the RAG needs write access to risk on this panel")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(422, 'Send a JSON object: {"rag": "red|amber|green", "rationale": "...", "version": N}')
    unknown = sorted(set(body) - {"rag", "rationale", "version"})
    if unknown:
        abort(422, f"Unknown field(s): {', '.join(unknown)}")
    version = body.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        abort(422, "version is required: the case version you read (a whole number)")
    if not isinstance(body.get("rag"), str) or not isinstance(body.get("rationale", ""), str):
        abort(422, "rag and rationale must be strings")
    try:
        services.change_rag(case, to=body["rag"], rationale=body.get("rationale", ""), policy=policy,
                            expected_version=version)
    except services.Invalid as exc:
        abort(422, str(exc))
    except services.Refused:
        audit.refused("policy: risk write not granted", panel=case.panel, case_id=case.id)
        abort(403, "Changing the RAG needs write access to risk on this panel")
    except services.StaleVersion as exc:
        abort(409, f"The case is at version {exc.case.version}, not {version}: read it again and reapply")
    return case_dict(case, policy)


@api.get("/openapi.json")
def openapi_document():
    from flask import current_app

    from cohort.openapi import build_document

    return build_document(current_app)
