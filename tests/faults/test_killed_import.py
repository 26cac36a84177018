"""A `flask cohort import` killed (SIGKILL) part-way leaves nothing behind, and can simply be run again."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from cohort.models import Case, CaseEvent, Nominal, RagChange
from core.extensions import db
from sharing.models import AccessEvent
from tests.faults.scratch import cohort_csv, soak_setting

ROWS = 3000
pytestmark = pytest.mark.slow


def counts(scratch_db) -> dict[str, int]:
    with scratch_db.app().app_context():
        out = {m.__tablename__: db.session.scalar(select(func.count()).select_from(m))
               for m in (Nominal, Case, CaseEvent, RagChange, AccessEvent)}
        db.session.remove()
    return out


def test_import_killed_mid_transaction_writes_nothing_and_reruns(scratch):
    target = scratch()
    big = cohort_csv(target.folder / "big.csv", ROWS)
    before = counts(target)
    assert before["nominals"] == before["cases"] == 0

    argv = target.command("cohort", "import", str(big), "--panel", "IOM", "--as", "probation@test.example")
    child = target.start(argv)
    target.kill_while_writing(child, "nominals", after=soak_setting("IMPORT_DELAY", 0.3))
    assert child.returncode == -9, f"the import was not killed part-way (exit {child.returncode})"
    target.dispose()

    # All-or-nothing: no person, case, history or access-log row of the import survived the kill.
    assert counts(target) == before
    verify = target.flask("audit", "verify")
    assert "Access log intact" in verify.stdout

    again = target.flask("cohort", "import", str(big), "--panel", "IOM", "--as", "probation@test.example")
    assert f"{ROWS} new case(s) ({ROWS} new people" in again.stdout
    after = counts(target)
    assert after["nominals"] == after["cases"] == after["rag_changes"] == ROWS
    assert after["access_events"] == before["access_events"] + 1  # the one "import" event
    assert "Access log intact" in target.flask("audit", "verify").stdout
