"""Actions carried forward: the API (CONTRACT.md "Additions"), owners' status reports,
outstanding actions first on the next agenda, repeated non-completion shown to the coordinator."""

from __future__ import annotations

import datetime as dt

import pytest

from cohort.models import Action
from core.extensions import db
from panels import agenda as agendas
from panels import meetings as mtg
from panels.models import Meeting
from sharing.policy import Policy

DEC2 = dt.date(2026, 12, 2)
NOV4 = dt.date(2026, 11, 4)
RECENT = dt.date(2026, 11, 20)
LATER = dt.date(2027, 3, 1)


def _auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def cases(make_case, held_meeting):
    c = {"quiet": make_case(given="Ann", rag="green", last_engagement=RECENT, next_review=LATER),
         "red": make_case(given="Ben", rag="red", last_engagement=RECENT, next_review=LATER)}
    held_meeting("IOM", dt.date(2026, 10, 7), list(c.values()))
    return c


def test_api_add_list_and_update_actions(cases, client, api_token, partnership):
    case = cases["quiet"]
    token = api_token("police")
    resp = client.post(f"/api/v1/cases/{case.id}/actions", headers=_auth(token),
                       json={"text": "Home visit", "owner_email": "probation@test.example", "due": "2026-11-01"})
    assert resp.status_code == 201, resp.get_json()  # a past due date is accepted
    made = resp.get_json()
    assert (made["case_id"], made["status"], made["due"], made["owner_email"]) == (
        case.id, "open", "2026-11-01", "probation@test.example")
    resp = client.post(f"/api/v1/cases/{case.id}/actions", headers=_auth(token),
                       json={"text": "Benefits check", "owner_agency": "DWP", "due": "2026-12-20"})
    assert resp.status_code == 201 and resp.get_json()["owner_agency"] == "DWP"
    bad = client.post(f"/api/v1/cases/{case.id}/actions", headers=_auth(token), json={"text": "x", "due": "2026-12-20"})
    assert bad.status_code == 422 and "owner" in bad.get_json()["error"]
    unknown = client.post(f"/api/v1/cases/{case.id}/actions", headers=_auth(token),
                          json={"text": "x", "due": "2026-12-20", "owner_email": "nobody@test.example"})
    assert unknown.status_code == 422 and "owner_email" in unknown.get_json()["error"]
    assert client.post(f"/api/v1/cases/{case.id}/actions", headers=_auth(api_token("dwp")),
                       json={"text": "x", "due": "2026-12-20", "owner_agency": "DWP"}).status_code == 403
    assert client.get(f"/api/v1/cases/{case.id}/actions", headers=_auth(api_token("nogrant"))).status_code == 404

    action_id = made["id"]
    resp = client.patch(f"/api/v1/actions/{action_id}", headers=_auth(token), json={"status": "could_not"})
    assert resp.status_code == 422 and "note" in resp.get_json()["error"]  # could_not says why
    for status, note in (("could_not", "No answer at the door"), ("not_done", None), ("in_progress", "Booked")):
        resp = client.patch(f"/api/v1/actions/{action_id}", headers=_auth(token),
                            json={"status": status, **({"note": note} if note else {})})
        assert resp.status_code == 200 and resp.get_json()["status"] == status
    listed = client.get(f"/api/v1/cases/{case.id}/actions", headers=_auth(token)).get_json()["actions"]
    first = next(a for a in listed if a["id"] == action_id)
    assert first["not_completed"] == 2 and [u["status"] for u in first["updates"]] == [
        "could_not", "not_done", "in_progress"]
    assert first["updates"][0]["note"] == "No answer at the door"
    assert client.patch(f"/api/v1/actions/{action_id}", headers=_auth(api_token("dwp")),
                        json={"status": "done"}).status_code == 403


def test_outstanding_actions_come_first_on_the_next_agenda(cases, partnership, login_as, client):
    """An action agreed at November's meeting and not done (due after the next meeting) and
    one due before it: both cases are for discussion ahead of a red case."""
    from panels import actions as acts

    coord = partnership.user("coord")
    nov = Meeting(panel_id=partnership.panels["IOM"].id, rule_date=NOV4, date=NOV4)
    db.session.add(nov)
    db.session.flush()
    agendas.generate_agenda(nov)
    item = next(i for i in nov.items if i.case_id == cases["quiet"].id)
    mtg.propose_action(nov, item, user=coord, description="Find accommodation", owner_agency_id=None,
                       owner_name="Sam Owner", due=dt.date(2027, 1, 15), policy=Policy(coord))
    mtg.close_meeting(nov, Policy(coord), confirm=True)
    agreed = db.session.execute(db.select(Action).filter_by(case_id=cases["quiet"].id)).scalar_one()
    assert agreed.status == "open"
    for status in ("not_done", "could_not"):
        acts.update_status(agreed, status=status, note="No housing available", policy=Policy(coord))
    db.session.commit()

    dec = db.session.execute(db.select(Meeting).filter_by(panel_id=nov.panel_id, date=DEC2)).scalar_one()
    drafts = agendas.draft_agenda(dec)
    assert [d.case_id for d in drafts[:2]] == [cases["quiet"].id, cases["red"].id]
    assert drafts[0].reasons[0] == "actions_outstanding"
    login_as("coord")
    page = client.get(f"/meetings/{dec.id}/agenda").get_data(as_text=True)
    assert 'id="carried"' in page and "Find accommodation" in page
    assert "Not completed 2 times" in page and "carried through" not in page  # first time back
    client.post("/sign-out")
    login_as("dwp")  # no offending on IOM: no actions shown (and the agenda is unpublished anyway)
    assert "Find accommodation" not in client.get(f"/meetings/{dec.id}/agenda").get_data(as_text=True)


def test_owner_reports_status_on_the_page(cases, partnership, login_as, client):
    from panels import actions as acts

    action = acts.create_action(cases["quiet"], text="Drug test", due=dt.date(2026, 12, 1),
                                policy=Policy(partnership.user("police")), owner_email="police@test.example")
    db.session.commit()
    login_as("police")
    page = client.get(f"/actions/{action.id}/status").get_data(as_text=True)
    assert "Drug test" in page
    resp = client.post(f"/actions/{action.id}/status", data={"status": "could_not", "note": ""})
    assert resp.status_code == 422 and "Say why" in resp.get_data(as_text=True)
    resp = client.post(f"/actions/{action.id}/status", data={"status": "done", "note": "Negative"},
                       follow_redirects=True)
    assert resp.status_code == 200 and "Action status saved" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Action, action.id).status == "done"
    client.post("/sign-out")
    login_as("dwp")
    assert client.get(f"/actions/{action.id}/status").status_code == 403


def test_a_past_due_date_is_confirmed_on_the_meeting_page(cases, partnership, login_as, client, meeting_on):
    meeting = meeting_on("IOM", DEC2)
    agendas.generate_agenda(meeting)
    db.session.commit()
    item = next(i for i in meeting.items if i.case_id == cases["red"].id)
    login_as("coord")
    data = {"action-description": "Warrant check", "action-owner_agency_id": partnership.agencies["POLICE"].id,
            "action-due": ["1", "11", "2026"]}
    resp = client.post(f"/meetings/{meeting.id}/items/{item.id}/actions", data=data)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "The due date is in the past" in page and "action-confirm_past" in page
    assert db.session.execute(db.select(db.func.count(Action.id))).scalar() == 0
    resp = client.post(f"/meetings/{meeting.id}/items/{item.id}/actions", data={**data, "action-confirm_past": "y"})
    assert resp.status_code == 302
    assert db.session.execute(db.select(Action.due)).scalar_one() == dt.date(2026, 11, 1)
