"""Two-factor authentication: enrolment, the second sign-in step, codes used once, REQUIRE_TOTP."""

from __future__ import annotations

import base64
import datetime as dt
import re

import pytest

from auth import totp as otp
from core import clock
from core.extensions import db
from tests.auth.helpers import audit_actions, field_value, user
from tests.support import TEST_PASSWORD, clock_at, login


def _at(seconds: int) -> None:
    clock.set_now(clock_at("2026-11-23T10:00:00") + dt.timedelta(seconds=seconds))


def _enrol_page(client) -> tuple[str, str]:
    """GET the set-up page: (secret typed by hand, the form's enrolment token)."""
    html = client.get("/account/two-factor").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
    return secret, field_value(html, "enrolment")


def _with_totp(short: str) -> str:
    secret = otp.new_secret()
    u = user(short)
    u.totp_secret = secret
    u.totp_enabled = True
    db.session.commit()
    return secret


def test_enrolment_shows_a_qr_code_and_turns_totp_on(client, partnership):
    login(client, "police")
    resp = client.get("/account/two-factor")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    qr = re.search(r'<img class="app-totp-qr" src="data:image/svg\+xml;base64,([^"]+)"', html)
    assert qr and b"<svg" in base64.b64decode(qr.group(1))
    secret, token = _enrol_page(client)
    bad = client.post("/account/two-factor", data={"enrolment": token, "code": "000000"})
    assert "Enter the security code your authenticator app shows now" in bad.get_data(as_text=True)
    resp = client.post("/account/two-factor", data={"enrolment": token, "code": otp.code_for(secret)})
    assert resp.status_code == 302 and resp.headers["Location"] == "/account"
    db.session.expire_all()
    u = user("police")
    assert u.totp_enabled and u.totp_secret == secret
    assert u.totp_secret_enc and secret.encode() not in u.totp_secret_enc  # encrypted at rest
    assert "two-factor authentication turned on" in audit_actions("change")[-1].detail


def test_enrolment_token_cannot_be_forged_or_used_by_someone_else(app, client, partnership):
    login(client, "police")
    secret, token = _enrol_page(client)
    other = app.test_client()
    login(other, "probation")
    resp = other.post("/account/two-factor", data={"enrolment": token, "code": otp.code_for(secret)})
    assert "expired" in resp.get_data(as_text=True)
    assert not user("probation").totp_enabled


def test_sign_in_with_totp_and_code_reuse_refused(app, client, partnership):
    secret = _with_totp("police")
    resp = login(client, "police")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/totp")
    # Until the code is given, nothing else is reachable.
    assert client.get("/").headers["Location"].startswith("/totp")
    assert client.get("/account").headers["Location"].startswith("/totp")
    code = otp.code_for(secret)
    wrong = client.post("/totp", data={"code": "123456" if code != "123456" else "654321"})
    assert wrong.status_code == 200 and "Enter a correct security code" in wrong.get_data(as_text=True)
    resp = client.post("/totp", data={"code": code})
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    assert client.get("/account").status_code == 200
    assert [e.detail for e in audit_actions("sign_in")] == ["password accepted", "security code accepted"]

    # The same code, in another browser, moments later: refused.
    other = app.test_client()
    login(other, "police")
    _at(5)
    again = other.post("/totp", data={"code": code})
    assert again.status_code == 200 and "Enter a correct security code" in again.get_data(as_text=True)
    assert other.get("/account").status_code == 302
    # The next time step's code works.
    _at(31)
    assert other.post("/totp", data={"code": otp.code_for(secret)}).headers["Location"] == "/"


def test_next_survives_the_second_step(client, partnership):
    secret = _with_totp("police")
    resp = client.post("/sign-in?next=/account", data={"email": "police@test.example", "password": TEST_PASSWORD})
    assert resp.headers["Location"] == "/totp?next=/account"
    assert client.post("/totp?next=/account", data={"code": otp.code_for(secret)}).headers["Location"] == "/account"


def test_wrong_codes_lock_the_account(client, partnership):
    secret = _with_totp("police")
    login(client, "police")
    code = otp.code_for(secret)
    wrong = "111111" if code != "111111" else "222222"
    for _ in range(4):
        assert client.post("/totp", data={"code": wrong}).status_code == 200
    resp = client.post("/totp", data={"code": wrong})
    assert resp.status_code == 302 and resp.headers["Location"] == "/sign-in"
    assert client.get("/account").status_code == 302
    assert "too many attempts" in login(client, "police").get_data(as_text=True)


def test_turning_totp_off_needs_the_password(client, partnership):
    secret = _with_totp("police")
    login(client, "police")
    client.post("/totp", data={"code": otp.code_for(secret)})
    assert "Turn it off" in client.get("/account/two-factor").get_data(as_text=True)
    bad = client.post("/account/two-factor/turn-off", data={"password": "not-my-password"})
    assert "Your password is not correct" in bad.get_data(as_text=True)
    assert user("police").totp_enabled
    ok = client.post("/account/two-factor/turn-off", data={"password": TEST_PASSWORD})
    assert ok.status_code == 302
    db.session.expire_all()
    assert not user("police").totp_enabled and user("police").totp_secret is None


@pytest.fixture
def totp_required(app):
    app.config["REQUIRE_TOTP"] = True
    yield
    app.config["REQUIRE_TOTP"] = False


def test_required_totp_sends_users_without_it_to_enrol(client, partnership, totp_required):
    resp = login(client, "police")
    assert resp.headers["Location"].startswith("/account/two-factor")
    assert client.get("/").headers["Location"].startswith("/totp")
    assert client.get("/totp").headers["Location"].startswith("/account/two-factor")
    html = client.get("/account/two-factor").get_data(as_text=True)
    assert "Set it up now to continue" in html
    secret, token = _enrol_page(client)
    resp = client.post("/account/two-factor", data={"enrolment": token, "code": otp.code_for(secret)})
    assert resp.status_code == 302
    assert client.get("/").status_code == 200
    # Next time: the code is asked for, and it cannot be turned off.
    client.post("/sign-out")
    login(client, "police")
    _at(31)
    assert client.post("/totp", data={"code": otp.code_for(secret)}).headers["Location"] == "/"
    assert "cannot be turned off" in client.get("/account/two-factor").get_data(as_text=True)


def test_half_signed_in_user_cannot_re_enrol_to_skip_the_code(client, partnership):
    _with_totp("police")
    login(client, "police")
    resp = client.get("/account/two-factor")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/totp")
