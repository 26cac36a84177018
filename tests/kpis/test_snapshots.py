"""KPI snapshots: equal to the tracker at the same moment, gaps not zeros, on both engines.

The demo showed red/amber/green 0/0/0 for December while the tracker showed 14/43/28: the
scheduler took December's snapshot "as at the start of the month", before the cohort was
imported on the 4th, and read every imported case's RAG from before its first RAG change
(none). A snapshot now describes the panel at the month's end, or at the moment it is
taken while the month runs, and the scheduler retakes the running month daily.
"""

from __future__ import annotations

import datetime as dt
import re

from core import clock
from core.extensions import db
from panels import jobs
from panels.models import Snapshot
from tests.support import clock_at


def tracker_counts(client, code: str = "IOM") -> dict[str, int]:
    page = client.get(f"/panels/{code}/tracker").get_data(as_text=True)
    found = dict((label, int(n)) for n, label in re.findall(
        r'<span class="govuk-heading-m govuk-!-margin-bottom-0">(\d+)</span> (red|amber|green|no RAG)</li>', page))
    assert set(found) == {"red", "amber", "green", "no RAG"}, page[:2000]
    return {"red": found["red"], "amber": found["amber"], "green": found["green"], "none": found["no RAG"]}


def snapshot(code: str, month: dt.date) -> dict:
    from panels.models import Panel

    db.session.expire_all()
    pid = db.session.execute(db.select(Panel.id).filter_by(code=code)).scalar_one()
    return db.session.execute(db.select(Snapshot.data).filter_by(panel_id=pid, month=month)).scalar_one()


def a_cohort(make_case, partnership):
    """Cases of every kind: RAG set, changed, never set, paused, referred, and exited."""
    from cohort import services
    from sharing.policy import Policy

    police = Policy(partnership.user("police"))
    clock.set_now(clock_at("2026-11-10T09:00"))
    red = make_case(given="Ann", rag="red", referral_date=dt.date(2026, 3, 1))
    make_case(given="Bob", rag="amber", referral_date=dt.date(2026, 11, 2))
    make_case(given="Cas", rag="green", status="paused", referral_date=dt.date(2025, 6, 1))
    make_case(given="Dee", status="referred", referral_date=dt.date(2026, 11, 9))
    gone = make_case(given="Eve", rag="green", referral_date=dt.date(2026, 2, 1))
    clock.set_now(clock_at("2026-12-03T11:00"))
    services.change_rag(red, to="amber", rationale="engaging now", policy=police)
    services.exit_case(gone, reason="moved away", policy=police, on=dt.date(2026, 12, 2))
    db.session.commit()


def test_snapshot_equals_the_tracker_at_the_same_moment(app, make_case, partnership, login_as, runner):
    a_cohort(make_case, partnership)
    client = login_as("coord")
    seen = tracker_counts(client)
    result = runner.invoke(args=["kpis", "snapshot", "--panel", "IOM"])
    assert result.exit_code == 0, result.output
    data = snapshot("IOM", dt.date(2026, 12, 1))
    assert data["rag"] == seen == {"red": 0, "amber": 2, "green": 1, "none": 1}
    assert data["cohort"] == sum(seen.values()) == 4  # Eve exited on 2 December
    assert (data["referrals"], data["exits"], data["final"]) == (0, 1, False)
    assert "IOM 2026-12: cohort 4 (red 0, amber 2, green 1, no RAG 1)" in result.output
    # the same numbers through the API and on the panels list
    api = client.get("/api/v1/kpis?panel=IOM&from=2026-12&to=2026-12",
                     headers={"Authorization": "Bearer " + _token(partnership)}).get_json()
    month = api["months"][0]
    assert (month["cohort"], month["red"], month["amber"], month["green"], month["no_rag"]) == (4, 0, 2, 1, 1)


def _token(partnership) -> str:
    from auth.tokens import create_token

    token = create_token(partnership.user("coord"))
    db.session.commit()
    return token


def test_the_demo_case_a_snapshot_before_the_import_is_retaken(app, make_case, partnership, login_as):
    """December taken on the 1st (empty panel), the cohort arrives on the 4th: the next daily run fixes it."""
    clock.set_now(clock_at("2026-12-01T00:30"))
    assert jobs.run_job("snapshots") == 2
    assert snapshot("IOM", dt.date(2026, 12, 1))["cohort"] == 0
    clock.set_now(clock_at("2026-12-04T14:00"))
    for given, rag in (("Ann", "red"), ("Bob", "amber"), ("Cas", "amber"), ("Dan", "green")):
        make_case(given=given, rag=rag, referral_date=dt.date(2025, 9, 1))  # referred long before the import
    clock.set_now(clock_at("2026-12-05T00:30"))
    assert jobs.run_job("snapshots") == 2  # December retaken once today
    assert jobs.run_job("snapshots") == 0
    data = snapshot("IOM", dt.date(2026, 12, 1))
    assert data["rag"] == tracker_counts(login_as("coord")) == {"red": 1, "amber": 2, "green": 1, "none": 0}


def test_a_finished_month_is_the_panel_at_its_end(app, make_case, partnership, runner):
    """Changes after the month's end do not reach it; RAG comes from the history as it stood."""
    from cohort import services
    from sharing.policy import Policy

    police = Policy(partnership.user("police"))
    clock.set_now(clock_at("2026-11-20T10:00"))
    ann = make_case(given="Ann", rag="red", referral_date=dt.date(2026, 11, 3))
    clock.set_now(clock_at("2026-11-30T23:30"))  # London time: still November
    services.change_rag(ann, to="green", rationale="settled", policy=police)
    db.session.commit()
    clock.set_now(clock_at("2026-12-01T00:10"))
    services.change_rag(ann, to="amber", rationale="slipped", policy=police)
    make_case(given="Bob", rag="red", referral_date=dt.date(2026, 12, 1))
    clock.set_now(clock_at("2026-12-10T10:00"))
    result = runner.invoke(args=["kpis", "snapshot", "--month", "2026-11", "--panel", "IOM"])
    assert result.exit_code == 0, result.output
    data = snapshot("IOM", dt.date(2026, 11, 1))
    assert data["final"] is True and data["cohort"] == 1 and data["referrals"] == 1
    assert data["rag"] == {"red": 0, "amber": 0, "green": 1, "none": 0}
    assert data["as_of"].startswith("2026-11-30T23:59:59")  # London midnight, in UTC (GMT in winter)


def test_snapshot_command_refuses_bad_months(app, partnership, runner):
    clock.set_now(clock_at("2026-12-10T10:00"))
    for bad, words in (("2027-01", "has not started"), ("2026-13", "is not a month"), ("December", "is not a month")):
        result = runner.invoke(args=["kpis", "snapshot", "--month", bad])
        assert result.exit_code == 1 and words in result.output, result.output
    assert db.session.execute(db.select(Snapshot.id)).first() is None
    assert runner.invoke(args=["kpis", "snapshot", "--panel", "NOPE"]).exit_code == 1
