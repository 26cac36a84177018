"""Walking ids across panels and agencies, expired agreements, and the log of every refusal."""

from __future__ import annotations

import pytest

from core import clock
from core.extensions import db
from tests.security.world import IOM_CANARY, MAPPA_CANARY, MAPPA_PNC, counts, upload_token
from tests.support import clock_at, login

CANARIES = (MAPPA_CANARY, "Secretperson", MAPPA_PNC, "mappa rationale")


def clean(body: str, canaries=CANARIES) -> bool:
    return not any(c in body for c in canaries)


def mappa_paths(world) -> list[str]:
    case, meeting, item = world["mappa_case"], world["mappa_meeting"], world["mappa_item"]
    return [f"/cases/{case}", f"/cases/{case}/notes/new", f"/cases/{case}/edit", f"/cases/{case}/exit",
            "/panels/MAPPA/tracker", "/panels/MAPPA/tracker/rows",
            "/panels/MAPPA/export.csv?purpose=panel_meeting", "/panels/MAPPA/export.xlsx?purpose=panel_meeting",
            "/panels/MAPPA/print?purpose=panel_meeting", "/panels/MAPPA", "/panels/MAPPA/refer",
            "/panels/MAPPA/import", f"/meetings/{meeting}", f"/meetings/{meeting}/agenda",
            f"/meetings/{meeting}/agenda/print", f"/meetings/{meeting}/items/{item}", "/panels/MAPPA/meetings.ics"]


@pytest.mark.parametrize("short", ["dwp", "health", "nogrant"])
def test_agencies_outside_the_mappa_agreement_see_nothing_of_it(app, world, api_token, short):
    client = app.test_client()
    login(client, short)
    for path in mappa_paths(world):
        resp = client.get(path)
        assert resp.status_code in (403, 404), (short, path, resp.status_code)
        assert clean(resp.get_data(as_text=True)), (short, path)
    for path in ("/", "/panels", "/me/meetings.ics"):
        resp = client.get(path)
        assert resp.status_code == 200 and clean(resp.get_data(as_text=True)), path
    token = {"Authorization": f"Bearer {api_token(short)}"}
    for path in (f"/api/v1/cases/{world['mappa_case']}", "/api/v1/panels/MAPPA/cases",
                 f"/api/v1/meetings/{world['mappa_meeting']}/agenda", "/api/v1/panels/MAPPA/meetings",
                 "/api/v1/overlaps", "/api/v1/panels"):
        resp = client.get(path, headers=token)
        assert resp.status_code in (200, 403, 404), path
        assert clean(resp.get_data(as_text=True)), path
        if path.endswith("/panels") and resp.status_code == 200:
            assert "MAPPA" not in [p["code"] for p in resp.get_json()["panels"]]
        if path.endswith("/overlaps") and resp.status_code == 200:
            assert resp.get_json()["overlaps"] == [] or short != "nogrant"


def test_walking_every_case_id(app, world, api_token):
    """nogrant sees no case at all; DWP none on MAPPA; never the other case's canary data."""
    from cohort.models import Case

    ids = db.session.execute(db.select(Case.id, Case.panel_id)).all()
    last = max(i for i, _ in ids)
    mappa_panel = db.session.get(Case, world["mappa_case"]).panel_id
    mappa_ids = {i for i, p in ids if p == mappa_panel}
    for short in ("nogrant", "dwp"):
        client = app.test_client()
        login(client, short)
        headers = {"Authorization": f"Bearer {api_token(short)}"}
        for case_id in range(1, last + 3):
            page, api = client.get(f"/cases/{case_id}"), client.get(f"/api/v1/cases/{case_id}", headers=headers)
            if short == "nogrant" or case_id in mappa_ids or case_id > last:
                assert page.status_code == 404 and api.status_code == 404, (short, case_id)
            assert clean(page.get_data(as_text=True)) and clean(api.get_data(as_text=True)), (short, case_id)
            if short == "nogrant":
                assert IOM_CANARY not in page.get_data(as_text=True) + api.get_data(as_text=True)
    # DWP reads identity on IOM, but not risk: the RAG rationale stays out
    client = app.test_client()
    login(client, "dwp")
    body = client.get(f"/cases/{world['iom_case']}").get_data(as_text=True)
    assert IOM_CANARY in body and "iom rationale" not in body


def test_other_ids_are_not_walkable(app, world):
    police = app.test_client()
    login(police, "police")
    for path in (f"/access-log/nominals/{world['mappa_nominal']}", f"/access-log/nominals/{world['iom_nominal']}",
                 f"/duplicates/{world['pair']}", f"/duplicates/merges/{world['merge']}/undo",
                 f"/admin/users/{world['user']}", f"/agreements/{world['isa']}"):
        resp = police.get(path)
        assert resp.status_code in (403, 404), path
        assert clean(resp.get_data(as_text=True)), path
    # an action on one case cannot be completed through another case's URL
    resp = police.post(f"/cases/{world['mappa_case']}/actions/{world['action']}/complete")
    assert resp.status_code in (403, 404)
    # an agenda item of one meeting cannot be reached through another meeting
    coord = app.test_client()
    login(coord, "coord")
    resp = coord.get(f"/meetings/{world['meeting']}/items/{world['mappa_item']}")
    assert resp.status_code in (403, 404) and clean(resp.get_data(as_text=True))
    # another user's import token, on the same panel, does not load or import
    token = upload_token(coord)
    before = counts()
    resp = police.get(f"/panels/IOM/import/{token}")
    assert resp.status_code == 302 and token not in resp.headers["Location"]
    assert police.post(f"/panels/IOM/import/{token}", data={}).status_code == 302
    assert counts() == before
    assert coord.get(f"/panels/IOM/import/{token}").status_code == 200  # still the coordinator's


def test_an_expired_agreement_stops_sharing_on_its_expiry_day_in_london(app, world, api_token):
    token = api_token("police")
    # 23:30 UTC on 30 March 2027 is already 31 March in London (BST): the IOM agreement has expired
    clock.set_now(clock_at("2027-03-31T00:30:00"))
    client = app.test_client()
    login(client, "police")
    headers = {"Authorization": f"Bearer {token}"}
    iom = world["iom_case"]
    for path in (f"/cases/{iom}", "/panels/IOM/tracker", "/panels/IOM/export.csv?purpose=panel_meeting",
                 "/panels/IOM/print?purpose=panel_meeting",
                 f"/meetings/{world['meeting']}", "/panels/IOM"):
        resp = client.get(path)
        assert resp.status_code in (403, 404), path
        assert IOM_CANARY not in resp.get_data(as_text=True), path
    for path in ("/", "/panels"):
        assert IOM_CANARY not in client.get(path).get_data(as_text=True)
    assert client.get(f"/api/v1/cases/{iom}", headers=headers).status_code == 404  # a case: nothing said
    # the panel itself, which police was party to, says why (issue 18), and nothing of its cases
    lapsed = client.get("/api/v1/panels/IOM/cases", headers=headers)
    assert lapsed.status_code == 403 and IOM_CANARY not in lapsed.get_data(as_text=True)
    assert lapsed.get_json()["error"] == ("Sharing on IOM under agreement ISA-IOM-TEST expired on 31 March 2027. "
                                          "Ask the panel coordinator.")
    assert "IOM" not in [p["code"] for p in client.get("/api/v1/panels", headers=headers).get_json()["panels"]]
    # the evening before, it was still in force
    clock.set_now(clock_at("2027-03-30T23:00:00"))
    client = app.test_client()
    login(client, "police")
    assert client.get(f"/cases/{iom}").status_code == 200


def test_every_refusal_is_logged(app, world):
    from sharing.models import AccessEvent

    def refusals() -> int:
        db.session.commit()
        return db.session.scalar(db.select(db.func.count()).select_from(AccessEvent).where(
            AccessEvent.outcome == "refused"))

    dwp, police, anon = app.test_client(), app.test_client(), app.test_client()
    login(dwp, "dwp")
    login(police, "police")
    before_counts = counts()
    samples = [
        (dwp, "get", f"/cases/{world['mappa_case']}", 404),
        (dwp, "get", "/panels/MAPPA/tracker", 404),
        (dwp, "get", f"/meetings/{world['mappa_meeting']}", 403),
        (dwp, "post", f"/cases/{world['iom_case']}/rag", 403),
        (police, "get", "/access-log", 403),
        (police, "get", "/admin/users", 403),
        (police, "get", f"/cases/{world['iom_case']}/needs/accommodation", 403),
        (anon, "get", "/api/v1/panels", 401),
        (anon, "get", f"/api/v1/cases/{world['iom_case']}", 401),
    ]
    for client, method, path, status in samples:
        n = refusals()
        resp = getattr(client, method)(path)
        assert resp.status_code == status, path
        assert refusals() == n + 1, f"refusal of {path} not logged"
    last = db.session.execute(db.select(AccessEvent).order_by(AccessEvent.seq.desc()).limit(1)).scalar_one()
    assert last.action == "refused" and last.purpose.startswith("/api/v1/cases")
    # a failed sign-in is logged as such
    n = db.session.scalar(db.select(db.func.count()).select_from(AccessEvent).filter_by(action="sign_in_failed"))
    anon.post("/sign-in", data={"email": "police@test.example", "password": "nope-nope"})
    db.session.commit()
    assert db.session.scalar(db.select(db.func.count()).select_from(AccessEvent)
                             .filter_by(action="sign_in_failed", outcome="refused")) == n + 1
    assert counts() == before_counts
    from sharing import audit

    assert audit.verify().ok  # refusals are written into the chain properly
