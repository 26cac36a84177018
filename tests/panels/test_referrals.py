"""Referral intake and gatekeeping: the panel's criteria from the partnership file, a form per
panel, the API (CONTRACT.md "Additions"), awaiting-decision referrals on the agenda, the
coordinator's accept / reject / defer with a reason, DASH >= 14 and repeat within 12 months."""

from __future__ import annotations

import datetime as dt

import pytest

from cohort.models import Case
from core.extensions import db
from panels import agenda as agendas
from panels.models import Referral
from partnership.loading import load
from tests.support import partnership_data

MARAC_CRITERIA = [
    {"name": "dash_score", "label": "DASH risk checklist score", "type": "int"},
    {"name": "professional_judgement", "label": "Professional judgement", "type": "bool"},
    {"name": "potential_escalation", "label": "Potential escalation", "type": "bool"},
]
MAPPA_CRITERIA = [
    {"name": "mappa_category", "label": "MAPPA category", "type": "choice", "choices": [1, 2, 3]},
    {"name": "mappa_level", "label": "MAPPA level", "type": "choice", "choices": [1, 2, 3]},
]


@pytest.fixture
def criteria(partnership):
    data = partnership_data()
    data["panels"] = [{**data["panels"][0], "referral_criteria": MARAC_CRITERIA},
                      {**data["panels"][1], "referral_criteria": MAPPA_CRITERIA}]
    load(data)
    db.session.commit()


def _auth(token):
    return {"Authorization": f"Bearer {token}"}


def _refer(client, token, **body):
    return client.post("/api/v1/panels/IOM/referrals", headers=_auth(token),
                       json={"reason": "Threats after separation", **body})


def test_api_refer_names_missing_criteria_then_waits_on_the_agenda(criteria, client, api_token, meeting_on):
    token = api_token("police")
    resp = _refer(client, token, nominal={"given_name": "Dana", "family_name": "Vale"}, criteria={})
    assert resp.status_code == 422 and "criteria.dash_score" in resp.get_json()["error"]
    resp = _refer(client, token, nominal={"family_name": "Vale"}, criteria={"dash_score": 15, "extra": 1})
    assert resp.status_code == 422 and "unknown criteria: extra" in resp.get_json()["error"]
    resp = _refer(client, token, nominal={"given_name": "Dana", "family_name": "Vale"},
                  criteria={"dash_score": 16, "professional_judgement": False})
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["status"] == "awaiting_decision"
    case = db.session.get(Case, body["case_id"])
    assert case.status == "referred" and case.next_review is not None
    referral = db.session.get(Referral, body["id"])
    assert (referral.dash_score, referral.repeat_within_12m) == (16, False)
    drafts = agendas.draft_agenda(meeting_on("IOM", dt.date(2026, 12, 2)))
    first = drafts[0]
    assert first.case_id == case.id and first.reasons[:2] == ["referral_awaiting_decision", "new_referral"]
    assert first.for_discussion
    assert _refer(client, api_token("dwp"), nominal={"family_name": "X"},
                  criteria={"dash_score": 1}).status_code == 403
    assert _refer(client, api_token("nogrant"), nominal={"family_name": "X"},
                  criteria={"dash_score": 1}).status_code == 404
    assert _refer(client, token, nominal_id=999999, criteria={"dash_score": 1}).status_code == 422


def test_decisions_and_repeat_within_twelve_months(criteria, client, api_token):
    token = api_token("police")
    first = _refer(client, token, nominal={"given_name": "Rae", "family_name": "Moss"},
                   criteria={"dash_score": 9, "potential_escalation": True}).get_json()
    coord = api_token("coord")
    url = f"/api/v1/referrals/{first['id']}/decision"
    assert client.post(url, headers=_auth(token), json={"decision": "accept", "reason": "x"}).status_code == 403
    assert client.post(url, headers=_auth(coord), json={"decision": "reject", "reason": ""}).status_code == 422
    resp = client.post(url, headers=_auth(coord), json={"decision": "reject", "reason": "Below threshold"})
    assert resp.status_code == 200 and resp.get_json()["status"] == "rejected"
    case = db.session.get(Case, first["case_id"])
    assert case.status == "exited"
    again = _refer(client, token, nominal_id=case.nominal_id, criteria={"dash_score": 15})
    assert again.status_code == 201, again.get_json()
    second = db.session.get(Referral, again.get_json()["id"])
    assert second.repeat_within_12m is True and second.case_id == case.id
    resp = client.post(f"/api/v1/referrals/{second.id}/decision", headers=_auth(coord),
                       json={"decision": "accept", "reason": "Visible high risk (DASH 15), repeat"})
    assert resp.status_code == 200
    db.session.expire_all()
    assert db.session.get(Case, case.id).status == "active"
    assert client.post(f"/api/v1/referrals/{second.id}/decision", headers=_auth(coord),
                       json={"decision": "defer", "reason": "again"}).status_code == 422
    assert client.post("/api/v1/referrals/999999/decision", headers=_auth(coord),
                       json={"decision": "defer", "reason": "x"}).status_code == 404


def test_referral_form_per_panel_and_the_coordinator_defers(criteria, login_as, client, meeting_on):
    login_as("mappa.coord")
    page = client.get("/panels/MAPPA/referrals/new").get_data(as_text=True)
    assert "MAPPA category" in page and "DASH" not in page
    resp = client.post("/panels/MAPPA/referrals/new", data={"family_name": "Hale", "reason": "Release due"})
    assert resp.status_code == 422 and "Answer: MAPPA category" in resp.get_data(as_text=True)
    resp = client.post("/panels/MAPPA/referrals/new", data={"given_name": "Jo", "family_name": "Hale",
                                                            "reason": "Release due", "c_mappa_category": "1",
                                                            "c_mappa_level": "3"})
    assert resp.status_code == 302
    referral = db.session.execute(db.select(Referral)).scalar_one()
    case = db.session.get(Case, referral.case_id)
    assert (case.mappa_category, case.mappa_level, case.status) == (1, 3, "referred")
    listing = client.get("/panels/MAPPA/referrals").get_data(as_text=True)
    assert case.ref in listing
    resp = client.post(f"/referrals/{referral.id}", data={"decision": "defer", "reason": ""})
    assert resp.status_code == 422
    resp = client.post(f"/referrals/{referral.id}", data={"decision": "defer", "reason": "Await prison report"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Referral, referral.id).status == "deferred"
    reasons = {d.case_id: d.reasons for d in agendas.draft_agenda(meeting_on("MAPPA", dt.date(2026, 12, 10)))}
    assert "referral_awaiting_decision" in reasons[case.id]  # deferred: still waiting
    client.post("/sign-out")
    login_as("police")
    assert client.get(f"/referrals/{referral.id}").status_code == 403  # not a coordinator
    assert client.get("/panels/MAPPA/referrals").status_code == 403


def test_iom_form_shows_its_own_criteria(criteria, login_as, client):
    login_as("coord")
    page = client.get("/panels/IOM/referrals/new").get_data(as_text=True)
    assert "DASH risk checklist score" in page and "MAPPA category" not in page
    assert client.get("/panels/MAPPA/referrals/new").status_code == 403  # LACS may not write offending on MAPPA
