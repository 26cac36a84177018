"""Agendas and meeting mode on a 5,000-case panel (issue 14 targets).

    .venv/bin/python -m bench.agenda_bench [--cases 5000]

A throw-away SQLite database (or DATABASE_URL) with the test partnership; the IOM panel gets
--cases cases (RAGs, engagement and review dates spread out, one in ten also on MAPPA), a
held meeting a month earlier that discussed most of them, outstanding actions and referrals
awaiting a decision. Prints:

- draft_agenda (priority, capacity split, every reason) over the panel: median of 5 runs
  (target: under 1 s), and generate_agenda (draft + store + commit);
- meeting mode's item save (POST /meetings/<id>/run/items/<item> as htmx: the outcome
  recorded, the next item drawn) against GET /healthz, interleaved round by round, as the
  median ratio (target: under 4x /healthz in the same run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import tempfile
import time

DRAFT_TARGET_SECONDS = 1.0
SAVE_TARGET_RATIO = 4.0
DEC2, NOV4 = dt.date(2026, 12, 2), dt.date(2026, 11, 4)


def build(n: int):
    """The cohort, written in bulk (the import's way), then the held meeting through the services."""
    from cohort.models import Action, Case, Nominal
    from core.extensions import db
    from panels.models import AgendaItem, Meeting, Panel, Referral
    from sharing.blind_index import index_nominal

    rng = random.Random(2026)
    iom = db.session.execute(db.select(Panel).filter_by(code="IOM")).scalar_one()
    mappa = db.session.execute(db.select(Panel).filter_by(code="MAPPA")).scalar_one()
    held = Meeting(panel_id=iom.id, rule_date=NOV4, date=NOV4, status="closed", agenda_generated_at=dt.datetime(
        2026, 11, 4, 9), closed_at=dt.datetime(2026, 11, 4, 13))
    db.session.add(held)
    db.session.flush()
    cases = []
    for i in range(n):
        nominal = Nominal()
        nominal.given_name, nominal.family_name = f"Given{i}", f"Family{i}"
        index_nominal(nominal)
        db.session.add(nominal)
        db.session.flush()
        engaged = None if rng.random() < 0.1 else DEC2 - dt.timedelta(days=rng.randint(0, 300))
        case = Case(nominal_id=nominal.id, panel_id=iom.id, ref=f"B{i:05d}",
                    status=rng.choice(["active"] * 8 + ["referred", "exited"]),
                    rag=rng.choice(["red", "amber", "amber", "green", "green", None]), last_engagement=engaged,
                    referral_date=dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 300)),
                    next_review=dt.date(2026, 11, 1) + dt.timedelta(days=rng.randint(0, 120)))
        db.session.add(case)
        cases.append(case)
        if i % 10 == 0:
            db.session.add(Case(nominal_id=nominal.id, panel_id=mappa.id, ref=f"M{i}", status="active", mappa_level=2))
    db.session.flush()
    for position, case in enumerate(cases, start=1):
        discussed = rng.random() < 0.9
        db.session.add(AgendaItem(meeting_id=held.id, case_id=case.id, position=position, reasons=[],
                                  discussed=discussed, for_discussion=discussed))
        if rng.random() < 0.05:
            action = Action(case_id=case.id, meeting_id=held.id, due=DEC2 + dt.timedelta(days=10), status="open")
            action.description = "Home visit"
            db.session.add(action)
        if case.status == "referred" and rng.random() < 0.3:
            db.session.add(Referral(panel_id=iom.id, case_id=case.id, referred_on=dt.date(2026, 11, 20),
                                    status="awaiting_decision"))
    meeting = db.session.execute(db.select(Meeting).filter_by(panel_id=iom.id, date=DEC2)).scalar_one()
    db.session.commit()
    return meeting.id


def time_draft(meeting_id: int) -> None:
    from core.extensions import db
    from panels.agenda import draft_agenda, generate_agenda
    from panels.models import Meeting

    runs = []
    for _ in range(5):
        db.session.expire_all()
        meeting = db.session.get(Meeting, meeting_id)
        t0 = time.perf_counter()
        drafts = draft_agenda(meeting)
        runs.append(time.perf_counter() - t0)
    draft_s = statistics.median(runs)
    discussion = sum(1 for d in drafts if d.for_discussion)
    print(f"draft_agenda: {len(drafts)} live cases, {discussion} for discussion (capacity "
          f"{meeting.panel.capacity}): median {draft_s * 1000:.0f} ms of 5 "
          f"(target < {DRAFT_TARGET_SECONDS * 1000:.0f} ms: {'met' if draft_s < DRAFT_TARGET_SECONDS else 'NOT met'})")
    t0 = time.perf_counter()
    items = generate_agenda(meeting)
    db.session.commit()
    print(f"generate_agenda (draft + store {len(items)} items + commit): {(time.perf_counter() - t0) * 1000:.0f} ms")


def time_save(app, meeting_id: int, rounds: int = 41) -> None:
    from core.extensions import db
    from panels.models import AgendaItem
    from tests.support import login

    with app.app_context():
        items = list(db.session.execute(db.select(AgendaItem.id).filter_by(
            meeting_id=meeting_id, for_discussion=True).order_by(AgendaItem.position)).scalars())
        db.session.remove()
    client = app.test_client()
    assert login(client, "coord").status_code == 302
    hx = {"HX-Request": "true"}
    times: dict[str, list[float]] = {"/healthz": [], "save": []}
    cpu: dict[str, list[float]] = {"/healthz": [], "save": []}
    for i in range(rounds + 3):
        item = items[i % len(items)]
        data = {"outcome-rag": ("red", "amber", "green")[i % 3], "outcome-rationale": f"Bench decision {i}"}
        t0, c0 = time.perf_counter(), time.thread_time()
        assert client.get("/healthz").status_code == 200
        health, health_cpu = time.perf_counter() - t0, time.thread_time() - c0
        t0, c0 = time.perf_counter(), time.thread_time()
        resp = client.post(f"/meetings/{meeting_id}/run/items/{item}", data=data, headers=hx)
        save, save_cpu = time.perf_counter() - t0, time.thread_time() - c0
        assert resp.status_code == 200 and b"discussed" in resp.data, resp.status_code
        if i >= 3:  # warm-up rounds: templates compiled, connections open
            times["/healthz"].append(health)
            times["save"].append(save)
            cpu["/healthz"].append(health_cpu)
            cpu["save"].append(save_cpu)
    ratio = statistics.median(s / h for s, h in zip(times["save"], times["/healthz"], strict=True))
    for name, values in times.items():
        ms = sorted(v * 1000 for v in values)
        print(f"{name}: median {statistics.median(ms):.1f} ms, p95 {ms[int(len(ms) * 0.95)]:.1f} ms "
              f"(this process's CPU: median {statistics.median(cpu[name]) * 1000:.1f} ms)")
    print(f"meeting-mode item save: {ratio:.1f}x /healthz (target < {SAVE_TARGET_RATIO:.0f}x: "
          f"{'met' if ratio < SAVE_TARGET_RATIO else 'NOT met'})")
    # On a shared machine the wall-clock ratio follows the load (a longer request is more
    # often preempted); the CPU ratio is this process's own work (SQLite runs in-process; a
    # PostgreSQL server's work is not in it).
    cpu_ratio = statistics.median(cpu["save"]) / max(statistics.median(cpu["/healthz"]), 1e-9)
    print(f"meeting-mode item save, CPU time of this process: {cpu_ratio:.1f}x /healthz")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=5000)
    args = parser.parse_args()

    from core import clock
    from core.extensions import db
    from partnership.loading import load
    from sharing.crypto import ensure_data_keys
    from tests.support import clock_at, partnership_data
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
        clock.set_now(clock_at("2026-12-02T10:30:00"))  # the morning of the sitting
        load(partnership_data())
        db.session.commit()
        t0 = time.perf_counter()
        meeting_id = build(args.cases)
        print(f"built {args.cases} cases in {time.perf_counter() - t0:.1f} s")
        time_draft(meeting_id)
        db.session.remove()
    app.extensions["keys_ready"] = True
    time_save(app, meeting_id)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    main()
