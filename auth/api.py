"""`GET /api/v1/me`: who a bearer token belongs to (and a simple check that it works)."""

from __future__ import annotations

from flask import g

from core.api import api


@api.route("/me")
def me():
    user = g.user
    return {"email": user.email, "name": user.name, "agency": user.agency.code, "roles": sorted(user.roles)}
