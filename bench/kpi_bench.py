"""The KPI page's time over 24 monthly snapshots of 5 panels.

    .venv/bin/python -m bench.kpi_bench

Uses a throw-away SQLite database (or DATABASE_URL) with the test partnership plus three
more panels; prints the page and chart times (median of several requests).
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time

EXTRA = ("SGV", "DIP", "MARAC")


def partnership():
    from tests.support import partnership_data

    data = partnership_data()
    for code in EXTRA:
        data["panels"].append({"code": code, "name": f"{code} panel", "chair": "LACS", "kind": code,
                               "schedule": "FREQ=MONTHLY;BYDAY=1TU", "time": "10:00"})
    data["isas"].append({"ref": "ISA-EXTRA", "panels": list(EXTRA), "starts": "2024-01-01", "expires": "2027-12-31",
                         "grants": {"LACS": {"identity": "r", "offending": "r", "risk": "r", "resettlement": "r"}}})
    return data


def snapshots() -> int:
    import datetime as dt

    from core import clock
    from core.extensions import db
    from panels.jobs import add_months
    from panels.models import Panel, Snapshot

    rng = random.Random(5)
    n = 0
    for panel in db.session.execute(db.select(Panel)).scalars():
        month = add_months(clock.today().replace(day=1), -23)
        for _ in range(24):
            red, amber, green = rng.randint(5, 60), rng.randint(20, 200), rng.randint(20, 300)
            db.session.add(Snapshot(panel_id=panel.id, month=month, created_at=clock.utcnow(), data={
                "cohort": red + amber + green, "rag": {"red": red, "amber": amber, "green": green, "none": 0},
                "status": {"active": red + amber + green}, "referrals": rng.randint(0, 30),
                "exits": rng.randint(0, 25), "overlaps": rng.randint(0, 40)}))
            month = add_months(month, 1)
            n += 1
    db.session.commit()
    assert isinstance(month, dt.date)
    return n


def timed(client, path: str, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        resp = client.get(path)
        times.append(time.perf_counter() - t0)
        assert resp.status_code == 200, (path, resp.status_code)
    return statistics.median(times)


def main() -> None:
    from core import clock
    from core.extensions import db
    from sharing.crypto import ensure_data_keys
    from sharing.partnership import load
    from tests.support import clock_at, login
    from wsgi import create_app

    tmp = tempfile.mkdtemp()
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/bench.sqlite"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "WTF_CSRF_ENABLED": False,
                      "RATELIMIT_ENABLED": False, "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 1024,
                      "TRACKER_MASTER_KEY": "q2bXNtEFb3Q0mOkSE8x0o1Hk7rUj9t1bwzDbTvV2Kcs="})
    with app.app_context():
        db.drop_all()
        db.create_all()
        ensure_data_keys()
        clock.set_now(clock_at("2026-11-23T10:00:00"))
        load(partnership())
        db.session.commit()
        print(f"{snapshots()} snapshots (5 panels x 24 months)")
        db.session.remove()
    app.extensions["keys_ready"] = True
    client = app.test_client()
    assert login(client, "analyst").status_code == 302
    print(f"GET /kpis: {timed(client, '/kpis') * 1000:.0f} ms (median of 5)")
    print(f"GET /kpis.csv: {timed(client, '/kpis.csv') * 1000:.0f} ms")
    for name in ("cohort", "rag", "flow", "kpis"):
        timed(client, f"/kpis/charts/{name}.svg", runs=1)  # first call imports matplotlib
        print(f"GET /kpis/charts/{name}.svg: {timed(client, f'/kpis/charts/{name}.svg') * 1000:.0f} ms")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    main()
