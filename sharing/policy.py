"""The one access policy: (user, panel, category, read|write) -> allowed?

Derived from the information-sharing agreements in force today (Europe/London) that cover
the panel and name the user's agency, and from the user's roles. Every read and write of
case data asks this object; templates get the same object as `policy`.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field

from core import clock
from core.extensions import db
from core.labels import label
from sharing.crypto import CATEGORIES
from sharing.gateway import agreements_in_force
from sharing.models import Isa, IsaGrant, isa_panels

# Roles that work with case data; admin and auditor alone do not (separation of duties).
CASE_ROLES = ("coordinator", "practitioner", "analyst")
WRITE_ROLES = ("coordinator", "practitioner")


@dataclass
class PanelAccess:
    panel_id: int
    grants: dict[str, str] = field(default_factory=dict)  # category -> "r" | "rw"
    isa_refs: list[str] = field(default_factory=list)


class Policy:
    """Access for one user on one day; cheap to build, cached on `g` per request."""

    def __init__(self, user, on: dt.date | None = None):
        self.user = user
        self.on = on or clock.today()
        self._panels: dict[int, PanelAccess] | None = None

    # -- derivation ----------------------------------------------------------------------
    def _load(self) -> dict[int, PanelAccess]:
        if self._panels is not None:
            return self._panels
        result: dict[int, PanelAccess] = {}
        user = self.user
        if user is None or not user.active or not user.has_role(*CASE_ROLES):
            self._panels = result
            return result
        rows = db.session.execute(_grants_in_force(), {"agency_id": user.agency_id, "on": self.on}).all()
        for panel_id, category, access, ref in rows:
            pa = result.setdefault(panel_id, PanelAccess(panel_id))
            if access == "rw" or category not in pa.grants:
                pa.grants[category] = access
            if ref not in pa.isa_refs:
                pa.isa_refs.append(ref)
        self._panels = result
        return result

    # -- questions -----------------------------------------------------------------------
    def panel_ids(self) -> list[int]:
        """Panels the user's agency takes part in under an agreement in force."""
        return sorted(self._load())

    def takes_part(self, panel_id: int) -> bool:
        return panel_id in self._load()

    def can(self, panel_id: int, category: str, action: str = "read") -> bool:
        pa = self._load().get(panel_id)
        if pa is None:
            return False
        access = pa.grants.get(category)
        if access is None:
            return False
        if action == "read":
            return True
        return access == "rw" and self.user.has_role(*WRITE_ROLES)

    def readable(self, panel_id: int) -> set[str]:
        pa = self._load().get(panel_id)
        return set(pa.grants) if pa else set()

    def withheld(self, panel_id: int) -> list[str]:
        readable = self.readable(panel_id)
        return [c for c in CATEGORIES if c not in readable]

    def withheld_message(self, panel_id: int) -> str:
        """e.g. "Withheld: contact details, health — not shared with DWP under ISA-IOM-2026"."""
        withheld = self.withheld(panel_id)
        if not withheld:
            return ""
        pa = self._load().get(panel_id)
        refs = ", ".join(pa.isa_refs) if pa and pa.isa_refs else "any agreement in force"
        agency = self.user.agency.code if self.user is not None else "you"
        words = ", ".join(label(c).lower() for c in withheld)
        return f"Withheld: {words} — not shared with {agency} under {refs}"

    def can_read_identity_of(self, panel_ids: list[int]) -> bool:
        return any(self.can(pid, "identity") for pid in panel_ids)

    def isa_refs(self, panel_id: int) -> list[str]:
        pa = self._load().get(panel_id)
        return list(pa.isa_refs) if pa else []

    # -- roles ---------------------------------------------------------------------------
    def has_role(self, *roles: str) -> bool:
        return self.user is not None and self.user.active and self.user.has_role(*roles)


@functools.cache
def _grants_in_force():
    """The grants of one agency's agreements in force on a day, per panel (built once: this
    runs on every request, and building the statement cost twenty times running it)."""
    on = db.bindparam("on", type_=db.Date)
    return (
        db.select(isa_panels.c.panel_id, IsaGrant.category, IsaGrant.access, Isa.ref)
        .join(Isa, Isa.id == IsaGrant.isa_id)
        .join(isa_panels, isa_panels.c.isa_id == Isa.id)
        .where(IsaGrant.agency_id == db.bindparam("agency_id"), agreements_in_force(on))
    )


def current_policy() -> Policy:
    """The request's policy object (built once per request)."""
    from flask import g

    pol = g.get("policy")
    if pol is None:
        pol = g.policy = Policy(g.get("user"))
    return pol
