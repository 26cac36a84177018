"""`GET /api/v1/me`: who a bearer token belongs to (and a simple check that it works)."""

from __future__ import annotations

from flask import g

from core.api import api, endpoint, shape

ME = shape("Me", {
    "type": "object", "required": ["email", "name", "agency", "roles"], "additionalProperties": False,
    "properties": {"email": {"type": "string"}, "name": {"type": "string"},
                   "agency": {"type": "string", "description": "The agency's code"},
                   "roles": {"type": "array", "items": {"type": "string"}}},
})


@api.get("/me")
@endpoint("Who the token belongs to (a simple check that it works)", responses={200: ME})
def me():
    user = g.user
    return {"email": user.email, "name": user.name, "agency": user.agency.code, "roles": sorted(user.roles)}
