"""Bounded agendas: capacity from the panel's settings, discussion by priority, the rest for
information; review dates from the panel's intervals; in-place pull up / push down."""

from __future__ import annotations

import datetime as dt

import pytest

from core.extensions import db
from panels import agenda as agendas
from panels import meetings as mtg
from panels.models import AgendaItem, Meeting
from partnership.loading import PartnershipError, load
from tests.support import partnership_data

DEC2 = dt.date(2026, 12, 2)
RECENT = dt.date(2026, 11, 20)
LATER = dt.date(2027, 3, 1)


def _settings(**iom) -> None:
    data = partnership_data()
    data["panels"] = [{**data["panels"][0], **iom}, data["panels"][1]]
    load(data)
    db.session.commit()


@pytest.fixture
def small_panel(partnership, make_case, held_meeting):
    """IOM with 30 minutes at 10 a case (3 places) and RAG review intervals; five cases that
    need discussion, two that do not."""
    _settings(meeting_minutes=30, minutes_per_case=10, review_interval_days={"red": 14, "amber": 28, "green": 56})
    c = {
        "red1": make_case(given="Ann", rag="red", last_engagement=RECENT, next_review=LATER),
        "red2": make_case(given="Ben", rag="red", last_engagement=RECENT, next_review=LATER),
        "quiet": make_case(given="Cal", rag="amber", last_engagement=dt.date(2026, 4, 1), next_review=LATER),
        "review": make_case(given="Dee", rag="green", last_engagement=RECENT, next_review=dt.date(2026, 12, 1)),
        "later": make_case(given="Eve", rag="green", last_engagement=RECENT, next_review=dt.date(2026, 12, 3)),
        "green": make_case(given="Fay", rag="green", last_engagement=RECENT, next_review=LATER),
    }
    held_meeting("IOM", dt.date(2026, 11, 4), list(c.values()))
    c["new"] = make_case(given="Gus", rag="amber", last_engagement=RECENT, next_review=LATER)
    return c


def test_settings_load_and_are_validated(partnership):
    _settings(meeting_minutes=90, minutes_per_case=15, inclusion_review_days=90,
              review_interval_days={"level3": 42, "level2": 84},
              referral_criteria=[{"name": "dash_score", "label": "DASH score", "type": "int"}])
    iom = partnership.panels["IOM"]
    db.session.refresh(iom)
    assert (iom.capacity, iom.inclusion_review_days, iom.interval_for("red", 3)) == (6, 90, 42)
    assert iom.referral_criteria[0]["name"] == "dash_score"
    with pytest.raises(PartnershipError) as err:
        _settings(meeting_minutes="long", review_interval_days={"purple": 3},
                  referral_criteria=[{"name": "Bad Name"}])
    text = "\n".join(err.value.problems)
    assert "panels[0].meeting_minutes" in text and "panels[0].review_interval_days" in text
    assert "panels[0].referral_criteria[0].name" in text


def test_discussion_is_capped_by_priority_and_the_rest_is_for_information(small_panel, client, api_token):
    c = small_panel
    meeting = _dec2()
    body = client.get(f"/api/v1/meetings/{meeting.id}/agenda",
                      headers={"Authorization": f"Bearer {api_token('police')}"}).get_json()
    assert body["capacity"] == 3
    assert [i["case_id"] for i in body["items"]] == [c["new"].id, c["red1"].id, c["red2"].id]
    assert body["items"][0]["reasons"] == ["new_referral", "amber"]
    by_ref = sorted((c[k] for k in ("quiet", "review", "later", "green")), key=lambda x: x.ref)
    assert body["for_information"] == [x.id for x in by_ref]  # case ids only, by reference


def test_review_due_only_when_next_review_has_come(small_panel):
    c = small_panel
    reasons = {d.case_id: d.reasons for d in agendas.draft_agenda(_dec2())}
    assert "review_due" in reasons[c["review"].id]
    assert "review_due" not in reasons[c["later"].id] and "review_due" not in reasons[c["green"].id]


def test_next_review_is_set_at_referral_and_by_each_decision_from_the_panel_intervals(small_panel, partnership):
    from cohort.models import Case, RagChange
    from sharing.policy import Policy

    assert small_panel["new"].next_review == LATER  # given at referral
    fresh = _refer("Hal", rag="red")
    assert fresh.next_review == dt.date(2026, 11, 23) + dt.timedelta(days=14)  # red: 14 days from referral
    meeting = _dec2()
    agendas.generate_agenda(meeting)
    item = next(i for i in meeting.items if i.case_id == small_panel["green"].id)
    coord = partnership.user("coord")
    mtg.record_outcome(meeting, item, user=coord, rag="red", rationale="Escalating", next_review=None,
                       policy=Policy(coord))
    assert item.next_review == DEC2 + dt.timedelta(days=14)  # the decided RAG's interval
    db.session.commit()
    from core import clock
    from tests.conftest import clock_at

    clock.set_now(clock_at("2026-12-03T09:00:00"))
    mtg.close_meeting(meeting, Policy(coord), confirm=True)
    db.session.commit()
    case = db.session.get(Case, small_panel["green"].id)
    assert (case.next_review, case.last_reviewed, case.rag) == (DEC2 + dt.timedelta(days=14), DEC2, "red")
    change = db.session.execute(db.select(RagChange).filter_by(case_id=case.id, source="meeting")).scalar_one()
    assert change.at.date() == DEC2  # dated when the meeting sat, not when it was closed


def test_pull_up_and_push_down_in_place(small_panel, login_as, client):
    c = small_panel
    meeting = _dec2()
    agendas.generate_agenda(meeting)
    db.session.commit()
    login_as("coord")
    quiet = _item(meeting, c["quiet"].id)
    assert not quiet.for_discussion
    resp = client.post(f"/meetings/{meeting.id}/agenda/items/{quiet.id}/discuss", headers={"HX-Request": "true"})
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="agenda-sections"') and "<html" not in html
    assert "pulled up for discussion" in html and "For discussion: 4 of 3 places" in html
    db.session.expire_all()
    assert _item(meeting, c["quiet"].id).for_discussion
    red2 = _item(meeting, c["red2"].id)
    assert client.post(f"/meetings/{meeting.id}/agenda/items/{red2.id}/inform",
                       headers={"HX-Request": "true"}).status_code == 200
    up = client.post(f"/meetings/{meeting.id}/agenda/items/{quiet.id}/up", headers={"HX-Request": "true"})
    assert up.status_code == 200
    db.session.expire_all()
    order = [i.case_id for i in sorted(db.session.get(Meeting, meeting.id).items, key=lambda i: i.position)
             if i.for_discussion]
    assert order == [c["new"].id, c["quiet"].id, c["red1"].id]
    assert not _item(meeting, c["red2"].id).for_discussion
    # Without JavaScript the same forms post and come back to the page.
    assert client.post(f"/meetings/{meeting.id}/agenda/items/{quiet.id}/down").status_code == 302
    page = client.get(f"/meetings/{meeting.id}/agenda").get_data(as_text=True)
    assert 'id="for-information"' in page and f'href="/cases/{c["red2"].id}"' in page


def test_a_viewer_without_risk_sees_one_list_in_reference_order(small_panel, client, api_token, partnership):
    meeting = _dec2()
    agendas.publish(meeting, partnership.user("coord"))
    db.session.commit()
    body = client.get(f"/api/v1/meetings/{meeting.id}/agenda",
                      headers={"Authorization": f"Bearer {api_token('dwp')}"}).get_json()
    refs = [i["case"]["ref"] for i in body["items"]]
    assert body["for_information"] == [] and refs == sorted(refs) and len(refs) == 7


def _dec2() -> Meeting:
    from panels.models import Panel

    iom = db.session.execute(db.select(Panel).filter_by(code="IOM")).scalar_one()
    return db.session.execute(db.select(Meeting).filter_by(panel_id=iom.id, date=DEC2)).scalar_one()


def _item(meeting: Meeting, case_id: int) -> AgendaItem:
    return db.session.execute(db.select(AgendaItem).filter_by(meeting_id=meeting.id, case_id=case_id)).scalar_one()


def _refer(given: str, **fields):
    from cohort.services import create_nominal, refer
    from panels.models import Panel
    from sharing.policy import Policy
    from tests.conftest import Partnership

    police = Partnership().user("police")
    iom = db.session.execute(db.select(Panel).filter_by(code="IOM")).scalar_one()
    case = refer(create_nominal(given_name=given, family_name="Jones"), iom, ref=f"IOM-X-{given}",
                 policy=Policy(police), status="active", referral_date=None, **fields)
    db.session.commit()
    return case


def test_the_printed_agenda_pack_has_both_lists(small_panel, login_as, client):
    c = small_panel
    meeting = _dec2()
    login_as("coord")
    page = client.get(f"/meetings/{meeting.id}/agenda/print").get_data(as_text=True)
    discussion = page[page.index('id="agenda"'):page.index('id="for-information"')]
    information = page[page.index('id="for-information"'):]
    assert "For discussion (3 of 3 places)" in page
    assert c["red1"].ref in discussion and c["green"].ref not in discussion
    assert c["green"].ref in information and c["red1"].ref not in information
