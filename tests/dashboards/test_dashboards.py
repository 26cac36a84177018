"""Dashboards by role, through the pages: each count is a link to a list showing that count."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from cohort import services
from cohort.models import Action
from core import clock
from core.extensions import db
from panels.models import Attendance, Meeting, Referral
from sharing.policy import Policy

COUNT = re.compile(r'id="(?P<id>[\w-]+)" href="(?P<href>[^"]+)"><strong[^>]*data-count="(?P<n>\d+)"')


def counts(html: str) -> dict[str, tuple[str, int]]:
    return {m["id"]: (m["href"].replace("&amp;", "&"), int(m["n"])) for m in COUNT.finditer(html)}


def follow_every_count(client, html: str) -> dict[str, int]:
    """Open each count's link: the list must exist and show the same number."""
    found = counts(html)
    assert found, "no counts on the dashboard"
    for ident, (href, n) in found.items():
        resp = client.get(href)
        assert resp.status_code == 200, (ident, href, resp.status_code)
        page = resp.get_data(as_text=True)
        shown = re.search(r'data-total="(\d+)"', page) or re.search(r"(\d+) unread of", page)
        if href.startswith("/duplicates"):
            shown = re.search(r"To review \((\d+)\)", page)
        assert shown and int(shown.group(1)) == n, (ident, href, n, shown and shown.group(0))
    return {k: v[1] for k, v in found.items()}


@pytest.fixture
def police_work(partnership, make_case, make_action):
    today = clock.today()  # Monday 23 November 2026
    led = make_case(given="Lee", lead="POLICE")
    other = make_case(given="Olly", lead="NPS")
    make_action(other, due=today - dt.timedelta(days=2), text="Overdue check")
    make_action(other, due=today + dt.timedelta(days=3), text="Soon check")
    make_action(led, due=today + dt.timedelta(days=30), text="Later check")
    make_action(led, agency="LACS", due=today - dt.timedelta(days=1), text="Council job")
    return led, other


def test_practitioner_counts_link_to_lists_that_show_them(police_work, login_as, client):
    login_as("police")
    html = client.get("/").get_data(as_text=True)
    got = follow_every_count(client, html)
    assert got["my-cases"] == 2 and got["my-overdue"] == 1 and got["my-due"] == 1
    overdue = client.get("/my/actions?when=overdue").get_data(as_text=True)
    assert "Overdue check" in overdue and "Soon check" not in overdue and "Council job" not in overdue
    assert client.get("/my/actions?when=nonsense").status_code == 404


def test_changed_since_i_last_looked(police_work, partnership, login_as, client):
    led, _other = police_work
    login_as("police")
    for case in police_work:
        client.get(f"/cases/{case.id}")
    assert counts(client.get("/").get_data(as_text=True))["my-changed"][1] == 0
    clock.set_now(clock.utcnow().replace(tzinfo=dt.UTC) + dt.timedelta(minutes=5))
    services.change_rag(led, to="red", rationale="Arrested", policy=Policy(partnership.user("probation")))
    services.add_note(led, category="health", body="GP letter", policy=Policy(partnership.user("probation")))
    db.session.commit()
    html = client.get("/").get_data(as_text=True)
    assert counts(html)["my-changed"][1] == 1
    page = client.get("/my/changes").get_data(as_text=True)
    assert "RAG changed" in page and "Notes added" not in page  # police may not read health notes
    follow_every_count(client, html)
    clock.set_now(clock.utcnow().replace(tzinfo=dt.UTC) + dt.timedelta(minutes=5))
    client.get(f"/cases/{led.id}")
    assert counts(client.get("/").get_data(as_text=True))["my-changed"][1] == 0


def test_coordinator_referrals_agenda_actions_by_agency_attendance(police_work, partnership, login_as, client):
    led, other = police_work
    iom = partnership.panels["IOM"]
    db.session.add(Referral(panel_id=iom.id, case_id=other.id, status="awaiting_decision",
                            referred_on=dt.date(2026, 11, 20)))
    held = db.session.execute(db.select(Meeting).filter_by(panel_id=iom.id).order_by(Meeting.date)).scalars().first()
    held.status, held.date = "closed", dt.date(2026, 11, 4)
    db.session.add_all([Attendance(meeting_id=held.id, agency_id=partnership.agencies["POLICE"].id, status="present"),
                        Attendance(meeting_id=held.id, agency_id=partnership.agencies["DWP"].id, status="apologies")])
    db.session.commit()
    login_as("coord")
    html = client.get("/").get_data(as_text=True)
    got = follow_every_count(client, html)
    assert got["referrals-IOM"] == 1
    assert got["outstanding-IOM-POLICE"] == 3 and got["outstanding-IOM-LACS"] == 1
    assert "1 present, 0 by report, 1 apologies, 0 absent" in html
    assert "Next meeting:" in html and "(agenda not yet published)" in html
    assert client.get("/dashboard/actions?panel=IOM&agency=NOPE").status_code == 404
    login_as("mappa.coord")  # NPS takes part in IOM: a coordinator there too, but not of an unknown panel
    assert client.get("/dashboard/referrals?panel=NOPE").status_code == 404


def test_analyst_duplicates_and_data_quality(police_work, make_case, login_as, client):
    make_case(given="Alex", family="Smith", identity={"date_of_birth": dt.date(1990, 1, 2)})
    make_case(given="Alex", family="Smith", identity={"date_of_birth": dt.date(1990, 1, 2)})
    login_as("analyst")
    assert client.post("/duplicates/run").status_code in (302, 303)
    html = client.get("/").get_data(as_text=True)
    got = follow_every_count(client, html)
    assert got["quality-IOM-no_rag"] == 4 and got["quality-IOM-no_date_of_birth"] == 2
    assert "quality-IOM-no_identifier" in got and got["duplicates"] >= 1


def test_admin_and_auditor_see_only_their_own_work(police_work, login_as, client):
    clock.set_now(clock.utcnow().replace(tzinfo=dt.UTC) + dt.timedelta(days=20))  # ISA-IOM-TEST review in < 30 days
    login_as("admin")
    html = client.get("/").get_data(as_text=True)
    got = follow_every_count(client, html)
    assert got["agreements-due"] >= 1
    assert "Upcoming meetings" not in html and "Overdue actions" not in html and "My work" not in html
    login_as("auditor")
    html = client.get("/").get_data(as_text=True)
    assert "Upcoming meetings" not in html and "Overdue check" not in html and "Search the access log" in html
    assert set(counts(html)) == {"unread-notifications"}
    assert client.get("/my/cases").status_code == 403


def test_done_action_leaves_my_lists(police_work, login_as, client):
    _led, other = police_work
    login_as("police")
    action = db.session.execute(db.select(Action).where(Action.due < clock.today(),
                                                        Action.owner_agency_id.isnot(None))).scalars().first()
    assert client.post(f"/cases/{other.id}/actions/{action.id}/complete").status_code == 302
    assert counts(client.get("/").get_data(as_text=True))["my-overdue"][1] == 0


def test_the_dashboard_warns_of_an_agreement_near_its_end(partnership, login_as, client):
    """The live agreement warnings (sharing.queries.isa_warnings) reach the dashboard in words,
    linking to the agreements: only those of agreements the viewer's agency is party to."""
    from tests.support import clock_at

    clock.set_now(clock_at("2027-03-10T09:00"))  # the test agreements expire on 31 March 2027
    for who, mappa in (("police", True), ("dwp", False)):
        login_as(who)
        html = client.get("/").get_data(as_text=True)
        assert re.search(r'href="/agreements">ISA-IOM-TEST expires on 31 March 2027 \(in 21 days\)', html), who
        assert ("ISA-MAPPA-TEST" in html) is mappa, who
        client.post("/sign-out")
