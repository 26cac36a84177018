"""Session fixation, password and security-code guessing, and API tokens after revocation."""

from __future__ import annotations

import pytest
from flask.sessions import SecureCookieSessionInterface

from core.extensions import db
from tests.security.world import user
from tests.support import TEST_PASSWORD, access_events, login

COOKIE = "session"


def cookie(client) -> str | None:
    found = client.get_cookie(COOKIE)
    return found.value if found else None


def forge(app, data: dict) -> str:
    """A correctly signed session cookie holding `data` (what an attacker with the secret could make)."""
    return SecureCookieSessionInterface().get_signing_serializer(app).dumps(data)


def test_the_session_changes_at_sign_in_and_a_planted_one_is_not_adopted(app, world):
    attacker = app.test_client()
    attacker.get("/sign-in")
    attacker.get("/", follow_redirects=False)
    planted = cookie(attacker) or forge(app, {"sid": "attacker-chosen-session-id"})
    victim = app.test_client()
    victim.set_cookie(COOKIE, planted)
    assert login(victim, "police").status_code == 302
    after = cookie(victim)
    assert after and after != planted
    # the planted cookie is still signed out; the victim's new one is signed in
    attacker.set_cookie(COOKIE, planted)
    assert attacker.get("/").status_code == 302
    assert victim.get("/").status_code == 200


def test_an_invented_session_id_is_refused(app, world):
    client = app.test_client()
    client.set_cookie(COOKIE, forge(app, {"sid": "x" * 43}))
    resp = client.get("/")
    assert resp.status_code == 302 and "/sign-in" in resp.headers["Location"]
    client.set_cookie(COOKIE, "eyJzaWQiOiJ4In0.tampered.signature")
    assert client.get("/").status_code == 302


def test_a_replayed_cookie_is_dead_after_sign_out(app, world):
    client = app.test_client()
    login(client, "police")
    stolen = cookie(client)
    assert client.post("/sign-out").status_code == 302
    thief = app.test_client()
    thief.set_cookie(COOKIE, stolen)
    assert thief.get("/").status_code == 302
    assert thief.get(f"/cases/{world['iom_case']}").status_code == 302


def test_session_cookie_flags(app, world):
    client = app.test_client()
    resp = login(client, "police")
    header = next(h for h in resp.headers.getlist("Set-Cookie") if h.startswith(COOKIE + "="))
    assert "HttpOnly" in header and "SameSite=Lax" in header


def failures(email: str, n: int, client) -> list[str]:
    bodies = []
    for _ in range(n):
        resp = client.post("/sign-in", data={"email": email, "password": "wrong-password-1"})
        assert resp.status_code in (200, 429)
        bodies.append(resp.get_data(as_text=True))
    return bodies


def message(body: str) -> str:
    import re

    found = re.search(r'class="govuk-error-message">(.*?)</p>', body, re.S)
    return re.sub(r"<[^>]+>|\s+", " ", found.group(1)).strip() if found else ""


def test_sign_in_locks_after_five_failures_and_unknown_emails_get_the_same_answer(app, world):

    known, unknown = app.test_client(), app.test_client()
    k = failures("police@test.example", 5, known)
    u = failures("nobody-here@test.example", 5, unknown)
    assert [message(b) for b in k] == [message(b) for b in u]
    assert "too many" in message(k[-1]).lower()
    # locked: even the right password does not work now, and says so in the same words
    resp = login(known, "police")
    assert resp.status_code == 200 and "too many" in message(resp.get_data(as_text=True)).lower()
    assert known.get("/").status_code == 302
    resp = unknown.post("/sign-in", data={"email": "nobody-here@test.example", "password": TEST_PASSWORD})
    assert message(resp.get_data(as_text=True)) == message(login(known, "police").get_data(as_text=True))
    # every failure is in the access log
    db.session.commit()
    rows = access_events(action="sign_in_failed")
    assert len(rows) >= 12 and all(r.outcome == "refused" for r in rows)
    # another account is not affected
    assert login(app.test_client(), "probation").status_code == 302


def test_sign_in_is_rate_limited_per_address(strict_app, world):
    limited = strict_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://", LOCKOUT_THRESHOLD=1000)
    client = limited.test_client()
    codes = [client.post("/sign-in", data={"email": "police@test.example", "password": f"guess-{n}"}).status_code
             for n in range(12)]
    assert 429 in codes and codes.index(429) <= 10
    resp = client.post("/sign-in", data={"email": "police@test.example", "password": TEST_PASSWORD})
    assert resp.status_code == 429
    assert "Traceback" not in resp.get_data(as_text=True)


def enable_totp(short: str) -> str:
    from auth import totp as otp

    u = user(short)
    secret = otp.new_secret()
    u.totp_secret = secret
    u.totp_enabled = True
    db.session.commit()
    return secret


def test_security_code_guessing_locks_the_account(app, world):
    from auth import totp as otp

    secret = enable_totp("police")
    client = app.test_client()
    resp = login(client, "police")
    assert resp.status_code == 302 and "/totp" in resp.headers["Location"]
    assert client.get(f"/cases/{world['iom_case']}").status_code == 302  # second factor still owed
    good = otp.code_for(secret)
    wrong = "000000" if good != "000000" else "111111"
    for _ in range(5):
        resp = client.post("/totp", data={"code": wrong})
    assert resp.status_code == 302 and "/sign-in" in resp.headers["Location"]
    # the session is gone and the right code no longer helps; a fresh sign-in is locked out
    assert client.post("/totp", data={"code": good}).status_code == 302
    assert client.get(f"/cases/{world['iom_case']}").status_code == 302
    assert login(client, "police").status_code == 200


def test_security_code_is_rate_limited(strict_app, world):
    limited = strict_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://", LOCKOUT_THRESHOLD=1000)
    enable_totp("police")
    client = limited.test_client()
    assert login(client, "police").status_code == 302
    codes = [client.post("/totp", data={"code": f"{n:06d}"}).status_code for n in range(12)]
    assert 429 in codes


@pytest.mark.parametrize("how", ["page", "disabled"])
def test_a_token_is_worthless_after_revocation(app, world, api_token, how):
    from auth import services
    from auth.models import ApiToken

    token = api_token("police")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    police = user("police")
    if how == "page":
        token_id = db.session.execute(db.select(ApiToken.id).filter_by(user_id=police.id)
                                      .order_by(ApiToken.id.desc())).scalars().first()
        page = app.test_client()
        login(page, "police")
        assert page.post(f"/account/tokens/{token_id}/revoke").status_code == 302
    else:
        services.set_active(police, False, acting=user("admin"))
        db.session.commit()
    for path in ("/api/v1/me", f"/api/v1/cases/{world['iom_case']}", "/api/v1/panels/IOM/cases"):
        resp = client.get(path, headers=headers)
        assert resp.status_code == 401, (how, path)
        assert "Ivorcanary" not in resp.get_data(as_text=True)
    assert client.patch(f"/api/v1/cases/{world['iom_case']}", headers=headers,
                        json={"rag": "green", "rationale": "x", "version": 3}).status_code == 401


def test_bad_tokens_are_401(app, world, api_token):
    token = api_token("police")
    client = app.test_client()
    bad = (f"Bearer {token}x", f"Bearer {token[:-1]}", "Bearer ", f"Basic {token}", token, "Bearer ' OR 1=1 --")
    for header in bad:
        resp = client.get("/api/v1/panels", headers={"Authorization": header})
        assert resp.status_code == 401, header
        assert set(resp.get_json()) == {"error"}
