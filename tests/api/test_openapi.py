"""The OpenAPI document as an integrator gets it: public, valid 3.1 (openapi-spec-validator),
every operation declared with its request and response shapes and every status it can
answer, the documented limits the server applies, and the reference page rendered from it."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

from cohort.openapi import build_document


def document(client) -> dict:
    resp = client.get("/api/v1/openapi.json")  # no token: it is public
    assert resp.status_code == 200 and resp.is_json
    return resp.get_json()


def operations(doc: dict):
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            yield path, method, op


def test_the_document_is_public_and_valid(client, app):
    doc = document(client)
    validate(doc)  # raises with the first problem
    assert doc["openapi"] == "3.1.0"
    assert doc["servers"] == [{"url": app.config["PUBLIC_URL"] + "/api/v1"}]
    assert doc["paths"]["/openapi.json"]["get"]["security"] == []


def test_every_api_route_is_in_the_document_and_declared(app, client):
    doc = document(client)
    listed = {(p, m) for p, m, _ in operations(doc)}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert (path, method.lower()) in listed
    undeclared = [f"{m.upper()} {p}" for p, m, op in operations(doc) if op.get("x-undeclared")]
    assert undeclared == [], "declare these with core.api.endpoint (see its docstring)"


def test_every_answer_has_a_schema_and_the_common_statuses(client):
    for path, method, op in operations(document(client)):
        responses = op["responses"]
        assert "400" in responses and "503" in responses, (method, path)
        if op.get("security") != []:
            assert "401" in responses and "WWW-Authenticate" in responses["401"]["headers"]
        if "{" in path:
            assert "404" in responses, (method, path)
        for status, answer in responses.items():
            for media, content in answer.get("content", {}).items():
                assert content.get("schema"), f"{method} {path} {status} {media} has no schema"
        success = [s for s in responses if s.startswith("2")]
        assert success and all("content" in responses[s] or s == "204" for s in success), (method, path)
        if method in ("post", "put", "patch") and "requestBody" in op:
            assert op["requestBody"]["content"]["application/json"]["schema"], (method, path)


def test_the_limits_the_server_applies_are_in_the_schema(client):
    doc = document(client)
    cases = {p["name"]: p["schema"] for p in doc["paths"]["/panels/{code}/cases"]["get"]["parameters"]}
    assert cases["page"]["maximum"] == 1_000_000 and cases["page"]["minimum"] == 1
    assert "" not in cases["rag"]["enum"] and "" not in cases["status"]["enum"]
    meetings = {p["name"]: p["schema"] for p in doc["paths"]["/panels/{code}/meetings"]["get"]["parameters"]}
    assert meetings["from"]["format"] == meetings["to"]["format"] == "date"
    body = doc["paths"]["/cases/{case_id}"]["patch"]["requestBody"]["content"]["application/json"]["schema"]
    rationale = body["properties"]["rationale"]
    assert rationale["maxLength"] == 5000
    assert re.search(rationale["pattern"], "  why  ") and not re.search(rationale["pattern"], " \t\n ")
    assert body["additionalProperties"] is False


def test_each_shape_is_declared_once_and_referenced(client):
    doc = document(client)
    schemas = doc["components"]["schemas"]
    assert {"Case", "CaseDetail", "Error", "Meeting", "Agenda", "Me"} <= set(schemas)
    ok = doc["paths"]["/cases/{case_id}"]["patch"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/Case"}
    # the Case shape follows the gateway's field map: every field the API may show is there
    from sharing.gateway import FIELD_CATEGORY

    assert set(FIELD_CATEGORY) <= set(schemas["Case"]["properties"])
    assert "Category: risk" in schemas["Case"]["properties"]["rag"]["description"]


def test_the_document_does_not_depend_on_the_request_host(app, client):
    one = client.get("/api/v1/openapi.json", headers={"Host": "evil.example"}).get_json()
    assert one == build_document(app) and "evil" not in str(one)


def test_the_reference_page_lists_every_operation(client):
    doc = document(client)
    resp = client.get("/api/v1/reference")
    assert resp.status_code == 200 and resp.content_type == "text/html; charset=utf-8"
    html = resp.get_data(as_text=True)
    for path, method, op in operations(doc):
        assert f'id="{op["operationId"]}"' in html
        assert op["summary"].replace("'", "&#39;") in html
    for name in doc["components"]["schemas"]:
        assert f'id="shape-{name}"' in html
    assert "//cdn" not in html and "https://" not in html.split("<main", 1)[-1]
