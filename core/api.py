"""The JSON API blueprint (/api/v1): bearer tokens, JSON errors, one policy.

Feature packages add their routes in `<feature>/api.py` using `api`; they are imported by
load_api_routes() before the blueprint is registered.
"""

from __future__ import annotations

import importlib

from flask import Blueprint, abort, g

api = Blueprint("api", __name__, url_prefix="/api/v1")
API_MODULES = ("auth.api", "cohort.api", "cohort.dedupe_api", "panels.api", "sharing.api")


@api.before_request
def _require_token():
    if g.get("user") is None:
        from sharing import audit

        audit.refused("api: no valid token")  # refusals are logged, this one too
        abort(401, "Send a valid API token: Authorization: Bearer <token>")


def load_api_routes() -> None:
    for name in API_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
