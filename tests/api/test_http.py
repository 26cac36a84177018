"""Standard HTTP behaviour of the API as a client sees it: 405 with Allow, 401 with
WWW-Authenticate, the Bearer scheme in any case, 404 for any out-of-range id whatever the
method, NUL as a documented 400, empty enum filters refused, and the web CSV's type."""

from __future__ import annotations

import pytest

from tests.cohort.test_tracker_helpers import make_case


def bearer(token: str, scheme: str = "Bearer") -> dict:
    return {"Authorization": f"{scheme} {token}"}


@pytest.fixture
def case(partnership):
    return make_case(partnership, given="Http", family="Client", rag="amber")


def test_405_names_the_allowed_methods(client, api_token, case):
    resp = client.delete(f"/api/v1/cases/{case.id}", headers=bearer(api_token("police")))
    assert resp.status_code == 405
    assert set(resp.headers["Allow"].split(", ")) >= {"GET", "PATCH"}
    assert resp.is_json and resp.get_json()["error"]
    page = client.put("/healthz")  # the web side keeps the header too
    assert page.status_code == 405 and "GET" in page.headers["Allow"]


def test_401_names_the_bearer_scheme(client, partnership):
    for headers in ({}, bearer("mrp_not-a-token"), {"Authorization": "Basic dXNlcjpwYXNz"}):
        resp = client.get("/api/v1/me", headers=headers)
        assert resp.status_code == 401
        assert resp.headers["WWW-Authenticate"] == "Bearer"
        assert resp.get_json() == {"error": "Send a valid API token: Authorization: Bearer <token>"}


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_the_scheme_is_matched_in_any_case(client, api_token, partnership, scheme):
    resp = client.get("/api/v1/me", headers=bearer(api_token("police"), scheme))
    assert resp.status_code == 200 and resp.get_json()["email"] == "police@test.example"


def test_a_token_without_the_scheme_is_refused(client, api_token, partnership):
    token = api_token("police")
    for header in (token, f"Bearer{token}", "Bearer ", f"Token {token}"):
        assert client.get("/api/v1/me", headers={"Authorization": header}).status_code == 401


@pytest.mark.parametrize("case_id", [2**31, 2**31 + 5, 10**20, 0])
@pytest.mark.parametrize("method", ["GET", "PATCH"])
def test_out_of_range_ids_are_404_on_every_method(client, api_token, case, method, case_id):
    body = {"rag": "red", "rationale": "why", "version": 1} if method == "PATCH" else None
    resp = client.open(f"/api/v1/cases/{case_id}", method=method, json=body, headers=bearer(api_token("police")))
    assert resp.status_code == 404 and resp.get_json()["error"]
    agenda = client.get(f"/api/v1/meetings/{case_id}/agenda", headers=bearer(api_token("police")))
    assert agenda.status_code == 404


def test_nul_in_the_query_is_a_documented_400(client, api_token, case):
    resp = client.get("/api/v1/panels/IOM/cases?status=%00", headers=bearer(api_token("police")))
    assert resp.status_code == 400
    assert resp.get_json() == {"error": "The request contains a character that is not allowed (NUL)."}
    doc = client.get("/api/v1/openapi.json").get_json()
    assert "400" in doc["paths"]["/panels/{code}/cases"]["get"]["responses"]


def test_nul_in_a_json_body_is_400_and_writes_nothing(client, api_token, case):
    before = case.version
    resp = client.patch(f"/api/v1/cases/{case.id}", headers=bearer(api_token("police")),
                        json={"rag": "red", "rationale": "bad\x00byte", "version": case.version})
    assert resp.status_code == 400
    fresh = client.get(f"/api/v1/cases/{case.id}", headers=bearer(api_token("police"))).get_json()
    assert fresh["version"] == before and fresh["rag"] == "amber"


@pytest.mark.parametrize("query", ["rag=", "status=", "page=", "rag=RED", "status=Active", "page=1000001",
                                   "page=1&page=2"])
def test_empty_or_unlisted_filters_are_422(client, api_token, case, query):
    resp = client.get(f"/api/v1/panels/IOM/cases?{query}", headers=bearer(api_token("police")))
    assert resp.status_code == 422, query
    name = query.split("=")[0]
    assert resp.get_json()["error"].startswith(f"{name}:")


def test_the_largest_page_is_answered(client, api_token, case):
    resp = client.get("/api/v1/panels/IOM/cases?page=1000000", headers=bearer(api_token("police")))
    assert resp.status_code == 200 and resp.get_json()["cases"] == []


@pytest.mark.parametrize("rationale", ["", "   ", "\t\n", "\u00a0\u2003"])
def test_a_blank_rationale_is_422_with_the_rule_named(client, api_token, case, rationale):
    resp = client.patch(f"/api/v1/cases/{case.id}", headers=bearer(api_token("police")),
                        json={"rag": "red", "rationale": rationale, "version": case.version})
    assert resp.status_code == 422
    assert resp.get_json()["error"].startswith("rationale: must")


def test_meeting_dates_are_checked(client, api_token, case):
    for query in ("from=2026-13-01", "to=tomorrow", "from=20260101"):
        resp = client.get(f"/api/v1/panels/IOM/meetings?{query}", headers=bearer(api_token("police")))
        assert resp.status_code == 422 and "(use YYYY-MM-DD)" in resp.get_json()["error"], query
    ok = client.get("/api/v1/panels/IOM/meetings?from=2026-12-01&to=2027-01-31", headers=bearer(api_token("police")))
    assert ok.status_code == 200
    assert all("2026-12-01" <= m["date"] <= "2027-01-31" for m in ok.get_json()["meetings"])


def test_web_csv_names_its_charset_once(login_as, case):
    resp = login_as("police").get("/panels/IOM/export.csv?purpose=panel_meeting")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"


def test_a_body_over_the_limit_is_a_documented_413(client, api_token, case, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    resp = client.patch(f"/api/v1/cases/{case.id}", headers={**bearer(api_token("police")),
                        "Content-Type": "application/json"}, data=b" " * (limit + 1))
    assert resp.status_code == 413 and resp.get_json() == {"error": "The request is too large."}
    doc = client.get("/api/v1/openapi.json").get_json()
    assert "413" in doc["paths"]["/cases/{case_id}"]["patch"]["responses"]
