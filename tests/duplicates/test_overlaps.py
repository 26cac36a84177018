"""People on more than one panel: the report, the suggested lead, month-by-month counts, the API."""

from __future__ import annotations

import csv
import io

import pytest

from cohort import services
from cohort.models import Case
from core.extensions import db
from duplicates import overlaps
from panels.models import AgendaItem, Meeting, Panel
from sharing.models import AccessEvent
from tests.duplicates.test_dedupe_helpers import D, add_nominal, add_user, panel, policy_for


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def cohort(partnership):
    both = add_nominal({"given_name": "Olivia", "family_name": "Overlap"}, ("IOM",), referral_date=D(2026, 2, 2))
    mappa = services.refer(both, panel("MAPPA"), ref="MAPPA-OV", policy=policy_for("mappa.coord"),
                           status="active", referral_date=D(2026, 6, 10))
    left = add_nominal({"given_name": "Lenny", "family_name": "Left"}, ("IOM", "MAPPA"), referral_date=D(2026, 3, 1))
    left_mappa = next(c for c in left.cases if c.panel.code == "MAPPA")
    services.exit_case(left_mappa, reason="Order ended", policy=policy_for("mappa.coord"))
    left_mappa.exited_on = D(2026, 9, 15)
    single = add_nominal({"given_name": "Sam", "family_name": "Single"}, ("IOM",))
    db.session.commit()
    return {"both": both.id, "left": left.id, "single": single.id, "both_mappa": mappa.id,
            "both_iom": next(c.id for c in both.cases if c.panel.code == "IOM"),
            "left_iom": next(c.id for c in left.cases if c.panel.code == "IOM"), "left_mappa": left_mappa.id}


def test_overlaps_are_people_active_on_two_panels(cohort):
    found = overlaps.overlaps_for(policy_for("analyst"))
    assert [o.nominal_id for o in found] == [cohort["both"]]
    o = found[0]
    assert o.name == "Olivia Overlap" and o.panels == ["MAPPA", "IOM"]
    assert o.lead.panel.code == "MAPPA" and "statutory" in o.why and "MAPPA should lead" in o.why
    assert overlaps.overlapping_panels([cohort["both"], cohort["left"], cohort["single"]]) == {
        cohort["both"]: ["IOM", "MAPPA"]}


def test_report_page_for_analysts_and_coordinators(client, login_as, cohort):
    for user in ("analyst", "coord"):
        login_as(user)
        resp = client.get("/overlaps")
        page = resp.get_data(as_text=True)
        assert resp.status_code == 200 and "<title>People on more than one panel" in page
        assert "Olivia Overlap" in page and "Lenny Left" not in page and "Sam Single" not in page
        assert "MAPPA should lead" in page and f'/cases/{cohort["both_mappa"]}' in page
    event = db.session.execute(db.select(AccessEvent).filter_by(action="view")
                               .order_by(AccessEvent.seq.desc()).limit(1)).scalar_one()
    assert "overlaps report" in event.detail and str(cohort["both"]) in event.detail
    for user in ("police", "admin", "auditor"):
        login_as(user)
        assert client.get("/overlaps").status_code == 403


def test_api_overlaps(client, api_token, cohort):
    body = client.get("/api/v1/overlaps", headers=bearer(api_token("police"))).get_json()
    assert body["overlaps"] == [{"nominal_id": cohort["both"], "panels": ["MAPPA", "IOM"], "lead": "MAPPA"}]
    # DWP takes part in IOM only: nobody overlaps on its panels
    assert client.get("/api/v1/overlaps", headers=bearer(api_token("dwp"))).get_json() == {"overlaps": []}
    for user in ("admin", "auditor"):
        resp = client.get("/api/v1/overlaps", headers=bearer(api_token(user)))
        assert resp.status_code == 403 and resp.get_json()["error"]
    assert client.get("/api/v1/overlaps").status_code == 401


def test_name_withheld_where_identity_is_not_shared(app, client, login_as, partnership, cohort):
    from sharing.models import Isa, IsaGrant

    # DWP: resettlement only, on both panels -> takes part in both, reads no identity
    dwp = partnership.agencies["DWP"]
    for isa in db.session.execute(db.select(Isa)).scalars():
        db.session.execute(db.delete(IsaGrant).where(IsaGrant.isa_id == isa.id, IsaGrant.agency_id == dwp.id))
        db.session.add(IsaGrant(isa_id=isa.id, agency_id=dwp.id, category="resettlement", access="r"))
    db.session.commit()
    add_user(partnership, "dwp.analyst@test.example", "DWP", ["analyst"])
    # Issue 12: one person on two panels is told only where identity is read on both
    # (sharing.gateway.visible_other_panel_ids): DWP is told of no overlap at all.
    assert overlaps.overlaps_for(policy_for("dwp.analyst@test.example")) == []
    login_as("dwp.analyst@test.example")
    page = client.get("/overlaps").get_data(as_text=True)
    assert "Olivia" not in page and "Nominal " not in page


def _case(code: str, kind: str, rag=None, referral=None, cid=1) -> Case:
    case = Case(panel_id=cid, ref=f"R{cid}", rag=rag, referral_date=referral)
    case.id = cid
    case.panel = Panel(code=code, kind=kind)
    return case


def test_suggested_lead_rule():
    mappa, sgv = _case("MAPPA", "MAPPA", cid=1), _case("SGV", "SGV", "red", cid=2)
    iom, dip = _case("IOM", "IOM", "red", D(2025, 1, 1), cid=3), _case("DIP", "DIP", cid=4)
    marac = _case("MARAC", "MARAC", "red", D(2020, 1, 1), cid=5)
    assert overlaps.suggest_lead([iom, mappa, sgv], None)[0] is mappa
    assert overlaps.suggest_lead([iom, sgv], None)[0] is sgv
    assert overlaps.suggest_lead([dip, iom], None)[0] is iom
    assert overlaps.suggest_lead([marac, dip], None)[0] is dip
    # same kind: the red RAG, then the oldest referral, explained in words
    main = _case("IOM", "IOM", "amber", D(2024, 5, 1), cid=6)
    mid = _case("IOM-MID", "IOM", "red", D(2025, 8, 1), cid=7)
    lead, why = overlaps.suggest_lead([main, mid], None)
    assert lead is mid and "red RAG" in why and "IOM panels" in why
    mid.rag = "green"
    lead, why = overlaps.suggest_lead([main, mid], None)
    assert lead is main and "oldest referral (1 May 2024)" in why


def _meeting(code: str, day, status: str = "closed", cases=()) -> Meeting:
    meeting = Meeting(panel_id=panel(code).id, rule_date=day, date=day, status=status)
    db.session.add(meeting)
    db.session.flush()
    for i, case_id in enumerate(cases):
        db.session.add(AgendaItem(meeting_id=meeting.id, case_id=case_id, position=i))
    db.session.flush()
    return meeting


def test_month_by_month_counts(client, login_as, cohort):
    # October: Olivia on both panels' agendas (counts); Lenny on IOM's only (does not)
    _meeting("IOM", D(2026, 10, 7), cases=[cohort["both_iom"], cohort["left_iom"]])
    _meeting("MAPPA", D(2026, 10, 8), status="published", cases=[cohort["both_mappa"]])
    # September: Lenny on both, but the MAPPA meeting is still a draft: does not count
    _meeting("IOM", D(2026, 9, 2), cases=[cohort["left_iom"]])
    _meeting("MAPPA", D(2026, 9, 10), status="scheduled", cases=[cohort["left_mappa"]])
    db.session.commit()
    rows = {r["month"]: r for r in overlaps.monthly_counts(policy_for("analyst"))}
    assert len(rows) == 12 and min(rows) == D(2025, 12, 1) and max(rows) == D(2026, 11, 1)
    assert rows[D(2026, 10, 1)]["discussed"] == 1 and rows[D(2026, 9, 1)]["discussed"] == 0
    # active on 2+ at month end: Lenny from March to August (MAPPA exited 15 Sept), Olivia from June
    active = {m.month: r["active"] for m, r in rows.items()}
    assert active[2] == 0 and active[3] == 1 and active[5] == 1 and active[6] == 2 and active[8] == 2
    assert active[9] == 1 and active[11] == 1 and rows[D(2026, 11, 1)]["to_date"]
    login_as("analyst")
    page = client.get("/overlaps").get_data(as_text=True)
    assert "October 2026" in page and "November 2026 (to 23 November 2026)" in page
    resp = client.get("/overlaps.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    table = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
    assert table[0][0] == "month" and len(table) == 13
    assert ["2026-10", "1", "1"] in table and ["2026-08", "0", "2"] in table
    assert db.session.execute(db.select(AccessEvent).filter_by(action="export")).first() is not None
