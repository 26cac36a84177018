"""Cross-site request forgery: with protection on, a state-changing POST without the right token is a 400."""

from __future__ import annotations

import re

import pytest

from core.extensions import db
from tests.security.world import counts, upload
from tests.support import TEST_PASSWORD

WRONG = "ImZha2UtdG9rZW4i.aaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbb"


def token_in(html: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert found, "no csrf_token field in the page"
    return found.group(1)


def signed_in(strict_app, short: str):
    """A client of the CSRF-protected app, signed in through the real form (with its token)."""
    client = strict_app.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    resp = client.post("/sign-in", data={"email": f"{short}@test.example", "password": TEST_PASSWORD,
                                         "csrf_token": token_in(page)})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return client


@pytest.fixture
def protected(strict_app):
    return strict_app(WTF_CSRF_ENABLED=True)


def test_sign_in_itself_needs_the_token(protected, world):
    client = protected.test_client()
    resp = client.post("/sign-in", data={"email": "police@test.example", "password": TEST_PASSWORD})
    assert resp.status_code == 400
    assert client.get("/").status_code == 302  # not signed in


def state(world) -> dict:
    from auth.models import User, UserSession
    from cohort.models import Case
    from panels.models import Meeting
    from sharing.models import Isa

    db.session.commit()  # end the test's read snapshot: other apps' requests committed on other connections
    return {
        **counts(),
        "case": (db.session.get(Case, world["iom_case"]).rag, db.session.get(Case, world["iom_case"]).version),
        "meeting": db.session.get(Meeting, world["meeting"]).status,
        "isa": db.session.get(Isa, world["isa"]).status,
        "users": db.session.scalar(db.select(db.func.count()).select_from(User)),
        "live_sessions": db.session.scalar(db.select(db.func.count()).select_from(UserSession)
                                           .where(UserSession.revoked_at.is_(None))),
    }


def forms(world) -> list[tuple[str, str, dict]]:
    """(who, path, form data that would succeed with a token)."""
    case, meeting = world["iom_case"], world["meeting"]
    return [
        ("coord", f"/cases/{case}/rag", {"rag": "green", "rationale": "forged", "version": "3"}),
        ("coord", f"/cases/{case}/notes/new", {"category": "offending", "body": "forged", "version": "3"}),
        ("coord", f"/cases/{case}/exit", {"reason": "forged", "version": "3"}),
        ("coord", f"/meetings/{meeting}/close", {}),
        ("coord", f"/meetings/{meeting}/minutes", {"minutes-minutes": "forged"}),
        ("admin", f"/agreements/{world['isa']}/status", {"action": "suspend"}),
        ("admin", "/admin/users/new", {"email": "forged@test.example", "name": "Forged", "roles": "admin",
                                       "agency_id": str(world["agency"]), "password": "a-long-forged-pass-99"}),
        ("police", "/account/tokens", {"name": "forged"}),
        ("police", "/sign-out", {}),
    ]


def test_state_changing_forms_refuse_missing_and_wrong_tokens(protected, world):
    clients = {short: signed_in(protected, short) for short in ("coord", "admin", "police")}
    before = state(world)
    tried = 0
    for who, path, data in forms(world):
        for token in (None, WRONG, ""):
            sent = dict(data) if token is None else {**data, "csrf_token": token}
            resp = clients[who].post(path, data=sent)
            assert resp.status_code == 400, (path, token, resp.status_code)
            assert "Traceback" not in resp.get_data(as_text=True)
            tried += 1
    assert state(world) == before
    assert tried == 27
    # the clients are still signed in (sign-out was refused too), and a real token works
    page = clients["police"].get("/account").get_data(as_text=True)
    assert clients["police"].post("/sign-out", data={"csrf_token": token_in(page)}).status_code == 302
    assert clients["police"].get("/account").status_code == 302


def test_another_users_token_is_not_accepted(protected, world):
    coord, police = signed_in(protected, "coord"), signed_in(protected, "police")
    stolen = token_in(police.get("/account").get_data(as_text=True))
    before = state(world)
    resp = coord.post(f"/cases/{world['iom_case']}/rag", data={"rag": "green", "rationale": "x", "version": "3",
                                                               "csrf_token": stolen})
    assert resp.status_code == 400
    assert state(world) == before


def test_import_confirm_needs_the_token(protected, world):
    coord = signed_in(protected, "coord")
    page = coord.get("/panels/IOM/import").get_data(as_text=True)
    import io

    resp = coord.post("/panels/IOM/import", data={"file": (io.BytesIO(b"ref,given_name\nCSRF-1,Forged\n"), "c.csv"),
                                                  "csrf_token": token_in(page)}, content_type="multipart/form-data")
    assert resp.status_code == 302
    preview = resp.headers["Location"]
    before = counts()
    assert coord.post(preview, data={}).status_code == 400
    assert coord.post(preview, data={"csrf_token": WRONG}).status_code == 400
    assert counts() == before
    # an upload without the token is refused too
    assert upload(coord).status_code == 400
    # with the page's own token the import goes through (so the 400s above were the token)
    token = token_in(coord.get(preview).get_data(as_text=True))
    assert coord.post(preview, data={"csrf_token": token}).status_code == 302
    assert counts()["cases"] == before["cases"] + 1


def test_api_is_exempt_but_needs_a_bearer_token(protected, world, api_token):
    """No cookie rides along to the API: a forged cross-site PATCH has no bearer token, so it is a 401."""
    coord = signed_in(protected, "coord")
    resp = coord.patch(f"/api/v1/cases/{world['iom_case']}", json={"rag": "green", "rationale": "x", "version": 3})
    assert resp.status_code == 401
