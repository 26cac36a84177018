"""Agenda generation time for a 1,000-case panel (target: under 1 second).

    .venv/bin/python -m bench.agenda_bench [--cases 1000]

Uses a throw-away SQLite database (or DATABASE_URL) with the test partnership.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import tempfile
import time

TARGET_SECONDS = 1.0


def build(n: int):
    from cohort.models import Case, Nominal
    from core.extensions import db
    from panels.models import Meeting, Panel
    from sharing.blind_index import index_nominal

    rng = random.Random(2026)
    iom = db.session.execute(db.select(Panel).filter_by(code="IOM")).scalar_one()
    mappa = db.session.execute(db.select(Panel).filter_by(code="MAPPA")).scalar_one()
    for i in range(n):
        nominal = Nominal()
        nominal.given_name, nominal.family_name = f"Given{i}", f"Family{i}"
        index_nominal(nominal)
        db.session.add(nominal)
        db.session.flush()
        engaged = None if rng.random() < 0.1 else dt.date(2026, 11, 20) - dt.timedelta(days=rng.randint(0, 300))
        db.session.add(Case(
            nominal_id=nominal.id, panel_id=iom.id, ref=f"B{i}",
            status=rng.choice(["active"] * 8 + ["referred", "exited"]),
            rag=rng.choice(["red", "amber", "green", None]), last_engagement=engaged,
            referral_date=dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 330)),
            next_review=dt.date(2026, 11, 1) + dt.timedelta(days=rng.randint(0, 120)),
        ))
        if i % 10 == 0:
            db.session.add(Case(nominal_id=nominal.id, panel_id=mappa.id, ref=f"M{i}", status="active", mappa_level=2))
    meeting = db.session.execute(db.select(Meeting).filter_by(panel_id=iom.id).order_by(Meeting.date)).scalars().first()
    if meeting is None:  # normally made by ensure_meetings when the partnership loads
        meeting = Meeting(panel_id=iom.id, rule_date=dt.date(2026, 12, 2), date=dt.date(2026, 12, 2))
        db.session.add(meeting)
    db.session.commit()
    return meeting


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1000)
    args = parser.parse_args()

    from core import clock
    from core.extensions import db
    from sharing.crypto import ensure_data_keys
    from sharing.partnership import load
    from tests.support import clock_at, partnership_data
    from wsgi import create_app

    tmp = tempfile.mkdtemp()
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/bench.sqlite"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "ARGON2_TIME_COST": 1,
                      "ARGON2_MEMORY_COST": 1024, "TRACKER_MASTER_KEY": "q2bXNtEFb3Q0mOkSE8x0o1Hk7rUj9t1bwzDbTvV2Kcs="})
    with app.app_context():
        db.drop_all()
        db.create_all()
        ensure_data_keys()
        clock.set_now(clock_at("2026-11-23T10:00:00"))
        load(partnership_data())
        db.session.commit()
        t0 = time.perf_counter()
        meeting = build(args.cases)
        print(f"built {args.cases} cases in {time.perf_counter() - t0:.1f} s")

        from panels.agenda import draft_agenda, generate_agenda

        db.session.expire_all()
        t0 = time.perf_counter()
        drafts = draft_agenda(meeting)
        draft_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        items = generate_agenda(meeting)
        db.session.commit()
        gen_s = time.perf_counter() - t0
        print(f"draft_agenda: {len(drafts)} items in {draft_s * 1000:.0f} ms")
        print(f"generate_agenda (draft + store + commit): {len(items)} items in {gen_s * 1000:.0f} ms "
              f"(target < {TARGET_SECONDS * 1000:.0f} ms: {'met' if gen_s < TARGET_SECONDS else 'NOT met'})")
        db.session.remove()
        if url.startswith("sqlite"):
            db.engine.dispose()


if __name__ == "__main__":
    main()
