"""The JSON API blueprint (/api/v1): bearer tokens, JSON errors, one policy, declared shapes.

Feature packages add their routes in `<feature>/api.py` using `api`; the composition root
(wsgi.py, API_MODULES) imports them before it registers the blueprint.

How to declare an endpoint
--------------------------
Every API view carries one declaration, next to it, of what it takes and what it answers.
The same declaration validates the request (422 naming the field, before any write) and
writes the endpoint's entry in /api/v1/openapi.json (cohort/openapi.py), so the document
and the behaviour cannot drift apart, and tests/api/ fuzzes it with Schemathesis without
anyone listing the endpoint there::

    from core.api import api, endpoint, request_args, request_json, shape

    ACTION = shape("Action", {"type": "object", "required": ["id", "status"], "properties": {...}})
    NEW_ACTION = {"type": "object", "required": ["text", "due"], "additionalProperties": False,
                  "properties": {"text": TEXT, "due": {"type": "string", "format": "date"}}}

    @api.post("/cases/<int:case_id>/actions")
    @endpoint("Add an action to a case", body=NEW_ACTION,
              responses={201: ACTION, 404: "No such case", 403: "Needs offending write", 422: "Invalid action"})
    def add_action(case_id: int):
        case = ...                     # load (404) and check the policy (403) first
        data = request_json()          # then the body, validated against NEW_ACTION (422)
        ...
        return {...}, 201

- `shape(name, schema)` registers a named schema once (components/schemas) and returns its
  `$ref`; use it wherever the shape appears (responses, other shapes), never a copy.
- `query={name: schema}` documents and validates query parameters; `request_args()` returns
  them converted (integers, booleans) after checking them against their schemas, so an
  empty `rag=` is refused when "" is not in the enum. `required_query=(...)` names the
  required ones. Path parameters come from the URL rule (`<int:...>` is an id: 1..2^31-1).
- `responses`: status -> a schema (2xx; or `(schema, "description"[, "media/type"])`; None: no body) or
  a description string (4xx: the body is {"error": "..."}). List every status the view can
  answer; 400 (NUL in the request), 401 (no token, unless `public=True`) and 503 (database
  down) are added to every endpoint.
- Strings in a body or query that may hold anything get `TEXT`-like schemas: the document
  adds "no NUL" to them (NUL is refused with 400 everywhere).
- `rules=("the exit date is not before the referral date", ...)`: the rules a request that
  fits the schema can still break because of the record's state (answered 422, the rule in
  words). Put everything a schema can say in the schema (enums, formats, limits, patterns):
  Schemathesis sends schema-valid requests and fails a 422 unless the operation lists rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, abort, current_app, g, request
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

api = Blueprint("api", __name__, url_prefix="/api/v1")

SHAPES: dict[str, dict[str, Any]] = {}  # name -> JSON Schema: the document's components/schemas
REF = "#/components/schemas/"
DATE = {"type": "string", "format": "date", "description": "YYYY-MM-DD"}
ID = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
NO_NUL = "^[^\\x00]*$"
TEXT = {"type": "string", "pattern": NO_NUL}
# Something other than whitespace (Python's str.strip() and ECMA-262 \s agree on these).
NOT_BLANK = "^[^\\x00]*[^\\s\\x00\\x1c-\\x1f\\x85][^\\x00]*$"


def shape(name: str, schema: dict[str, Any]) -> dict[str, str]:
    """Register `schema` as the one declaration of `name`; the `$ref` to use for it."""
    if name in SHAPES and SHAPES[name] != schema:
        raise ValueError(f"API shape {name!r} is declared twice, differently")
    SHAPES[name] = schema
    return {"$ref": REF + name}


@dataclass
class Declaration:
    """What one API view takes and answers (see the module docstring)."""

    summary: str
    responses: dict[int, Any]
    query: dict[str, dict[str, Any]] = field(default_factory=dict)
    required_query: tuple[str, ...] = ()
    body: dict[str, Any] | None = None
    body_required: bool = True
    public: bool = False
    description: str | None = None
    tags: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()


def endpoint(summary: str, *, responses: dict[int, Any], query: dict[str, dict[str, Any]] | None = None,
             required_query: tuple[str, ...] = (), body: dict[str, Any] | None = None, body_required: bool = True,
             public: bool = False, description: str | None = None, tags: tuple[str, ...] = (),
             rules: tuple[str, ...] = ()) -> Callable:
    """Declare an API view's request and response shapes (above or below `@api.get(...)`)."""
    declaration = Declaration(summary, responses, query or {}, required_query, body, body_required, public,
                              description, tags, rules)

    def decorate(view: Callable) -> Callable:
        view.api_declaration = declaration
        return view

    return decorate


def declaration_of(view: Callable) -> Declaration | None:
    return getattr(view, "api_declaration", None)


@api.before_request
def _require_token():
    view = current_app.view_functions.get(request.endpoint or "")
    declared = declaration_of(view) if view else None
    if declared is not None and declared.public:
        return None
    if g.get("user") is None:
        current_app.extensions["access_log"].refused("api: no valid token")  # refusals are logged, this one too
        abort(401, "Send a valid API token: Authorization: Bearer <token>")
    return None


# -- validating a request against its declaration -------------------------------------------


def _current() -> Declaration:
    view = current_app.view_functions[request.endpoint]
    declared = declaration_of(view)
    if declared is None:
        raise LookupError(f"{request.endpoint} has no @endpoint declaration")
    return declared


_VALIDATORS: dict[int, Draft202012Validator] = {}


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    """A validator for `schema` that resolves `$ref`s to the registered shapes (built once)."""
    key = id(schema)
    if key not in _VALIDATORS:
        root = {**schema, "components": {"schemas": SHAPES}}
        _VALIDATORS[key] = Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return _VALIDATORS[key]


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def request_json() -> Any:
    """The JSON body, checked against the endpoint's declared `body`; 422 (400 for NUL) otherwise."""
    declared = _current()
    raw = request.get_data(cache=True)
    if not raw.strip():
        if declared.body_required:
            abort(422, "Send a JSON body (Content-Type: application/json)")
        return None
    if not request.is_json:
        abort(422, "Send the body as JSON (Content-Type: application/json)")
    body = request.get_json(silent=True)
    if body is None:
        abort(422, "The body is not valid JSON")
    if _has_nul(body):
        abort(400, "The request contains a character that is not allowed (NUL).")
    if declared.body is not None:
        _check(declared.body, body, "")
    return body


_INTEGER = re.compile(r"-?\d{1,18}")


def _convert(value: str, schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    if kind == "integer" and _INTEGER.fullmatch(value):
        return int(value)
    if kind == "boolean" and value in ("true", "false"):
        return value == "true"
    return value


def request_args() -> dict[str, Any]:
    """The declared query parameters that were sent, converted and checked; 422 naming the first bad one."""
    declared = _current()
    out: dict[str, Any] = {}
    for name in declared.required_query:
        if name not in request.args:
            abort(422, f"{name} is required")
    for name, schema in declared.query.items():
        values = request.args.getlist(name)
        if not values:
            continue
        if len(values) > 1:
            abort(422, f"{name}: give it once")
        value = _convert(values[0], schema)
        _check(schema, value, name)
        out[name] = value
    return out


def _check(schema: dict[str, Any], value: Any, name: str) -> None:
    error = next(iter(sorted(_validator(schema).iter_errors(value), key=lambda e: list(e.path))), None)
    if error is not None:
        abort(422, explain(error, name))


def explain(error: ValidationError, name: str = "") -> str:
    """A sentence for a validation error that names the field and never echoes a long value."""
    where = ".".join([name, *map(str, error.absolute_path)] if name else map(str, error.absolute_path))
    prefix = f"{where}: " if where else ""
    rule, schema = error.validator, error.schema if isinstance(error.schema, dict) else {}
    if rule == "required":
        missing = [p for p in error.validator_value if isinstance(error.instance, dict) and p not in error.instance]
        return f"{prefix}{', '.join(missing) or 'a field'} is required"
    if rule == "additionalProperties":
        allowed = set(schema.get("properties", {}))
        extra = sorted(str(k) for k in error.instance if k not in allowed) if isinstance(error.instance, dict) else []
        return f"{prefix}unknown field(s): {', '.join(extra)[:200]}"
    if rule in ("anyOf", "oneOf") and all(set(branch) == {"required"} for branch in error.validator_value):
        names = [name for branch in error.validator_value for name in branch["required"]]
        return f"{prefix}give {' or '.join(names)}" + (" (not both)" if rule == "oneOf" else "")
    if rule == "enum":
        return f"{prefix}must be one of {', '.join(str(v) for v in error.validator_value if v is not None)}"
    if rule == "type":
        kinds = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        words = [("an " if k in ("integer", "object", "array") else "a ") + k for k in kinds]
        return f"{prefix}must be {' or '.join(words)}"
    if rule == "format":
        hint = " (use YYYY-MM-DD)" if error.validator_value == "date" else ""
        return f"{prefix}is not a {error.validator_value}{hint}"
    if rule == "minimum":
        return f"{prefix}must be {error.validator_value} or more"
    if rule == "maximum":
        return f"{prefix}must be {error.validator_value:,} or less"
    if rule == "minLength":
        return f"{prefix}must not be empty" if error.validator_value == 1 else \
            f"{prefix}must be at least {error.validator_value} characters"
    if rule == "maxLength":
        return f"{prefix}must be {error.validator_value:,} characters or fewer"
    if rule == "pattern":
        if error.validator_value == NOT_BLANK:
            return f"{prefix}must contain something other than spaces"
        return f"{prefix}{schema.get('description') or 'is not in the expected form'}"
    return f"{prefix}is not valid ({rule})"
