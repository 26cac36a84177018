"""Agendas: prioritised from the cohort, stored once, edited, published, read per ISA."""

from __future__ import annotations

import datetime as dt

import pytest

from core.extensions import db
from panels import agenda as agendas
from panels.models import AgendaItem, Meeting
from sharing.models import AccessEvent
from tests.support import access_events

DEC2 = dt.date(2026, 12, 2)
NOV4 = dt.date(2026, 11, 4)
RECENT = dt.date(2026, 11, 20)


@pytest.fixture
def cohort(make_case, held_meeting):
    """A hand-made IOM cohort; one case in each situation the agenda ranks. All but the
    referral were discussed at the panel's (held) November meeting."""
    c = {
        "green": make_case(given="Gus", rag="green", last_engagement=RECENT, next_review=dt.date(2027, 2, 1)),
        "referred": make_case(given="Rita", status="referred", rag="amber", last_engagement=RECENT,
                              referral_date=dt.date(2026, 11, 20), next_review=dt.date(2027, 2, 1)),
        "red": make_case(given="Reg", rag="red", last_engagement=RECENT, next_review=dt.date(2027, 2, 1)),
        "quiet3": make_case(given="Quinn", rag="amber", last_engagement=dt.date(2026, 7, 1),
                            next_review=dt.date(2027, 2, 1)),
        "never": make_case(given="Ned", rag="green", last_engagement=None, next_review=dt.date(2027, 2, 1)),
        "review": make_case(given="Rev", rag="green", last_engagement=RECENT, next_review=dt.date(2026, 11, 30)),
        "exited": make_case(given="Ex", rag="red", status="exited"),
    }
    c["both"] = make_case(given="Bo", rag="amber", last_engagement=RECENT, next_review=dt.date(2027, 2, 1))
    make_case("MAPPA", nominal=c["both"].nominal, mappa_level=2)
    held_meeting("IOM", NOV4, [v for k, v in c.items() if k not in ("referred", "exited")])
    return c


def test_draft_prioritises_and_gives_reasons(cohort, meeting_on):
    drafts = agendas.draft_agenda(meeting_on("IOM", DEC2))
    by_case = {d.case_id: d for d in drafts}
    order = [d.case_id for d in drafts]
    c = cohort
    assert c["exited"].id not in by_case
    assert order == [c[k].id for k in ("referred", "red", "never", "quiet3", "review", "both", "green")]
    assert by_case[c["referred"].id].reasons == ["new_referral", "amber"]
    assert by_case[c["red"].id].reasons == ["red"]
    assert by_case[c["never"].id].reasons == ["no_engagement_6m", "no_engagement_3m", "green"]
    assert by_case[c["quiet3"].id].reasons == ["no_engagement_3m", "amber"]
    assert by_case[c["review"].id].reasons == ["review_due", "green"]
    assert by_case[c["both"].id].reasons == ["amber", "on_other_panels"]
    assert [code for _, code in by_case[c["both"].id].other_panels] == ["MAPPA"]
    assert [d.position for d in drafts] == list(range(1, 8))


def test_new_referral_means_not_yet_discussed_at_a_held_meeting(make_case, meeting_on, held_meeting):
    """Not a date comparison: a case referred long ago but never discussed at a meeting that
    sat is new; one on a held meeting's agenda but not discussed is still new; a past meeting
    that was never closed does not count."""
    from panels.models import Meeting

    jan = meeting_on("IOM", dt.date(2027, 1, 6))
    engaged, later = dt.date(2027, 1, 1), dt.date(2027, 3, 1)
    discussed = make_case(given="Bea", rag="green", referral_date=dt.date(2026, 6, 1), last_engagement=engaged,
                          next_review=later)
    skipped = make_case(given="Sam", rag="green", referral_date=dt.date(2026, 6, 1), last_engagement=engaged,
                        next_review=later)
    held_meeting("IOM", dt.date(2026, 10, 7), [discussed])
    unheld = Meeting(panel_id=jan.panel_id, rule_date=dt.date(2026, 11, 4), date=dt.date(2026, 11, 4))
    db.session.add(unheld)
    db.session.flush()
    agendas.generate_agenda(unheld)
    for item in unheld.items:
        item.discussed = True  # recorded but the meeting was never closed
    db.session.commit()
    reasons = {d.case_id: d.reasons for d in agendas.draft_agenda(jan)}
    assert reasons[discussed.id] == ["green"]
    assert reasons[skipped.id] == ["new_referral", "green"]


def test_mappa_review_intervals(make_case, meeting_on):
    dec10 = meeting_on("MAPPA", dt.date(2026, 12, 10))
    # The first review is set at referral, one interval of the case's MAPPA level later.
    l3 = make_case("MAPPA", given="Lev", rag="amber", mappa_level=3, referral_date=dt.date(2026, 10, 28),
                   last_engagement=RECENT)
    l2 = make_case("MAPPA", given="Lou", rag="amber", mappa_level=2, referral_date=dt.date(2026, 10, 28),
                   last_engagement=RECENT)
    assert (l3.next_review, l2.next_review) == (dt.date(2026, 12, 9), dt.date(2027, 1, 20))
    reasons = {d.case_id: d.reasons for d in agendas.draft_agenda(dec10)}
    assert "review_due" in reasons[l3.id]  # 28 Oct + 6 weeks = 9 Dec
    assert "review_due" not in reasons[l2.id]  # 28 Oct + 12 weeks = 20 Jan


def test_generate_is_idempotent_and_keeps_edits_once_published(cohort, partnership, meeting_on):
    meeting = meeting_on("IOM", DEC2)
    items = agendas.generate_agenda(meeting)
    db.session.commit()
    assert len(items) == 7
    agendas.generate_agenda(meeting)
    db.session.commit()
    assert db.session.execute(db.select(db.func.count(AgendaItem.id)).filter_by(meeting_id=meeting.id)).scalar() == 7
    coord = partnership.user("coord")
    last = max(meeting.items, key=lambda i: i.position)
    agendas.move_item(meeting, last, "up")
    agendas.remove_item(meeting, min(meeting.items, key=lambda i: i.position), coord)
    agendas.publish(meeting, coord)
    db.session.commit()
    order = [i.case_id for i in meeting.items]
    agendas.generate_agenda(meeting, refresh=True)
    db.session.commit()
    db.session.expire_all()
    meeting = db.session.get(Meeting, meeting.id)
    assert [i.case_id for i in meeting.items] == order
    assert len(order) == 6 and order[-2:] == [cohort["green"].id, cohort["both"].id]


def test_agenda_unpublished_hidden_from_partners(cohort, login_as, meeting_on, client):
    meeting = meeting_on("IOM", DEC2)
    login_as("police")
    page = client.get(f"/meetings/{meeting.id}/agenda").get_data(as_text=True)
    assert "not been published" in page
    assert "Reg Smith" not in page
    assert client.get(f"/meetings/{meeting.id}/agenda/print").status_code == 404


def test_coordinator_edits_and_publishes_then_partners_read(cohort, login_as, meeting_on, client):
    meeting = meeting_on("IOM", DEC2)
    login_as("coord")
    page = client.get(f"/meetings/{meeting.id}/agenda").get_data(as_text=True)
    assert "Reg Smith" in page and "This is a draft" in page
    assert client.post(f"/meetings/{meeting.id}/agenda/generate").status_code == 302
    db.session.expire_all()
    items = db.session.get(Meeting, meeting.id).items
    second = items[1]
    assert client.post(f"/meetings/{meeting.id}/agenda/items/{second.id}/up").status_code == 302
    assert client.post(f"/meetings/{meeting.id}/agenda/items/{items[-1].id}/remove").status_code == 302
    resp = client.post(f"/meetings/{meeting.id}/agenda/add", data={"add-case_id": cohort["green"].id})
    assert resp.status_code == 302
    assert client.post(f"/meetings/{meeting.id}/agenda/publish").status_code == 302
    db.session.expire_all()
    meeting = db.session.get(Meeting, meeting.id)
    assert meeting.status == "published"
    assert meeting.items[0].case_id == cohort["red"].id
    added = [i for i in meeting.items if i.for_discussion][-1]  # added for discussion, at its end
    assert added.case_id == cohort["green"].id and added.added_manually

    client.post("/sign-out")
    login_as("dwp")
    before = db.session.execute(db.select(db.func.count(AccessEvent.id))).scalar()
    resp = client.get(f"/meetings/{meeting.id}/agenda")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Reg Smith" in page  # DWP may read identity
    assert "Withheld: contact details" in page and "risk" in page
    assert "govuk-tag--red" not in page and ">Red<" not in page
    events = access_events(AccessEvent.seq > before)
    views = [e for e in events if e.action == "view"]
    assert len(views) == 1 and views[0].user_email == "dwp@test.example"
    assert str(cohort["red"].id) in views[0].detail or "-" in views[0].detail
    printed = client.get(f"/meetings/{meeting.id}/agenda/print")
    assert printed.status_code == 200 and "Reg Smith" in printed.get_data(as_text=True)


def test_health_sees_names_only(cohort, login_as, meeting_on, client, partnership):
    meeting = meeting_on("IOM", DEC2)
    agendas.publish(meeting, partnership.user("coord"))
    db.session.commit()
    login_as("health")
    page = client.get(f"/meetings/{meeting.id}/agenda").get_data(as_text=True)
    assert "Reg Smith" in page
    assert "No engagement" not in page  # offending is not shared with health


def test_nogrant_and_practitioner_refused(cohort, login_as, meeting_on, client):
    meeting = meeting_on("IOM", DEC2)
    login_as("nogrant")
    assert client.get(f"/meetings/{meeting.id}/agenda").status_code == 403
    client.post("/sign-out")
    login_as("police")
    assert client.post(f"/meetings/{meeting.id}/agenda/publish").status_code == 403


def test_api_agenda_draft_and_published(cohort, client, api_token, meeting_on, partnership):
    meeting = meeting_on("IOM", DEC2)
    token = api_token("police")
    resp = client.get(f"/api/v1/meetings/{meeting.id}/agenda", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["published"] is False
    assert [i["case_id"] for i in body["items"]][:2] == [cohort["referred"].id, cohort["red"].id]
    assert body["items"][1]["reasons"] == ["red"]
    assert body["items"][1]["case"]["rag"] == "red"
    assert body["items"][0]["position"] == 1
    dwp = api_token("dwp")
    items = client.get(f"/api/v1/meetings/{meeting.id}/agenda",
                       headers={"Authorization": f"Bearer {dwp}"}).get_json()["items"]
    red = next(i for i in items if i["case_id"] == cohort["red"].id)
    assert red["reasons"] == [] and "rag" not in red["case"] and "risk" in red["case"]["withheld"]
    nogrant = api_token("nogrant")
    assert client.get(f"/api/v1/meetings/{meeting.id}/agenda",
                      headers={"Authorization": f"Bearer {nogrant}"}).status_code == 403
    assert client.get("/api/v1/meetings/999999/agenda", headers={"Authorization": f"Bearer {token}"}).status_code == 404


def test_api_meetings_by_date(client, api_token, partnership):
    token = api_token("police")
    resp = client.get("/api/v1/panels/IOM/meetings?from=2026-12-01&to=2027-02-28",
                      headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200
    assert [(m["date"], m["status"]) for m in resp.get_json()["meetings"]] == [
        ("2026-12-02", "scheduled"), ("2027-01-06", "scheduled"), ("2027-02-03", "scheduled")]
    assert client.get("/api/v1/panels/IOM/meetings?from=soon", headers={"Authorization": f"Bearer {token}"}
                      ).status_code == 422
    assert client.get("/api/v1/panels/NOPE/meetings", headers={"Authorization": f"Bearer {token}"}).status_code == 404
    nogrant = api_token("nogrant")
    assert client.get("/api/v1/panels/IOM/meetings", headers={"Authorization": f"Bearer {nogrant}"}).status_code == 403
