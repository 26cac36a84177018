"""Issue 12, hole 6: rows cut off the end of the access log, or all of it, fail `flask audit verify`.

The chain alone cannot show it (what is left is a valid chain); the head checkpoint, a
signed file outside the database written after each commit that appended, can.
"""

from __future__ import annotations

import json
import logging
import shutil

import pytest
from sqlalchemy import text

from auth.models import User
from core.extensions import db
from sharing import audit
from sharing.audit_head import head_file
from sharing.models import AccessEvent


@pytest.fixture
def chain(partnership):
    """Ten events on top of the partnership load, each committed on its own, as requests do."""
    police = partnership.user("police")
    for i in range(10):
        audit.record("view", user=police, panel="IOM", nominal_id=100 + i, categories=["identity"],
                     purpose="test", detail=f"event {i}")
        db.session.commit()
    return db.session.execute(db.select(db.func.max(AccessEvent.seq))).scalar_one()


def _verify(runner):
    db.session.remove()
    result = runner.invoke(args=["audit", "verify"])
    return result.exit_code, result.output


def _police() -> User:
    return db.session.execute(db.select(User).filter_by(email="police@test.example")).scalar_one()


def _raw(sql: str, **params) -> None:
    db.session.execute(text(sql), params)
    db.session.commit()


def test_intact_log_passes_and_the_checkpoint_is_its_head(runner, chain):
    code, out = _verify(runner)
    assert code == 0, out
    assert f"Head checkpoint: event {chain} matches." in out
    assert json.loads(head_file().read_text())["seq"] == chain


@pytest.mark.parametrize("cut", [1, 3])
def test_newest_rows_deleted_fail(runner, chain, cut):
    _raw("DELETE FROM access_events WHERE seq > :keep", keep=chain - cut)
    code, out = _verify(runner)
    assert code == 1
    assert f"the log ends at event {chain - cut}" in out
    assert f"events {chain - cut + 1} to {chain} are missing (cut off the end)" in out


def test_emptied_log_fails(runner, chain):
    _raw("DELETE FROM access_events")
    code, out = _verify(runner)
    assert code == 1 and "the log is empty" in out and f"all {chain} events are missing" in out


def test_cut_then_refilled_log_fails(runner, chain, partnership):
    """Cut the tail and let the service append again past the old head: the checkpoint does
    not follow a log that no longer reaches it, and the event at its number is another."""
    _raw("DELETE FROM access_events WHERE seq > :keep", keep=chain - 2)
    for i in range(4):
        audit.record("view", user=_police(), panel="IOM", purpose="test", detail=f"again {i}")
    db.session.commit()
    code, out = _verify(runner)
    assert json.loads(head_file().read_text())["seq"] == chain
    assert code == 1 and f"event {chain} differs from the head checkpoint" in out, out


def test_altered_checkpoint_fails(runner, chain):
    data = json.loads(head_file().read_text())
    data["seq"] = chain - 2
    head_file().write_text(json.dumps(data))
    _raw("DELETE FROM access_events WHERE seq > :keep", keep=chain - 2)
    code, out = _verify(runner)
    assert code == 1 and "bad signature" in out


def test_rolled_back_append_does_not_move_the_checkpoint(runner, chain, partnership):
    audit.record("view", user=partnership.user("police"), panel="IOM", purpose="test", detail="never")
    db.session.rollback()
    assert json.loads(head_file().read_text())["seq"] == chain
    code, out = _verify(runner)
    assert code == 0, out


def test_each_commit_logs_the_signed_head(chain, partnership, caplog):
    with caplog.at_level(logging.INFO, logger="sharing.audit"):
        audit.record("view", user=partnership.user("police"), panel="IOM", purpose="test", detail="logged")
        db.session.commit()
    data = json.loads(head_file().read_text())
    assert f"access log head {chain + 1} {data['hash']} signature {data['signature']}" in caplog.text


def test_restore_resets_the_checkpoint(runner, chain, partnership, tmp_path, engine_name):
    if engine_name == "postgresql" and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump not installed")
    target = tmp_path / "backup.db"
    db.session.remove()
    assert runner.invoke(args=["backup", str(target)]).exit_code == 0
    for i in range(3):  # the live log moves on past the backup's head
        audit.record("view", user=_police(), panel="IOM", purpose="test", detail=f"later {i}")
        db.session.commit()
    db.session.remove()
    result = runner.invoke(args=["restore", str(target), "--yes"])
    assert result.exit_code == 0, result.output
    assert f"Access log head checkpoint reset to event {chain}." in result.output
    code, out = _verify(runner)
    assert code == 0, out


def test_appends_in_one_transaction_chain_on_each_other(runner, chain, partnership):
    """A request that appends more than once (a meeting-mode save: the change, then the next
    item shown) extends its own head; a savepoint rolled back in between takes its event
    with it, and the next append reads the head again."""
    police = partnership.user("police")
    audit.record("change", user=police, panel="IOM", purpose="test", detail="first")
    with db.session.begin_nested() as nested:
        audit.record("view", user=police, panel="IOM", purpose="test", detail="undone")
        nested.rollback()
    audit.record("view", user=police, panel="IOM", nominal_ids=[7, 8], purpose="test", detail="second")
    audit.record("view", user=police, panel="IOM", purpose="test", detail="third")
    db.session.commit()
    details = db.session.execute(db.select(AccessEvent.detail).where(AccessEvent.seq > chain)
                                 .order_by(AccessEvent.seq)).scalars().all()
    assert details == ["first", "second", "third"]
    assert json.loads(head_file().read_text())["seq"] == chain + 3
    code, out = _verify(runner)
    assert code == 0 and f"Head checkpoint: event {chain + 3} matches." in out, out


def test_a_cut_behind_the_writers_back_still_holds_the_checkpoint(runner, chain, partnership):
    """The process remembers the head it last wrote; a log cut after that no longer extends it,
    so the next append checks the file and leaves the checkpoint where it was."""
    _raw("DELETE FROM access_events WHERE seq > :keep", keep=chain - 1)
    audit.record("view", user=_police(), panel="IOM", purpose="test", detail="after the cut")
    audit.record("view", user=_police(), panel="IOM", purpose="test", detail="and again")
    db.session.commit()
    assert json.loads(head_file().read_text())["seq"] == chain
    code, out = _verify(runner)
    assert code == 1 and f"event {chain} differs from the head checkpoint" in out, out
