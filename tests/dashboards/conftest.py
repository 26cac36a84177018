"""Builders for the dashboard tests: cases and actions through the real services."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from cohort import services
from core.extensions import db
from panels.models import Panel
from sharing.policy import Policy

WRITERS = {"IOM": "probation", "MAPPA": "mappa.coord"}
_refs = itertools.count(1)


@pytest.fixture
def make_case(partnership):
    def _make(panel: str = "IOM", *, given: str = "Alex", family: str = "Smith", lead: str | None = None,
              identity=None, **fields):
        policy = Policy(partnership.user(WRITERS[panel]))
        nominal = services.create_nominal(given_name=given, family_name=family, **(identity or {}))
        panel_row = db.session.execute(db.select(Panel).filter_by(code=panel)).scalar_one()
        case = services.refer(nominal, panel_row, ref=f"{panel}-D{next(_refs)}", policy=policy,
                              referral_date=dt.date(2026, 1, 5))
        if lead:
            case.lead_agency_id = partnership.agencies[lead].id
        for key, value in fields.items():
            setattr(case, key, value)
        db.session.commit()
        return case

    return _make


@pytest.fixture
def make_action(partnership):
    def _make(case, *, agency: str = "POLICE", due: dt.date, text: str = "Visit", by: str = "probation"):
        action = services.add_action(case, description=text, owner_agency_id=partnership.agencies[agency].id,
                                     owner_name="", due=due, policy=Policy(partnership.user(by)))
        db.session.commit()
        return action

    return _make
