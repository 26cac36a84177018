"""Sign-in, lock-out, safe redirects, sessions (fixation, replay, timeouts) and password change."""

from __future__ import annotations

import datetime as dt

import pytest

from auth.routes import BAD_CREDENTIALS, LOCKED
from core import clock
from tests.auth.helpers import audit_actions, user
from tests.support import TEST_PASSWORD, clock_at, login


def _move(minutes: float) -> None:
    clock.set_now(clock_at("2026-11-23T10:00:00") + dt.timedelta(minutes=minutes))


def test_sign_in_page_and_success(client, partnership):
    page = client.get("/sign-in")
    assert page.status_code == 200
    assert "<title>Sign in – Manage risk panels</title>" in page.get_data(as_text=True)
    resp = login(client, "police")
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    assert client.get("/account").status_code == 200
    events = audit_actions("sign_in")
    assert [e.user_email for e in events] == ["police@test.example"]
    assert TEST_PASSWORD not in repr([(e.detail, e.purpose) for e in events])


def test_wrong_password_and_unknown_user_get_the_same_answer(client, partnership):
    wrong = login(client, "police", "not-the-right-password")
    unknown = login(client, "nobody@test.example", "not-the-right-password")
    for resp in (wrong, unknown):
        assert resp.status_code == 200
        body = resp.get_data(as_text=True)
        assert BAD_CREDENTIALS in body and "govuk-error-summary" in body
        assert "<title>Error: Sign in" in body
    assert client.get("/account").status_code == 302
    failed = audit_actions("sign_in_failed")
    assert [e.user_email for e in failed] == ["police@test.example", "nobody@test.example"]
    assert all("not-the-right-password" not in (e.detail + e.purpose) for e in failed)


def test_disabled_account_cannot_sign_in(client, partnership, app):
    from core.extensions import db

    user("police").active = False
    db.session.commit()
    assert BAD_CREDENTIALS in login(client, "police").get_data(as_text=True)


@pytest.mark.parametrize("email", ["police@test.example", "nobody@test.example"])
def test_lock_out_after_five_failures_then_expiry(client, partnership, email):
    for attempt in range(1, 6):
        body = login(client, email, "wrong-password-1").get_data(as_text=True)
        assert (LOCKED if attempt == 5 else BAD_CREDENTIALS) in body
    # Locked: even the right password is not checked, and the answer is the lock message.
    resp = login(client, email, TEST_PASSWORD)
    assert resp.status_code == 200 and LOCKED in resp.get_data(as_text=True)
    assert client.get("/account").status_code == 302
    _move(14)
    assert LOCKED in login(client, email, TEST_PASSWORD).get_data(as_text=True)
    _move(16)
    resp = login(client, email, TEST_PASSWORD)
    if email.startswith("police"):
        assert resp.status_code == 302
        assert client.get("/account").status_code == 200
    else:
        assert BAD_CREDENTIALS in resp.get_data(as_text=True)


def test_lock_out_is_keyed_by_hmac_not_the_address(client, partnership, app):
    from auth.models import LoginThrottle
    from core.extensions import db

    login(client, "Nobody@Test.Example", "wrong-password-1")
    rows = db.session.execute(db.select(LoginThrottle)).scalars().all()
    assert len(rows) == 1 and "nobody" not in rows[0].key_hash and len(rows[0].key_hash) == 64


def test_success_resets_the_failure_count(client, partnership):
    for _ in range(4):
        login(client, "police", "wrong-password-1")
    assert login(client, "police").status_code == 302
    client.post("/sign-out")
    for _ in range(4):
        assert BAD_CREDENTIALS in login(client, "police", "wrong-password-1").get_data(as_text=True)


@pytest.mark.parametrize("target", ["https://evil.example", "//evil.example", "/\\evil.example", "http:/evil.example"])
def test_next_only_redirects_within_the_site(client, partnership, target):
    resp = client.post("/sign-in", query_string={"next": target},
                       data={"email": "police@test.example", "password": TEST_PASSWORD})
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/"


def test_next_to_a_local_page_is_followed(client, partnership):
    assert client.get("/account").headers["Location"].startswith("/sign-in?next=/account")
    resp = client.post("/sign-in?next=/account", data={"email": "police@test.example", "password": TEST_PASSWORD})
    assert resp.headers["Location"] == "/account"


def test_sign_in_starts_a_new_session_id(client, partnership):
    client.get("/sign-in")
    login(client, "police")
    first = client.get_cookie("session").value
    login(client, "police")
    second = client.get_cookie("session").value
    assert first != second


def test_cookie_replayed_after_sign_out_is_refused(app, client, partnership):
    login(client, "police")
    stolen = client.get_cookie("session").value
    resp = client.post("/sign-out")
    assert resp.status_code == 302 and resp.headers["Location"] == "/sign-in"
    assert audit_actions("sign_out")[0].user_email == "police@test.example"
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    resp = thief.get("/account")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/sign-in")


def test_idle_timeout(client, partnership):
    login(client, "police")
    _move(29)
    assert client.get("/account").status_code == 200
    _move(29 + 31)
    resp = client.get("/account")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/sign-in")


def test_absolute_timeout(client, partnership):
    login(client, "police")
    minutes = 0
    while minutes + 25 < 10 * 60:
        minutes += 25
        _move(minutes)
        assert client.get("/account").status_code == 200, minutes  # active all the time
    _move(10 * 60 + 1)
    assert client.get("/account").status_code == 302


def test_password_change_revokes_other_sessions(app, client, partnership):
    other = app.test_client()
    login(other, "police")
    login(client, "police")
    resp = client.post("/account/password", data={
        "current": TEST_PASSWORD, "password": "velvet-harbour-tractor-9", "confirm": "velvet-harbour-tractor-9"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/account"
    assert client.get("/account").status_code == 200  # this session carries on
    assert other.get("/account").status_code == 302  # the other one is over
    client.post("/sign-out")
    assert BAD_CREDENTIALS in login(client, "police").get_data(as_text=True)
    assert login(client, "police", "velvet-harbour-tractor-9").status_code == 302


def _new_token(client, name: str) -> str:
    import re

    html = client.post("/account/tokens", data={"name": name}).get_data(as_text=True)
    return re.search(r'<code class="app-token-value">(mrp_[^<]+)</code>', html).group(1)


def test_password_change_revokes_api_tokens_and_other_sessions(app, client, partnership):
    """Everything the old password could have been used to obtain stops working at once."""
    other = app.test_client()
    login(other, "police")
    login(client, "police")
    tokens = [_new_token(client, "KPI sheet"), _new_token(other, "nightly export")]
    api = app.test_client()
    for token in tokens:
        assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    resp = client.post("/account/password", data={
        "current": TEST_PASSWORD, "password": "velvet-harbour-tractor-9", "confirm": "velvet-harbour-tractor-9"},
        follow_redirects=True)
    assert "2 API token(s) revoked" in resp.get_data(as_text=True)
    for token in tokens:
        answer = api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 401 and answer.get_json()["error"].startswith("Send a valid API token")
    assert other.get("/account").status_code == 302  # the other session is over
    account = client.get("/account")
    assert account.status_code == 200  # this one carries on, its tokens listed as revoked
    assert "KPI sheet" in account.get_data(as_text=True)
    assert "1 other session(s) ended, 2 API token(s) revoked" in audit_actions("admin")[-1].detail

    fresh = _new_token(client, "after the change")  # a token made afterwards works
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200
    # Someone else's tokens are untouched.
    probation = app.test_client()
    login(probation, "probation")
    theirs = _new_token(probation, "theirs")
    client.post("/account/password", data={
        "current": "velvet-harbour-tractor-9", "password": "copper-lantern-meadow-7",
        "confirm": "copper-lantern-meadow-7"})
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {theirs}"}).status_code == 200
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {fresh}"}).status_code == 401


def test_a_refused_password_change_leaves_tokens_and_sessions_alone(app, client, partnership):
    other = app.test_client()
    login(other, "police")
    login(client, "police")
    token = _new_token(client, "KPI sheet")
    for data in ({"current": "not-my-password", "password": "velvet-harbour-tractor-9",
                  "confirm": "velvet-harbour-tractor-9"},
                 {"current": TEST_PASSWORD, "password": "short1", "confirm": "short1"}):
        assert client.post("/account/password", data=data).status_code == 200
    assert app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert other.get("/account").status_code == 200


def test_setting_a_password_with_a_set_up_link_revokes_api_tokens(app, login_as, partnership):
    import re

    police = app.test_client()
    login(police, "police")
    token = _new_token(police, "KPI sheet")
    admin = login_as("admin")
    target = user("police")
    html = admin.post(f"/admin/users/{target.id}/set-up-link").get_data(as_text=True)
    link = re.search(r"http://localhost(/account/set-up/[^<\s]+)", html).group(1)
    resp = app.test_client().post(link, data={"password": "marble-otter-canyon-4", "confirm": "marble-otter-canyon-4"})
    assert resp.status_code == 302
    assert app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert police.get("/account").status_code == 302
    assert "1 API token(s) revoked" in audit_actions("admin")[-1].detail


@pytest.mark.parametrize(("new", "message"), [
    ("Probation2025", "too easy to guess"),
    ("paulapolice2026!", "too easy to guess"),
    ("qwertyuiop123", "data breaches"),
    ("short1", "12 characters or more"),
])
def test_weak_new_passwords_are_refused(client, partnership, new, message):
    login(client, "police")
    resp = client.post("/account/password", data={"current": TEST_PASSWORD, "password": new, "confirm": new})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and message in body and "govuk-error-summary" in body
    client.post("/sign-out")
    assert login(client, "police").status_code == 302  # unchanged


def test_wrong_current_password_is_refused(client, partnership):
    login(client, "police")
    resp = client.post("/account/password", data={
        "current": "not-my-password", "password": "velvet-harbour-tractor-9", "confirm": "velvet-harbour-tractor-9"})
    assert "Your current password is not correct" in resp.get_data(as_text=True)


def test_tracker_polling_does_not_keep_an_idle_session_alive(client, partnership):
    """Background refreshes (htmx) are not activity: 31 minutes of polling still times out."""
    import datetime as dt

    from core import clock
    from tests.support import clock_at, login

    assert login(client, "coord").status_code == 302
    start = clock_at("2026-11-23T10:00:00")
    for minute in range(0, 32, 2):
        clock.set_now(start + dt.timedelta(minutes=minute))
        client.get("/panels/IOM/tracker/rows?since=x", headers={"HX-Request": "true"})
    clock.set_now(start + dt.timedelta(minutes=31))
    resp = client.get("/panels/IOM/tracker")
    assert resp.status_code == 302 and "/sign-in" in resp.headers["Location"]
