"""`flask audit verify` against rows altered, deleted and inserted behind the service's back (raw SQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from core.extensions import db
from sharing import audit
from sharing.models import AccessEvent


@pytest.fixture
def chain(partnership):
    """Five more events on top of the partnership load, committed."""
    police = partnership.user("police")
    for i in range(5):
        audit.record("view", user=police, panel="IOM", nominal_id=100 + i, categories=["identity"],
                     purpose="test", detail=f"event {i}")
    db.session.commit()
    seqs = [s for (s,) in db.session.execute(db.select(AccessEvent.seq).order_by(AccessEvent.seq))]
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) >= 5
    return seqs


def _verify(runner):
    db.session.expire_all()
    result = runner.invoke(args=["audit", "verify"])
    return result.exit_code, result.output


def _raw(sql: str, **params) -> None:
    db.session.execute(text(sql), params)
    db.session.commit()


def test_intact_chain_verifies(runner, chain):
    code, out = _verify(runner)
    assert code == 0 and f"{len(chain)} events checked" in out


@pytest.mark.parametrize("column,value", [
    ("detail", "nothing to see"), ("user_email", "someone.else@test.example"), ("nominal_id", 999),
    ("outcome", "refused"), ("categories", "identity,health"),
])
def test_altered_row_is_named(runner, chain, column, value):
    _raw(f"UPDATE access_events SET {column} = :v WHERE seq = 3", v=value)
    code, out = _verify(runner)
    assert code == 1 and "event 3 has been altered" in out  # nominal_id: "altered (its nominal)"


def test_altered_list_of_people_shown_is_named(runner, chain):
    """The people an event showed (access_event_nominals) are covered by its hash: removing
    one from a tracker page's list, or adding one, is caught."""
    audit.record("view", user=None, panel="IOM", nominal_ids=[7, 8, 9], purpose="test", detail="tracker page")
    db.session.commit()
    seq = db.session.execute(db.select(db.func.max(AccessEvent.seq))).scalar_one()
    code, out = _verify(runner)
    assert code == 0, out
    _raw("DELETE FROM access_event_nominals WHERE event_seq = :s AND nominal_id = 8", s=seq)
    code, out = _verify(runner)
    assert code == 1 and f"event {seq} has been altered or inserted" in out


def test_altered_timestamp_is_named(runner, chain):
    _raw("UPDATE access_events SET at = :at WHERE seq = 2", at="2020-01-01 00:00:00")
    code, out = _verify(runner)
    assert code == 1 and "event 2 " in out


def test_altered_row_with_recomputed_plain_hash_is_still_caught(runner, chain):
    """Without the HMAC key an attacker cannot forge the hash, even knowing the format."""
    import hashlib

    ev = db.session.execute(db.select(AccessEvent).filter_by(seq=4)).scalar_one()
    ev.detail = "rewritten"
    forged = hashlib.sha256(audit._canonical(audit._values(ev))).hexdigest()
    db.session.rollback()
    _raw("UPDATE access_events SET detail = 'rewritten', hash = :h WHERE seq = 4", h=forged)
    code, out = _verify(runner)
    assert code == 1 and "event 4" in out


def test_deleted_row_is_named(runner, chain):
    _raw("DELETE FROM access_events WHERE seq = 3")
    code, out = _verify(runner)
    assert code == 1 and "event 3 is missing" in out


def test_deleted_and_renumbered_rows_are_caught(runner, chain):
    """Deleting a row and closing the gap in seq still breaks the chain at that point."""
    _raw("DELETE FROM access_events WHERE seq = 3")
    for seq in chain[3:]:
        _raw("UPDATE access_events SET seq = :new WHERE seq = :old", new=seq - 1, old=seq)
    code, out = _verify(runner)
    assert code == 1 and "event 3 does not follow event 2" in out


def test_inserted_row_in_the_middle_is_named(runner, chain):
    for seq in reversed(chain[2:]):
        _raw("UPDATE access_events SET seq = :new WHERE seq = :old", new=seq + 1, old=seq)
    prev = db.session.execute(db.select(AccessEvent.hash).filter_by(seq=2)).scalar_one()
    _raw("INSERT INTO access_events (seq, at, user_email, agency_code, action, outcome, panel_code, categories, "
         "purpose, detail, prev_hash, hash) VALUES (3, '2026-11-23 10:00:00', 'ghost@test.example', 'POLICE', "
         "'view', 'allowed', 'IOM', 'identity', 'x', 'x', :prev, :h)", prev=prev, h="f" * 64)
    code, out = _verify(runner)
    assert code == 1 and "event 3 has been altered or inserted" in out


def test_inserted_row_at_the_end_is_named(runner, chain):
    last = db.session.execute(db.select(AccessEvent).order_by(AccessEvent.seq.desc()).limit(1)).scalar_one()
    seq, prev = last.seq + 1, last.hash
    _raw("INSERT INTO access_events (seq, at, user_email, agency_code, action, outcome, panel_code, categories, "
         "purpose, detail, prev_hash, hash) VALUES (:seq, '2026-11-23 10:00:00', 'ghost@test.example', 'POLICE', "
         "'view', 'allowed', 'IOM', '', 'x', 'x', :prev, :h)", seq=seq, prev=prev, h="0" * 64)
    code, out = _verify(runner)
    assert code == 1 and f"event {seq} has been altered or inserted" in out


def test_swapped_rows_are_caught(runner, chain):
    """Swapping two events' contents (keeping their hashes) breaks the chain."""
    _raw("UPDATE access_events SET seq = -1 WHERE seq = 2")
    _raw("UPDATE access_events SET seq = 2 WHERE seq = 3")
    _raw("UPDATE access_events SET seq = 3 WHERE seq = -1")
    code, out = _verify(runner)
    assert code == 1 and "event 2 " in out
