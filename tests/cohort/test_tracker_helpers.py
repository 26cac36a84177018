"""Builders for the tracker/case/API tests: cases made through the real services."""

from __future__ import annotations

import datetime as dt
import itertools

from core.extensions import db

WRITERS = {"IOM": "coord", "MAPPA": "mappa.coord"}
_refs = itertools.count(1)


def policy_for(partnership, short: str):
    """A policy for a test user, loaded in the current session (fixtures' objects may be detached)."""
    from auth.models import User
    from sharing.policy import Policy

    email = partnership.user(short).__dict__.get("email") or f"{short}@test.example"
    return Policy(db.session.execute(db.select(User).filter_by(email=email)).scalar_one())


def make_case(partnership, panel: str = "IOM", *, given: str = "Zoë", family: str = "O'Brien", rag: str | None = None,
              nominal=None, status: str = "active", ref: str | None = None, identity: dict | None = None,
              commit: bool = True, **fields):
    """A nominal (new unless given) referred to `panel`, with RAG set through change_rag."""
    from cohort import services

    pol = policy_for(partnership, WRITERS[panel])
    if nominal is None:
        nominal = services.create_nominal(given_name=given, family_name=family, **(identity or {}))
    from panels.models import Panel

    panel_row = db.session.execute(db.select(Panel).filter_by(code=panel)).scalar_one()
    case = services.refer(nominal, panel_row, ref=ref or f"R{next(_refs):05d}", policy=pol,
                          status=status, referral_date=fields.pop("referral_date", dt.date(2026, 1, 5)))
    for key, value in fields.items():
        setattr(case, key, value)
    db.session.flush()
    if rag:
        services.change_rag(case, to=rag, rationale=f"initial {rag}", policy=pol)
    if commit:
        db.session.commit()
    return case


def test_helpers_build_a_case(partnership):
    case = make_case(partnership, rag="red", lead_officer="DC Smith")
    assert case.version == 3  # created, lead officer set, RAG changed
    assert case.rag == "red" and case.nominal.full_name == "Zoë O'Brien"
