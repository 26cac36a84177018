"""Fixtures for the lifecycle tests: a partnership with retention periods and a DPO, people
with canary values in every category, and a scan of every table for what was erased."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import LargeBinary, String, Text, select

from core import clock
from core.extensions import db
from tests.support import TEST_PASSWORD, Partnership, clock_at, partnership_data

_refs = itertools.count(1)


@pytest.fixture
def lifecycle_partnership(app, tmp_path):
    """IOM keeps exited people 30 days, MAPPA 0 days; a DPO at LACS; the journal in tmp_path."""
    from partnership.loading import load

    data = partnership_data()
    data["panels"][0]["retention_days_after_exit"] = 30
    data["panels"][1]["retention_days_after_exit"] = 0
    data["isas"][0]["lawful_basis"] = "DPA 2018 Part 3; Crime and Disorder Act 1998 s.115"
    data["users"].append({"email": "dpo@test.example", "name": "Dee DPO", "agency": "LACS", "roles": ["dpo"],
                          "password": TEST_PASSWORD})
    app.config["ERASURE_JOURNAL_FILE"] = str(tmp_path / "erasures.jsonl")
    clock.set_now(clock_at("2026-11-23T10:00:00"))
    load(data)
    db.session.commit()
    yield Partnership()
    app.config.pop("ERASURE_JOURNAL_FILE", None)


def policy_of(email: str):
    from auth.models import User
    from sharing.policy import Policy

    return Policy(db.session.execute(select(User).filter_by(email=email)).scalar_one())


def make_person(panel_code: str, tag: str, *, writer: str = "coord@test.example", nominal=None):
    """A person on a panel with a canary value (containing `tag`) in every kind of record."""
    from cohort import services
    from panels.models import Panel

    pol = policy_of(writer)
    if nominal is None:
        nominal = services.create_nominal(
            given_name=f"Given{tag}", family_name=f"Family{tag}", pnc=f"2001/{next(_refs):07d}X",
            address=f"1 {tag} Street", postcode="ZZ1 1ZZ", date_of_birth=dt.date(1990, 1, 2))
    panel = db.session.execute(select(Panel).filter_by(code=panel_code)).scalar_one()
    case = services.refer(nominal, panel, ref=f"REF-{tag}-{panel_code}", policy=pol,
                          referral_date=dt.date(2026, 1, 5), status="active")
    case.lead_officer = f"Officer{tag}"
    db.session.flush()
    if pol.can(panel.id, "risk", "write"):
        services.change_rag(case, to="red", rationale=f"Rationale{tag}", policy=pol)
    services.add_note(case, category="offending", body=f"Note{tag}", policy=pol)
    services.add_engagement(case, on=dt.date(2026, 2, 1), kind="contact", note=f"Engaged{tag}", policy=pol)
    services.add_action(case, description=f"Action{tag}", owner_agency_id=None, owner_name=f"Owner{tag}",
                        due=dt.date(2026, 12, 1), policy=pol)
    db.session.commit()
    return case


def ciphertexts_of(case_ids: list[int], nominal_ids: list[int]) -> list[bytes]:
    """Every ciphertext stored for these cases (and rows pointing at them) and nominals."""
    found = []
    for table in db.metadata.sorted_tables:
        enc = [c for c in table.columns if c.name.endswith("_enc")]
        if not enc:
            continue
        if table.name == "nominals":
            where = table.c.id.in_(nominal_ids)
        elif table.name == "cases":
            where = table.c.id.in_(case_ids)
        elif "case_id" in table.c:
            where = table.c.case_id.in_(case_ids)
        else:
            continue
        for row in db.session.execute(select(*enc).where(where)):
            found += [v for v in row if v]
    return found


def scan_tables(needles_text: list[str], needles_bytes: list[bytes]) -> list[str]:
    """Where in any table's text or binary column a needle still appears."""
    hits = []
    for table in db.metadata.sorted_tables:
        cols = [c for c in table.columns if isinstance(c.type, (String, Text, LargeBinary))]
        if not cols:
            continue
        for row in db.session.execute(select(*cols)):
            for col, value in zip(cols, row, strict=True):
                if value is None:
                    continue
                if isinstance(value, (bytes, memoryview)):
                    value = bytes(value)
                    hits += [f"{table.name}.{col.name}" for n in needles_bytes if n in value]
                else:
                    hits += [f"{table.name}.{col.name}: {n}" for n in needles_text if n in value]
    return hits
