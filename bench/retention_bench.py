"""Benchmark of `retention apply --commit`: 100,000 nominals, 10% past their retention period.

    /work/main/.venv/bin/python -m bench.retention_bench [--nominals 100000] [--due 0.1]
    TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/SCRATCH \
        /work/main/.venv/bin/python -m bench.retention_bench

Runs on a fresh SQLite database in a temporary folder, and also on PostgreSQL when
TEST_DATABASE_URL is set (its schema is dropped and recreated: use a scratch database).
Each nominal has a case on IOM (a panel keeping exited people 30 days), an encrypted name,
three blocking keys, a note, a RAG change and two access-log events; the due tenth exited
a year ago, and one due person in ten is also on MAPPA (their nominal stays). The rows are
written in bulk with random bytes for ciphertext (erasure never decrypts). Prints the time
of the plan (the dry run) and of the erasure with its commit, and the ratio of the erasure
to the 60 s target; the exit status is 1 when an engine misses it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 60.0
BATCH = 5000


def _bulk(table, rows: list[dict]) -> None:
    from core.extensions import db

    for i in range(0, len(rows), BATCH):
        db.session.execute(table.insert(), rows[i:i + BATCH])


def populate(nominals: int, due_share: float) -> int:
    """Write the cohort; returns how many cases are due."""
    from cohort.models import Case, Nominal, NominalBlockKey, Note, RagChange
    from core.extensions import db
    from core.models import new_uid
    from panels.models import Panel
    from sharing.models import AccessEvent

    iom = db.session.execute(db.select(Panel).filter_by(code="IOM")).scalar_one()
    mappa = db.session.execute(db.select(Panel).filter_by(code="MAPPA")).scalar_one()
    now = dt.datetime(2026, 11, 23, 10, 0)
    due_every = max(1, round(1 / due_share))
    noms, cases, keys, notes, rags, events = [], [], [], [], [], []
    case_id, due = 0, 0
    for n in range(1, nominals + 1):
        noms.append({"id": n, "uid": new_uid(), "given_name_enc": os.urandom(40), "family_name_enc": os.urandom(40),
                     "created_at": now, "updated_at": now, "bi_family": n % 65536})
        keys += [{"nominal_id": n, "kind": k, "token": (n * 7 + i) % 1048576} for i, k in enumerate(("a", "b", "c"))]
        is_due = n % due_every == 0
        due += is_due
        case_id += 1
        cases.append({"id": case_id, "uid": new_uid(), "nominal_id": n, "panel_id": iom.id, "ref": f"R{n:07d}",
                      "version": 1, "status": "exited" if is_due else "active", "created_at": now, "updated_at": now,
                      "exited_on": dt.date(2025, 11, 1) if is_due else None, "exit_reason_enc": os.urandom(40)})
        notes.append({"uid": new_uid(), "case_id": case_id, "category": "offending", "at": now,
                      "body_enc": os.urandom(60)})
        rags.append({"uid": new_uid(), "case_id": case_id, "at": now, "to_rag": "red", "source": "manual",
                     "rationale_enc": os.urandom(60)})
        if is_due and n % (due_every * 10) == 0:
            case_id += 1
            cases.append({"id": case_id, "uid": new_uid(), "nominal_id": n, "panel_id": mappa.id, "ref": f"M{n:07d}",
                          "version": 1, "status": "active", "created_at": now, "updated_at": now,
                          "exited_on": None, "exit_reason_enc": None})
    for i in range(2 * nominals):
        n = i // 2 + 1
        events.append({"seq": i + 1, "at": now, "user_email": "", "agency_code": "POLICE", "action": "view",
                       "outcome": "allowed", "panel_code": "IOM", "nominal_id": n, "subject": f"S{n:020d}",
                       "case_id": n, "categories": "", "purpose": "bench", "detail": "", "prev_hash": "0" * 64,
                       "hash": "0" * 64})
    for table, rows in ((Nominal.__table__, noms), (NominalBlockKey.__table__, keys), (Case.__table__, cases),
                        (Note.__table__, notes), (RagChange.__table__, rags), (AccessEvent.__table__, events)):
        _bulk(table, rows)
    db.session.commit()
    return due


def run(url: str, nominals: int, due_share: float) -> float:
    from core import clock
    from core.db import immediate_transactions
    from core.extensions import db
    from lifecycle import retention
    from partnership.loading import load
    from sharing.crypto import ensure_data_keys
    from tests.conftest import reset_schema, test_overrides
    from tests.support import clock_at, partnership_data
    from wsgi import create_app

    tmp = tempfile.mkdtemp(prefix="retention-bench-")
    app = create_app(test_overrides(url, ERASURE_JOURNAL_FILE=str(Path(tmp) / "erasures.jsonl"),
                                    AUDIT_HEAD_FILE=str(Path(tmp) / "audit-head.json")))
    reset_schema(app)
    engine = url.split(":", 1)[0].split("+")[0]
    with app.app_context():
        ensure_data_keys()
        clock.set_now(clock_at("2026-11-23T10:00:00"))
        data = partnership_data()
        data["panels"][0]["retention_days_after_exit"] = 30
        load(data)
        db.session.commit()
        t0 = time.perf_counter()
        due = populate(nominals, due_share)
        print(f"{engine}: {nominals} nominals, {due} due, written in {time.perf_counter() - t0:.1f} s", flush=True)
        with immediate_transactions():
            t1 = time.perf_counter()
            planned = len(retention.plan().case_ids)
            t2 = time.perf_counter()
            result = retention.apply(source="bench")
            db.session.commit()
            t3 = time.perf_counter()
        assert planned == due and result.cases == due, (planned, result.cases, due)
        print(f"{engine}: plan (dry run) {t2 - t1:.2f} s; erase + commit {t3 - t2:.2f} s: "
              f"{result.cases} cases, {result.nominals} people, {result.rows} rows, {result.events} events; "
              f"{(t3 - t2) / TARGET_SECONDS:.2f} of the {TARGET_SECONDS:.0f} s target", flush=True)
        db.session.remove()
        db.engine.dispose()
    return t3 - t2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nominals", type=int, default=100_000)
    parser.add_argument("--due", type=float, default=0.1)
    args = parser.parse_args()
    os.environ.setdefault("TRACKER_ENV", "test")
    with tempfile.TemporaryDirectory() as tmp:
        urls = [f"sqlite:///{Path(tmp) / 'bench.sqlite'}"]
        if os.environ.get("TEST_DATABASE_URL"):
            urls.append(os.environ["TEST_DATABASE_URL"])
        missed = [url for url in urls if run(url, args.nominals, args.due) > TARGET_SECONDS]
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
