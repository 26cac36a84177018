"""The skeleton answers: health check, sign-in page, sign-in and the dashboard."""

from tests.support import login


def test_healthz(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok"}


def test_sign_in_and_dashboard(client, partnership):
    assert client.get("/").status_code == 302
    resp = login(client, "police", follow=True)
    assert resp.status_code == 200
    assert "Paula Police" in resp.get_data(as_text=True)
