"""The OpenAPI 3.1 document of /api/v1, generated from the routes that actually exist.

Paths come from the app's URL map (every rule of the `api` blueprint), so a new endpoint
appears without anyone editing this file; the cohort endpoints carry hand-written schemas,
the others a generic entry built from their docstring.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

from cohort.models import CASE_STATUSES, RAGS
from sharing.crypto import CATEGORIES

_CONVERTER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
_TYPES = {"int": "integer", "float": "number"}

ERROR = {"$ref": "#/components/schemas/Error"}


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": ERROR}}}


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


COMMON_ERRORS = {"401": _error("No or bad token"), "403": _error("Refused by the access policy")}

SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
    "Panel": {
        "type": "object",
        "required": ["code", "name", "kind"],
        "properties": {"code": {"type": "string"}, "name": {"type": "string"}, "kind": {"type": "string"}},
    },
    "Case": {
        "type": "object",
        "description": "A case as the caller may see it: fields of categories the caller may not read are "
                       "left out and the categories are named in `withheld`.",
        "required": ["id", "nominal_id", "panel", "ref", "version", "status", "name", "withheld"],
        "properties": {
            "id": {"type": "integer"},
            "nominal_id": {"type": "integer"},
            "panel": {"type": "string"},
            "ref": {"type": "string"},
            "version": {"type": "integer", "description": "Send it back with PATCH; a stale one is 409"},
            "status": {"type": "string", "enum": list(CASE_STATUSES)},
            "name": {"type": "string", "description": "The name, or a stable pseudonym where identity is withheld"},
            "given_name": {"type": ["string", "null"]},
            "family_name": {"type": ["string", "null"]},
            "aliases": {"type": ["array", "null"], "items": {"type": "string"}},
            "date_of_birth": {"type": ["string", "null"], "format": "date"},
            "gender": {"type": ["string", "null"]},
            "pnc": {"type": ["string", "null"]},
            "cro": {"type": ["string", "null"]},
            "nomis": {"type": ["string", "null"]},
            "crn": {"type": ["string", "null"]},
            "address": {"type": ["string", "null"]},
            "postcode": {"type": ["string", "null"]},
            "lead_agency": {"type": ["string", "null"]},
            "lead_officer": {"type": ["string", "null"]},
            "referral_date": {"type": ["string", "null"], "format": "date"},
            "referring_agency": {"type": ["string", "null"]},
            "last_engagement": {"type": ["string", "null"], "format": "date"},
            "order_end_date": {"type": ["string", "null"], "format": "date"},
            "cohort_type": {"type": ["string", "null"]},
            "mappa_category": {"type": ["integer", "null"]},
            "exit_reason": {"type": ["string", "null"]},
            "exited_on": {"type": ["string", "null"], "format": "date"},
            "rag": {"type": ["string", "null"], "enum": [*RAGS, None]},
            "risk_level": {"type": ["string", "null"]},
            "mappa_level": {"type": ["integer", "null"]},
            "next_review": {"type": ["string", "null"], "format": "date"},
            "last_reviewed": {"type": ["string", "null"], "format": "date"},
            "accommodation": {"type": ["string", "null"]},
            "employment": {"type": ["string", "null"]},
            "withheld": {"type": "array", "items": {"type": "string", "enum": list(CATEGORIES)}},
        },
    },
    "RagChange": {
        "type": "object",
        "properties": {
            "at": {"type": "string", "format": "date-time"},
            "by": {"type": "string"},
            "agency": {"type": "string"},
            "from": {"type": ["string", "null"]},
            "to": {"type": "string"},
            "rationale": {"type": ["string", "null"]},
            "source": {"type": "string"},
        },
    },
    "CaseDetail": {
        "allOf": [
            {"$ref": "#/components/schemas/Case"},
            {
                "type": "object",
                "properties": {
                    "rag_history": {"type": "array", "items": {"$ref": "#/components/schemas/RagChange"},
                                    "description": "Only where risk is readable"},
                    "needs": {"type": "array", "items": {"type": "object"}},
                    "notes": {"type": "array", "items": {"type": "object"}},
                },
            },
        ]
    },
}

CODE = {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}
CASE_ID = {"name": "case_id", "in": "path", "required": True, "schema": {"type": "integer"}}

# (path, method) -> operation, for the endpoints this feature owns
OPERATIONS: dict[tuple[str, str], dict] = {
    ("/panels", "get"): {
        "summary": "Panels the caller's agency takes part in",
        "responses": {"200": _json({"type": "object", "properties": {
            "panels": {"type": "array", "items": {"$ref": "#/components/schemas/Panel"}}}}), **COMMON_ERRORS},
    },
    ("/panels/{code}/cases", "get"): {
        "summary": "The panel's cases, 50 a page",
        "parameters": [
            CODE,
            {"name": "rag", "in": "query", "schema": {"type": "string", "enum": list(RAGS)},
             "description": "Needs risk read on the panel (403 otherwise)"},
            {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(CASE_STATUSES)}},
            {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
        ],
        "responses": {
            "200": _json({"type": "object", "required": ["cases", "page", "next", "total"], "properties": {
                "cases": {"type": "array", "items": {"$ref": "#/components/schemas/Case"}},
                "page": {"type": "integer"},
                "next": {"type": ["integer", "null"]},
                "total": {"type": "integer"}}}),
            **COMMON_ERRORS,
            "404": _error("No such panel, or the caller's agency does not take part"),
            "422": _error("Invalid rag, status or page"),
        },
    },
    ("/cases/{case_id}", "get"): {
        "summary": "One case with its RAG history (where risk is readable)",
        "parameters": [CASE_ID],
        "responses": {"200": _json({"$ref": "#/components/schemas/CaseDetail"}), **COMMON_ERRORS,
                      "404": _error("No such case on a panel the caller takes part in")},
    },
    ("/cases/{case_id}", "patch"): {
        "summary": "Change the RAG with a rationale, against the version you read",
        "parameters": [CASE_ID],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["rag", "rationale", "version"], "additionalProperties": False,
            "properties": {"rag": {"type": "string", "enum": list(RAGS)}, "rationale": {"type": "string",
                           "minLength": 1, "maxLength": 5000}, "version": {"type": "integer"}}}}}},
        "responses": {
            "200": _json({"$ref": "#/components/schemas/Case"}, "The updated case (version + 1)"),
            **COMMON_ERRORS,
            "404": _error("No such case on a panel the caller takes part in"),
            "409": _error("The version is stale: someone changed the case first"),
            "422": _error("No rationale, an unknown RAG or no version"),
        },
    },
    ("/openapi.json", "get"): {
        "summary": "This document",
        "responses": {"200": {"description": "OpenAPI 3.1 document", "content": {"application/json": {}}}},
    },
}


def _path(rule: str, prefix: str) -> tuple[str, list[dict]]:
    params = []

    def sub(m: re.Match) -> str:
        params.append({"name": m.group(2), "in": "path", "required": True,
                       "schema": {"type": _TYPES.get(m.group(1) or "", "string")}})
        return "{" + m.group(2) + "}"

    return _CONVERTER.sub(sub, rule.removeprefix(prefix)) or "/", params


def _generic(view, params: list[dict], method: str) -> dict:
    doc = (view.__doc__ or "").strip().splitlines()
    summary = doc[0] if doc else (view.__name__.replace("_", " ").capitalize())
    op: dict = {"summary": summary, "responses": {"200": {"description": "OK",
                                                          "content": {"application/json": {}}},
                                                  **COMMON_ERRORS}}
    if params:
        op["parameters"] = params
        op["responses"]["404"] = _error("Not found, or not visible to the caller")
    if method in ("post", "put", "patch"):
        op["requestBody"] = {"content": {"application/json": {"schema": {"type": "object"}}}}
        op["responses"]["422"] = _error("Invalid input")
    return op


def build_document(app: Flask) -> dict:
    """The document for the routes registered on this app's `api` blueprint."""
    prefix = "/api/v1"
    paths: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.endpoint.startswith("api."):
            continue
        path, params = _path(rule.rule, prefix)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            m = method.lower()
            op = OPERATIONS.get((path, m)) or _generic(app.view_functions[rule.endpoint], params, m)
            op = {"operationId": f"{rule.endpoint.removeprefix('api.')}_{m}", **op}
            paths.setdefault(path, {})[m] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Manage risk panels API",
            "version": "1",
            "description": "Every response goes through the partnership's access policy: categories the caller "
                           "may not read are left out and named in `withheld`. Errors are {\"error\": \"...\"}.",
        },
        "servers": [{"url": prefix}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "A personal token from `flask users token EMAIL`"}},
            "schemas": SCHEMAS,
        },
    }
