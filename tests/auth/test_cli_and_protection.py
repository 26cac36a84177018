"""`flask users ...`, production start refusal, CSRF rejection and sign-in rate limiting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from auth.models import ApiToken, User
from core.config import ConfigError
from core.extensions import db
from tests.auth.helpers import user
from tests.conftest import TEST_KEY
from tests.support import TEST_PASSWORD, login

ROOT = Path(__file__).resolve().parents[2]


def test_create_admin_once_only(app, runner):
    result = runner.invoke(args=["users", "create-admin", "first@example.org", "--name", "Fran First", "--agency",
                                 "LACS", "--agency-name", "Test Council", "--password", "granite-meadow-piano-5"])
    assert result.exit_code == 0, result.output
    admin = db.session.execute(db.select(User).filter_by(email="first@example.org")).scalar_one()
    assert admin.roles == {"admin"} and admin.agency.code == "LACS"
    assert login(app.test_client(), "first@example.org", "granite-meadow-piano-5").status_code == 302
    again = runner.invoke(args=["users", "create-admin", "second@example.org", "--name", "Sam Second", "--agency",
                                "LACS", "--password", "granite-meadow-piano-6"])
    assert again.exit_code == 1 and "An administrator already exists" in again.output
    assert db.session.execute(db.select(User).filter_by(email="second@example.org")).first() is None


def test_create_admin_prompts_and_checks_the_password(app, runner):
    weak = runner.invoke(args=["users", "create-admin", "first@example.org", "--name", "Fran First", "--agency",
                               "LACS", "--agency-name", "Test Council", "--password", "password123"])
    assert weak.exit_code == 1 and "Traceback" not in weak.output
    assert db.session.execute(db.select(User)).first() is None
    prompted = runner.invoke(args=["users", "create-admin", "first@example.org", "--name", "Fran First",
                                   "--agency", "LACS", "--agency-name", "Test Council"],
                             input="granite-meadow-piano-5\ngranite-meadow-piano-5\n")
    assert prompted.exit_code == 0, prompted.output
    assert "granite-meadow-piano-5" not in prompted.output.replace("Password:", "")


def test_create_admin_needs_an_agency(app, runner):
    result = runner.invoke(args=["users", "create-admin", "first@example.org", "--name", "Fran First", "--agency",
                                 "NOPE", "--password", "granite-meadow-piano-5"])
    assert result.exit_code == 1 and "--agency-name" in result.output


def test_users_token_prints_the_token_on_the_last_line(app, runner, partnership, client):
    result = runner.invoke(args=["users", "token", "police@test.example"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("mrp_") and " " not in token
    resp = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert resp.get_json()["email"] == "police@test.example"
    unknown = runner.invoke(args=["users", "token", "nobody@test.example"])
    assert unknown.exit_code == 1 and "No user" in unknown.output


def test_users_disable(app, runner, partnership, api_token):
    token = api_token("police")
    browser = app.test_client()
    login(browser, "police")
    result = runner.invoke(args=["users", "disable", "police@test.example"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert not user("police").active
    assert browser.get("/account").status_code == 302
    assert db.session.execute(db.select(ApiToken)).scalar_one().revoked_at is not None
    assert app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


# -- production start ------------------------------------------------------------------------


def _production(tmp_path, **changes) -> dict:
    cfg = {"TRACKER_ENV": "production", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.sqlite'}",
           "TRACKER_MASTER_KEY": TEST_KEY, "TRACKER_MASTER_KEY_FILE": None,
           "SECRET_KEY": "a-long-random-production-secret-0123456789abcdef", "DEBUG": False,
           "PUBLIC_URL": "https://panels.example.org"}
    cfg.update(changes)
    return cfg


@pytest.mark.parametrize(("changes", "message"), [
    ({"TRACKER_MASTER_KEY": None}, "TRACKER_MASTER_KEY"),
    ({"SECRET_KEY": "dev-only-not-secret"}, "SECRET_KEY"),
    ({"SECRET_KEY": "short"}, "SECRET_KEY"),
    ({"DEBUG": True}, "debug"),
])
def test_production_start_refused(tmp_path, changes, message):
    from wsgi import create_app

    with pytest.raises(ConfigError, match=message):
        create_app(_production(tmp_path, **changes))


def test_production_start_allowed_when_safe(tmp_path):
    from wsgi import create_app

    app = create_app(_production(tmp_path, REQUIRE_TOTP=False, SESSION_COOKIE_SECURE=False))
    # Production keeps its protections even when something asks it not to.
    assert app.config["TRACKER_ENV"] == "production"
    assert app.config["REQUIRE_TOTP"] is True
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_NAME"] == "__Host-session"
    with app.app_context():
        db.engine.dispose()


def test_production_cli_refuses_cleanly_without_a_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKER_", "SECRET_KEY", "FLASK_"))}
    env.update(TRACKER_ENV="production", DATABASE_URL=f"sqlite:///{tmp_path / 'p.sqlite'}",
               SECRET_KEY="a-long-random-production-secret-0123456789abcdef")
    proc = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    output = (proc.stdout + proc.stderr).strip()
    assert "Traceback" not in output
    assert output.splitlines() == ["Refusing to start: set TRACKER_MASTER_KEY or TRACKER_MASTER_KEY_FILE (production)."]
    assert not (tmp_path / "p.sqlite").exists() or (tmp_path / "p.sqlite").stat().st_size == 0


# -- CSRF and rate limiting -------------------------------------------------------------------


def test_csrf_token_required(strict_app, partnership):
    app2 = strict_app(WTF_CSRF_ENABLED=True)
    client = app2.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    assert 'name="csrf_token"' in page
    for data in ({}, {"csrf_token": "forged"}):
        resp = client.post("/sign-in", data={"email": "police@test.example", "password": TEST_PASSWORD, **data})
        html = resp.get_data(as_text=True)
        assert resp.status_code == 400
        assert "There is a problem with your request" in html and "govuk-heading-l" in html
        assert "Traceback" not in html
    assert client.get("/account").status_code == 302  # not signed in

    # Signed in properly (with the token), a forged password change changes nothing.
    from tests.auth.helpers import field_value

    token = field_value(client.get("/sign-in").get_data(as_text=True), "csrf_token")
    assert client.post("/sign-in", data={"email": "police@test.example", "password": TEST_PASSWORD,
                                         "csrf_token": token}).status_code == 302
    forged = client.post("/account/password", data={"current": TEST_PASSWORD, "password": "velvet-harbour-tractor-9",
                                                    "confirm": "velvet-harbour-tractor-9"})
    assert forged.status_code == 400
    assert client.post("/sign-out").status_code == 400
    assert client.get("/account").status_code == 200
    assert login(app2.test_client(), "police").status_code == 400  # no token: refused, password unchanged
    with app2.app_context():
        from auth.passwords import verify_password

        assert verify_password(user("police").password_hash, TEST_PASSWORD)


def test_sign_in_is_rate_limited(strict_app, partnership):
    app2 = strict_app(RATELIMIT_ENABLED=True)
    client = app2.test_client()
    statuses = [login(client, f"guess{i}@test.example", "wrong-password-1").status_code for i in range(10)]
    assert statuses == [200] * 10
    resp = login(client, "police")
    assert resp.status_code == 429
    assert "Too many attempts" in resp.get_data(as_text=True)
    assert client.get("/sign-in").status_code == 200  # reading the page is not limited
    # The security-code step shares the budget.
    assert client.post("/totp", data={"code": "123456"}).status_code == 429
    other_address = app2.test_client()
    other_address.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert login(other_address, "police").status_code == 302
