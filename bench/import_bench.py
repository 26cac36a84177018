"""Benchmark of the cohort import: a 10,000-row CSV, validated, planned, applied and committed.

    /work/main/.venv/bin/python -m bench.import_bench [--rows 10000] [--reimport]
    TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/SCRATCH \
        /work/main/.venv/bin/python -m bench.import_bench [--rows 10000] [--reimport]

Runs on a fresh SQLite database in a temporary folder, and also on PostgreSQL when
TEST_DATABASE_URL is set (its schema is dropped and recreated: use a scratch database).
Prints the time of each phase; the target is under 20 s for the whole import on each
engine, and the exit status is 1 when any engine misses it.
`--reimport` also times importing the same file again (every row an update, no change).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 20.0


def run(url: str, rows: int, reimport: bool) -> float:
    from cohort.models import Case, Nominal
    from core import clock
    from core.extensions import db
    from exchange.importing import apply_import, plan_import
    from exchange.spreadsheet import read_table
    from panels.models import Panel
    from partnership.loading import load
    from sharing.crypto import ensure_data_keys
    from sharing.policy import Policy
    from tests.conftest import reset_schema, test_overrides
    from tests.exchange.test_import_helpers import csv_bytes, synthetic_rows
    from tests.support import clock_at, partnership_data
    from wsgi import create_app

    app = create_app(test_overrides(url))
    reset_schema(app)
    engine = url.split(":", 1)[0].split("+")[0]
    with app.app_context():
        ensure_data_keys()
        clock.set_now(clock_at("2026-11-23T10:00:00"))
        load(partnership_data())
        db.session.commit()
        data = csv_bytes(synthetic_rows(rows))
        print(f"{engine}: {rows} rows, {len(data) / 1e6:.1f} MB CSV", flush=True)

        def once(label: str) -> float:
            from auth.models import User

            user = db.session.execute(db.select(User).filter_by(email="probation@test.example")).scalar_one()
            panel = db.session.execute(db.select(Panel).filter_by(code="IOM")).scalar_one()
            t0 = time.perf_counter()
            headers, table = read_table("bench.csv", data)
            t1 = time.perf_counter()
            policy = Policy(user)
            plan = plan_import(panel, headers, table, policy, filename="bench.csv")
            assert not plan.errors, plan.errors[:3]
            t2 = time.perf_counter()
            result = apply_import(plan, policy, source="bench")
            t3 = time.perf_counter()
            db.session.commit()
            t4 = time.perf_counter()
            total = t4 - t0
            print(f"  {label}: read {t1 - t0:.2f}s, validate+plan {t2 - t1:.2f}s, apply {t3 - t2:.2f}s, "
                  f"commit {t4 - t3:.2f}s = {total:.2f}s  [{result.summary()}]", flush=True)
            db.session.expunge_all()
            return total

        total = once("first import")
        counts = (db.session.scalar(db.select(db.func.count(Nominal.id))),
                  db.session.scalar(db.select(db.func.count(Case.id))))
        print(f"  nominals {counts[0]}, cases {counts[1]}", flush=True)
        if reimport:
            once("re-import")
        clock.set_now(None)
        db.session.remove()
        db.engine.dispose()
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--reimport", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("TRACKER_ENV", "test")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    with tempfile.TemporaryDirectory() as tmp:
        totals = {"sqlite": run(f"sqlite:///{Path(tmp) / 'bench.sqlite'}", args.rows, args.reimport)}
    if os.environ.get("TEST_DATABASE_URL"):
        totals["postgresql"] = run(os.environ["TEST_DATABASE_URL"], args.rows, args.reimport)
    for engine, total in totals.items():
        verdict = "within" if total < TARGET_SECONDS else "OVER"
        print(f"{engine}: {total:.2f}s for {args.rows} rows ({verdict} the {TARGET_SECONDS:.0f} s target)")
    return 0 if all(total < TARGET_SECONDS for total in totals.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
