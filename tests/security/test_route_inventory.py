"""Every endpoint x every kind of caller: the exact answer, no 500, nothing unclassified."""

from __future__ import annotations

from core.extensions import db
from tests.security.routes_table import EXPECTED, PATHS, ROLES
from tests.security.world import NO_TOKEN, counts, upload_token, user
from tests.support import login

UNLISTED = {"static"}
LAST = ("cohort.confirm", "panels.agenda_remove", "auth.sign_out")  # state-changing: run after the rest


def order() -> list[str]:
    gets = [e for e, (_, m) in PATHS.items() if m == "GET"]
    posts = [e for e, (_, m) in PATHS.items() if m != "GET" and e not in LAST]
    return gets + posts + [e for e in LAST if e in PATHS]


def outcome(resp) -> object:
    if resp.status_code == 302 and "/sign-in" in resp.headers["Location"]:
        return "login"
    return resp.status_code


def observe(app, world) -> dict[str, dict[str, object]]:
    """Ask every endpoint as every role; {endpoint: {role: status or "login"}}."""
    from auth.tokens import create_token

    tokens = {r: create_token(user(r)) for r in ROLES if r != "anon"}
    db.session.commit()
    seen: dict[str, dict[str, object]] = {}
    for role in ROLES:
        client = app.test_client()
        if role != "anon":
            assert login(client, role).status_code == 302
        ids = {**world.ids, "import": upload_token(client) if role != "anon" else NO_TOKEN}
        for endpoint in order():
            template, method = PATHS[endpoint]
            path = template.format(**ids)
            headers = {"Authorization": f"Bearer {tokens[role]}"} if path.startswith("/api/") and role != "anon" else {}
            resp = client.open(path, method=method, headers=headers)
            seen.setdefault(endpoint, {})[role] = outcome(resp)
            if endpoint == "auth.sign_out" and role != "anon":
                assert client.get("/").status_code == 302  # really signed out
    return seen


def test_every_route_is_classified(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules()} - UNLISTED
    assert sorted(endpoints - set(EXPECTED)) == [], "new routes: add them to tests/security/routes_table.py"
    assert sorted(endpoints - set(PATHS)) == []
    assert sorted(set(EXPECTED) - endpoints) == [], "routes that no longer exist"


def test_every_route_answers_every_role_as_expected(app, world):
    before = counts()
    seen = observe(app, world)
    five_hundreds = [(e, r) for e, row in seen.items() for r, v in row.items() if isinstance(v, int) and v >= 500]
    assert five_hundreds == []
    wrong = [f"{e} as {r}: got {seen[e][r]}, expected {want}"
             for e, row in EXPECTED.items() for r, want in row.items() if seen[e][r] != want]
    assert wrong == [], "\n".join(wrong)
    # the only writes are the ones authorised callers made on purpose (coord's and police's import)
    after = counts()
    assert after["rag_changes"] == before["rag_changes"] and after["notes"] == before["notes"]


def test_refused_posts_change_nothing_and_are_logged(app, world):
    """A bare POST from a role that may not use the endpoint: refused, logged, nothing written."""
    from sharing.models import AccessEvent

    clients = {}
    for role in ("police", "auditor", "nogrant"):
        clients[role] = app.test_client()
        login(clients[role], role)
    before = counts()
    for endpoint, row in EXPECTED.items():
        template, method = PATHS[endpoint]
        if method == "GET" or template.startswith("/api/") or endpoint == "auth.sign_out":
            continue
        for role, client in clients.items():
            if row[role] not in (403, 404):
                continue
            refusals = db.session.scalar(db.select(db.func.count()).where(AccessEvent.outcome == "refused"))
            resp = client.open(template.format(**world.ids, **{"import": NO_TOKEN}), method=method)
            assert resp.status_code == row[role], (endpoint, role)
            db.session.expire_all()
            after = db.session.scalar(db.select(db.func.count()).where(AccessEvent.outcome == "refused"))
            if row[role] == 403:  # every 403 is a policy or role refusal, and is logged
                assert after == refusals + 1, (endpoint, role)
    assert counts() == before


def test_api_ignores_the_session_cookie(app, world):
    """A signed-in browser session is not an API credential: /api/v1 answers 401 without a token."""
    client = app.test_client()
    login(client, "police")
    public = {"api.openapi_document", "api.reference_page"}  # the description of the API, no data
    for endpoint, (template, method) in PATHS.items():
        if template.startswith("/api/") and endpoint not in public:
            resp = client.open(template.format(**world.ids), method=method)
            assert resp.status_code == 401, endpoint
            assert resp.get_json() == {"error": resp.get_json()["error"]}


def test_html_pages_send_a_strict_csp(app, world):
    client = app.test_client()
    login(client, "coord")
    for endpoint in order():
        template, method = PATHS[endpoint]
        if method != "GET" or endpoint == "auth.sign_out":
            continue
        resp = client.get(template.format(**world.ids, **{"import": NO_TOKEN}))
        csp = resp.headers.get("Content-Security-Policy", "")
        assert "script-src 'self' 'nonce-" in csp, endpoint
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, endpoint
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp, endpoint
        assert resp.headers.get("X-Content-Type-Options") == "nosniff", endpoint
        if resp.mimetype == "text/html":
            body = resp.get_data(as_text=True)
            nonce = csp.split("'nonce-")[1].split("'")[0]
            import re

            for tag in re.findall(r"<script\b[^>]*>", body):
                assert "src=" in tag or f'nonce="{nonce}"' in tag, (endpoint, tag)
            assert " style=\"" not in body and "<style" not in body, endpoint
