"""The OpenAPI 3.1 document of /api/v1, generated from the routes and their declarations.

To add an endpoint to the document, declare it next to its view with `@endpoint(...)` from
core.api (the how-to is at the top of core/api.py): paths come from the app's URL map
(every rule of the `api` blueprint), parameters from the rule and the declared query,
request and response schemas from the declaration, named shapes from `shape()`. Nothing
is listed here by hand, so nothing here can go stale; tests/api/ checks the document with
openapi-spec-validator and fuzzes every operation in it with Schemathesis.

A view without a declaration still appears, with an untyped entry, and
tests/api/test_openapi.py fails naming it.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from flask import Flask

from core.api import NO_NUL, NOT_BLANK, REF, SHAPES, Declaration, declaration_of, shape

PREFIX = "/api/v1"
_CONVERTER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
_PATH_TYPES = {
    "int": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1,
            "description": "An id; one outside 0..2147483647 is simply not found (404)"},
    "float": {"type": "number"},
}

ERROR = shape("Error", {"type": "object", "required": ["error"], "additionalProperties": False,
                        "properties": {"error": {"type": "string", "description": "What was wrong, in words"}}})

# Answers any endpoint can give, whatever it declares.
ALWAYS = {
    400: "The request holds a NUL character, which is never valid here",
    503: "The database is not answering; try again in a minute",
}
NO_TOKEN = "No token, or one that is not valid (the answer carries `WWW-Authenticate: Bearer`)"
WWW_AUTHENTICATE = {"WWW-Authenticate": {"description": "Always `Bearer`", "schema": {"type": "string"}}}


def _error(description: str, headers: dict | None = None) -> dict:
    out: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": ERROR}}}
    if headers:
        out["headers"] = headers
    return out


def _success(value: Any) -> dict:
    """(schema[, description[, media type]]) or a bare schema -> a response object; None: no body."""
    parts = value if isinstance(value, tuple) else (value,)
    schema, description, media = (*parts, *("OK", "application/json")[len(parts) - 1:])
    if schema is None:
        return {"description": description}
    return {"description": description, "content": {media: {"schema": schema}}}


def _no_nul(schema: Any) -> Any:
    """A copy of `schema` where every free-text string refuses NUL (as every endpoint does, with 400)."""
    if isinstance(schema, list):
        return [_no_nul(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: (_no_nul(v) if k in ("properties", "items", "allOf", "anyOf", "oneOf", "additionalProperties",
                                   "prefixItems", "not") else v) for k, v in schema.items()}
    if "properties" in out:
        out["properties"] = {k: _no_nul(v) for k, v in schema["properties"].items()}
    types = schema.get("type")
    is_string = types == "string" or (isinstance(types, list) and "string" in types)
    if is_string and not any(k in schema for k in ("pattern", "enum", "const", "format")):
        out["pattern"] = NO_NUL
    return out


def _path(rule: str) -> tuple[str, list[dict]]:
    params = []

    def sub(m: re.Match) -> str:
        schema = copy.deepcopy(_PATH_TYPES.get(m.group(1) or "", {"type": "string", "pattern": NO_NUL}))
        params.append({"name": m.group(2), "in": "path", "required": True, "schema": schema})
        return "{" + m.group(2) + "}"

    return _CONVERTER.sub(sub, rule.removeprefix(PREFIX)) or "/", params


def _responses(declared: Declaration, has_path_params: bool) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for status, value in sorted(declared.responses.items()):
        out[str(status)] = _error(value) if status >= 400 else _success(value)
    if has_path_params and "404" not in out:
        out["404"] = _error("Not found, or not visible to the caller")
    if not declared.public:
        out.setdefault("401", _error(NO_TOKEN, WWW_AUTHENTICATE))
    for status, text in ALWAYS.items():
        out.setdefault(str(status), _error(text))
    return dict(sorted(out.items()))


def _declared_operation(declared: Declaration, params: list[dict], method: str) -> dict:
    op: dict[str, Any] = {"summary": declared.summary}
    description = declared.description or ""
    if declared.rules:
        rules = "; ".join(declared.rules)
        description = f"{description}\n\nAlso refused (422) when the record's state breaks a rule: {rules}.".strip()
        op["x-rules"] = list(declared.rules)
    if description:
        op["description"] = description
    if declared.tags:
        op["tags"] = list(declared.tags)
    query = [{"name": name, "in": "query", "required": name in declared.required_query,
              "schema": _no_nul(schema), **({"description": schema["description"]} if "description" in schema else {})}
             for name, schema in declared.query.items()]
    if params or query:
        op["parameters"] = params + query
    if declared.body is not None and method in ("post", "put", "patch"):
        op["requestBody"] = {"required": declared.body_required,
                             "content": {"application/json": {"schema": _no_nul(declared.body)}}}
    op["responses"] = _responses(declared, bool(params))
    if declared.public:
        op["security"] = []
    return op


def _undeclared_operation(view, params: list[dict], method: str) -> dict:
    doc = (view.__doc__ or "").strip().splitlines()
    summary = doc[0] if doc else view.__name__.replace("_", " ").capitalize()
    declared = Declaration(summary=f"{summary} (undeclared: no @endpoint)",
                           responses={200: ({}, "OK (shape not declared)"), 403: "Refused", 422: "Invalid input"},
                           body={"type": "object"} if method in ("post", "put", "patch") else None,
                           body_required=False)
    op = _declared_operation(declared, params, method)
    op["x-undeclared"] = True
    return op


def operations(app: Flask) -> list[tuple[str, str, str, Any]]:
    """(path, method, endpoint, view) for every API route of `app`, in path order."""
    out = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.endpoint.startswith("api."):
            continue
        path, _ = _path(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((path, method.lower(), rule.endpoint, app.view_functions[rule.endpoint]))
    return out


def build_document(app: Flask) -> dict:
    """The document for the routes registered on this app's `api` blueprint."""
    paths: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.endpoint.startswith("api."):
            continue
        path, params = _path(rule.rule)
        view = app.view_functions[rule.endpoint]
        declared = declaration_of(view)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            m = method.lower()
            op = _declared_operation(declared, params, m) if declared else _undeclared_operation(view, params, m)
            if "requestBody" in op:
                limit = app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
                op["responses"] = dict(sorted({**op["responses"], "413": _error(
                    f"The body is larger than the service accepts ({limit} MB)")}.items()))
            paths.setdefault(path, {})[m] = {"operationId": f"{rule.endpoint.removeprefix('api.')}_{m}", **op}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Manage risk panels API",
            "version": "1",
            "description": "Every response goes through the partnership's access policy: categories the caller "
                           "may not read are left out and named in `withheld`. Errors are "
                           "`{\"error\": \"...\"}` with the status saying what kind. A field is left out "
                           "(not null) when its category is withheld. The reference page for people is at "
                           "`/api/v1/reference`.",
        },
        "servers": [{"url": app.config["PUBLIC_URL"] + PREFIX}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "A personal token from the account page or "
                                                          "`flask --app wsgi users token EMAIL`; the scheme "
                                                          "name is matched in any case"}},
            "schemas": {name: _no_nul(schema) for name, schema in sorted(SHAPES.items())},
        },
    }


# -- the reference page (/api/v1/reference) -----------------------------------------------


def describe(schema: Any) -> str:
    """A schema in a few words for the reference page: "string (date)", "one of: red, amber", "array of Case"."""
    if not isinstance(schema, dict) or not schema:
        return "any"
    if "$ref" in schema:
        return schema["$ref"].removeprefix(REF)
    if "allOf" in schema:
        return " and ".join(describe(s) for s in schema["allOf"])
    if "oneOf" in schema or "anyOf" in schema:
        return " or ".join(describe(s) for s in schema.get("oneOf") or schema["anyOf"])
    types = schema.get("type", "any")
    types = [t for t in types if t != "null"] if isinstance(types, list) else [types]
    nullable = isinstance(schema.get("type"), list) and "null" in schema["type"]
    kind = " or ".join(types)
    if "object" in types and schema.get("properties"):
        kind = "object with " + ", ".join(f"{name} ({describe(prop)})" for name, prop in schema["properties"].items())
    if "array" in types:
        kind = f"array of {describe(schema.get('items', {}))}"
    if "enum" in schema:
        kind = "one of: " + ", ".join(str(v) for v in schema["enum"] if v is not None)
    if "const" in schema:
        kind = f"{kind} ({str(schema['const']).lower()})"
    if schema.get("format"):
        kind += f" ({schema['format']})"
    limits = [f"{label} {schema[key]:,}" for key, label in (("minimum", "from"), ("maximum", "to"),
                                                             ("minLength", "at least"), ("maxLength", "at most"),
                                                             ("maxItems", "at most")) if key in schema]
    if limits:
        kind += " " + ", ".join(limits)
    if schema.get("pattern") == NOT_BLANK:
        kind += ", not only spaces"
    return kind + (", or null" if nullable else "")


def _properties(schema: dict) -> list[dict[str, str]]:
    if "allOf" in schema:
        return [row for part in schema["allOf"] if "$ref" not in part for row in _properties(part)]
    required = set(schema.get("required", []))
    return [{"name": name, "type": describe(prop), "required": "yes" if name in required else "",
             "description": prop.get("description", "")} for name, prop in schema.get("properties", {}).items()]


def _plain(text: str) -> str:
    return text.replace("`", "")


def reference(doc: dict) -> dict[str, Any]:
    """The document as rows for the reference page template (no logic left in the template)."""
    ops = []
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            ops.append({
                "id": op["operationId"], "method": method.upper(), "path": path, "summary": op["summary"],
                "public": op.get("security") == [], "rules": op.get("x-rules", []),
                "parameters": [{"name": p["name"], "in": p["in"], "required": "yes" if p.get("required") else "",
                                "type": describe(p["schema"]), "description": p.get("description", "")}
                               for p in op.get("parameters", [])],
                "body": _properties(body) if body and "properties" in body else [],
                "body_type": describe(body) if body else None,
                "responses": [{"status": status, "description": _plain(r["description"]),
                               "type": ", ".join(f"{media}: {describe(c.get('schema'))}"
                                                 for media, c in r.get("content", {}).items())}
                              for status, r in op["responses"].items()],
            })
    shapes = [{"name": name, "description": schema.get("description", ""), "properties": _properties(schema)}
              for name, schema in doc["components"]["schemas"].items()]
    return {"title": doc["info"]["title"], "intro": _plain(doc["info"]["description"]),
            "server": doc["servers"][0]["url"], "operations": ops, "shapes": shapes}
