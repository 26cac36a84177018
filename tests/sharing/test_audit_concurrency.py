"""Several processes appending to the hash-chained access log at the same moment queue for
the chain's head instead of failing (SQLite: the write lock is held before the head is read;
PostgreSQL: an advisory lock), and the chain verifies afterwards."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.extensions import db
from sharing import audit
from sharing.models import AccessEvent

CHILD = Path(__file__).with_name("audit_append_child.py")
PER_PROCESS = 25


def run_appenders(url: str, modes: list[str], tmp_path: Path) -> list[str]:
    """Start one process per mode, release them together, return each one's output."""
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, str(CHILD), url, str(PER_PROCESS), mode, str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for mode in modes]
    try:
        for proc in procs:  # every process connected and waiting: then go
            line = proc.stdout.readline()
            assert line.strip() == "ready", line + proc.stdout.read()
        go.touch()
        outputs = [proc.communicate(timeout=120)[0] for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    for proc, output in zip(procs, outputs, strict=True):
        assert proc.returncode == 0 and f"appended {PER_PROCESS} failed 0" in output, output
    return outputs


def chain() -> list[int]:
    db.session.rollback()  # see what the processes committed
    return list(db.session.execute(db.select(AccessEvent.seq).order_by(AccessEvent.seq)).scalars())


@pytest.mark.parametrize("modes", [
    pytest.param(["fresh"] * 4, id="commands-and-jobs"),
    pytest.param(["fresh", "fresh", "request", "request", "read-first"], id="mixed-with-requests"),
])
def test_concurrent_appends_from_separate_processes_queue_and_the_chain_verifies(app, runner, tmp_path, modes):
    audit.record("admin", purpose="concurrency test", detail="before")  # a head to contend for
    db.session.commit()
    started = time.monotonic()
    run_appenders(app.config["SQLALCHEMY_DATABASE_URI"], modes, tmp_path)
    assert time.monotonic() - started < 120

    seqs = chain()
    assert seqs == list(range(1, 2 + PER_PROCESS * len(modes)))  # every append landed, no gaps
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert f"Access log intact: {len(seqs)} events checked." in result.output


def test_a_transaction_that_read_first_still_appends_on_postgresql(app, engine_name, tmp_path):
    """PostgreSQL's advisory lock makes even a transaction that has been reading wait its turn."""
    if engine_name != "postgresql":
        pytest.skip("SQLite cannot make a reading transaction wait for the write lock (see sharing.audit)")
    run_appenders(app.config["SQLALCHEMY_DATABASE_URI"], ["read-first", "read-first", "fresh"], tmp_path)
    assert chain() == list(range(1, 1 + 3 * PER_PROCESS))
    assert audit.verify().ok


def test_sqlite_takes_the_write_lock_before_reading_the_head(app, engine_name):
    """A deferred transaction that has only read gets the write lock when it appends (or fails
    at once with "database is locked" if another writer holds it), never a stale head."""
    if engine_name != "sqlite":
        pytest.skip("SQLite only")
    from sqlalchemy import create_engine

    db.session.execute(db.select(AccessEvent.id).limit(1)).all()  # a reading transaction, no lock yet
    audit.record("admin", purpose="concurrency test", detail="holds the lock until commit")
    other = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], connect_args={"timeout": 0.2})
    try:
        with other.connect() as conn:
            conn.exec_driver_sql("PRAGMA busy_timeout=200")
            with pytest.raises(Exception, match="database is locked"):
                conn.exec_driver_sql("BEGIN IMMEDIATE")
        db.session.commit()
        with other.connect() as conn:
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # free again after the commit
            conn.exec_driver_sql("ROLLBACK")
    finally:
        other.dispose()
    assert chain() == [1]
