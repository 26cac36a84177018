"""Subject access (JSON and the printable report), rectification, the export register and
reminders, and the DPIA document: through the pages and the API, as the DPO and as others."""

from __future__ import annotations

import datetime as dt
import io

from openpyxl import load_workbook
from sqlalchemy import select

from cohort.models import CaseEvent, Nominal
from core import clock
from core.extensions import db
from lifecycle.models import ExportRecord, ExportSubject
from notifications.models import Notification
from sharing.models import AccessEvent
from sharing.queries import nominal_events
from tests.lifecycle.conftest import make_person
from tests.support import access_events, clock_at


def test_the_report_holds_every_category_and_exactly_the_agencies_the_log_shows(lifecycle_partnership, login_as,
                                                                                client, api_token):
    case = make_person("IOM", "Sa")
    other = make_person("IOM", "Sb")
    nominal_id, other_id = case.nominal_id, other.nominal_id
    login_as("police").get(f"/cases/{case.id}")            # POLICE: the case page
    login_as("dwp").get("/panels/IOM/tracker")              # DWP: a list page that showed them
    login_as("nogrant").get(f"/cases/{case.id}")            # refused: received nothing
    login_as("coord").get("/panels/IOM/print?purpose=panel_meeting&destroy_by=2026-12-01")

    dpo = login_as("dpo")
    resp = dpo.get(f"/nominals/{nominal_id}/subject-access")
    assert resp.status_code == 200
    report = resp.get_json()
    assert report["person"]["given_name"] == "GivenSa" and report["person"]["address"] == "1 Sa Street"
    [held] = report["panels"]
    assert held["panel"] == "IOM" and held["lead_officer"] == "OfficerSa"
    records = held["records"]
    assert [n["body"] for n in records["notes"]] == ["NoteSa"]
    assert [r["rationale"] for r in records["rag_changes"]] == ["RationaleSa"]
    assert [e["note"] for e in records["engagements"]] == ["EngagedSa"]
    assert [a["description"] for a in records["actions"]] == ["ActionSa"]
    assert "GivenSb" not in resp.get_data(as_text=True)  # nobody else's data

    allowed = {ev.agency_code for ev in nominal_events([nominal_id]) if ev.outcome == "allowed" and ev.agency_code}
    assert allowed == {"LACS", "POLICE", "DWP"}  # the coordinator's agency wrote and printed them
    assert {r["agency"] for r in report["recipients"]} == allowed
    assert all(r["events"] >= 1 and r["first"] <= r["last"] for r in report["recipients"])
    [printed] = report["exports"]
    assert (printed["kind"], printed["purpose"], printed["destroy_by"]) == ("print", "panel_meeting", "2026-12-01")

    made = db.session.execute(select(AccessEvent).where(AccessEvent.action == "disclose")).scalar_one()
    assert made.nominal_id == nominal_id and made.user_email == "dpo@test.example"
    assert "identity" in made.categories and "health" in made.categories
    assert report["nominal_id"] != other_id


def test_the_printable_report_and_the_api(lifecycle_partnership, login_as, api_token, client):
    case = make_person("IOM", "Pr")
    html = login_as("dpo").get(f"/nominals/{case.nominal_id}/subject-access?format=html").get_data(as_text=True)
    assert "Subject access report" in html and "FamilyPr" in html and "NotePr" in html
    assert "Who received it" in html
    token = api_token("dpo")
    resp = client.get(f"/api/v1/nominals/{case.nominal_id}/subject-access",
                      headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200 and resp.get_json()["person"]["family_name"] == "FamilyPr"
    police = api_token("police")
    refused = client.get(f"/api/v1/nominals/{case.nominal_id}/subject-access",
                         headers={"Authorization": f"Bearer {police}"})
    assert refused.status_code == 403 and "FamilyPr" not in refused.get_data(as_text=True)
    assert client.get("/api/v1/nominals/999999/subject-access",
                      headers={"Authorization": f"Bearer {token}"}).status_code == 404


def test_the_dpo_finds_the_person_by_name_or_identifier(lifecycle_partnership, login_as):
    case = make_person("IOM", "Lk")
    pnc = case.nominal.pnc
    make_person("IOM", "Ll")
    dpo = login_as("dpo")
    assert dpo.get("/subject-access").status_code == 200
    for q in (pnc, "FamilyLk"):
        page = dpo.post("/subject-access", data={"q": q}).get_data(as_text=True)
        assert f"Nominal {case.nominal_id} (IOM)" in page and "1 person found" in page
    assert dpo.post("/subject-access", data={"q": ""}).status_code == 422
    logged = access_events(AccessEvent.action == "search")
    assert logged and all("FamilyLk" not in e.detail and pnc not in e.detail for e in logged)
    assert login_as("auditor").post("/subject-access", data={"q": pnc}).status_code == 403


def test_only_the_dpo_makes_a_report(lifecycle_partnership, login_as):
    case = make_person("IOM", "Od")
    for short in ("coord", "police", "auditor", "admin"):
        assert login_as(short).get(f"/nominals/{case.nominal_id}/subject-access").status_code == 403
    assert db.session.execute(select(AccessEvent).where(AccessEvent.action == "disclose")).first() is None


def test_rectification_with_a_reason(lifecycle_partnership, login_as):
    case = make_person("IOM", "Rf")
    nominal_id, case_id = case.nominal_id, case.id
    dpo = login_as("dpo")
    page = dpo.post(f"/nominals/{nominal_id}/rectify", data={"field": "family_name", "value": "Corrected",
                                                            "reason": ""})
    assert page.status_code == 200 and "Give a reason for the correction" in page.get_data(as_text=True)
    done = dpo.post(f"/nominals/{nominal_id}/rectify", data={"field": "family_name", "value": "Corrected",
                                                            "reason": "spelt wrongly on referral"})
    assert done.status_code == 302
    db.session.expire_all()
    report = dpo.get(f"/nominals/{nominal_id}/subject-access").get_json()
    assert report["person"]["family_name"] == "Corrected"
    event = db.session.execute(select(CaseEvent).filter_by(case_id=case_id, kind="rectified")).scalar_one()
    assert event.detail == "family name corrected: spelt wrongly on referral"
    logged = db.session.execute(select(AccessEvent).where(AccessEvent.purpose == "rectification")).scalar_one()
    assert logged.detail == "rectified family_name" and logged.nominal_id == nominal_id
    assert db.session.get(Nominal, nominal_id).bi_family is not None


def test_every_export_carries_who_when_why_and_destroy_by(lifecycle_partnership, login_as):
    case = make_person("IOM", "Xp")
    police = login_as("police")
    form = police.get("/panels/IOM/export")
    assert form.status_code == 200 and "Why are you exporting?" in form.get_data(as_text=True)
    bad = police.post("/panels/IOM/export", data={"fmt": "csv", "purpose": "panel_meeting",
                                                  "destroy_by": ["1", "1", "2030"]})
    assert bad.status_code == 200 and "Keep a copy for at most 90 days" in bad.get_data(as_text=True)
    resp = police.post("/panels/IOM/export", data={"fmt": "csv", "purpose": "case_management",
                                                   "destroy_by": ["10", "12", "2026"]})
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rec = db.session.execute(select(ExportRecord)).scalar_one()
    assert resp.headers["Content-Disposition"].endswith(f'-export-{rec.id}-destroy-by-2026-12-10.csv"')
    assert (rec.user.email, rec.purpose, rec.destroy_by, rec.rows) == ("police@test.example", "case_management",
                                                                       dt.date(2026, 12, 10), 1)
    assert db.session.execute(select(ExportSubject.nominal_id)).scalar_one() == case.nominal_id
    workbook = police.post("/panels/IOM/export", data={"fmt": "xlsx", "purpose": "inspection_audit",
                                                       "destroy_by": ["10", "12", "2026"]})
    properties = load_workbook(io.BytesIO(workbook.data)).properties
    assert properties.description.startswith("Export no. 2 by Paula Police (POLICE)")
    assert "for: Inspection or audit. Destroy every copy by 10 Dec 2026." in properties.description
    printed = police.post("/panels/IOM/export", data={"fmt": "print", "purpose": "panel_meeting",
                                                      "destroy_by": ["1", "12", "2026"]}, follow_redirects=True)
    text = printed.get_data(as_text=True)
    assert "Print no. 3 by Paula Police (POLICE)" in text and "Destroy every copy by 1 Dec 2026" in text

    register = login_as("dpo").get("/exports/register").get_data(as_text=True)
    assert "Paula Police (POLICE)" in register and "Managing a case" in register
    assert login_as("police").get("/exports/register").status_code == 403


def test_reminders_when_the_destroy_by_date_passes(lifecycle_partnership, login_as, app):
    from panels.jobs import run_job

    make_person("IOM", "Rm")
    login_as("police").get("/panels/IOM/export.csv?purpose=panel_meeting&destroy_by=2026-11-30")
    assert run_job("export_reminders") == 0  # not yet
    clock.set_now(clock_at("2026-12-01T09:00:00"))
    assert run_job("export_reminders") == 1
    assert run_job("export_reminders") == 0  # once only
    note = db.session.execute(select(Notification).filter_by(kind="export_destroy_by")).scalar_one()
    assert note.user_id == lifecycle_partnership.user("police").id and note.link.startswith("/exports/")
    police = login_as("police")
    page = police.get(note.link)
    assert page.status_code == 200 and "overdue" in page.get_data(as_text=True)
    assert police.post(note.link, data={}).status_code == 302
    rec = db.session.execute(select(ExportRecord)).scalar_one()
    assert rec.destroyed_at is not None
    assert login_as("dwp").get(note.link).status_code == 404  # someone else's export


def test_the_dpia_document_from_the_agreements_in_force(lifecycle_partnership, login_as):
    page = login_as("admin").get("/panels/IOM/dpia")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "ISA-IOM-TEST" in text and "Crime and Disorder Act 1998 s.115" in text
    assert "30 days, then erased" in text
    assert "No inclusion review interval is set" in text
    mappa = login_as("admin").get("/panels/MAPPA/dpia").get_data(as_text=True)
    assert "ISA-MAPPA-TEST: no lawful basis recorded." in mappa
    assert login_as("police").get("/panels/IOM/dpia").status_code == 403
