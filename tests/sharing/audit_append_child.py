"""Appends to the access log from a process of its own, for the concurrency test.

    python tests/sharing/audit_append_child.py DATABASE_URL COUNT MODE GO_FILE

Modes: `fresh` (each event in a new transaction, outside any request: commands and jobs),
`request` (inside a request context, as the web workers append), `read-first` (the
transaction reads the log before appending; inside `immediate_transactions()` on SQLite,
as the commands that do so run). Prints "ready", waits until GO_FILE exists so that every
process starts appending at the same moment, then prints "appended N failed F".
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def main(url: str, count: int, mode: str, go: Path) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    os.environ.setdefault("TRACKER_ENV", "test")
    from core.db import immediate_transactions
    from core.extensions import db
    from sharing import audit
    from sharing.models import AccessEvent
    from tests.conftest import test_overrides
    from wsgi import create_app

    app = create_app(test_overrides(url))
    app.extensions["keys_ready"] = True
    context = app.test_request_context("/concurrency") if mode == "request" else app.app_context()
    appended = failed = 0
    with context:
        db.session.execute(db.select(AccessEvent.id).limit(1)).all()  # connected before the start
        db.session.rollback()
        print("ready", flush=True)
        deadline = time.monotonic() + 60
        while not go.exists() and time.monotonic() < deadline:
            time.sleep(0.005)
        for n in range(count):
            try:
                if mode == "read-first":
                    with immediate_transactions():
                        db.session.execute(db.select(db.func.count(AccessEvent.id))).scalar_one()
                        audit.record("admin", purpose="concurrency test", detail=f"{os.getpid()} {n}")
                        db.session.commit()
                else:
                    audit.record("admin", purpose="concurrency test", detail=f"{os.getpid()} {n}")
                    db.session.commit()
                appended += 1
            except Exception as exc:  # report, keep going: the test counts failures
                db.session.rollback()
                failed += 1
                print(f"error {type(exc).__name__}: {str(exc).splitlines()[0][:200]}", flush=True)
    print(f"appended {appended} failed {failed}", flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], Path(sys.argv[4])))
