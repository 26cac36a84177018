"""Administration of users and agencies, role-restricted pages, personal API tokens and /api/v1/me."""

from __future__ import annotations

import re

import pytest

from auth.models import Agency, ApiToken
from core.extensions import db
from tests.auth.helpers import audit_actions, user
from tests.support import login


@pytest.mark.parametrize("path", ["/admin/users", "/admin/users/new", "/admin/agencies", "/admin/agencies/new"])
@pytest.mark.parametrize("short", ["police", "coord", "auditor", "analyst"])
def test_admin_pages_refuse_other_roles(login_as, partnership, path, short):
    client = login_as(short)
    resp = client.get(path)
    assert resp.status_code == 403
    assert "You do not have access to this" in resp.get_data(as_text=True)
    refusal = audit_actions("refused")[-1]
    assert refusal.user_email == f"{short}@test.example" and "needs one of admin" in refusal.detail


def test_admin_pages_send_signed_out_users_to_sign_in(client, partnership):
    resp = client.get("/admin/users")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/sign-in?next=/admin/users")


def test_disable_user_posted_by_non_admin_changes_nothing(login_as, partnership):
    target = user("probation")
    client = login_as("coord")
    assert client.post(f"/admin/users/{target.id}/status", data={"action": "disable"}).status_code == 403
    db.session.expire_all()
    assert user("probation").active


def test_users_list_and_agency_filter(login_as, partnership):
    client = login_as("admin")
    html = client.get("/admin/users").get_data(as_text=True)
    assert "Paula Police" in html and "Pete Probation" in html and "Users" in html
    html = client.get("/admin/users?agency=POLICE").get_data(as_text=True)
    assert "Paula Police" in html and "Pete Probation" not in html


def test_create_user_with_password(app, login_as, partnership):
    client = login_as("admin")
    agency = partnership.agencies["POLICE"]
    resp = client.post("/admin/users/new", data={
        "email": "New.Officer@Test.Example", "name": "Nell Officer", "agency_id": agency.id,
        "roles": ["practitioner", "analyst"], "password": "copper-kettle-sunrise-7"})
    assert resp.status_code == 302
    created = user("new.officer@test.example")
    assert created.roles == {"practitioner", "analyst"} and created.agency.code == "POLICE"
    assert "created" in audit_actions("admin")[-1].detail
    assert login(app.test_client(), "new.officer@test.example", "copper-kettle-sunrise-7").status_code == 302


def test_create_user_errors_are_shown(login_as, partnership):
    client = login_as("admin")
    resp = client.post("/admin/users/new", data={
        "email": "police@test.example", "name": "Dup", "agency_id": partnership.agencies["POLICE"].id,
        "roles": ["practitioner"]})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "govuk-error-summary" in html and "already exists" in html
    resp = client.post("/admin/users/new", data={"email": "x@test.example", "name": "X", "agency_id": 0})
    html = resp.get_data(as_text=True)
    assert "Select at least one role" in html


def test_create_user_without_password_gives_a_one_time_set_up_link(app, login_as, partnership):
    client = login_as("admin")
    resp = client.post("/admin/users/new", data={
        "email": "fresh@test.example", "name": "Fay Fresh", "agency_id": partnership.agencies["DWP"].id,
        "roles": ["practitioner"]})
    html = resp.get_data(as_text=True)
    link = re.search(r"http://localhost(/account/set-up/[^<\s]+)", html).group(1)
    newcomer = app.test_client()
    assert "Choose your password" in newcomer.get(link).get_data(as_text=True)
    weak = newcomer.post(link, data={"password": "password123", "confirm": "password123"})
    assert "govuk-error-summary" in weak.get_data(as_text=True)
    resp = newcomer.post(link, data={"password": "marble-otter-canyon-4", "confirm": "marble-otter-canyon-4"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/sign-in"
    assert newcomer.get(link).status_code == 404  # used once
    assert login(newcomer, "fresh@test.example", "marble-otter-canyon-4").status_code == 302


def test_edit_roles_and_agency(login_as, partnership):
    client = login_as("admin")
    target = user("probation")
    page = client.get(f"/admin/users/{target.id}")
    assert page.status_code == 200 and "Pete Probation" in page.get_data(as_text=True)
    resp = client.post(f"/admin/users/{target.id}", data={
        "name": "Pete Probation", "agency_id": partnership.agencies["LACS"].id, "roles": ["coordinator"]})
    assert resp.status_code == 302
    db.session.expire_all()
    target = user("probation")
    assert target.roles == {"coordinator"} and target.agency.code == "LACS"
    assert "roles practitioner -> coordinator" in audit_actions("admin")[-1].detail


def test_admin_cannot_remove_own_admin_role(login_as, partnership):
    client = login_as("admin")
    me = user("admin")
    resp = client.post(f"/admin/users/{me.id}", data={"name": me.name, "agency_id": me.agency_id, "roles": ["analyst"]})
    assert "cannot remove your own administrator role" in resp.get_data(as_text=True)


def test_disable_revokes_sessions_and_tokens_then_enable(app, login_as, partnership, api_token):
    token = api_token("police")
    victim = app.test_client()
    login(victim, "police")
    assert victim.get("/account").status_code == 200
    admin = login_as("admin")
    target = user("police")
    resp = admin.post(f"/admin/users/{target.id}/status", data={"action": "disable", "confirm": "yes"})
    assert resp.status_code == 302
    assert victim.get("/account").status_code == 302
    assert app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert login(app.test_client(), "police").status_code == 200  # refused: stays on the sign-in page
    admin.post(f"/admin/users/{target.id}/status", data={"action": "enable"})
    assert login(app.test_client(), "police").status_code == 302
    assert app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_agencies_create_and_edit(login_as, partnership):
    client = login_as("admin")
    assert "Test Police" in client.get("/admin/agencies").get_data(as_text=True)
    resp = client.post("/admin/agencies/new", data={"code": "HOUSING", "name": "Test Housing", "kind": "housing"})
    assert resp.status_code == 302
    dup = client.post("/admin/agencies/new", data={"code": "HOUSING", "name": "Again", "kind": "housing"})
    assert "already exists" in dup.get_data(as_text=True)
    bad = client.post("/admin/agencies/new", data={"code": "bad code", "name": "Bad", "kind": "housing"})
    assert "capital letters" in bad.get_data(as_text=True)
    agency = db.session.execute(db.select(Agency).filter_by(code="HOUSING")).scalar_one()
    resp = client.post(f"/admin/agencies/{agency.id}", data={"name": "Test Housing Trust", "kind": "housing"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Agency, agency.id).name == "Test Housing Trust"


# -- API tokens --------------------------------------------------------------------------------


def test_me_with_token_and_revoked_token(app, client, partnership, api_token):
    token = api_token("police")
    resp = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200
    assert resp.get_json() == {"email": "police@test.example", "name": "Paula Police", "agency": "POLICE",
                               "roles": ["practitioner"]}
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer mrp_not-a-token"}).get_json() == {
        "error": "Send a valid API token: Authorization: Bearer <token>"}
    row = db.session.execute(db.select(ApiToken)).scalar_one()
    login(client, "police")
    assert client.post(f"/account/tokens/{row.id}/revoke").status_code == 302
    assert app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_session_cookie_does_not_authenticate_the_api(login_as, partnership):
    client = login_as("police")
    assert client.get("/api/v1/me").status_code == 401


def test_account_page_creates_a_token_shown_once(app, login_as, partnership):
    client = login_as("police")
    resp = client.post("/account/tokens", data={"name": "KPI sheet"})
    html = resp.get_data(as_text=True)
    token = re.search(r'<code class="app-token-value">(mrp_[^<]+)</code>', html).group(1)
    assert app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    later = client.get("/account").get_data(as_text=True)
    assert "KPI sheet" in later and token not in later
    assert token not in repr([e.detail for e in audit_actions("token")])
    empty = client.post("/account/tokens", data={"name": ""})
    assert "Enter a name for the token" in empty.get_data(as_text=True)


def test_cannot_revoke_someone_elses_token(login_as, partnership, api_token):
    api_token("probation")
    row = db.session.execute(db.select(ApiToken)).scalar_one()
    client = login_as("police")
    assert client.post(f"/account/tokens/{row.id}/revoke").status_code == 404
    db.session.expire_all()
    assert db.session.get(ApiToken, row.id).revoked_at is None


def test_set_up_link_recovers_a_lost_authenticator(app, login_as, partnership):
    from auth import totp as otp

    target = user("police")
    target.totp_secret = otp.new_secret()
    target.totp_enabled = True
    db.session.commit()
    admin = login_as("admin")
    page = admin.get(f"/admin/users/{target.id}").get_data(as_text=True)
    assert "set up two-factor authentication again" in page
    html = admin.post(f"/admin/users/{target.id}/set-up-link").get_data(as_text=True)
    link = re.search(r"http://localhost(/account/set-up/[^<\s]+)", html).group(1)
    assert "set-up link created" in audit_actions("admin")[-1].detail
    person = app.test_client()
    resp = person.post(link, data={"password": "marble-otter-canyon-4", "confirm": "marble-otter-canyon-4"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert not user("police").totp_enabled
    assert "two-factor authentication reset" in audit_actions("admin")[-1].detail
    assert login(person, "police", "marble-otter-canyon-4").headers["Location"] == "/"
    assert person.get(link).status_code == 404


def test_edit_pages_render(login_as, partnership):
    client = login_as("admin")
    agency = partnership.agencies["DWP"]
    html = client.get(f"/admin/agencies/{agency.id}").get_data(as_text=True)
    assert "Test DWP" in html and 'name="code"' not in html  # the code is fixed once created
    assert client.get("/admin/agencies/99999").status_code == 404
    assert client.get("/admin/users/99999").status_code == 404
    assert 'name="code"' in client.get("/admin/agencies/new").get_data(as_text=True)
    assert "Change your password" in client.get("/account/password").get_data(as_text=True)
