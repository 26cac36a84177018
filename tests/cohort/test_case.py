"""The case page and its forms: what each agency sees, changes, conflicts, refusals."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from cohort import services
from cohort.models import Action, Case, CaseEvent, Engagement, Need, Note, RagChange
from core.extensions import db
from sharing.gateway import case_version
from sharing.models import AccessEvent
from tests.cohort.test_tracker_helpers import make_case, policy_for


def last_event(action: str | None = None) -> AccessEvent:
    stmt = db.select(AccessEvent).order_by(AccessEvent.seq.desc()).limit(1)
    if action:
        stmt = stmt.filter_by(action=action)
    return db.session.execute(stmt).scalar_one()


def version_of(html: str) -> int:
    return int(re.search(r'name="version"[^>]*value="(\d+)"|value="(\d+)"[^>]*name="version"', html).group(1))


def fresh(case_id: int) -> Case:
    db.session.expire_all()
    return db.session.get(Case, case_id)


def date_fields(name: str, day: dt.date) -> dict:
    return {name: [str(day.day), str(day.month), str(day.year)]}


@pytest.fixture
def case(partnership):
    c = make_case(partnership, given="Zoë", family="O'Brien", rag="amber", lead_officer="DC Sharp",
                  identity={"pnc": "2001/0012345A", "address": "1 Canal Street", "postcode": "M1 1AA"})
    db.session.commit()
    return c


def test_case_page_for_police(login_as, client, case):
    login_as("police")
    resp = client.get(f"/cases/{case.id}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "<title>Zoë O&#39;Brien – Manage risk panels</title>" in html
    assert "2001/0012345A" in html and "1 Canal Street" in html and "DC Sharp" in html
    assert "moj-timeline" in html and "initial amber" in html and "Cora Coordinator (LACS)" in html
    assert 'name="rationale"' in html and f'value="{case.version}"' in html
    assert "Withheld: health, substance misuse, resettlement — not shared with POLICE" in html
    ev = last_event("view")
    assert ev.case_id == case.id and ev.user_email == "police@test.example" and "identity" in ev.categories


def test_case_page_for_dwp_withholds_and_offers_no_forms(login_as, client, case):
    login_as("dwp")
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Zoë O&#39;Brien" in html  # identity: r
    assert "1 Canal Street" not in html and "DC Sharp" not in html and "initial amber" not in html
    assert "Contact information is withheld" in html and "Risk information is withheld" in html
    assert 'name="rationale"' not in html and "Add engagement" not in html and "Add a note" not in html


def test_unknown_or_unshared_case_is_404(login_as, client, case):
    login_as("nogrant")
    assert client.get(f"/cases/{case.id}").status_code == 404
    assert last_event().action == "refused" and last_event().case_id == case.id
    login_as("police")
    assert client.get("/cases/999999").status_code == 404


def test_change_rag_through_the_form(login_as, client, case):
    login_as("police")
    before = case.version
    resp = client.post(f"/cases/{case.id}/rag", data={"rag": "red", "rationale": "Arrested for burglary",
                                                      "version": before})
    assert resp.status_code == 302 and resp.location.endswith(f"/cases/{case.id}")
    c = fresh(case.id)
    assert c.rag == "red" and c.version == before + 1
    history = db.session.execute(db.select(RagChange).filter_by(case_id=case.id).order_by(RagChange.id)).scalars()
    assert [(r.from_rag, r.to_rag, r.rationale) for r in history][-1] == ("amber", "red", "Arrested for burglary")
    assert last_event("change").detail.startswith("RAG amber -> red")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Amber to Red" in page and "Paula Police (POLICE)" in page


def test_rag_form_needs_a_rationale(login_as, client, case):
    login_as("police")
    resp = client.post(f"/cases/{case.id}/rag", data={"rag": "red", "rationale": "  ", "version": case.version})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "govuk-error-summary" in html
    assert "Give a rationale for the RAG change" in html and "<title>Error: " in html
    assert fresh(case.id).rag == "amber"


def test_stale_rag_edit_shows_the_conflict_and_can_be_reapplied(login_as, client, case, partnership):
    login_as("police")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    loaded = version_of(page)
    seen = re.search(r'name="seen"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="seen"', page)
    # a colleague changes the RAG first
    services.change_rag(fresh(case.id), to="green", rationale="Engaging well with probation",
                        policy=policy_for(partnership, "probation"))
    db.session.commit()
    resp = client.post(f"/cases/{case.id}/rag", data={
        "rag": "red", "rationale": "My view: escalating", "version": loaded, "seen": seen.group(1) or seen.group(2)})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Someone else changed this case" in html and "has <strong>not</strong> been saved" in html
    assert "Engaging well with probation" in html and "Pete Probation (NPS)" in html
    assert "My view: escalating" in html  # the user's attempt is kept
    assert re.search(r'value="red"[^>]*checked|checked[^>]*value="red"', html)
    new_version = version_of(html)
    assert new_version == fresh(case.id).version and new_version > loaded
    assert fresh(case.id).rag == "green"
    resp = client.post(f"/cases/{case.id}/rag", data={"rag": "red", "rationale": "My view: escalating",
                                                      "version": new_version})
    assert resp.status_code == 302 and fresh(case.id).rag == "red"


def test_refused_write_is_403_and_logged(login_as, client, case):
    login_as("dwp")
    resp = client.post(f"/cases/{case.id}/rag", data={"rag": "red", "rationale": "x", "version": case.version})
    assert resp.status_code == 403
    ev = last_event()
    assert ev.action == "refused" and ev.user_email == "dwp@test.example" and "risk" in ev.detail
    assert client.get(f"/cases/{case.id}/engagement").status_code == 403
    assert client.post(f"/cases/{case.id}/notes/new", data={"category": "health", "body": "x"}).status_code == 403
    assert fresh(case.id).rag == "amber"


def test_engagement_moves_last_engagement_forward(login_as, client, case):
    login_as("police")
    form = client.get(f"/cases/{case.id}/engagement").get_data(as_text=True)
    assert 'name="on"' in form and "Face-to-face contact" in form
    data = {"kind": "home_visit", "note": "Seen at home", "version": case.version,
            **date_fields("on", dt.date(2026, 11, 20))}
    assert client.post(f"/cases/{case.id}/engagement", data=data).status_code == 302
    assert fresh(case.id).last_engagement == dt.date(2026, 11, 20)
    older = {**data, **date_fields("on", dt.date(2026, 10, 1)), "version": fresh(case.id).version}
    assert client.post(f"/cases/{case.id}/engagement", data=older).status_code == 302
    assert fresh(case.id).last_engagement == dt.date(2026, 11, 20)
    future = {**data, **date_fields("on", dt.date(2026, 12, 1))}
    html = client.post(f"/cases/{case.id}/engagement", data=future).get_data(as_text=True)
    assert "must be today or in the past" in html
    assert db.session.execute(db.select(db.func.count(Engagement.id))).scalar_one() == 2
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Seen at home" in page and "Home visit" in page


def test_needs_by_pathway_follow_their_category(login_as, client, case, partnership):
    login_as("probation")  # NPS: resettlement, health, substance_misuse rw on IOM
    seen = lambda: case_version(fresh(case.id), policy_for(partnership, "probation"))  # noqa: E731
    resp = client.post(f"/cases/{case.id}/needs/drugs",
                       data={"level": "need", "note": "Heroin use; DIP referral", "version": seen()})
    assert resp.status_code == 302
    resp = client.post(f"/cases/{case.id}/needs/accommodation",
                       data={"level": "need", "note": "No fixed abode", "version": seen()})
    assert resp.status_code == 302
    assert {n.pathway for n in db.session.execute(db.select(Need)).scalars()} == {"drugs", "accommodation"}
    login_as("dwp")  # resettlement r only
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "No fixed abode" in html and "Heroin use" not in html
    assert client.post(f"/cases/{case.id}/needs/accommodation",
                       data={"level": "met", "version": fresh(case.id).version}).status_code == 403
    login_as("police")  # no resettlement or substance misuse
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "No fixed abode" not in html and "Heroin use" not in html
    assert html.count("Withheld</td>") == 7  # all but attitudes (offending)
    assert client.get(f"/cases/{case.id}/needs/nonsense").status_code == 404


def test_stale_need_edit_is_a_conflict(login_as, client, case, partnership):
    login_as("probation")
    loaded = case.version
    services.change_rag(fresh(case.id), to="red", rationale="Colleague", policy=policy_for(partnership, "police"))
    db.session.commit()
    html = client.post(f"/cases/{case.id}/needs/ete", data={"level": "need", "note": "Wants CSCS card",
                                                              "version": loaded}).get_data(as_text=True)
    assert "Someone else changed this case" in html and "Wants CSCS card" in html
    assert db.session.execute(db.select(Need)).first() is None


def test_actions_add_overdue_and_complete(login_as, client, case, partnership):
    login_as("police")
    data = {"description": "Check address with housing", "owner_agency_id": partnership.agencies["LACS"].id,
            "owner_name": "Jo Housing", "version": case.version, **date_fields("due", dt.date(2026, 11, 1))}
    assert client.post(f"/cases/{case.id}/actions/new", data=data).status_code == 302
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Check address with housing" in html and "Jo Housing" in html
    assert 'govuk-tag--red">Overdue' in html
    action = db.session.execute(db.select(Action)).scalar_one()
    assert client.post(f"/cases/{case.id}/actions/{action.id}/complete").status_code == 302
    db.session.expire_all()
    assert db.session.get(Action, action.id).status == "done"
    assert 'govuk-tag--green">Done' in client.get(f"/cases/{case.id}").get_data(as_text=True)
    missing = client.post(f"/cases/{case.id}/actions/new", data={"version": case.version, "owner_agency_id": 1})
    assert "Enter what needs to be done" in missing.get_data(as_text=True)


def test_notes_offer_writable_categories_and_show_readable_ones(login_as, client, case):
    login_as("health")  # HEALTH: identity r, health rw
    form = client.get(f"/cases/{case.id}/notes/new").get_data(as_text=True)
    assert 'value="health"' in form and 'value="intelligence"' not in form
    assert client.post(f"/cases/{case.id}/notes/new", data={"category": "health", "body": "Diabetic; insulin",
                                                             "version": case.version}).status_code == 302
    bad = client.post(f"/cases/{case.id}/notes/new", data={"category": "intelligence", "body": "x",
                                                            "version": case.version})
    assert bad.status_code == 200 and "Not a valid choice" in bad.get_data(as_text=True)
    login_as("police")
    assert client.post(f"/cases/{case.id}/notes/new", data={"category": "intelligence", "body": "Seen with OCG",
                                                             "version": case.version}).status_code == 302
    assert "Diabetic" not in client.get(f"/cases/{case.id}").get_data(as_text=True)
    login_as("probation")  # NPS reads health, not intelligence
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Diabetic; insulin" in html and "Seen with OCG" not in html
    assert {n.category for n in db.session.execute(db.select(Note)).scalars()} == {"health", "intelligence"}


def test_exit_and_re_refer_with_history(login_as, client, case, partnership):
    login_as("coord")
    seen = lambda: case_version(fresh(case.id), policy_for(partnership, "coord"))  # noqa: E731
    assert "Reason for exit" in client.get(f"/cases/{case.id}/exit").get_data(as_text=True)
    resp = client.post(f"/cases/{case.id}/exit", data={"reason": "Moved out of area", "version": seen()})
    assert resp.status_code == 302
    c = fresh(case.id)
    assert c.status == "exited" and c.exit_reason == "Moved out of area"
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Re-refer to this panel" in html and "Moved out of area" in html
    resp = client.post(f"/cases/{case.id}/rerefer", data={"version": seen()})
    assert resp.status_code == 302 and fresh(case.id).status == "referred"
    kinds = [e.kind for e in db.session.execute(db.select(CaseEvent).filter_by(case_id=case.id)
                                                .order_by(CaseEvent.id)).scalars()]
    assert kinds == ["referred", "exited", "re-referred"]
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Re-referred" in html and "Exited" in html


def test_stale_exit_is_a_conflict(login_as, client, case, partnership):
    login_as("coord")
    loaded = case.version
    services.change_rag(fresh(case.id), to="red", rationale="Colleague", policy=policy_for(partnership, "police"))
    db.session.commit()
    html = client.post(f"/cases/{case.id}/exit", data={"reason": "Died", "version": loaded}
                       ).get_data(as_text=True)
    assert "Someone else changed this case" in html and fresh(case.id).status == "active"


def test_edit_case_details_only_writable_fields(login_as, client, case, partnership):
    login_as("coord")  # LACS on IOM: identity, offending, risk, resettlement rw
    form = client.get(f"/cases/{case.id}/edit").get_data(as_text=True)
    assert 'name="risk_level"' in form and 'name="accommodation"' in form
    data = {"version": case.version, "status": "paused", "lead_agency_id": str(partnership.agencies["NPS"].id),
            "lead_officer": "PO Green", "cohort_type": "fixed", "mappa_category": "", "risk_level": "high",
            "mappa_level": "", "accommodation": "Hostel", "employment": ""}
    assert client.post(f"/cases/{case.id}/edit", data=data).status_code == 302
    c = fresh(case.id)
    assert (c.status, c.lead_officer, c.risk_level, c.accommodation) == ("paused", "PO Green", "high", "Hostel")
    login_as("health")
    assert client.get(f"/cases/{case.id}/edit").status_code == 403


def test_refer_searches_first_and_joins_existing_person(login_as, client, case):
    login_as("probation")  # NPS writes offending on MAPPA
    html = client.get("/panels/MAPPA/refer", query_string={"q": "01/12345a"}).get_data(as_text=True)
    assert "1 person found" in html and "Zoë O&#39;Brien" in html and "Refer this person" in html
    assert last_event("search").detail.startswith("referral search")
    resp = client.post("/panels/MAPPA/refer/existing", data={"nominal_id": case.nominal_id, "ref": "M-1"})
    assert resp.status_code == 302
    new = db.session.execute(db.select(Case).filter_by(ref="M-1")).scalar_one()
    assert new.nominal_id == case.nominal_id and new.panel.code == "MAPPA"
    html = client.get(f"/cases/{new.id}").get_data(as_text=True)
    assert "IOM main panel" in html  # other panels


def test_refer_new_person_warns_of_possible_duplicate(login_as, client, case):
    login_as("police")
    data = {"given_name": "Zoe", "family_name": "OBrien", "pnc": "", "ref": "NEW-1", "lead_agency_id": ""}
    html = client.post("/panels/IOM/refer/new", data=data).get_data(as_text=True)
    assert "may already be known" in html and "Zoë O&#39;Brien" in html
    assert db.session.execute(db.select(db.func.count(Case.id))).scalar_one() == 1
    data = {"given_name": "Brand", "family_name": "Newperson", "crn": "X123456", "ref": "NEW-2",
            "lead_agency_id": "", "address": "2 High St", **date_fields("date_of_birth", dt.date(1990, 2, 3))}
    resp = client.post("/panels/IOM/refer/new", data=data)
    assert resp.status_code == 302
    new = db.session.execute(db.select(Case).filter_by(ref="NEW-2")).scalar_one()
    assert new.nominal.full_name == "Brand Newperson" and new.nominal.crn == "X123456"
    assert new.nominal.date_of_birth == dt.date(1990, 2, 3) and new.status == "referred"
    bad = client.post("/panels/IOM/refer/new", data={**data, "pnc": "2001/0012345B", "ref": "NEW-3"})
    assert bad.status_code == 200 and "PNC ID" in bad.get_data(as_text=True)


def test_referral_needs_offending_write(login_as, client, case):
    login_as("dwp")
    assert client.get("/panels/IOM/refer").status_code == 403
    assert client.post("/panels/IOM/refer/existing", data={"nominal_id": case.nominal_id}).status_code == 403


@pytest.mark.parametrize("given, family", [("Zoë", "O'Brien"), ("Nguyễn Thị", "Lan"),
                                           ("Anna", "Wojciechowski-Kaczmarek"),
                                           ("<script>alert(1)</script>", "Tester")])
def test_names_shown_correctly_and_escaped(login_as, client, partnership, given, family):
    c = make_case(partnership, given=given, family=family)
    login_as("coord")
    html = client.get(f"/cases/{c.id}").get_data(as_text=True)
    from markupsafe import escape

    assert str(escape(f"{given} {family}")) in html
    assert "<script>alert(1)</script>" not in html
