"""Behind a reverse proxy: rate limits key on the client, not the proxy; links come from PUBLIC_URL.

The proxy is played by the WSGI environment: REMOTE_ADDR is the proxy's address and
X-Forwarded-For carries what the proxy appended (and whatever the client sent before it).
"""

from __future__ import annotations

import re

import pytest
from flask import url_for
from icalendar import Calendar

from core.config import ConfigError
from tests.support import TEST_PASSWORD

PROXY = "10.0.0.2"
PUBLIC = "https://panels.example.org"
EVIL = {"Host": "evil.example"}


def _limited(strict_app, proxies: int):
    return strict_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://", LOCKOUT_THRESHOLD=1000,
                      SIGN_IN_RATE_LIMIT="3 per minute", TRUSTED_PROXIES=proxies)


def _attempt(client, forwarded_for: str | None) -> int:
    """One wrong password from behind the proxy; the status code."""
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    resp = client.post("/sign-in", data={"email": "nobody@test.example", "password": "wrong-password-1"},
                       headers=headers, environ_base={"REMOTE_ADDR": PROXY})
    return resp.status_code


def test_two_clients_behind_a_proxy_have_their_own_budgets(strict_app, partnership):
    app = _limited(strict_app, proxies=1)
    alice, bob = app.test_client(), app.test_client()
    assert [_attempt(alice, "203.0.113.10") for _ in range(4)] == [200, 200, 200, 429]
    assert _attempt(bob, "203.0.113.20") == 200  # the proxy's address is not one shared budget
    assert _attempt(alice, "203.0.113.10") == 429


def test_a_client_cannot_prepend_addresses_for_a_fresh_budget(strict_app, partnership):
    """One trusted hop: only the address the proxy appended counts."""
    app = _limited(strict_app, proxies=1)
    client = app.test_client()
    codes = [_attempt(client, f"198.51.100.{n}, 203.0.113.10") for n in range(5)]
    assert codes == [200, 200, 200, 429, 429]


def test_without_trusted_proxies_x_forwarded_for_is_ignored(strict_app, partnership):
    app = _limited(strict_app, proxies=0)
    client = app.test_client()
    codes = [_attempt(client, f"198.51.100.{n}") for n in range(5)]
    assert codes == [200, 200, 200, 429, 429]  # a spoofed header is not a new budget
    assert _attempt(app.test_client(), None) == 429  # the budget is the sender's (here the proxy's)


# -- absolute links come from PUBLIC_URL, never the Host header ----------------------------------


@pytest.fixture
def public_app(strict_app, partnership):
    return strict_app(PUBLIC_URL=PUBLIC + "/")


def _sign_in(client, short: str) -> None:
    """Sign in through a request with the hostile Host (the test client keeps cookies per host)."""
    resp = client.post("/sign-in", data={"email": f"{short}@test.example", "password": TEST_PASSWORD},
                       headers=EVIL)
    assert resp.status_code == 302


def _links(text: str) -> set[str]:
    return set(re.findall(r"https?://[^\s\"'<>\\]+", text))


def test_feed_uids_and_links_ignore_the_host_header(public_app):
    client = public_app.test_client()
    _sign_in(client, "police")
    for path in ("/me/meetings.ics", "/panels/IOM/meetings.ics"):
        body = client.get(path, headers=EVIL).get_data()
        assert b"evil.example" not in body, path
        events = Calendar.from_ical(body).walk("VEVENT")
        assert events, path
        for event in events:
            assert str(event["UID"]).endswith("@panels.example.org")
            assert str(event["URL"]).startswith(PUBLIC + "/meetings/")
            assert PUBLIC + "/meetings/" in str(event["DESCRIPTION"])


def test_calendar_link_on_the_account_page_uses_public_url(public_app):
    client = public_app.test_client()
    _sign_in(client, "police")
    page = client.post("/account/calendar-link", headers=EVIL).get_data(as_text=True)
    assert "evil.example" not in page
    [link] = [u for u in _links(page) if "/feeds/" in u]
    assert link.startswith(PUBLIC + "/feeds/mrf_") and link.endswith("/meetings.ics")
    token = link.split("/feeds/")[1].split("/")[0]
    feed = public_app.test_client().get(f"/feeds/{token}/meetings.ics", headers=EVIL).get_data()
    assert b"evil.example" not in feed and b"@panels.example.org" in feed


def test_set_up_links_shown_to_admins_use_public_url(public_app, partnership):
    client = public_app.test_client()
    _sign_in(client, "admin")
    police = partnership.user("police")
    page = client.post(f"/admin/users/{police.id}/set-up-link", headers=EVIL).get_data(as_text=True)
    assert "evil.example" not in page
    assert any(u.startswith(PUBLIC + "/account/set-up/") for u in _links(page))
    resp = client.post("/admin/users/new", headers=EVIL, data={
        "email": "newbie@test.example", "name": "New Person", "agency_id": partnership.agencies["POLICE"].id,
        "roles": "practitioner"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "evil.example" not in page
    assert any(u.startswith(PUBLIC + "/account/set-up/") for u in _links(page))


def test_links_built_outside_a_request_use_public_url(public_app):
    """Jobs and e-mails have no request at all: their links come from PUBLIC_URL too."""
    with public_app.app_context():
        assert url_for("panels.meeting", meeting_id=7) == PUBLIC + "/meetings/7"
        assert url_for("auth.set_up", token="abc", _external=True) == PUBLIC + "/account/set-up/abc"
    with public_app.test_request_context("/", headers=EVIL):
        assert url_for("panels.meeting", meeting_id=7) == "/meetings/7"  # relative links stay relative
        assert url_for("panels.meeting", meeting_id=7, _external=True) == PUBLIC + "/meetings/7"
        assert url_for("panels.meeting", meeting_id=7, _external=True, _scheme="http") == PUBLIC + "/meetings/7"


def test_public_url_with_a_path_prefix(strict_app, partnership):
    app = strict_app(PUBLIC_URL="https://council.example.org/risk-panels")
    with app.test_request_context("/", headers=EVIL):
        assert url_for("panels.meeting", meeting_id=7, _external=True) == \
            "https://council.example.org/risk-panels/meetings/7"


# -- configuration --------------------------------------------------------------------------------


def _build(**env):
    from core.config import build_config, check_production

    cfg = build_config({"TRACKER_MASTER_KEY": "x", "SECRET_KEY": "s" * 40, "DEBUG": False, **env})
    check_production(cfg)
    return cfg


def test_development_defaults():
    cfg = _build(TRACKER_ENV="development", PUBLIC_URL=None, TRUSTED_PROXIES=None)
    assert cfg["PUBLIC_URL"] == "http://127.0.0.1:5000" and cfg["TRUSTED_PROXIES"] == 0


def test_production_refuses_to_start_without_public_url():
    with pytest.raises(ConfigError, match="PUBLIC_URL"):
        _build(TRACKER_ENV="production", PUBLIC_URL=None)
    assert _build(TRACKER_ENV="production", PUBLIC_URL=PUBLIC)["PUBLIC_URL"] == PUBLIC


@pytest.mark.parametrize(("changes", "message"), [
    ({"PUBLIC_URL": "panels.example.org"}, "PUBLIC_URL"),
    ({"PUBLIC_URL": "ftp://panels.example.org"}, "PUBLIC_URL"),
    ({"PUBLIC_URL": "https://panels.example.org/?x=1"}, "PUBLIC_URL"),
    ({"PUBLIC_URL": "https://user:pw@panels.example.org"}, "PUBLIC_URL"),
    ({"TRUSTED_PROXIES": "one"}, "TRUSTED_PROXIES"),
    ({"TRUSTED_PROXIES": "-1"}, "TRUSTED_PROXIES"),
])
def test_bad_settings_are_refused_with_what_to_set(changes, message):
    with pytest.raises(ConfigError, match=message):
        _build(TRACKER_ENV="development", **changes)


def test_proxy_fix_is_only_installed_for_trusted_proxies(strict_app):
    from werkzeug.middleware.proxy_fix import ProxyFix

    assert not isinstance(strict_app(TRUSTED_PROXIES=0).wsgi_app, ProxyFix)
    fixed = strict_app(TRUSTED_PROXIES=2).wsgi_app
    assert isinstance(fixed, ProxyFix) and fixed.x_for == 2
    assert (fixed.x_proto, fixed.x_host, fixed.x_port, fixed.x_prefix) == (0, 0, 0, 0)
