"""Minutes: the coordinator's shareable executive summary (written through its form, shown on
the meeting page, printable as its own page with nothing per nominal) and, for MAPPA level 2/3
items, the disclosure decision kept per item on the meeting's record. Through the pages."""

from __future__ import annotations

import datetime as dt

import pytest

from core import clock
from core.extensions import db
from panels.models import Meeting
from tests.conftest import clock_at
from tests.security.two_worlds import without_nonces

DEC2, DEC10 = dt.date(2026, 12, 2), dt.date(2026, 12, 10)


@pytest.fixture
def iom(make_case, meeting_on, partnership):
    """The IOM meeting of 2 December, agenda published, two named cases on it."""
    from panels import agenda as agendas

    cases = [make_case("IOM", given="Zebedee", family="Quartermaine", rag="red"),
             make_case("IOM", given="Ottoline", family="Vanderpump", rag="amber")]
    meeting = meeting_on("IOM", DEC2)
    agendas.publish(meeting, partnership.user("coord"))
    db.session.commit()
    return meeting, cases


def _record(meeting, case, rag, partnership, user="coord"):
    from panels import meetings as mtg

    item = next(i for i in meeting.items if i.case_id == case.id)
    mtg.record_outcome(meeting, item, user=partnership.user(user), rag=rag, rationale="Agreed", next_review=None)
    db.session.commit()


def test_coordinator_writes_the_summary_with_error_summary(iom, login_as, client):
    meeting, _ = iom
    login_as("coord")
    page = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "No executive summary written yet" in page and "Write the executive summary" in page
    form = client.get(f"/meetings/{meeting.id}/summary")
    assert form.status_code == 200 and "Do not name or identify anyone" in form.get_data(as_text=True)

    resp = client.post(f"/meetings/{meeting.id}/summary", data={"summary-summary": "   "})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "govuk-error-summary" in body and "There is a problem" in body
    assert 'href="#summary-summary"' in body and "Enter the executive summary" in body
    assert "<title>Error:" in body
    resp = client.post(f"/meetings/{meeting.id}/summary", data={"summary-summary": "x" * 5001})
    assert resp.status_code == 422 and "5,000 characters or fewer" in resp.get_data(as_text=True)

    resp = client.post(f"/meetings/{meeting.id}/summary",
                       data={"summary-summary": "Twelve cases reviewed.\nHousing pressure noted."})
    assert resp.status_code == 302
    db.session.expire_all()
    stored = db.session.get(Meeting, meeting.id)
    assert stored.summary == "Twelve cases reviewed.\nHousing pressure noted."
    assert b"Housing pressure" not in bytes(stored.summary_enc)  # encrypted at rest
    page = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "Housing pressure noted." in page and "Edit the executive summary" in page
    edit = client.get(f"/meetings/{meeting.id}/summary").get_data(as_text=True)
    assert "Housing pressure noted." in edit  # the form opens with the text to edit


def test_shareable_summary_has_nothing_per_nominal(iom, login_as, client, partnership):
    from panels import meetings as mtg

    meeting, cases = iom
    coord = partnership.user("coord")
    mtg.record_attendance(meeting, {partnership.agencies["POLICE"].id: "present",
                                    partnership.agencies["DWP"].id: "apologies"}, coord)
    mtg.save_summary(meeting, "A steady month for the partnership.", coord)
    db.session.commit()
    _record(meeting, cases[0], "red", partnership)
    for who in ("coord", "police", "dwp"):
        login_as(who)
        resp = client.get(f"/meetings/{meeting.id}/summary/print")
        body = resp.get_data(as_text=True)
        assert resp.status_code == 200, who
        assert "A steady month for the partnership." in body and "Test Police" in body
        for case in cases:  # no name, pseudonym, reference or link of anyone discussed
            assert case.ref not in body and f"/cases/{case.id}" not in body
        for name in ("Zebedee", "Quartermaine", "Ottoline", "Vanderpump"):
            assert name not in body, (who, name)
        client.post("/sign-out")
    login_as("coord")
    body = client.get(f"/meetings/{meeting.id}/summary/print").get_data(as_text=True)
    assert 'id="count-items">2<' in body and "Red 1, amber 0, green 0" in body
    client.post("/sign-out")
    login_as("dwp")  # identity only on IOM: no RAG counts, no discussion split, no actions
    body = client.get(f"/meetings/{meeting.id}/summary/print").get_data(as_text=True)
    assert 'id="count-items">2<' in body
    assert "count-rag" not in body and "count-discussion" not in body and "count-actions" not in body


def test_summary_does_not_depend_on_what_the_viewer_may_not_read(iom, login_as, client, partnership):
    """Two worlds differing only in the RAG decided: DWP (no risk on IOM) gets the same page."""
    meeting, cases = iom
    login_as("dwp")
    pages = []
    for rag in ("red", "green"):
        _record(meeting, cases[0], rag, partnership)
        pages.append(without_nonces(client.get(f"/meetings/{meeting.id}/summary/print").data))
    assert pages[0] == pages[1]
    client.post("/sign-out")
    login_as("coord")  # the coordinator, who reads risk, does see the change
    assert "Red 0, amber 0, green 1" in client.get(f"/meetings/{meeting.id}/summary/print").get_data(as_text=True)


def test_only_the_coordinator_writes_it_and_outsiders_cannot_read_it(iom, login_as, client):
    meeting, _ = iom
    login_as("police")
    assert client.get(f"/meetings/{meeting.id}/summary").status_code == 403
    assert client.post(f"/meetings/{meeting.id}/summary", data={"summary-summary": "forged"}).status_code == 403
    client.post("/sign-out")
    login_as("nogrant")
    assert client.get(f"/meetings/{meeting.id}/summary/print").status_code == 403
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).summary is None


def test_summary_form_needs_the_csrf_token(iom, strict_app):
    from tests.security.test_csrf import WRONG, signed_in, token_in

    meeting, _ = iom
    client = signed_in(strict_app(WTF_CSRF_ENABLED=True), "coord")
    for data in ({"summary-summary": "forged"}, {"summary-summary": "forged", "csrf_token": WRONG}):
        assert client.post(f"/meetings/{meeting.id}/summary", data=data).status_code == 400
    db.session.commit()
    assert db.session.get(Meeting, meeting.id).summary is None
    token = token_in(client.get(f"/meetings/{meeting.id}/summary").get_data(as_text=True))
    resp = client.post(f"/meetings/{meeting.id}/summary", data={"summary-summary": "Real", "csrf_token": token})
    assert resp.status_code == 302


def test_mappa_minutes_keep_the_disclosure_decision_per_item(make_case, meeting_on, partnership, login_as, client):
    """Level 2 and 3 items keep their disclosure decision (and its reason) on the meeting's
    record, before and after closing; a level 1 item needs none; the shareable summary gives
    only the count."""
    from panels import agenda as agendas

    l3 = make_case("MAPPA", given="Lena", rag="amber", mappa_level=3, last_engagement=dt.date(2026, 11, 1))
    l2 = make_case("MAPPA", given="Lowri", rag="amber", mappa_level=2, last_engagement=dt.date(2026, 11, 1))
    l1 = make_case("MAPPA", given="Lars", rag="green", mappa_level=1, last_engagement=dt.date(2026, 11, 1))
    meeting = meeting_on("MAPPA", DEC10)
    agendas.publish(meeting, partnership.user("mappa.coord"))
    db.session.commit()
    items = {i.case_id: i.id for i in meeting.items}
    login_as("mappa.coord")
    assert client.post(f"/meetings/{meeting.id}/items/{items[l3.id]}", data={
        "outcome-rag": "red", "outcome-rationale": "Escalating", "outcome-disclosure_considered": "yes",
        "outcome-disclosure_decision": "Disclose to the new partner", "outcome-disclosure_reason": "Risk to her"},
    ).status_code == 302
    assert client.post(f"/meetings/{meeting.id}/items/{items[l2.id]}", data={
        "outcome-rag": "amber", "outcome-rationale": "Stable", "outcome-disclosure_considered": "no",
        "outcome-disclosure_reason": "No third party at risk"}).status_code == 302
    assert client.post(f"/meetings/{meeting.id}/items/{items[l1.id]}", data={
        "outcome-rag": "", "outcome-rationale": ""}).status_code == 302

    def check(page: str) -> None:
        assert "Decision: Disclose to the new partner" in page and "Reason: Risk to her" in page
        assert "Reason: No third party at risk" in page and page.count("Not needed") >= 1

    check(client.get(f"/meetings/{meeting.id}").get_data(as_text=True))
    clock.set_now(clock_at("2026-12-10T15:00:00"))
    login_as("mappa.coord")
    assert client.post(f"/meetings/{meeting.id}/close").status_code == 302
    closed = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "Closed" in closed
    check(closed)
    summary = client.get(f"/meetings/{meeting.id}/summary/print").get_data(as_text=True)
    assert 'id="count-disclosure">1<' in summary and "Disclose to the new partner" not in summary
    assert "Lena" not in summary and l3.ref not in summary
