"""The cohort JSON API: panels, cases, RAG changes (409/422/403/404) and the OpenAPI document."""

from __future__ import annotations

import pytest

from cohort.models import Case, RagChange
from core.extensions import db
from sharing.models import AccessEvent
from tests.cohort.test_tracker_helpers import make_case
from tests.support import access_events


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def last_event() -> AccessEvent:
    return db.session.execute(db.select(AccessEvent).order_by(AccessEvent.seq.desc()).limit(1)).scalar_one()


@pytest.fixture
def cases(partnership):
    made = [make_case(partnership, given=f"Person{i}", family="Api", rag=("red", "amber", "green")[i % 3],
                      lead_officer="DC Sharp", commit=False) for i in range(7)]
    made.append(make_case(partnership, "MAPPA", given="Mappa", family="Only", rag="red", commit=False))
    db.session.commit()
    return made


def test_requires_a_token(client, cases):
    resp = client.get("/api/v1/panels")
    assert resp.status_code == 401 and "error" in resp.get_json()


@pytest.mark.parametrize("user, codes", [("police", ["IOM", "MAPPA"]), ("dwp", ["IOM"]), ("admin", []),
                                         ("nogrant", []), ("auditor", [])])
def test_panels_the_agency_takes_part_in(client, api_token, cases, user, codes):
    resp = client.get("/api/v1/panels", headers=bearer(api_token(user)))
    assert resp.status_code == 200
    panels = resp.get_json()["panels"]
    assert [p["code"] for p in panels] == codes
    if panels:
        assert set(panels[0]) == {"code", "name", "kind"}


def test_cases_list_filters_and_pages(client, api_token, partnership, cases):
    for i in range(55):
        make_case(partnership, given=f"Bulk{i}", family="Page", commit=False)
    db.session.commit()
    token = api_token("police")
    first = client.get("/api/v1/panels/IOM/cases", headers=bearer(token)).get_json()
    assert first["total"] == 62 and first["page"] == 1 and first["next"] == 2 and len(first["cases"]) == 50
    second = client.get("/api/v1/panels/IOM/cases?page=2", headers=bearer(token)).get_json()
    assert second["next"] is None and len(second["cases"]) == 12
    assert {c["id"] for c in first["cases"]}.isdisjoint({c["id"] for c in second["cases"]})
    red = client.get("/api/v1/panels/IOM/cases?rag=red", headers=bearer(token)).get_json()
    assert red["total"] == 3 and all(c["rag"] == "red" for c in red["cases"])
    case = first["cases"][0]
    wanted = {"id", "nominal_id", "ref", "version", "status", "given_name", "rag", "lead_officer", "withheld"}
    assert wanted <= set(case)
    assert case["withheld"] == ["health", "substance_misuse", "resettlement"]
    assert last_event().action == "view" and str(case["id"]) in last_event().detail


@pytest.mark.parametrize("query", ["rag=purple", "status=lost", "page=0", "page=x"])
def test_cases_list_rejects_bad_queries(client, api_token, cases, query):
    resp = client.get(f"/api/v1/panels/IOM/cases?{query}", headers=bearer(api_token("police")))
    assert resp.status_code == 422 and resp.get_json()["error"]


def test_cases_list_for_dwp_withholds_and_refuses_rag_filter(client, api_token, cases):
    token = api_token("dwp")
    body = client.get("/api/v1/panels/IOM/cases", headers=bearer(token)).get_json()
    case = body["cases"][0]
    assert "rag" not in case and "lead_officer" not in case and "address" not in case
    assert case["given_name"].startswith("Person")
    assert "risk" in case["withheld"] and "contact" in case["withheld"]
    resp = client.get("/api/v1/panels/IOM/cases?rag=red", headers=bearer(token))
    assert resp.status_code == 403 and last_event().action == "refused"
    assert client.get("/api/v1/panels/MAPPA/cases", headers=bearer(token)).status_code == 404


def test_cases_list_from_the_cache_is_per_agency_logged_and_fresh(app, client, api_token, partnership, cases):
    from cohort import services
    from tests.cohort.test_tracker_helpers import policy_for

    police, dwp = bearer(api_token("police")), bearer(api_token("dwp"))
    for _ in range(2):  # the second round is served from the page cache
        seen = db.session.execute(db.select(db.func.count(AccessEvent.seq))).scalar_one()
        full = client.get("/api/v1/panels/IOM/cases", headers=police).get_json()["cases"]
        withheld = client.get("/api/v1/panels/IOM/cases", headers=dwp).get_json()["cases"]
        assert all("rag" in c and c["lead_officer"] == "DC Sharp" for c in full)
        assert all("rag" not in c and "lead_officer" not in c for c in withheld)
        logged = access_events(AccessEvent.seq > seen)
        assert [e.user_email for e in logged] == ["police@test.example", "dwp@test.example"]
    assert app.extensions["cohort_page_cache"].hits >= 2
    case = db.session.get(Case, cases[0].id)
    services.change_rag(case, to="amber", rationale="Engaging well", policy=policy_for(partnership, "police"))
    db.session.commit()
    again = client.get("/api/v1/panels/IOM/cases", headers=police).get_json()["cases"]
    assert next(c for c in again if c["id"] == case.id)["rag"] == "amber"


def test_one_case_with_rag_history(client, api_token, cases):
    case = cases[0]
    body = client.get(f"/api/v1/cases/{case.id}", headers=bearer(api_token("police"))).get_json()
    assert body["id"] == case.id and body["version"] == case.version
    assert body["rag_history"][-1]["to"] == "red" and body["rag_history"][-1]["rationale"] == "initial red"
    assert body["rag_history"][-1]["by"] == "Cora Coordinator"
    dwp = client.get(f"/api/v1/cases/{case.id}", headers=bearer(api_token("dwp"))).get_json()
    assert "rag_history" not in dwp and "rag" not in dwp
    assert client.get("/api/v1/cases/999999", headers=bearer(api_token("police"))).status_code == 404
    resp = client.get(f"/api/v1/cases/{cases[-1].id}", headers=bearer(api_token("dwp")))  # MAPPA case
    assert resp.status_code == 404 and last_event().action == "refused"


def test_patch_changes_rag_and_bumps_version(client, api_token, cases):
    case = cases[1]
    version = case.version
    resp = client.patch(f"/api/v1/cases/{case.id}", headers=bearer(api_token("police")),
                        json={"rag": "red", "rationale": "Breached licence", "version": version})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["rag"] == "red" and body["version"] == version + 1
    assert db.session.execute(db.select(RagChange).filter_by(case_id=case.id).order_by(RagChange.id.desc())
                              ).scalars().first().rationale == "Breached licence"
    stale = client.patch(f"/api/v1/cases/{case.id}", headers=bearer(api_token("police")),
                         json={"rag": "green", "rationale": "Old view", "version": version})
    assert stale.status_code == 409 and "version" in stale.get_json()["error"]
    db.session.expire_all()
    assert db.session.get(Case, case.id).rag == "red"


@pytest.mark.parametrize("payload", [
    {"rag": "red", "version": 1},
    {"rag": "red", "rationale": "   ", "version": 1},
    {"rag": "purple", "rationale": "x", "version": 1},
    {"rag": "red", "rationale": "x"},
    {"rag": "red", "rationale": "x", "version": "1"},
    {"rag": "red", "rationale": "x", "version": 1, "status": "exited"},
    ["not", "an", "object"],
])
def test_patch_rejects_invalid_input(client, api_token, cases, payload):
    case = cases[0]
    if isinstance(payload, dict) and payload.get("version") == 1:
        payload["version"] = case.version
    resp = client.patch(f"/api/v1/cases/{case.id}", headers=bearer(api_token("police")), json=payload)
    assert resp.status_code == 422 and resp.get_json()["error"]


def test_patch_refused_by_policy(client, api_token, cases):
    case = cases[0]
    resp = client.patch(f"/api/v1/cases/{case.id}", headers=bearer(api_token("dwp")),
                        json={"rag": "green", "rationale": "x", "version": case.version})
    assert resp.status_code == 403
    ev = last_event()
    assert ev.action == "refused" and ev.case_id == case.id and ev.user_email == "dwp@test.example"
    resp = client.patch(f"/api/v1/cases/{case.id}", headers=bearer(api_token("nogrant")),
                        json={"rag": "green", "rationale": "x", "version": case.version})
    assert resp.status_code == 404
    analyst = client.patch(f"/api/v1/cases/{case.id}", headers=bearer(api_token("analyst")),
                           json={"rag": "green", "rationale": "x", "version": case.version})
    assert analyst.status_code == 403  # analysts read, never write
    db.session.expire_all()
    assert db.session.get(Case, case.id).rag == "red"


def test_openapi_document_lists_every_api_route(app, client, api_token, cases):
    doc = client.get("/api/v1/openapi.json", headers=bearer(api_token("police"))).get_json()
    assert doc["openapi"].startswith("3.1")
    rules = {r.rule.removeprefix("/api/v1").replace("<int:case_id>", "{case_id}").replace("<code>", "{code}")
             for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")}
    for rule in rules:
        path = rule
        for conv in ("int:", "string:", "path:"):
            path = path.replace("<" + conv, "<")
        path = path.replace("<", "{").replace(">", "}")
        assert path in doc["paths"], path
    patch = doc["paths"]["/cases/{case_id}"]["patch"]
    assert set(patch["responses"]) >= {"200", "401", "403", "404", "409", "422"}
    assert patch["requestBody"]["content"]["application/json"]["schema"]["required"] == ["rag", "rationale", "version"]
    assert "Case" in doc["components"]["schemas"]
