"""The triggers behind the change token see every write to a case, however it was made."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from cohort import queries
from core.extensions import db
from tests.cohort.test_tracker_helpers import make_case, policy_for


def tokens(partnership) -> tuple[str, str]:
    pol = policy_for(partnership, "police")
    return tuple(queries.change_token(partnership.panels[code], pol) for code in ("IOM", "MAPPA"))


def raw(sql: str, **params) -> None:
    db.session.execute(text(sql), params)
    db.session.commit()


def test_each_kind_of_write_moves_the_tokens(app, partnership):
    case = make_case(partnership, ref="C1")
    other = make_case(partnership, "MAPPA", ref="C2")
    steps = [
        ("an update made outside the ORM", "UPDATE cases SET status = 'paused' WHERE id = :id", {"id": case.id}),
        ("a case moved to another panel", "UPDATE cases SET panel_id = :mappa WHERE id = :id",
         {"id": case.id, "mappa": partnership.panels["MAPPA"].id}),
        ("a case deleted", "DELETE FROM cases WHERE id = :id", {"id": other.id}),
    ]
    for table in db.metadata.sorted_tables:  # what hangs off the case to delete goes first
        for fk in table.foreign_keys:
            if fk.column.table.name == "cases":
                raw(f"DELETE FROM {table.name} WHERE {fk.parent.name} = :id", id=other.id)
    for what, sql, params in steps:
        before = tokens(partnership)
        raw(sql, **params)
        after = tokens(partnership)
        # Both panels' tokens move: one panel's cases, or "on other panels" for the other.
        assert after[0] != before[0] and after[1] != before[1], what


def test_a_write_elsewhere_than_cases_leaves_the_tokens(app, partnership):
    make_case(partnership)
    before = tokens(partnership)
    raw("UPDATE panels SET name = name")
    assert tokens(partnership) == before


def test_the_counter_is_per_panel_and_only_grows(app, partnership):
    iom, mappa = partnership.panels["IOM"].id, partnership.panels["MAPPA"].id
    seq = lambda pid: db.session.execute(  # noqa: E731
        text("SELECT sum(seq) FROM tracker_changes WHERE panel_id = :p"), {"p": pid}).scalar()
    case = make_case(partnership, commit=True)
    start, mappa_start = seq(iom), seq(mappa)
    raw("UPDATE cases SET status = 'active' WHERE id = :id", id=case.id)
    assert seq(iom) > start and seq(mappa) == mappa_start


def test_a_long_writer_does_not_hold_up_other_writers_on_its_panel(app, partnership, engine_name):
    """PostgreSQL: the bump waits for the commit, so an open transaction that has written a
    case (an import, a key rotation's batch) does not lock the panel's counter meanwhile."""
    if engine_name != "postgresql":
        pytest.skip("SQLite serialises writers whatever the triggers do")
    first, second = make_case(partnership, ref="L1"), make_case(partnership, ref="L2")
    seq = lambda: db.session.execute(  # noqa: E731
        text("SELECT sum(seq) FROM tracker_changes WHERE panel_id = :p"), {"p": first.panel_id}).scalar()
    start = seq()
    db.session.commit()
    with db.engine.connect() as long_writer, db.engine.connect() as other:
        long_writer.execute(text("UPDATE cases SET status = 'paused' WHERE id = :id"), {"id": first.id})
        other.execute(text("SET lock_timeout = '3s'"))  # fails, not hangs, if the counter is held
        other.execute(text("UPDATE cases SET status = 'paused' WHERE id = :id"), {"id": second.id})
        other.commit()
        assert seq() == start + 1
        long_writer.commit()
    db.session.rollback()
    assert seq() == start + 2


def test_one_transaction_bumps_a_panel_once_however_many_cases_it_writes(app, partnership, engine_name):
    """PostgreSQL: an import of 10,000 cases moves the counter once, not 10,000 times (each
    bump of the one row would leave a dead version behind)."""
    if engine_name != "postgresql":
        pytest.skip("SQLite updates the row in place, on every write")
    cases = [make_case(partnership, ref=f"M{i}") for i in range(3)]
    mappa = make_case(partnership, "MAPPA", ref="M9")
    seq = lambda code: db.session.execute(  # noqa: E731
        text("SELECT sum(seq) FROM tracker_changes WHERE panel_id = :p"), {"p": partnership.panels[code].id}).scalar()
    iom, other = seq("IOM"), seq("MAPPA")
    raw("UPDATE cases SET status = 'paused' WHERE id IN :ids".replace(":ids", str(tuple(c.id for c in cases))))
    assert (seq("IOM"), seq("MAPPA")) == (iom + 1, other)
    raw("UPDATE cases SET status = 'active' WHERE id = :id", id=cases[0].id)  # the next transaction bumps again
    raw("UPDATE cases SET panel_id = :p WHERE id = :id", p=partnership.panels["IOM"].id, id=mappa.id)
    assert (seq("IOM"), seq("MAPPA")) == (iom + 3, other + 1)
