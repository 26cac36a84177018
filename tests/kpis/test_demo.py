"""The demo as an analyst meets it: a year of snapshots equal to the tracker now, MAPPA
indicators drawn from the held meetings, equality figures with ratios (both engines)."""

from __future__ import annotations

import datetime as dt

from core import clock
from core.extensions import db
from tests.kpis.test_snapshots import tracker_counts
from tests.support import clock_at, login


def test_the_demo_fills_every_month_and_indicator(app, client):
    from auth.models import User
    from auth.tokens import create_token
    from demo.cli import load_demo
    from sharing.crypto import ensure_data_keys

    clock.set_now(clock_at("2026-12-04T09:00"))
    ensure_data_keys()
    load_demo(size=80)
    db.session.commit()
    assert login(client, "analyst@demo.example", "orchid-lantern-42").status_code == 302
    token = create_token(db.session.execute(db.select(User).filter_by(email="analyst@demo.example")).scalar_one())
    db.session.commit()
    auth = {"Authorization": f"Bearer {token}"}
    body = client.get("/api/v1/kpis", headers=auth).get_json()
    assert len(body["months"]) == 12 and all(m["cohort"] is not None for m in body["months"]), body["months"]
    assert all(m["red"] + m["amber"] + m["green"] > 0 for m in body["months"])
    keys = {k["key"]: k for k in body["indicators"]}
    for key in ("mappa_l3_reviews", "mappa_l2_reviews", "disclosure_recorded", "prison_probation_attendance"):
        assert keys[key]["denominator"] > 0 and keys[key]["percent"] is not None, keys[key]
    # this month's snapshot is the tracker now
    december = client.get("/api/v1/kpis?panel=IOM&from=2026-12&to=2026-12", headers=auth).get_json()["months"][0]
    seen = tracker_counts(client, "IOM")
    assert (december["red"], december["amber"], december["green"], december["no_rag"]) == (
        seen["red"], seen["amber"], seen["green"], seen["none"])
    equality = client.get("/api/v1/kpis/equality?panel=IOM", headers=auth).get_json()
    assert equality["total"] == december["cohort"]  # exact within the partnership (EQUALITY_ROUNDING off)
    assert any(r["ratio"] is not None for r in equality["ratio"].values()), equality
    assert dt.date.fromisoformat(december["as_of"][:10]) == dt.date(2026, 12, 4)
