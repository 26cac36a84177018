"""Agreement pages: who may see them, the admin's create/edit/suspend/end, the matrix, warnings."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from core import clock
from core.extensions import db
from sharing.models import AccessEvent, Isa
from sharing.queries import isa_warnings
from tests.support import access_events, clock_at, login


def _isa(ref: str) -> Isa:
    return db.session.execute(db.select(Isa).filter_by(ref=ref)).scalar_one()


def _admin_events() -> list[AccessEvent]:
    return list(db.session.execute(
        db.select(AccessEvent).filter_by(action="admin").order_by(AccessEvent.seq)).scalars())


READERS = {"admin": 200, "auditor": 200, "coord": 200, "mappa.coord": 200,
           "police": 403, "dwp": 403, "analyst": 403, "nogrant": 403}


def test_who_may_read_agreements(app, partnership):
    isa_id = _isa("ISA-IOM-TEST").id
    for who, status in READERS.items():
        client = app.test_client()
        assert login(client, who).status_code == 302
        for url in ("/agreements", "/agreements/matrix", f"/agreements/{isa_id}"):
            assert client.get(url).status_code == status, (who, url)


def test_signed_out_is_sent_to_sign_in(client, partnership):
    resp = client.get("/agreements")
    assert resp.status_code == 302 and "/sign-in" in resp.headers["Location"]


def test_only_admin_may_change_agreements(app, partnership):
    isa_id = _isa("ISA-IOM-TEST").id
    for who in ("coord", "auditor", "police"):
        client = app.test_client()
        assert login(client, who).status_code == 302
        assert client.get("/agreements/new").status_code == 403
        assert client.get(f"/agreements/{isa_id}/edit").status_code == 403
        assert client.post(f"/agreements/{isa_id}/status", data={"action": "suspend"}).status_code == 403
    assert _isa("ISA-IOM-TEST").status == "active"
    refused = access_events(action="refused")
    assert len(refused) == 9 and {e.detail for e in refused} == {"role: needs one of admin"}


def test_list_shows_status_and_no_case_data(login_as, partnership):
    from cohort.services import create_nominal

    create_nominal(given_name="Hiddenname", family_name="Neverlisted")
    db.session.commit()
    html = login_as("admin").get("/agreements").get_data(as_text=True)
    assert "ISA-IOM-TEST" in html and "ISA-MAPPA-TEST" in html
    assert "In force" in html and "Hiddenname" not in html
    assert "Create an agreement" in html
    assert "Create an agreement" not in login_as("coord").get("/agreements").get_data(as_text=True)


def test_view_one_agreement(login_as, partnership):
    isa = _isa("ISA-IOM-TEST")
    html = login_as("coord").get(f"/agreements/{isa.id}").get_data(as_text=True)
    assert "IOM main panel" in html
    assert re.search(r'data-grant="DWP:identity">\s*<strong[^>]*>Read</strong>', html)
    assert re.search(r'data-grant="POLICE:intelligence">\s*<strong[^>]*>Read and write</strong>', html)
    assert re.search(r'data-grant="DWP:contact">\s*<span[^>]*>No access</span>', html)
    assert "Test Health (HEALTH)" in html and "NOGRANT" not in html
    assert "1 January 2027" in html and "31 March 2027" in html
    assert "Suspend sharing" not in html  # coordinators read, they do not manage


def _form(**overrides) -> dict:
    data = {
        "ref": "ISA-SGV-2027", "title": "Serious group violence", "purpose": "Reduce serious violence",
        "panels": [], "starts": ["1", "12", "2026"], "review": ["1", "6", "2027"], "expires": ["30", "11", "2027"],
        "signatories": "Chief Constable\nHead of Community Safety", "status": "active",
    }
    data.update(overrides)
    return data


def test_admin_creates_an_agreement(login_as, partnership):
    client = login_as("admin")
    police, dwp = partnership.agencies["POLICE"], partnership.agencies["DWP"]
    mappa = partnership.panels["MAPPA"]
    form = _form(panels=[str(mappa.id)], **{
        f"grant_{police.id}_intelligence": "rw", f"grant_{dwp.id}_identity": "r", f"grant_{dwp.id}_resettlement": "r",
    })
    resp = client.post("/agreements/new", data=form)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    isa = _isa("ISA-SGV-2027")
    assert isa.status == "active" and [p.code for p in isa.panels] == ["MAPPA"]
    assert {(g.agency.code, g.category, g.access) for g in isa.grants} == {
        ("POLICE", "intelligence", "rw"), ("DWP", "identity", "r"), ("DWP", "resettlement", "r")}
    assert isa.starts == dt.date(2026, 12, 1) and isa.expires == dt.date(2027, 11, 30)
    assert isa.signatories == "Chief Constable\nHead of Community Safety"
    events = _admin_events()
    assert events[-1].user_email == "admin@test.example" and "ISA-SGV-2027 created" in events[-1].detail
    # It starts tomorrow: DWP gains MAPPA only from 1 December.
    from sharing.policy import Policy

    assert not Policy(partnership.user("dwp")).takes_part(mappa.id)
    clock.set_now(clock_at("2026-12-01T00:00:00"))
    assert Policy(partnership.user("dwp")).can(mappa.id, "identity")


@pytest.mark.parametrize("changes,message", [
    ({"ref": "ISA-IOM-TEST"}, "already exists"),
    ({"expires": ["30", "11", "2026"]}, "expiry date must be after"),
    ({"review": ["1", "6", "2030"]}, "review date must fall between"),
    ({"panels": []}, "Choose the panels"),
    ({"starts": ["31", "2", "2027"]}, "Start date must be a real date"),
])
def test_create_errors_are_shown(login_as, partnership, changes, message):
    client = login_as("admin")
    police = partnership.agencies["POLICE"]
    form = _form(panels=[str(partnership.panels["IOM"].id)], **{f"grant_{police.id}_identity": "r"})
    form.update(changes)
    resp = client.post("/agreements/new", data=form)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "govuk-error-summary" in html and message in html
    assert "<title>Error:" in html
    assert db.session.execute(db.select(db.func.count()).select_from(Isa)).scalar_one() == 2


def test_create_needs_a_grant(login_as, partnership):
    resp = login_as("admin").post("/agreements/new", data=_form(panels=[str(partnership.panels["IOM"].id)]))
    assert resp.status_code == 422 and "Give at least one agency access" in resp.get_data(as_text=True)


def test_admin_edits_the_grant_matrix(login_as, partnership):
    client = login_as("admin")
    isa = _isa("ISA-IOM-TEST")
    page = client.get(f"/agreements/{isa.id}/edit").get_data(as_text=True)
    dwp, health = partnership.agencies["DWP"], partnership.agencies["HEALTH"]
    # The form is pre-filled with the current grants.
    assert re.search(rf'name="grant_{dwp.id}_identity"[^>]*>.*?<option[^>]*value="r"[^>]*selected', page, re.S)
    form = {
        "ref": isa.ref, "title": "IOM agreement", "purpose": "", "panels": [str(p.id) for p in isa.panels],
        "starts": ["1", "1", "2026"], "review": ["1", "1", "2027"], "expires": ["31", "3", "2027"], "signatories": "",
    }
    for g in isa.grants:
        form[f"grant_{g.agency_id}_{g.category}"] = g.access
    form[f"grant_{dwp.id}_resettlement"] = ""  # DWP loses resettlement
    form[f"grant_{health.id}_substance_misuse"] = "r"  # health gains substance misuse
    resp = client.post(f"/agreements/{isa.id}/edit", data=form)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    db.session.expire_all()
    isa = _isa("ISA-IOM-TEST")
    grants = {(g.agency.code, g.category): g.access for g in isa.grants}
    assert ("DWP", "resettlement") not in grants and grants[("HEALTH", "substance_misuse")] == "r"
    assert isa.title == "IOM agreement" and isa.status == "active"
    detail = _admin_events()[-1].detail
    assert "grant removed: DWP resettlement" in detail and "grant added: HEALTH substance_misuse r" in detail


def test_suspend_reactivate_end(login_as, partnership):
    client = login_as("admin")
    isa = _isa("ISA-MAPPA-TEST")
    url = f"/agreements/{isa.id}/status"
    html = client.get(f"/agreements/{isa.id}").get_data(as_text=True)
    assert 'value="suspend"' in html and 'value="end"' in html and 'value="activate"' not in html
    assert client.post(url, data={"action": "suspend", "confirm": "yes"}).status_code == 302
    assert _isa("ISA-MAPPA-TEST").status == "suspended"
    assert client.post(url, data={"action": "suspend", "confirm": "yes"}).status_code == 409  # not twice
    assert client.post(url, data={"action": "activate"}).status_code == 302
    assert _isa("ISA-MAPPA-TEST").status == "active"
    assert client.post(url, data={"action": "end", "confirm": "yes"}).status_code == 302
    assert _isa("ISA-MAPPA-TEST").status == "ended"
    assert client.post(url, data={"action": "activate"}).status_code == 409  # ended is final
    assert client.get(f"/agreements/{isa.id}/edit").status_code == 302
    details = [e.detail for e in _admin_events()]
    assert details[-3:] == [
        "agreement ISA-MAPPA-TEST suspended: active -> suspended",
        "agreement ISA-MAPPA-TEST made active: suspended -> active",
        "agreement ISA-MAPPA-TEST ended: active -> ended",
    ]


def test_matrix_page_combines_agreements_in_force(login_as, partnership):
    from partnership.loading import load
    from tests.support import partnership_data

    data = partnership_data()
    data["isas"].append({"ref": "ISA-IOM-EXTRA", "panels": ["IOM"], "starts": "2026-01-01",
                         "expires": "2027-01-31", "grants": {"DWP": {"identity": "rw", "health": "r"}}})
    data["isas"].append({"ref": "ISA-IOM-OLD", "panels": ["IOM"], "starts": "2025-01-01",
                         "expires": "2026-01-01", "grants": {"NOGRANT": {"identity": "rw"}}})
    load(data)
    db.session.commit()
    html = login_as("auditor").get("/agreements/matrix").get_data(as_text=True)
    assert re.search(r'data-grant="IOM:DWP:identity">\s*<strong[^>]*>Read and write</strong>', html)
    assert re.search(r'data-grant="IOM:DWP:health">\s*<strong[^>]*>Read</strong>', html)
    assert re.search(r'data-grant="MAPPA:LACS:risk">\s*<strong[^>]*>Read</strong>', html)
    assert 'data-grant="MAPPA:DWP:' not in html
    assert "IOM:NOGRANT" not in html  # the expired agreement grants nothing
    assert "ISA-IOM-EXTRA, ISA-IOM-TEST" in html


def test_warnings_on_the_list_and_from_the_query(login_as, partnership):
    on = dt.date(2026, 12, 10)
    assert [(w["ref"], w["kind"]) for w in isa_warnings(on)] == [("ISA-IOM-TEST", "review")]
    assert isa_warnings(on)[0]["message"] == "ISA-IOM-TEST review is due on 1 January 2027 (in 22 days)."
    assert isa_warnings(dt.date(2026, 11, 23)) == []  # 39 days ahead: too early to warn
    kinds = {(w["ref"], w["kind"]) for w in isa_warnings(dt.date(2027, 3, 5))}
    assert kinds == {("ISA-IOM-TEST", "review"), ("ISA-IOM-TEST", "expiry"), ("ISA-MAPPA-TEST", "expiry")}
    expired = isa_warnings(dt.date(2027, 3, 31))
    assert {w["kind"] for w in expired} == {"expiry"} and all("expired on 31 March 2027" in w["message"]
                                                               for w in expired)
    _isa("ISA-MAPPA-TEST").status = "ended"
    db.session.commit()
    assert {w["ref"] for w in isa_warnings(dt.date(2027, 3, 5))} == {"ISA-IOM-TEST"}
    clock.set_now(clock_at("2026-12-10T09:00:00"))
    html = login_as("coord").get("/agreements").get_data(as_text=True)
    assert "ISA-IOM-TEST review is due on 1 January 2027 (in 22 days)." in html


def test_pages_have_csp_safe_markup(login_as, partnership):
    client = login_as("admin")
    isa_id = _isa("ISA-IOM-TEST").id
    for url in ("/agreements", "/agreements/matrix", f"/agreements/{isa_id}", f"/agreements/{isa_id}/edit",
                "/agreements/new"):
        html = client.get(url).get_data(as_text=True)
        assert " style=" not in html and "<style" not in html, url
        assert re.search(r"<h1[^>]*>", html), url
