"""The KPI page's time over 24 monthly snapshots of 5 panels, against /healthz in the same run.

    .venv/bin/python -m bench.kpi_bench

Uses a throw-away SQLite database (or DATABASE_URL) with the test partnership plus three
more panels, some months left without a snapshot (gaps); prints the page, CSV, chart and
/healthz times (median of 15 requests, interleaved so machine noise hits them alike) and the
page's ratio to /healthz. Targets (issue 17): the page under 100 ms and under 4x /healthz.
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
        for i in range(24):
            if i in (5, 6, 17):  # months the scheduler missed: gaps
                month = add_months(month, 1)
                continue
            red, amber, green = rng.randint(5, 60), rng.randint(20, 200), rng.randint(20, 300)
            db.session.add(Snapshot(panel_id=panel.id, month=month, created_at=clock.utcnow(), data={
                "cohort": red + amber + green, "rag": {"red": red, "amber": amber, "green": green, "none": 0},
                "status": {"active": red + amber + green}, "referrals": rng.randint(0, 30),
                "exits": rng.randint(0, 25), "overlaps": rng.randint(0, 40), "final": i < 23,
                "as_of": f"{month.isoformat()}T12:00:00Z"}))
            month = add_months(month, 1)
            n += 1
    db.session.commit()
    assert isinstance(month, dt.date)
    return n


def timed(client, paths: list[str], runs: int = 41) -> dict[str, list[float]]:
    """Seconds per request for each path, requests interleaved round by round."""
    times: dict[str, list[float]] = {p: [] for p in paths}
    for _ in range(runs):
        for path in paths:
            t0 = time.perf_counter()
            resp = client.get(path)
            times[path].append(time.perf_counter() - t0)
            assert resp.status_code == 200, (path, resp.status_code)
    return times


def ratio_to_health(times: dict[str, list[float]], path: str) -> float:
    """The median over rounds of (this path / /healthz in the same round): noise from the
    other users of the machine hits both requests of a round alike."""
    return statistics.median(t / h for t, h in zip(times[path], times["/healthz"], strict=True))


def main() -> None:
    from core import clock
    from core.extensions import db
    from partnership.loading import load
    from sharing.crypto import ensure_data_keys
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
    for path in ("/kpis", "/kpis/charts/rag.svg", "/healthz"):
        client.get(path)  # warm up: templates compiled, connections open
    paths = ["/healthz", "/kpis", "/kpis?panel=IOM", "/kpis.csv", "/kpis/charts/cohort.svg", "/kpis/charts/rag.svg"]
    times = timed(client, paths)
    for path in paths:
        ms = sorted(t * 1000 for t in times[path])
        print(f"GET {path}: median {statistics.median(ms):.1f} ms, p95 {ms[int(len(ms) * 0.95)]:.1f} ms, "
              f"{ratio_to_health(times, path):.1f}x /healthz")
    page, ratio = statistics.median(times["/kpis"]), ratio_to_health(times, "/kpis")
    print(f"KPI page: {page * 1000:.1f} ms, {ratio:.1f}x /healthz (targets: < 100 ms and < 4x): "
          + ("met" if page < 0.1 and ratio < 4 else "NOT met"))
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    main()
