"""`flask backup` then `flask restore` brings back every row of every table."""

from __future__ import annotations

import shutil

import pytest

from cohort.services import create_nominal, refer
from core.extensions import db
from sharing.policy import Policy


def snapshot() -> dict[str, list[tuple]]:
    out = {}
    for table in db.metadata.sorted_tables:
        pk = list(table.primary_key.columns) or list(table.columns)
        rows = db.session.execute(table.select().order_by(*pk)).all()
        out[table.name] = [tuple(r) for r in rows]
    return out


def test_backup_restore_round_trip(app, partnership, runner, tmp_path, engine_name):
    if engine_name == "postgresql" and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump not installed")
    police = partnership.user("police")
    policy = Policy(police)
    for i in range(5):
        nominal = create_nominal(given_name=f"Zoë {i}", family_name="O'Brien", pnc=f"2001/000{i}000A")
        refer(nominal, partnership.panels["IOM"], ref=f"IOM-{i}", policy=policy)
    db.session.commit()
    before = snapshot()
    assert before["nominals"] and before["access_events"]
    db.session.remove()

    target = tmp_path / "backup.db"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    assert target.exists() and target.stat().st_size > 0

    # Change the live database after the backup.
    from auth.models import User
    from panels.models import Panel

    police = db.session.execute(db.select(User).filter_by(email="police@test.example")).scalar_one()
    iom = db.session.execute(db.select(Panel).filter_by(code="IOM")).scalar_one()
    nominal = create_nominal(given_name="Later", family_name="Person")
    refer(nominal, iom, ref="IOM-LATE", policy=Policy(police))
    db.session.commit()
    assert snapshot() != before
    db.session.remove()

    refused = runner.invoke(args=["restore", str(target)])
    assert refused.exit_code == 1 and "--yes" in refused.output
    result = runner.invoke(args=["restore", str(target), "--yes"])
    assert result.exit_code == 0, result.output
    db.session.remove()
    assert snapshot() == before
