"""Document download through the API: the bytes for a caller who may read the category, logged
as an export exactly like the page download, and a withheld category answering exactly as a
document that does not exist."""

from __future__ import annotations

from core.extensions import db
from sharing.models import AccessEvent
from tests.documents.test_documents import PDF, case, image, post_file, stored  # noqa: F401 (case: a fixture)


def last_events(n: int) -> list[AccessEvent]:
    db.session.commit()
    return db.session.execute(db.select(AccessEvent).order_by(AccessEvent.seq.desc()).limit(n)).scalars().all()


def test_the_api_downloads_a_readable_document_and_logs_it_like_the_page(login_as, client, case, api_token):  # noqa: F811
    login_as("health")
    post_file(client, case, PDF, "Clinic letter.pdf")
    (doc,) = stored()
    health = {"Authorization": f"Bearer {api_token('health')}"}
    listed = client.get(f"/api/v1/cases/{case.id}/documents", headers=health).get_json()["documents"]
    assert listed[0]["content"] == f"/api/v1/cases/{case.id}/documents/{doc.id}/content"
    got = client.get(listed[0]["content"], headers=health)
    assert got.status_code == 200 and got.data == PDF
    assert got.headers["Content-Type"] == "application/octet-stream"
    disposition = "attachment; filename=\"document\"; filename*=UTF-8''Clinic%20letter.pdf"
    assert got.headers["Content-Disposition"] == disposition
    assert got.headers["Cache-Control"] == "no-store" and got.headers["X-Content-Type-Options"] == "nosniff"
    (api_event,) = last_events(1)
    page = client.get(f"/cases/{case.id}/documents/{doc.id}")  # the session download, for comparison
    assert page.data == PDF
    (page_event,) = last_events(1)
    same = ("action", "outcome", "categories", "case_id", "nominal_id", "panel_code", "subject", "detail", "user_id",
            "user_email", "agency_code")
    assert {k: getattr(api_event, k) for k in same} == {k: getattr(page_event, k) for k in same}
    assert api_event.action == "export" and api_event.categories == "health"
    assert api_event.detail == f"document {doc.id} downloaded (pdf, {len(PDF)} bytes)"
    assert "Clinic" not in api_event.detail


def test_a_withheld_category_answers_as_a_document_that_does_not_exist(login_as, client, case, api_token):  # noqa: F811
    login_as("health")
    post_file(client, case, PDF, "Health letter.pdf")
    post_file(client, case, image("PNG"), "Photo.png")
    hidden, _photo = stored()
    police = {"Authorization": f"Bearer {api_token('police')}"}  # police read no health on IOM
    withheld = client.get(f"/api/v1/cases/{case.id}/documents/{hidden.id}/content", headers=police)
    missing = client.get(f"/api/v1/cases/{case.id}/documents/{hidden.id + 1000}/content", headers=police)
    assert withheld.status_code == missing.status_code == 404
    assert withheld.data == missing.data and b"Health" not in withheld.data
    assert withheld.get_json() == {"error": "There is no document with that number on this case"}
    def headers(resp) -> dict:
        return {k: v for k, v in resp.headers.items() if k != "Content-Security-Policy"}  # its nonce differs

    assert headers(withheld) == headers(missing)
    refusals = last_events(2)
    assert [(r.action, r.detail) for r in refusals] == [
        ("refused", "document: none readable with that number on the case")] * 2
    # another case's path does not reach the document, even for a reader of its category
    from tests.cohort.test_tracker_helpers import make_case
    from tests.documents.test_documents import case_partnership

    other = make_case(case_partnership(), given="Other", family="Person")
    db.session.commit()
    health = {"Authorization": f"Bearer {api_token('health')}"}
    assert client.get(f"/api/v1/cases/{other.id}/documents/{hidden.id}/content", headers=health).status_code == 404
    assert client.get(f"/api/v1/cases/{case.id}/documents/{hidden.id}/content", headers=health).data == PDF


def test_the_download_needs_a_token(client, case):  # noqa: F811
    resp = client.get(f"/api/v1/cases/{case.id}/documents/1/content")
    assert resp.status_code == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
