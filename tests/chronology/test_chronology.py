"""The case chronology through its pages: every kind of record, filters, and what each agency sees."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from cohort import services
from cohort.models import Action, Case
from core import clock
from core.extensions import db
from sharing.gateway import case_version
from sharing.models import AccessEvent
from tests.cohort.test_tracker_helpers import make_case, policy_for
from tests.support import clock_at


def fresh(case_id: int) -> Case:
    db.session.expire_all()
    return db.session.get(Case, case_id)


def titles(html: str) -> list[str]:
    return re.findall(r'<h[34] class="moj-timeline__title">([^<]*)</h[34]>', html)


def history_section(html: str) -> str:
    return html.split('id="history"', 1)[1].split('id="exit"', 1)[0]


@pytest.fixture
def case(partnership):
    c = make_case(partnership, given="Ivy", family="Chronos", identity={"pnc": "2001/0012345A"})
    db.session.commit()
    return c


def _work_through_pages(client, case, partnership) -> None:
    """A RAG change, an action marked done, a note and an engagement, as police would, a minute apart."""
    minutes = iter(range(1, 20))

    def tick() -> None:
        clock.set_now(clock_at(f"2026-11-23T10:{next(minutes):02d}:00"))

    tick()
    assert client.post(f"/cases/{case.id}/rag", data={"rag": "red", "rationale": "Arrested again",
                                                      "version": fresh(case.id).version}).status_code == 302
    data = {"description": "Visit the home address", "owner_agency_id": partnership.agencies["POLICE"].id,
            "owner_name": "DC Owner", "version": fresh(case.id).version,
            "due": ["30", "11", "2026"]}
    tick()
    assert client.post(f"/cases/{case.id}/actions/new", data=data).status_code == 302
    action = db.session.execute(db.select(Action)).scalar_one()
    tick()
    assert client.post(f"/cases/{case.id}/actions/{action.id}/complete").status_code == 302
    tick()
    assert client.post(f"/cases/{case.id}/notes/new", data={"category": "intelligence", "body": "Seen with OCG",
                                                             "version": fresh(case.id).version}).status_code == 302
    assert client.post(f"/cases/{case.id}/engagement", data={
        "kind": "home_visit", "note": "Answered the door", "on": ["20", "11", "2026"],
        "version": fresh(case.id).version}).status_code == 302


def test_case_history_shows_every_change_not_only_the_import(login_as, client, case, partnership):
    login_as("police")
    _work_through_pages(client, case, partnership)
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    history = history_section(html)
    got = titles(history)
    assert "RAG not set to Red" in got
    assert "Action 1 agreed" in got and "Action 1: done" in got
    assert "Intelligence note" in got and "Engagement: Home visit" in got
    assert "Referred to the panel" in got
    assert "Arrested again" in history and "Seen with OCG" in history and "Visit the home address" in history
    # newest first: the note came after the action was marked done
    assert got.index("Intelligence note") < got.index("Action 1: done") < got.index("Action 1 agreed")
    assert "View the full chronology" in history


def test_chronology_page_filters_by_category_and_logs_the_view(login_as, client, case, partnership):
    login_as("police")
    _work_through_pages(client, case, partnership)
    resp = client.get(f"/cases/{case.id}/chronology?category=risk")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert titles(html) == ["RAG not set to Red"]
    assert "1 entry in risk" in html
    ev = db.session.execute(db.select(AccessEvent).order_by(AccessEvent.seq.desc()).limit(1)).scalar_one()
    assert ev.action == "view" and ev.case_id == case.id and ev.categories == "risk" and "chronology" in ev.detail
    everything = titles(client.get(f"/cases/{case.id}/chronology").get_data(as_text=True))
    assert len(everything) == 6
    # a category the viewer may not read is ignored, not honoured or reported
    assert titles(client.get(f"/cases/{case.id}/chronology?category=health").get_data(as_text=True)) == everything


def test_each_agency_sees_only_entries_in_categories_it_may_read(login_as, client, case, partnership):
    login_as("police")
    _work_through_pages(client, case, partnership)
    login_as("probation")  # NPS on IOM: no intelligence
    assert client.post(f"/cases/{case.id}/needs/accommodation", data={
        "level": "need", "note": "No fixed abode",
        "version": case_version(fresh(case.id), policy_for(partnership, "probation"))}).status_code == 302
    assert client.post(f"/cases/{case.id}/needs/accommodation", data={
        "level": "met", "note": "Housed by council",
        "version": case_version(fresh(case.id), policy_for(partnership, "probation"))}).status_code == 302
    nps = client.get(f"/cases/{case.id}/chronology").get_data(as_text=True)
    assert "Accommodation: Need identified" in titles(nps) and "Accommodation: Need met" in titles(nps)
    assert "Housed by council" in nps and "Intelligence note" not in titles(nps) and "Seen with OCG" not in nps

    login_as("dwp")  # identity and resettlement only
    dwp = client.get(f"/cases/{case.id}/chronology").get_data(as_text=True)
    assert titles(dwp) == ["Accommodation: Need met", "Accommodation: Need identified"]
    assert "Arrested again" not in dwp and "Visit the home address" not in dwp
    assert 'value="risk"' not in dwp and 'value="resettlement"' in dwp

    login_as("police")  # no resettlement: the needs are not there at all
    police = client.get(f"/cases/{case.id}/chronology").get_data(as_text=True)
    assert not any(t.startswith("Accommodation") for t in titles(police))


def test_details_changed_name_only_fields_the_viewer_may_read(login_as, client, case, partnership):
    services.update_case(case, changes={"risk_level": "high", "accommodation": "Hostel"},
                         policy=policy_for(partnership, "probation"), expected_version=None)
    db.session.commit()
    login_as("probation")
    assert "Changed risk level, accommodation" in client.get(f"/cases/{case.id}/chronology").get_data(as_text=True)
    login_as("police")  # risk yes, resettlement no
    html = client.get(f"/cases/{case.id}/chronology").get_data(as_text=True)
    assert "Changed risk level" in html and "accommodation" not in html.split("<main", 1)[1].lower()


def test_meetings_where_the_case_was_discussed_with_the_outcome(login_as, client, case, partnership):
    from panels.agenda import generate_agenda
    from panels.meetings import close_meeting, record_outcome
    from panels.models import Meeting

    meeting = db.session.execute(
        db.select(Meeting).where(Meeting.panel_id == case.panel_id, Meeting.date >= clock.today())
        .order_by(Meeting.date)
    ).scalars().first()
    generate_agenda(meeting)
    item = next(i for i in meeting.items if i.case_id == case.id)
    coord = policy_for(partnership, "coord")
    record_outcome(meeting, item, user=coord.user, rag="amber", rationale="Engaging well now",
                   next_review=meeting.date + dt.timedelta(days=28), policy=coord)
    clock.set_now(clock_at(f"{meeting.date.isoformat()}T16:00:00"))
    close_meeting(meeting, coord)
    db.session.commit()

    login_as("police")
    html = client.get(f"/cases/{case.id}/chronology").get_data(as_text=True)
    when = meeting.date.strftime("%-d %B %Y")
    got = titles(html)
    assert f"IOM meeting on {when}" in got and f"Decision at the IOM meeting on {when}" in got
    assert "RAG: Amber" in html and "Engaging well now" in html and f'href="/meetings/{meeting.id}"' in html
    assert "RAG not set to Amber (meeting)" in got
    login_as("dwp")  # no offending, no risk: neither the discussion nor the decision
    dwp = client.get(f"/cases/{case.id}/chronology").get_data(as_text=True)
    assert not any("meeting" in t for t in titles(dwp)) and "Engaging well now" not in dwp


def test_merges_and_exits_are_in_the_chronology(login_as, client, case, partnership):
    services.exit_case(case, reason="Moved out of area", policy=policy_for(partnership, "police"))
    db.session.commit()
    login_as("police")
    html = client.get(f"/cases/{case.id}/chronology?category=offending").get_data(as_text=True)
    assert titles(html)[0] == "Exited from the panel" and "Moved out of area" in html


def test_a_case_on_a_panel_the_viewer_takes_no_part_in_is_a_404(login_as, client, partnership):
    other = make_case(partnership, panel="MAPPA", given="Mo", family="Elsewhere")
    login_as("dwp")
    assert client.get(f"/cases/{other.id}/chronology").status_code == 404
    assert client.get("/cases/999999/chronology").status_code == 404


def test_an_import_that_changes_fields_names_only_those_the_viewer_may_read(login_as, client, case, runner,
                                                                           tmp_path):
    csv = tmp_path / "cohort.csv"
    csv.write_text(f"ref,risk_level,accommodation\n{case.ref},high,Hostel\n")
    result = runner.invoke(args=["cohort", "import", str(csv), "--panel", "IOM", "--as", "probation@test.example"])
    assert result.exit_code == 0, result.output
    login_as("probation")  # reads risk and resettlement
    assert "Imported from cohort.csv: changed risk level, accommodation" in client.get(
        f"/cases/{case.id}/chronology").get_data(as_text=True)
    login_as("police")  # risk, not resettlement
    html = client.get(f"/cases/{case.id}/chronology").get_data(as_text=True)
    assert "Imported from cohort.csv: changed risk level</div>" in html and "accommodation" not in html.lower()


def test_the_api_gives_the_same_entries(login_as, client, case, partnership, api_token):
    login_as("police")
    _work_through_pages(client, case, partnership)
    headers = {"Authorization": f"Bearer {api_token('police')}"}
    body = client.get(f"/api/v1/cases/{case.id}/chronology", headers=headers).get_json()
    assert [e["title"] for e in body["entries"]] == titles(client.get(f"/cases/{case.id}/chronology").get_data(
        as_text=True))
    risk = client.get(f"/api/v1/cases/{case.id}/chronology?category=risk", headers=headers).get_json()
    assert [(e["title"], e["detail"], e["category"]) for e in risk["entries"]] == [
        ("RAG not set to Red", "Arrested again", "risk")]
    dwp = {"Authorization": f"Bearer {api_token('dwp')}"}
    assert client.get(f"/api/v1/cases/{case.id}/chronology", headers=dwp).get_json()["entries"] == []
    assert client.get(f"/api/v1/cases/{case.id}/chronology?category=nope", headers=headers).status_code == 422
